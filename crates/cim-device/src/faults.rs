//! Faulty cells: stuck at their lowest conductance (open, "stuck-at-off") or their
//! highest (shorted, "stuck-at-on"), whatever was programmed.

use crate::rng::DeviceRng;
use serde::Deserialize;

/// The fraction of cells stuck at each end.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StuckAt {
    /// Fraction stuck at `g_min` (0..=1).
    pub off: f64,
    /// Fraction stuck at `g_max` (0..=1).
    pub on: f64,
}

impl StuckAt {
    /// The conductance a cell programmed to `g` holds: `g`, or an end if it is
    /// faulty. One draw per cell, whether or not it is faulty, so that changing
    /// the fractions does not reshuffle which cells fail.
    pub fn apply(&self, g: f64, g_min: f64, g_max: f64, rng: &mut DeviceRng) -> f64 {
        self.stuck_at(g_min, g_max, rng).unwrap_or(g)
    }

    /// The end a cell is stuck at, if it is faulty (one draw, as [`Self::apply`]).
    pub fn stuck_at(&self, g_min: f64, g_max: f64, rng: &mut DeviceRng) -> Option<f64> {
        let draw = rng.uniform();
        if draw < self.off {
            Some(g_min)
        } else if draw < self.off + self.on {
            Some(g_max)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_of_faulty_cells() {
        let faults = StuckAt {
            off: 0.01,
            on: 0.02,
        };
        let mut rng = DeviceRng::new(3);
        let n = 100_000;
        let cells: Vec<f64> = (0..n)
            .map(|_| faults.apply(10.0, 0.0, 25.0, &mut rng))
            .collect();
        let off = cells.iter().filter(|&&g| g == 0.0).count() as f64 / n as f64;
        let on = cells.iter().filter(|&&g| g == 25.0).count() as f64 / n as f64;
        assert!((off - 0.01).abs() < 0.002, "{off}");
        assert!((on - 0.02).abs() < 0.002, "{on}");
    }
}
