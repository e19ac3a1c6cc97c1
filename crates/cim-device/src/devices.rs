//! A target's devices, and programming an array of them: what the runtime's `full`
//! fidelity reads instead of the programmed levels.
//!
//! A cell at level `L` of `0..=max` (a bit slice's digit) targets the conductance
//! `g_min + L/max·(g_max − g_min)`. It is programmed (programming noise), may be
//! stuck at an end, drifts for `t` seconds and is read with read noise; the
//! runtime then sees `(g − g_min)/(g_max − g_min)·max` levels: `g_min` cancels in a
//! differential pair or against an offset reference, its noise does not. Drift
//! compensation rescales each array (or column) by how much its readout shrank.

use crate::{
    faults::StuckAt,
    hermes::HermesModel,
    pcm::{PcmModel, PhaseChange, ReadTime, TargetStatistics},
    rng::DeviceRng,
    rram::RramModel,
};
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
    /// The phase-change memory of IBM's HERMES chip ([`HermesModel`]).
    Hermes,
}

/// How drift is compensated.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DriftCompensation {
    /// Not at all.
    #[default]
    None,
    /// One factor per array (aihwkit's `GlobalDriftCompensation`): its mean
    /// absolute readout at programming over now.
    Global,
    /// One factor per column (aihwkit's `PerColumnDriftCompensation`).
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
    /// HERMES parameters (`technology = "hermes"`); its `g_max` is taken from above.
    pub hermes: HermesModel,
    /// Stuck cells.
    pub faults: StuckAt,
    /// Drift compensation.
    pub drift_compensation: DriftCompensation,
    /// Weight noise at every read (aihwkit's `w_noise` with `w_noise_type =
    /// PCM_READ`): each output of an MVM gets `forward_noise · sqrt(Σ_j |w_ij|
    /// x_j²) · n`, a fresh normal per output and read, in units of the block's (or
    /// column's) largest weight and of the DAC's full scale.
    pub forward_noise: f64,
}

impl Default for Devices {
    fn default() -> Self {
        Self {
            technology: Technology::Ideal,
            g_min: 0.0,
            g_max: 25.0,
            pcm: PcmModel::default(),
            rram: RramModel::default(),
            hermes: HermesModel::default(),
            faults: StuckAt::default(),
            drift_compensation: DriftCompensation::None,
            forward_noise: 0.0,
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
        if !(self.forward_noise.is_finite() && self.forward_noise >= 0.0) {
            return Some((
                "device.forward_noise",
                format!("{} must be finite and >= 0", self.forward_noise),
            ));
        }
        let hermes = &self.hermes;
        for (key, value) in [
            ("device.hermes.prog_noise_scale", hermes.prog_noise_scale),
            ("device.hermes.read_noise_scale", hermes.read_noise_scale),
            ("device.hermes.drift_scale", hermes.drift_scale),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Some((key, format!("{value} must be finite and >= 0")));
            }
        }
        for (key, value) in [
            ("device.hermes.t0", hermes.t0),
            ("device.hermes.t_read", hermes.t_read),
            ("device.hermes.prog_coeff_g_max", hermes.prog_coeff_g_max),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Some((key, format!("{value} must be finite and > 0")));
            }
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
        let read = self.program_array(&levels, 64, max_level, t, &DeviceRng::new(seed))?;
        let square: f64 = levels
            .iter()
            .zip(&read)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        Ok((square / CELLS as f64).sqrt() / max_level)
    }

