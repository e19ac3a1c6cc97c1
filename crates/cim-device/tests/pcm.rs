//! The PCM model samples what aihwkit's published equations say: mean and standard
//! deviation within 2% over 100k samples, at several conductances and times.

use cim_device::{
    pcm::{PcmModel, PhaseChange},
    rng::DeviceRng,
};

const SAMPLES: usize = 100_000;

fn moments(samples: &[f64]) -> (f64, f64) {
    let n = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.sqrt())
}

fn assert_within(what: &str, got: f64, expected: f64, tolerance: f64) {
    let relative = (got - expected).abs() / expected.abs();
    assert!(
        relative <= tolerance,
        "{what}: sampled {got}, expected {expected} ({:.3}% off)",
        100.0 * relative
    );
}

#[test]
fn equations_give_the_published_values() {
    let model = PcmModel::default();
    // c0 + c1 + c2 at g_T = g_max.
    assert_within("σ_prog(25)", model.programming_sigma(25.0), 1.05538, 1e-12);
    // At g_max the drift mean and spread sit on their clamps.
    let (mean, sigma) = model.drift_parameters(25.0);
    assert_within("μ_ν(25)", mean, 0.049, 1e-12);
    assert_within("σ_ν(25)", sigma, 0.008, 1e-12);
    // At g_max/10: -0.0155·ln(0.1) + 0.0244 and -0.0125·ln(0.1) - 0.0059.
    let (mean, sigma) = model.drift_parameters(2.5);
    assert_within("μ_ν(2.5)", mean, 0.0155 * 10f64.ln() + 0.0244, 1e-12);
    assert_within("σ_ν(2.5)", sigma, 0.0125 * 10f64.ln() - 0.0059, 1e-12);
    // One hour after programming, at g_max: 0.0088·sqrt(ln((3600 + 20 + t_read)/(2·t_read))).
    let expected = 0.0088 * ((3620.0 + 250e-9) / 500e-9f64).ln().sqrt();
    assert_within(
        "σ_read(25, 1 h)",
        model.read_sigma(25.0, 3600.0),
        expected,
        1e-12,
    );
    // Drift: g·((t + t0)/t0)^-ν.
    let drifted = model.drifted(20.0, 0.06, 86_400.0);
    assert_within(
        "drift(1 day)",
        drifted,
        20.0 * (86_420.0f64 / 20.0).powf(-0.06),
        1e-12,
    );
}

#[test]
fn programming_noise_matches_the_polynomial() {
    let model = PcmModel::default();
    let mut rng = DeviceRng::new(11);
    for g_target in [2.0, 8.0, 15.0, 25.0] {
        let samples: Vec<f64> = (0..SAMPLES)
            .map(|_| model.program(&model.statistics(g_target), &mut rng))
            .collect();
        let (mean, std) = moments(&samples);
        assert_within(
            &format!("mean g_prog at {g_target} µS"),
            mean,
            g_target,
            0.02,
        );
        assert_within(
            &format!("std g_prog at {g_target} µS"),
            std,
            model.programming_sigma(g_target),
            0.02,
        );
    }
}

#[test]
fn drift_exponents_are_folded_normals() {
    let model = PcmModel::default();
    let mut rng = DeviceRng::new(12);
    for g_target in [0.5, 2.5, 10.0, 25.0] {
        let (mu, sigma) = model.drift_parameters(g_target);
        // |N(μ, σ²)|: mean σ·sqrt(2/π)·exp(-μ²/2σ²) + μ·erf(μ/(σ·sqrt 2)),
        // second moment μ² + σ².
        let mean =
            sigma * (2.0 / std::f64::consts::PI).sqrt() * (-mu * mu / (2.0 * sigma * sigma)).exp()
                + mu * libm::erf(mu / (sigma * std::f64::consts::SQRT_2));
        let std = (mu * mu + sigma * sigma - mean * mean).sqrt();
        let samples: Vec<f64> = (0..SAMPLES)
            .map(|_| model.drift_exponent(&model.statistics(g_target), &mut rng))
            .collect();
        let (got_mean, got_std) = moments(&samples);
        assert_within(&format!("mean ν at {g_target} µS"), got_mean, mean, 0.02);
        assert_within(&format!("std ν at {g_target} µS"), got_std, std, 0.02);
    }
}

#[test]
fn read_noise_and_drift_over_time() {
    let model = PcmModel::default();
    let mut rng = DeviceRng::new(13);
    let nu = 0.06;
    for g_prog in [3.0, 12.0, 25.0] {
        for t in [1.0, 3600.0, 86_400.0, 365.25 * 86_400.0] {
            let drifted = model.drifted(g_prog, nu, t);
            let samples: Vec<f64> = (0..SAMPLES)
                .map(|_| model.read(g_prog, nu, &model.read_time(t), &mut rng))
                .collect();
            let (mean, std) = moments(&samples);
            let what = format!("{g_prog} µS after {t} s");
            assert_within(&format!("mean read, {what}"), mean, drifted, 0.02);
            assert_within(
                &format!("std read, {what}"),
                std,
                drifted * model.read_sigma(g_prog, t),
                0.02,
            );
        }
    }
}

#[test]
fn scales_turn_effects_off() {
    let model = PcmModel {
        prog_noise_scale: 0.0,
        read_noise_scale: 0.0,
        drift_scale: 0.0,
        ..PcmModel::default()
    };
    let mut rng = DeviceRng::new(14);
    let g = model.program(&model.statistics(17.0), &mut rng);
    let nu = model.drift_exponent(&model.statistics(17.0), &mut rng);
    assert_eq!((g, nu), (17.0, 0.0));
    assert_eq!(model.read(g, nu, &model.read_time(1e7), &mut rng), 17.0);
}
