//! The RRAM model samples what its fitted equations say: mean and standard
//! deviation within 2% over 100k cells, at several conductances and fitted times,
//! and refuses times past its data.

use cim_device::{
    devices::{Devices, Technology},
    rng::DeviceRng,
};

#[test]
fn sampled_cells_match_the_fits() {
    let devices = Devices {
        technology: Technology::Rram,
        g_min: 0.0,
        g_max: 40.0,
        ..Devices::default()
    };
    let max_level = 15.0;
    let rng = DeviceRng::new(31);
    // Levels well above 0, where the clamp at 0 µS does not bias the samples.
    for level in [6.0, 10.0, 15.0] {
        for t in [1.0, 86_400.0, 172_800.0] {
            let cells = vec![level; 100_000];
            let read = devices
                .program_array(&cells, 1000, max_level, t, &rng)
                .unwrap();
            let n = read.len() as f64;
            let mean = read.iter().sum::<f64>() / n;
            let std = (read.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            // In levels: the target, and σ(g_T) converted from µS.
            let target = level / max_level * 40.0;
            let sigma = devices.rram.sigma(target, 40.0, t).unwrap() / 40.0 * max_level;
            assert!(
                (mean - level).abs() <= 0.02 * level,
                "level {level} at {t} s: mean {mean}"
            );
            assert!(
                (std - sigma).abs() <= 0.02 * sigma,
                "level {level} at {t} s: std {std} vs {sigma}"
            );
        }
    }
    let error = devices
        .program_array(&[1.0], 1, max_level, 3.0 * 86_400.0, &rng)
        .unwrap_err();
    assert!(error.contains("fitted up to 172800 s"), "{error}");
}
