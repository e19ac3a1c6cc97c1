//! A target's devices, and programming an array of them: what the runtime's `full`
//! fidelity reads instead of the programmed levels.
//!
//! A cell at level `L` of `0..=max` (a bit slice's digit) targets the conductance
//! `g_min + L/max·(g_max − g_min)`. It is programmed (programming noise), may be
//! stuck at an end, drifts for `t` seconds and is read with read noise; the
//! runtime then sees `(g − g_min)/(g_max − g_min)·max` levels: `g_min` cancels in a
//! differential pair or against an offset reference, its noise does not. Drift
//! compensation rescales each array (or column) by how much its readout shrank.

use crate::{faults::StuckAt, pcm::PcmModel, rng::DeviceRng, rram::RramModel};
use serde::Deserialize;

/// The device technology.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Technology {
    /// Cells hold their level exactly (faults still apply).
    #[default]
    Ideal,
    /// Phase-change memory ([`PcmModel`]).
    Pcm,
    /// Resistive RAM ([`RramModel`]).
    Rram,
}

/// How drift is compensated.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DriftCompensation {
    /// Not at all.
    #[default]
    None,
    /// One factor per array: its total readout at programming over now.
    Global,
    /// One factor per column.
    PerColumn,
}

/// The `[device]` section of a target.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Devices {
    /// The technology.
    pub technology: Technology,
    /// Conductance of level 0, µS.
    pub g_min: f64,
    /// Conductance of the top level, µS.
    pub g_max: f64,
    /// PCM parameters (`technology = "pcm"`); its `g_max` is taken from above.
    pub pcm: PcmModel,
    /// RRAM parameters (`technology = "rram"`).
    pub rram: RramModel,
    /// Stuck cells.
    pub faults: StuckAt,
    /// Drift compensation.
    pub drift_compensation: DriftCompensation,
}

impl Default for Devices {
    fn default() -> Self {
        Self {
            technology: Technology::Ideal,
            g_min: 0.0,
            g_max: 25.0,
            pcm: PcmModel::default(),
            rram: RramModel::default(),
            faults: StuckAt::default(),
            drift_compensation: DriftCompensation::None,
        }
    }
}

