//! Phase-change memory of IBM's HERMES project chip (14 nm, 64 cores of 256x256
//! unit cells; Le Gallo et al., Nature Electronics 2023), as aihwkit's
//! `HermesNoiseModel` fits it: one unit cell of two PCM devices per weight sign
//! (the default), programming noise, drift and 1/f read noise measured on the chip.
//! Conductances in µS, times in seconds. Where it differs from [`crate::pcm`]:
//!
//! | effect | equation (`x = g_T/g_max`) |
//! | --- | --- |
//! | programming noise | `σ_prog = (c0 + c1·x + c2·x² + c3·x³)·g_max/g_ref`, `c = [0.16603222, 4.71806468, −8.48101252, 4.68961419]`, `g_ref = 20.7` |
//! | drift exponent mean | `x < 0.0945`: `clamp(−0.0387·ln x − 0.0182, 0.072, 0.13)`; else `−0.0436·x² − 0.0126·x + 0.0736` |
//! | drift exponent spread | `x < 0.3055`: `clamp(−0.0117·ln x − 0.0057, 0.0091, 0.04)`; else `−0.0118·x² + 0.0093·x + 0.0073` |
//! | read noise `q` (`x = g_prog/g_max`) | `x < 0.16`: `clamp(−0.0117·ln x − 0.0069, 0.015, 0.04)`; else `0.0069·x³ − 0.0280·x² + 0.0211·x + 0.0123` |
//!
//! Drift `g·((t + t0)/t0)^(−ν)` and read noise `q·sqrt(ln((t + t0 + t_read)/(2·t_read)))`
//! as for PCM, with `t0 = 300 s`, `t_read = 512 ns`, `g_max = 20.7 µS`.

use crate::pcm::PhaseChange;
use serde::Deserialize;

/// The parameters of the HERMES model; the defaults are aihwkit's (two devices).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HermesModel {
    /// The largest conductance a weight maps to, µS.
    pub g_max: f64,
    /// Programming noise polynomial in `g_T/g_max`, µS at `prog_coeff_g_max`.
    #[serde(deserialize_with = "crate::exactly")]
    pub prog_coeff: [f64; 4],
    /// The `g_max` the polynomial was fitted at, µS.
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

impl Default for HermesModel {
    fn default() -> Self {
        Self {
            g_max: 20.7,
            prog_coeff: [0.16603222, 4.71806468, -8.48101252, 4.68961419],
            prog_coeff_g_max: 20.7,
            t0: 300.0,
            t_read: 512.0e-9,
            prog_noise_scale: 1.0,
            read_noise_scale: 1.0,
            drift_scale: 1.0,
        }
    }
}

/// Relative conductances below this count as this (the logarithms stay finite).
const ZERO_CLIP: f64 = 1e-7;

impl PhaseChange for HermesModel {
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
        let [c0, c1, c2, c3] = self.prog_coeff;
        (c0 + x * (c1 + x * (c2 + x * c3))) * self.g_max / self.prog_coeff_g_max
            * self.prog_noise_scale
    }

    fn drift_parameters(&self, g_target: f64) -> (f64, f64) {
        let x = (g_target / self.g_max).abs().max(ZERO_CLIP);
        let mean = if x < 0.0945 {
            (-0.0387 * x.ln() - 0.0182).clamp(0.072, 0.13)
        } else {
            -0.0436 * x * x - 0.0126 * x + 0.0736
        };
        let sigma = if x < 0.3055 {
            (-0.0117 * x.ln() - 0.0057).clamp(0.0091, 0.04)
        } else {
            -0.0118 * x * x + 0.0093 * x + 0.0073
        };
        (mean, sigma)
    }

    fn drift_scale(&self) -> f64 {
        self.drift_scale
    }

    fn read_sigma_grown(&self, g_prog: f64, growth: f64) -> f64 {
        let x = (g_prog.abs() / self.g_max).max(ZERO_CLIP);
        let q = if x < 0.16 {
            (-0.0117 * x.ln() - 0.0069).clamp(0.015, 0.04)
        } else {
            x * (x * (0.0069 * x - 0.0280) + 0.0211) + 0.0123
        };
        q * growth * self.read_noise_scale
    }
}