    /// Programs a `rows x cols` array of levels (`0..=max_level`, row-major) and
    /// reads it `t` seconds later: the levels the array then holds, compensated
    /// (by the levels themselves: what [`Self::cell_error`] prices; the runtime
    /// compensates by readouts through its converters instead). Refused for a time
    /// the device model does not describe.
    pub fn program_array(
        &self,
        levels: &[f64],
        cols: usize,
        max_level: f64,
        t: f64,
        rng: &DeviceRng,
    ) -> Result<Vec<f64>, String> {
        let Readout { programmed, now } = self.program_cells(levels, max_level, t, rng)?;
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

    /// The phase-change model of the technology, if it is one.
    fn phase_change(&self) -> Option<Box<dyn PhaseChange + Sync>> {
        match self.technology {
            Technology::Pcm => Some(Box::new(self.pcm_model())),
            Technology::Hermes => Some(Box::new(HermesModel {
                g_max: self.g_max,
                ..self.hermes.clone()
            })),
            Technology::Ideal | Technology::Rram => None,
        }
    }

    fn check_time(&self, t: f64) -> Result<(), String> {
        if self.technology == Technology::Rram && t > self.rram.last_fit() {
            return Err(format!(
                "the RRAM model is fitted up to {} s after programming; {t} s is beyond it: give a --drift-time within it",
                self.rram.last_fit()
            ));
        }
        Ok(())
    }

    /// One device at target `target` µS (with `model` when the technology is a
    /// phase-change one): as programmed and `t` seconds later (µS); a stuck cell
    /// holds its end at every read.
    fn device(
        &self,
        (target, model): (f64, Option<PhaseChangeDevice<'_>>),
        t: f64,
        rng: &mut DeviceRng,
    ) -> (f64, f64) {
        let (at_programming, at_t) = match (self.technology, model) {
            (_, Some((model, statistics, at))) => {
                let g_prog = model.program(statistics, rng);
                let nu = model.drift_exponent(statistics, rng);
                (g_prog, model.read(g_prog, nu, at, rng))
            }
            (Technology::Rram, None) => {
                // Where a cell stands at a fitted time is drawn afresh around its
                // target (the fits describe deviations from the target).
                let mut at = |time: f64| {
                    let sigma = self.rram.sigma(target, self.g_max, time).unwrap_or(0.0);
                    (target + sigma * rng.normal()).max(0.0)
                };
                let first = self.rram.fits[0].0;
                let g_prog = at(first);
                let g_now = if t <= first { g_prog } else { at(t) };
                (g_prog, g_now)
            }
            _ => (target, target),
        };
        // A stuck cell holds its end whenever it is read.
        match self.faults.stuck_at(self.g_min, self.g_max, rng) {
            Some(end) => (end, end),
            None => (at_programming, at_t),
        }
    }

    /// Programs cells of one device each to `levels` (`0..=max_level`) and reads
    /// them: right after programming, and `t` seconds later; uncompensated levels.
    /// A level `L` targets `g_min + L/max_level·(g_max − g_min)`; the levels read
    /// are `(g − g_min)/(g_max − g_min)·max_level` (`g_min` cancels against a
    /// differential or offset reference; its noise does not).
    pub fn program_cells(
        &self,
        levels: &[f64],
        max_level: f64,
        t: f64,
        rng: &DeviceRng,
    ) -> Result<Readout, String> {
        self.check_time(t)?;
        let span = self.g_max - self.g_min;
        let to_level = |g: f64| (g - self.g_min) / span * max_level;
        let target = |level: f64| self.g_min + level / max_level * span;
        let model = self.phase_change();
        let at = model.as_deref().map(|model| model.read_time(t));
        let table = model
            .as_deref()
            .map(|model| Targets::new(model, levels.len(), max_level, target));
        let cells = in_pieces(levels, rng, PROGRAMMING, |level, rng| {
            let level = level.clamp(0.0, max_level);
            if self.technology == Technology::Ideal {
                // Ideal cells hold their level exactly, unless stuck.
                let held = self.faults.stuck_at(0.0, max_level, rng).unwrap_or(level);
                return (held, held);
            }
            let statistics = table.as_ref().map(|table| table.at(level));
            let model = model
                .as_deref()
                .zip(statistics.as_ref())
                .zip(at.as_ref())
                .map(|((model, statistics), at)| (model, statistics, at));
            let (g_prog, g_now) = self.device((target(level), model), t, rng);
            (to_level(g_prog), to_level(g_now))
        });
        Ok(Readout::of(cells))
    }

    /// Programs cells of one device pair each to signed `levels`
    /// (`−max_level..=max_level`): the positive device targets the positive part,
    /// the negative one the negative part, and the cell reads their difference
    /// (the currents subtract in analog). As aihwkit's single-pair conductance
    /// converter does for phase-change devices, the drift step reads the pairs
    /// rebuilt from the programmed differences at the array's own scale: one
    /// device of each pair then holds the whole difference, and it drifts and is
    /// read with its own exponent and noise. Levels are returned uncompensated.
    pub fn program_pairs(
        &self,
        levels: &[f64],
        max_level: f64,
        t: f64,
        rng: &DeviceRng,
    ) -> Result<Readout, String> {
        self.check_time(t)?;
        let span = self.g_max - self.g_min;
        let target = |level: f64| self.g_min + level / max_level * span;
        let Some(model) = self.phase_change() else {
            // Two independent devices; g_min cancels.
            let cells = in_pieces(levels, rng, PROGRAMMING, |level, rng| {
                let level = level.clamp(-max_level, max_level);
                let (positive, negative) = (level.max(0.0), (-level).max(0.0));
                if self.technology == Technology::Ideal {
                    let mut held =
                        |level: f64| self.faults.stuck_at(0.0, max_level, rng).unwrap_or(level);
                    let difference = held(positive) - held(negative);
                    return (difference, difference);
                }
                let (p_prog, p_now) = self.device((target(positive), None), t, rng);
                let (n_prog, n_now) = self.device((target(negative), None), t, rng);
                (
                    (p_prog - n_prog) / span * max_level,
                    (p_now - n_now) / span * max_level,
                )
            });
            return Ok(Readout::of(cells));
        };
        let table = Targets::new(model.as_ref(), 2 * levels.len(), max_level, target);
        // Programming: both devices of every pair, each with its drift exponent.
        struct Pair {
            difference: f64,
            nu: [f64; 2],
            stuck: [Option<f64>; 2],
        }
        let pairs: Vec<Pair> = in_pieces(levels, rng, PROGRAMMING, |level, rng| {
            let level = level.clamp(-max_level, max_level);
            let targets = [level.max(0.0), (-level).max(0.0)].map(|level| table.at(level));
            let programmed = targets.map(|at| model.program(&at, rng));
            let nu = targets.map(|at| model.drift_exponent(&at, rng));
            let stuck = [0, 1].map(|_| self.faults.stuck_at(self.g_min, self.g_max, rng));
            let held = |k: usize| stuck[k].unwrap_or(programmed[k]);
            Pair {
                difference: held(0) - held(1),
                nu,
                stuck,
            }
        });
        // The drift step rebuilds the pairs from the programmed differences, full
        // range at the array's largest.
        let largest = pairs
            .iter()
            .map(|pair| pair.difference.abs())
            .fold(0.0f64, f64::max)
            .max(1e-7 * span);
        let rebuild = span / largest;
        let at = model.read_time(t);
        let cells = in_pieces(&pairs, rng, READING, |pair, rng| {
            let rebuilt = [
                self.g_min + (pair.difference * rebuild).clamp(0.0, span),
                self.g_min + (-pair.difference * rebuild).clamp(0.0, span),
            ];
            let read = [0, 1].map(|k| {
                pair.stuck[k].unwrap_or_else(|| model.read(rebuilt[k], pair.nu[k], &at, rng))
            });
            (
                pair.difference / span * max_level,
                (read[0] - read[1]) / rebuild / span * max_level,
            )
        });
        Ok(Readout::of(cells))
    }
}

/// A phase-change device to program: the technology's model, its target's
/// statistics, and the time it is read at.
type PhaseChangeDevice<'a> = (
    &'a (dyn PhaseChange + Sync),
    &'a TargetStatistics,
    &'a ReadTime,
);

/// The target statistics of every level `0..=max_level` a phase-change device of
/// an array may be programmed to, when the array has at least as many devices as
/// levels (an array's levels are whole numbers: its cells' logarithms are then
/// computed once per level, not once per device).
struct Targets<'m, F> {
    model: &'m (dyn PhaseChange + Sync),
    target: F,
    table: Vec<TargetStatistics>,
}

