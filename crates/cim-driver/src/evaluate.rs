//! Accuracy: top-1 of an artifact on a labelled data set, at a fidelity, over one
//! chip or many (Monte Carlo, [`cim_sim::montecarlo`]), and accuracy against the
//! time since programming (a drift sweep, written as CSV and plots).

use crate::{
    DriverError,
    artifact::Artifact,
    calibrate, plot,
    run::{Prepared, RunFidelity, RunSettings},
};
use cim_sim::{Digital, montecarlo::Spread};
use ndarray::{ArrayD, Axis};
use serde::Serialize;
use std::path::Path;

/// Accuracy at one fidelity (full: over several chips).
#[derive(Clone, Debug, Serialize)]
pub struct Accuracy {
    /// The fidelity.
    pub fidelity: RunFidelity,
    /// Where the digital work ran.
    pub digital: Digital,
    /// Mean over the chips.
    pub accuracy: f64,
    /// Standard deviation over the chips (0 for one).
    pub std: f64,
    /// Each chip's accuracy (full fidelity: seeds seed, seed+1, ...).
    pub chips: Vec<f64>,
    /// Correct answers, all chips.
    pub correct: usize,
    /// Inputs, all chips.
    pub total: usize,
    /// Seconds since programming (full fidelity).
    pub drift_time: f64,
}

/// A labelled data set to measure an artifact on.
pub struct Evaluation<'a, 'c> {
    /// The artifact.
    pub artifact: &'a Artifact<'c>,
    /// Its function's inputs, batch first.
    pub inputs: &'a [ArrayD<f64>],
    /// One integer label per input.
    pub labels: &'a ArrayD<f64>,
    /// Where the labels came from (for messages).
    pub labels_path: &'a Path,
    /// Chips to program at full fidelity.
    pub repeats: u64,
    /// Seed of the first chip.
    pub seed: u64,
    /// Chips measured at once (0: one per core), each on a thread of its own;
    /// the results do not depend on it.
    pub jobs: usize,
    /// Where the digital work runs at quantized and full fidelity.
    pub digital: Digital,
    /// At full fidelity, fit every chip's own corrections on these inputs after it
    /// drifted, then measure it (the program's corrections must be the identity:
    /// no adapter set applied).
    pub calibrate_each_chip: Option<PerChip<'a>>,
}

/// Per-chip calibration in a Monte Carlo evaluation.
#[derive(Clone, Copy)]
pub struct PerChip<'a> {
    /// The calibration inputs.
    pub inputs: &'a [ArrayD<f64>],
    /// The fit.
    pub options: cim_sim::adapters::FitOptions,
}

