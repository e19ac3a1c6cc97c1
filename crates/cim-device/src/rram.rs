//! RRAM, as the model aihwkit infers from the NeuRRAM measurements (Wan et al.,
//! Nature 2022; `ReRamWan2022NoiseModel`): the deviation of a cell from its target
//! conductance is Gaussian, with a standard deviation that is a 4th-order
//! polynomial of the target, fitted at 1 s, 1 day and 2 days after programming.
//! RRAM does not drift the way PCM does; its conductances relax, and the fits
//! describe where they stand at those times. Conductances in µS, times in s.
//!
//! | effect | equation |
//! | --- | --- |
//! | at time t | `g(t) = max(0, g_T + σ_t(g_T)·n)`, `σ_t = Σ_i c_i(t)·(g_T/g_max)^i · g_max/g_ref` |
//! | programming | the same, at the first fitted time (1 s) |
//!
//! Between fitted times, `σ_t` is interpolated linearly in `ln t`; before the first it
//! is the first. The model says nothing past its last fit (2 days): later times are
//! an error rather than a guess.

use serde::Deserialize;

/// The parameters of the RRAM model; the defaults are aihwkit's.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RramModel {
    /// Fits: (seconds after programming, polynomial coefficients from order 0, µS).
    pub fits: Vec<(f64, Vec<f64>)>,
    /// The `g_max` the fits were made at, µS (they scale with `g_max`).
    pub fit_g_max: f64,
    /// Scales the noise (0 turns it off).
    pub noise_scale: f64,
}

impl Default for RramModel {
    fn default() -> Self {
        Self {
            fits: vec![
                (1.0, vec![0.348, 16.030, -43.853, 45.393, -16.815]),
                (86_400.0, vec![0.701, 22.086, -50.773, 47.095, -16.458]),
                (172_800.0, vec![0.782, 20.274, -43.507, 37.062, -11.934]),
            ],
            fit_g_max: 40.0,
            noise_scale: 1.0,
        }
    }
}

impl RramModel {
    /// What is wrong with the parameters, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.fits.is_empty() {
            return Some("fits: give at least one (seconds, coefficients) fit".into());
        }
        if self.fits.windows(2).any(|w| w[0].0 >= w[1].0) || self.fits[0].0 <= 0.0 {
            return Some("fits: times must be > 0 and increasing".into());
        }
        if !(self.fit_g_max.is_finite() && self.fit_g_max > 0.0) {
            return Some(format!(
                "fit_g_max: {} must be finite and > 0",
                self.fit_g_max
            ));
        }
        if !(self.noise_scale.is_finite() && self.noise_scale >= 0.0) {
            return Some(format!(
                "noise_scale: {} must be finite and >= 0",
                self.noise_scale
            ));
        }
        None
    }

    /// The last time the fits describe, s.
    pub fn last_fit(&self) -> f64 {
        self.fits.last().map_or(0.0, |fit| fit.0)
    }

    fn polynomial(coefficients: &[f64], x: f64) -> f64 {
        coefficients.iter().rev().fold(0.0, |sum, c| sum * x + c)
    }

    /// Standard deviation of a cell's deviation from its target `g_target`, `t`
    /// seconds after programming, at `g_max`; `None` past the last fit.
    pub fn sigma(&self, g_target: f64, g_max: f64, t: f64) -> Option<f64> {
        if t > self.last_fit() {
            return None;
        }
        let x = g_target / g_max;
        let at = |index: usize| Self::polynomial(&self.fits[index].1, x);
        let later = self.fits.iter().position(|fit| fit.0 >= t).unwrap_or(0);
        let sigma = if later == 0 {
            at(0)
        } else {
            let (t0, t1) = (self.fits[later - 1].0, self.fits[later].0);
            let weight = (t.ln() - t0.ln()) / (t1.ln() - t0.ln());
            at(later - 1) + weight * (at(later) - at(later - 1))
        };
        Some(sigma.max(0.0) * g_max / self.fit_g_max * self.noise_scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_times_and_interpolation() {
        let model = RramModel::default();
        // At g_max, the 1 s fit sums its coefficients.
        let expected = 0.348 + 16.030 - 43.853 + 45.393 - 16.815;
        assert!((model.sigma(40.0, 40.0, 1.0).unwrap() - expected).abs() < 1e-12);
        // Half way between 1 day and 2 days in ln t.
        let middle = (86_400.0f64 * 172_800.0).sqrt();
        let (a, b) = (
            model.sigma(20.0, 40.0, 86_400.0).unwrap(),
            model.sigma(20.0, 40.0, 172_800.0).unwrap(),
        );
        assert!((model.sigma(20.0, 40.0, middle).unwrap() - (a + b) / 2.0).abs() < 1e-9);
        // Scales with g_max; nothing past the last fit.
        assert!(
            (model.sigma(10.0, 20.0, 1.0).unwrap() - model.sigma(20.0, 40.0, 1.0).unwrap() / 2.0)
                .abs()
                < 1e-12
        );
        assert_eq!(model.sigma(20.0, 40.0, 3.0 * 86_400.0), None);
    }
}