impl<'m, F: Fn(f64) -> f64> Targets<'m, F> {
    fn new(model: &'m (dyn PhaseChange + Sync), devices: usize, max_level: f64, target: F) -> Self {
        let table = if max_level + 1.0 <= devices as f64 {
            (0..=max_level as usize)
                .map(|level| model.statistics(target(level as f64)))
                .collect()
        } else {
            Vec::new()
        };
        Self {
            model,
            target,
            table,
        }
    }

    /// The statistics of level `level` (`>= 0`), from the table when it holds it.
    fn at(&self, level: f64) -> TargetStatistics {
        if level.fract() == 0.0 && level < self.table.len() as f64 {
            self.table[level as usize]
        } else {
            self.model.statistics((self.target)(level))
        }
    }
}

/// Cells per piece of an array programmed on one core: each piece draws from its
/// own stream of the array's generator, so the bits do not depend on the cores.
const PIECE_CELLS: usize = 4096;
/// The stream family of programming draws.
const PROGRAMMING: u64 = 0;
/// The stream family of reading draws.
const READING: u64 = 1 << 32;

/// `cell(item, rng)` of every item, in order, the items cut into pieces of
/// [`PIECE_CELLS`] spread over the cores; piece `k` draws from stream
/// `family + k` of `rng`.
fn in_pieces<I: Sync, T: Send>(
    items: &[I],
    rng: &DeviceRng,
    family: u64,
    cell: impl Fn(&I, &mut DeviceRng) -> T + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    items
        .par_chunks(PIECE_CELLS)
        .enumerate()
        .flat_map_iter(|(piece, items)| {
            let mut rng = rng.fork(family + piece as u64);
            items
                .iter()
                .map(|item| cell(item, &mut rng))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What cells hold, in levels: read right after programming (programming noise,
/// no drift, no read noise) and at the time asked (drift, read noise),
/// uncompensated.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    /// Right after programming.
    pub programmed: Vec<f64>,
    /// At the time asked.
    pub now: Vec<f64>,
}

impl Readout {
    fn of(cells: Vec<(f64, f64)>) -> Self {
        let (programmed, now) = cells.into_iter().unzip();
        Self { programmed, now }
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
    fn a_level_table_gives_the_statistics_computed_per_device() {
        for technology in [Technology::Pcm, Technology::Hermes] {
            let devices = Devices {
                technology,
                g_min: 0.5,
                ..Devices::default()
            };
            let model = devices.phase_change().unwrap();
            let target = |level: f64| devices.g_min + level / 15.0 * (devices.g_max - 0.5);
            let table = Targets::new(model.as_ref(), 100, 15.0, target);
            assert_eq!(
                table.table.len(),
                16,
                "a table once the devices outnumber the levels"
            );
            for level in [0.0, -0.0, 1.0, 7.0, 15.0, 2.5, 16.0] {
                let (tabled, direct) = (table.at(level), model.statistics(target(level)));
                assert_eq!(
                    (tabled.g_target, tabled.programming_sigma, tabled.drift),
                    (direct.g_target, direct.programming_sigma, direct.drift),
                    "{technology:?} at level {level}"
                );
            }
            let few = Targets::new(model.as_ref(), 15, 15.0, target);
            assert!(few.table.is_empty(), "fewer devices than levels: no table");
        }
    }

    #[test]
    fn a_device_at_zero_reads_zero_and_draws_as_any_other() {
        let model = PcmModel::default();
        let (mut a, mut b) = (DeviceRng::new(5), DeviceRng::new(5));
        assert_eq!(
            model.read(0.0, 0.06, &model.read_time(86400.0), &mut a),
            0.0
        );
        model.read(3.0, 0.06, &model.read_time(86400.0), &mut b);
        assert_eq!(a.normal(), b.normal(), "the same draws follow");
    }

    #[test]
    fn ideal_devices_hold_their_levels() {
        let devices = Devices::default();
        let levels = [0.0, 1.0, 2.0, 3.0, 15.0, 7.0];
        let rng = DeviceRng::new(1);
        let read = devices.program_array(&levels, 3, 15.0, 1e6, &rng).unwrap();
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
        let rng = DeviceRng::new(2);
        let day = devices
            .program_array(&levels, 64, 15.0, 86_400.0, &rng)
            .unwrap();
        // Drift shrinks conductances by roughly (86420/20)^-0.05 ≈ 0.65.
        let ratio = total(&day) / total(&levels);
        assert!((0.5..0.8).contains(&ratio), "{ratio}");
        let compensated = Devices {
            drift_compensation: DriftCompensation::Global,
            ..devices.clone()
        };
        let rng = DeviceRng::new(2);
        let day = compensated
            .program_array(&levels, 64, 15.0, 86_400.0, &rng)
            .unwrap();
        let ratio = total(&day) / total(&levels);
        // Back to scale, up to programming noise (which is biased up at level 0).
        assert!((0.95..1.1).contains(&ratio), "{ratio}");
        // Same seed, same bits.
        let rng = DeviceRng::new(2);
        assert_eq!(
            Ok(day),
            compensated.program_array(&levels, 64, 15.0, 86_400.0, &rng)
        );
    }

    #[test]
    fn device_pairs_hold_signed_levels_and_drift_towards_zero() {
        let levels: Vec<f64> = (0..4096).map(|k| (k % 255) as f64 - 127.0).collect();
        let rng = DeviceRng::new(3);
        let ideal = Devices::default()
            .program_pairs(&levels, 127.0, 3600.0, &rng)
            .unwrap();
        assert_eq!(ideal.now, levels);
        for technology in [Technology::Pcm, Technology::Hermes] {
            let devices = Devices {
                technology,
                ..Devices::default()
            };
            let rng = DeviceRng::new(3);
            let read = devices
                .program_pairs(&levels, 127.0, 86_400.0, &rng)
                .unwrap();
            // Programmed: the signed level up to programming noise (a few levels).
            let rms = |a: &[f64]| {
                (a.iter()
                    .zip(&levels)
                    .map(|(x, l)| (x - l).powi(2))
                    .sum::<f64>()
                    / levels.len() as f64)
                    .sqrt()
            };
            assert!(
                rms(&read.programmed) < 12.0,
                "{technology:?} {}",
                rms(&read.programmed)
            );
            // A day later every large level kept its sign and shrank on average.
            let (mut kept, mut total_now, mut total_then) = (true, 0.0, 0.0);
            for ((now, then), level) in read.now.iter().zip(&read.programmed).zip(&levels) {
                if level.abs() > 64.0 {
                    kept &= now.signum() == level.signum();
                    total_now += now.abs();
                    total_then += then.abs();
                }
            }
            assert!(kept, "{technology:?}");
            let ratio = total_now / total_then;
            assert!((0.4..0.95).contains(&ratio), "{technology:?} {ratio}");
            // Same seed, same bits.
            let rng = DeviceRng::new(3);
            assert_eq!(
                Ok(read),
                devices.program_pairs(&levels, 127.0, 86_400.0, &rng)
            );
        }
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
