//! Phase-change memory, as the statistical model of IBM's aihwkit
//! (`PCMLikeNoiseModel`, fitted on a million measured devices; Nandakumar et al.,
//! ICECS 2019) defines it. Conductances in µS, times in seconds.
//!
//! | effect | equation |
//! | --- | --- |
//! | programming noise | `g_prog = max(0, g_T + σ_prog(g_T)·n)`, `σ_prog = (c0 + c1·(g_T/g_max) + c2·(g_T/g_max)²)·g_max/g_ref` |
//! | drift exponent | `ν = |μ_ν + σ_ν·n|`, `μ_ν = clamp(−0.0155·ln(g_T/g_max) + 0.0244, 0.049, 0.1)`, `σ_ν = clamp(−0.0125·ln(g_T/g_max) − 0.0059, 0.008, 0.045)` |
//! | drift | `g_drift = g_prog·((t + t0)/t0)^(−ν)` |
//! | read noise (1/f) | `g(t) = max(0, g_drift + |g_drift|·σ_read·n)`, `σ_read = min(0.2, 0.0088/max(10⁻³, (|g_prog|/g_max)^0.65))·sqrt(ln((t + t0 + t_read)/(2·t_read)))` |
//!
//! `n` is a fresh standard normal each time, `t` the time since programming ended.

use crate::rng::DeviceRng;
use serde::Deserialize;

/// The parameters of the PCM model; the defaults are aihwkit's.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PcmModel {
    /// The largest conductance a weight maps to, µS.
    pub g_max: f64,
    /// Programming noise polynomial `c0 + c1·x + c2·x²` of `x = g_T/g_max`, in µS at
    /// `prog_coeff_g_max`.
    #[serde(deserialize_with = "crate::exactly")]
    pub prog_coeff: [f64; 3],
    /// The `g_max` the polynomial was fitted at, µS (it scales with `g_max`).
    pub prog_coeff_g_max: f64,
    /// First reading time of the drift fit, s.
    pub t0: f64,
    /// Read time of the 1/f noise fit, s.
    pub t_read: f64,
    /// Scales programming noise (0 turns it off).
    pub prog_noise_scale: f64,
    /// Scales read noise (0 turns it off).
    pub read_noise_scale: f64,
    /// Scales the drift exponents (0 turns drift off).
    pub drift_scale: f64,
}

impl Default for PcmModel {
    fn default() -> Self {
        Self {
            g_max: 25.0,
            prog_coeff: [0.26348, 1.9650, -1.1731],
            prog_coeff_g_max: 25.0,
            t0: 20.0,
            t_read: 250.0e-9,
            prog_noise_scale: 1.0,
            read_noise_scale: 1.0,
            drift_scale: 1.0,
        }
    }
}

/// Relative conductances below this count as this (the logarithms stay finite).
const ZERO_CLIP: f64 = 1e-7;

/// A phase-change device's statistics: programming noise, drift with a
/// per-device exponent, accumulated 1/f read noise. [`PcmModel`] and
/// [`crate::hermes::HermesModel`] differ only in their fits.
pub trait PhaseChange {
    /// The largest conductance a weight maps to, µS.
    fn g_max(&self) -> f64;

    /// First reading time of the drift fit, s.
    fn t0(&self) -> f64;

    /// Read time of the 1/f noise fit, s.
    fn t_read(&self) -> f64;

    /// Standard deviation of programming noise at target `g_target`, µS.
    fn programming_sigma(&self, g_target: f64) -> f64;

    /// Mean and standard deviation of the normal whose magnitude is a device's
    /// drift exponent, at target `g_target`.
    fn drift_parameters(&self, g_target: f64) -> (f64, f64);

    /// Scales the drift exponents.
    fn drift_scale(&self) -> f64;

    /// How the 1/f noise has grown `t` seconds after programming (the same for
    /// every device: [`ReadTime`] computes it once).
    fn read_noise_growth(&self, t: f64) -> f64 {
        let time = t + self.t0();
        ((time + self.t_read()) / (2.0 * self.t_read())).ln().sqrt()
    }

    /// Relative standard deviation of the 1/f noise of a device programmed to
    /// `g_prog`, once it has grown by `growth` ([`Self::read_noise_growth`]).
    fn read_sigma_grown(&self, g_prog: f64, growth: f64) -> f64;

    /// Relative standard deviation of the 1/f noise accumulated `t` seconds after
    /// programming, for a device programmed to `g_prog`.
    fn read_sigma(&self, g_prog: f64, t: f64) -> f64 {
        self.read_sigma_grown(g_prog, self.read_noise_growth(t))
    }