impl Devices {
    /// What is wrong with the parameters, as (key, message), if anything.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if !(self.g_min.is_finite() && self.g_min >= 0.0) {
            return Some((
                "device.g_min",
                format!("{} must be finite and >= 0", self.g_min),
            ));
        }
        if !(self.g_max.is_finite() && self.g_max > self.g_min) {
            return Some((
                "device.g_max",
                format!(
                    "{} must be finite and above g_min ({})",
                    self.g_max, self.g_min
                ),
            ));
        }
        for (key, value) in [
            ("device.faults.off", self.faults.off),
            ("device.faults.on", self.faults.on),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Some((key, format!("{value} must be a fraction in 0..=1")));
            }
        }
        if self.faults.off + self.faults.on > 1.0 {
            return Some(("device.faults", "off + on must be at most 1".into()));
        }
        if let Some(problem) = self.rram.problem() {
            return Some(("device.rram", problem));
        }
        let pcm = &self.pcm;
        let positive = [
            ("device.pcm.t0", pcm.t0),
            ("device.pcm.t_read", pcm.t_read),
            ("device.pcm.prog_coeff_g_max", pcm.prog_coeff_g_max),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Some((key, format!("{value} must be finite and > 0")));
            }
        }
        let scales = [
            ("device.pcm.prog_noise_scale", pcm.prog_noise_scale),
            ("device.pcm.read_noise_scale", pcm.read_noise_scale),
            ("device.pcm.drift_scale", pcm.drift_scale),
        ];
        for (key, value) in scales {
            if !(value.is_finite() && value >= 0.0) {
                return Some((key, format!("{value} must be finite and >= 0")));
            }
        }
        None
    }

    /// The PCM model at this `g_max`.
    pub fn pcm_model(&self) -> PcmModel {
        PcmModel {
            g_max: self.g_max,
            ..self.pcm.clone()
        }
    }

    /// The read-out error of cells of `max_level + 1` levels read `t` seconds after
    /// programming: the RMS difference between the levels read (compensated) and
    /// those programmed, relative to the cell's range, over 4096 cells at evenly
    /// spread levels in arrays of 64 columns, drawn from `seed`. What the e-graph
    /// mapper prices encodings with.
    pub fn cell_error(&self, max_level: f64, t: f64, seed: u64) -> Result<f64, String> {
        const CELLS: usize = 4096;
        let count = max_level.max(1.0) as usize + 1;
        let levels: Vec<f64> = (0..CELLS).map(|i| (i % count) as f64).collect();
        let read = self.program_array(&levels, 64, max_level, t, &mut DeviceRng::new(seed))?;
        let square: f64 = levels
            .iter()
            .zip(&read)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        Ok((square / CELLS as f64).sqrt() / max_level)
    }

    /// Programs a `rows x cols` array of levels (`0..=max_level`, row-major) and
    /// reads it `t` seconds later: the levels the array then holds, compensated.
    /// Refused for a time the device model does not describe.
    pub fn program_array(
        &self,
        levels: &[f64],
        cols: usize,
        max_level: f64,
        t: f64,
        rng: &mut DeviceRng,
    ) -> Result<Vec<f64>, String> {
        if self.technology == Technology::Rram && t > self.rram.last_fit() {
            return Err(format!(
                "the RRAM model is fitted up to {} s after programming; {t} s is beyond it: give a --drift-time within it",
                self.rram.last_fit()
            ));
        }
        let span = self.g_max - self.g_min;
        let pcm = self.pcm_model();
        // Levels above g_min (conductances scaled to levels), as programmed (the
        // t = 0 readout) and at time t. Ideal cells keep their level exactly.
        let mut programmed = Vec::with_capacity(levels.len());
        let mut now = Vec::with_capacity(levels.len());
        let to_level = |g: f64| (g - self.g_min) / span * max_level;
        for &level in levels {
            let level = level.clamp(0.0, max_level);
            let (at_programming, at_t) = match self.technology {
                Technology::Ideal => (level, level),
                Technology::Pcm => {
                    let target = self.g_min + level / max_level * span;
                    let g_prog = pcm.program(target, rng);
                    let nu = pcm.drift_exponent(target, rng);
                    (to_level(g_prog), to_level(pcm.read(g_prog, nu, t, rng)))
                }
                Technology::Rram => {
                    // Where a cell stands at a fitted time is drawn afresh around its
                    // target (the fits describe deviations from the target).
                    let target = self.g_min + level / max_level * span;
                    let mut at = |time: f64| {
                        let sigma = self.rram.sigma(target, self.g_max, time).unwrap_or(0.0);
                        (target + sigma * rng.normal()).max(0.0)
                    };
                    let first = self.rram.fits[0].0;
                    let g_prog = at(first);
                    let g_now = if t <= first { g_prog } else { at(t) };
                    (to_level(g_prog), to_level(g_now))
                }
            };
            // A stuck cell holds its end whenever it is read.
            let (at_programming, at_t) = match self.faults.stuck_at(0.0, max_level, rng) {
                Some(end) => (end, end),
                None => (at_programming, at_t),
            };
            programmed.push(at_programming);
            now.push(at_t);
        }
        let factors: Vec<f64> = match self.drift_compensation {
            DriftCompensation::None => vec![1.0; cols.max(1)],
            DriftCompensation::Global => {
                vec![crate::compensation::global_factor(&programmed, &now); cols.max(1)]
            }
            DriftCompensation::PerColumn => {
                crate::compensation::per_column_factors(&programmed, &now, cols.max(1))
            }
        };
        Ok(now
            .iter()
            .enumerate()
            .map(|(k, level)| level * factors[k % cols.max(1)])
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_error_is_zero_for_ideal_cells_and_grows_with_pcm_drift() {
        let ideal = Devices::default();
        assert_eq!(ideal.cell_error(3.0, 3600.0, 0), Ok(0.0));
        let pcm = Devices {
            technology: Technology::Pcm,
            ..Devices::default()
        };
        let early = pcm.cell_error(3.0, 1.0, 0).unwrap();
        let late = pcm.cell_error(3.0, 86400.0, 0).unwrap();
        assert!(early > 0.005 && early < 0.2, "{early}");
        assert!(late > early, "{early} then {late}");
        assert_eq!(pcm.cell_error(3.0, 1.0, 0), Ok(early), "seeded");
    }

    #[test]
    fn ideal_devices_hold_their_levels() {
        let devices = Devices::default();
        let levels = [0.0, 1.0, 2.0, 3.0, 15.0, 7.0];
        let mut rng = DeviceRng::new(1);
        let read = devices
            .program_array(&levels, 3, 15.0, 1e6, &mut rng)
            .unwrap();
        for (a, b) in read.iter().zip(levels) {
            assert!((a - b).abs() < 1e-12, "{read:?}");
        }
    }

    #[test]
    fn pcm_drifts_and_compensation_restores_the_scale() {
        let devices = Devices {
            technology: Technology::Pcm,
            ..Devices::default()
        };
        let levels: Vec<f64> = (0..4096).map(|k| (k % 16) as f64).collect();
        let total = |read: &[f64]| read.iter().sum::<f64>();
        let mut rng = DeviceRng::new(2);
        let day = devices
            .program_array(&levels, 64, 15.0, 86_400.0, &mut rng)
            .unwrap();
        // Drift shrinks conductances by roughly (86420/20)^-0.05 ≈ 0.65.
        let ratio = total(&day) / total(&levels);
        assert!((0.5..0.8).contains(&ratio), "{ratio}");
        let compensated = Devices {
            drift_compensation: DriftCompensation::Global,
            ..devices.clone()
        };
        let mut rng = DeviceRng::new(2);
        let day = compensated
            .program_array(&levels, 64, 15.0, 86_400.0, &mut rng)
            .unwrap();
        let ratio = total(&day) / total(&levels);
        // Back to scale, up to programming noise (which is biased up at level 0).
        assert!((0.95..1.1).contains(&ratio), "{ratio}");
        // Same seed, same bits.
        let mut rng = DeviceRng::new(2);
        assert_eq!(
            Ok(day),
            compensated.program_array(&levels, 64, 15.0, 86_400.0, &mut rng)
        );
    }

    #[test]
    fn problems_name_the_key() {
        let devices = Devices {
            g_max: 0.0,
            ..Devices::default()
        };
        assert_eq!(devices.problem().unwrap().0, "device.g_max");
        let devices = Devices {
            faults: StuckAt { off: 0.7, on: 0.7 },
            ..Devices::default()
        };
        assert_eq!(devices.problem().unwrap().0, "device.faults");
    }
}