impl Evaluation<'_, '_> {
    /// Checks the labels: one per input, 1-D, each a class index (a whole number,
    /// not negative; the model's class count is checked against its outputs).
    pub fn check(&self) -> Result<(), DriverError> {
        if self.labels.ndim() != 1 {
            return Err(DriverError::Usage(format!(
                "{}: labels of shape {:?}: give one integer label per input, as a 1-D array",
                self.labels_path.display(),
                self.labels.shape()
            )));
        }
        if let Some((index, label)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, label)| !(label.fract() == 0.0 && **label >= 0.0))
        {
            return Err(DriverError::Usage(format!(
                "{}: label {index} is {label}: labels are class indices 0, 1, 2, ...",
                self.labels_path.display()
            )));
        }
        Ok(())
    }

    /// The accuracy at `level`, `drift_time` seconds after programming (full
    /// fidelity: over `repeats` chips; `progress` hears of each chip).
    pub fn accuracy(
        &self,
        level: RunFidelity,
        drift_time: f64,
        progress: impl FnMut(u64, u64) + Send,
    ) -> Result<Accuracy, DriverError> {
        let chips = if level == RunFidelity::Full {
            self.repeats
        } else {
            1
        };
        // The NMDU reads ADC codes: float and exact runs keep float digital work.
        let digital = if level.converts() {
            self.digital
        } else {
            Digital::Float
        };
        // The program is read once; each chip is programmed anew.
        let mut prepared = Prepared::new(self.artifact, level.fidelity(), digital)?;
        let per_chip = match self.calibrate_each_chip {
            Some(per_chip) if level == RunFidelity::Full => {
                if digital != Digital::Float {
                    return Err(DriverError::Usage(
                        "--calibrate-each-chip fits corrections in f64: run it with --digital float"
                            .into(),
                    ));
                }
                Some(calibrate::FitInputs::new(
                    self.artifact,
                    per_chip.inputs,
                    per_chip.options,
                )?)
            }
            _ => None,
        };
        let correct =
            prepared.over_chips((self.seed, chips), self.jobs, progress, |prepared, seed| {
                let settings = RunSettings {
                    drift_time,
                    seed,
                    digital,
                };
                let outputs = match &per_chip {
                    Some(given) => {
                        let fitted =
                            calibrate::fit(prepared, given, std::slice::from_ref(&settings))?;
                        prepared.run_hooked(
                            self.inputs,
                            &settings,
                            Some(&calibrate::Applying(&fitted.layers)),
                        )?
                    }
                    None => prepared.run(self.inputs, &settings)?,
                };
                count_correct(&outputs[0], self.labels, self.labels_path)
            })?;
        let accuracies: Vec<f64> = correct
            .iter()
            .map(|&correct| correct as f64 / self.labels.len().max(1) as f64)
            .collect();
        let Spread { mean, std } = Spread::of(&accuracies);
        Ok(Accuracy {
            fidelity: level,
            digital,
            accuracy: mean,
            std,
            chips: accuracies,
            correct: correct.iter().sum(),
            total: self.labels.len() * chips as usize,
            drift_time: if level == RunFidelity::Full {
                drift_time
            } else {
                0.0
            },
        })
    }

    /// Full-fidelity accuracy at each of `times`, written to `prefix` as CSV
    /// (`.csv`) and plots (`.svg`, `.png`); `on_row` hears of each time's row as
    /// it is measured.
    pub fn drift_sweep(
        &self,
        times: &[f64],
        prefix: &Path,
        mut progress: impl FnMut(f64, u64, u64) + Send,
        mut on_row: impl FnMut(&Accuracy) -> Result<(), DriverError>,
    ) -> Result<Vec<Accuracy>, DriverError> {
        let mut rows = Vec::new();
        for &time in times {
            let row = self.accuracy(RunFidelity::Full, time, |chip, chips| {
                progress(time, chip, chips)
            })?;
            on_row(&row)?;
            rows.push(row);
        }
        let mut csv = String::from("drift_time_s,accuracy,std,chips\n");
        for row in &rows {
            csv += &format!(
                "{},{},{},{}\n",
                row.drift_time,
                row.accuracy,
                row.std,
                row.chips.len()
            );
        }
        let points: Vec<(f64, f64, f64)> = rows
            .iter()
            .map(|row| (row.drift_time, row.accuracy, row.std))
            .collect();
        // The model by its file's name: a path says where it was, not what it is.
        let model = Path::new(&self.artifact.manifest.model);
        let title = format!(
            "{} on '{}', {} chips per point",
            model.file_name().unwrap_or(model.as_os_str()).display(),
            self.artifact.manifest.target_name,
            self.repeats
        );
        let svg = plot::accuracy_over_time_svg(&points, &title).map_err(DriverError::Run)?;
        let png = plot::accuracy_over_time_png(&points, &title).map_err(DriverError::Run)?;
        for (extension, bytes) in [
            ("csv", csv.into_bytes()),
            ("svg", svg.into_bytes()),
            ("png", png),
        ] {
            let path = prefix.with_extension(extension);
            std::fs::write(&path, bytes).map_err(|error| DriverError::File {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
        }
        Ok(rows)
    }
}

/// Inputs whose largest logit is at their label.
pub fn count_correct(
    logits: &ArrayD<f64>,
    labels: &ArrayD<f64>,
    labels_path: &Path,
) -> Result<usize, DriverError> {
    if logits.ndim() != 2 || logits.len_of(Axis(0)) != labels.len() {
        return Err(DriverError::Usage(format!(
            "{}: {} labels for outputs of shape {:?}: give one integer label per input",
            labels_path.display(),
            labels.len(),
            logits.shape()
        )));
    }
    let classes = logits.len_of(Axis(1));
    if let Some((index, label)) = labels
        .iter()
        .enumerate()
        .find(|(_, label)| **label >= classes as f64)
    {
        return Err(DriverError::Usage(format!(
            "{}: label {index} is {label}, but the model has {classes} classes (0 to {}): give the labels of this model's classes",
            labels_path.display(),
            classes.saturating_sub(1)
        )));
    }
    Ok(logits
        .axis_iter(Axis(0))
        .zip(labels.iter())
        .filter(|(row, label)| {
            let best = row
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                });
            best.0 as f64 == **label
        })
        .count())
}