    /// The logarithm of how far drift has gone `t` seconds after programming,
    /// `ln((t + t0)/t0)` (0 at `t <= 0`): a device drifts by `exp(-ν·log)`.
    fn drift_log(&self, t: f64) -> f64 {
        if t > 0.0 {
            ((t + self.t0()) / self.t0()).ln()
        } else {
            0.0
        }
    }

    /// What reading every device `t` seconds after programming shares.
    fn read_time(&self, t: f64) -> ReadTime {
        ReadTime {
            drift_log: self.drift_log(t),
            growth: self.read_noise_growth(t),
        }
    }

    /// What programming a device to `g_target` draws from.
    fn statistics(&self, g_target: f64) -> TargetStatistics {
        TargetStatistics {
            g_target,
            programming_sigma: self.programming_sigma(g_target),
            drift: self.drift_parameters(g_target),
        }
    }

    /// A programmed conductance for the target of `at`.
    fn program(&self, at: &TargetStatistics, rng: &mut DeviceRng) -> f64 {
        (at.g_target + at.programming_sigma * rng.normal()).max(0.0)
    }

    /// A device's drift exponent ν, drawn once when it is programmed to the
    /// target of `at`.
    fn drift_exponent(&self, at: &TargetStatistics, rng: &mut DeviceRng) -> f64 {
        let (mean, sigma) = at.drift;
        (mean + sigma * rng.normal()).abs() * self.drift_scale()
    }

    /// The drifted conductance `t` seconds after programming, before read noise:
    /// `g_prog·((t + t0)/t0)^(-ν)`.
    fn drifted(&self, g_prog: f64, nu: f64, t: f64) -> f64 {
        drifted_by(g_prog, nu, self.drift_log(t))
    }

    /// What a device programmed to `g_prog`, with drift exponent `nu`, reads at
    /// `at`: drifted, with read noise.
    fn read(&self, g_prog: f64, nu: f64, at: &ReadTime, rng: &mut DeviceRng) -> f64 {
        let draw = rng.normal();
        // A device at zero reads zero (drift and read noise scale with it): one of
        // every pair's devices, and no powers to compute.
        if g_prog == 0.0 {
            return 0.0;
        }
        let drifted = drifted_by(g_prog, nu, at.drift_log);
        (drifted + drifted.abs() * self.read_sigma_grown(g_prog, at.growth) * draw).max(0.0)
    }
}

/// `g_prog` drifted with exponent `nu` to where `drift_log` says
/// ([`PhaseChange::drift_log`]): the power as one exponential, its logarithm
/// computed once per read time.
fn drifted_by(g_prog: f64, nu: f64, drift_log: f64) -> f64 {
    g_prog * (-nu * drift_log).exp()
}

/// A read time and what every device read then shares ([`PhaseChange::read_time`]).
#[derive(Clone, Copy, Debug)]
pub struct ReadTime {
    /// How far drift has gone ([`PhaseChange::drift_log`]).
    pub drift_log: f64,
    /// The 1/f noise's growth by then ([`PhaseChange::read_noise_growth`]).
    pub growth: f64,
}

/// What programming a device to one target draws from: the target and the
/// statistics that depend on it alone. An array's cells take few distinct levels,
/// so these are computed once per level ([`PhaseChange::statistics`]).
#[derive(Clone, Copy, Debug)]
pub struct TargetStatistics {
    /// The target conductance, µS.
    pub g_target: f64,
    /// Standard deviation of programming noise, µS.
    pub programming_sigma: f64,
    /// Mean and standard deviation of the normal whose magnitude is the drift
    /// exponent.
    pub drift: (f64, f64),
}

impl PhaseChange for PcmModel {
    fn g_max(&self) -> f64 {
        self.g_max
    }

    fn t0(&self) -> f64 {
        self.t0
    }

    fn t_read(&self) -> f64 {
        self.t_read
    }

    fn programming_sigma(&self, g_target: f64) -> f64 {
        let x = g_target / self.g_max;
        let [c0, c1, c2] = self.prog_coeff;
        (c0 + c1 * x + c2 * x * x) * self.g_max / self.prog_coeff_g_max * self.prog_noise_scale
    }

    fn drift_parameters(&self, g_target: f64) -> (f64, f64) {
        let log = (g_target / self.g_max).abs().max(ZERO_CLIP).ln();
        let mean = (-0.0155 * log + 0.0244).clamp(0.049, 0.1);
        let sigma = (-0.0125 * log - 0.0059).clamp(0.008, 0.045);
        (mean, sigma)
    }

    fn drift_scale(&self) -> f64 {
        self.drift_scale
    }

    fn read_sigma_grown(&self, g_prog: f64, growth: f64) -> f64 {
        let q = (0.0088 / (g_prog.abs() / self.g_max).powf(0.65).max(1e-3)).min(0.2);
        q * growth * self.read_noise_scale
    }
}
