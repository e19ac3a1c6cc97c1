//! Design-space exploration (`cimc explore`): every point of a space
//! ([`space::Space`]) compiled, reported and measured on simulated chips, and the
//! Pareto front of the objectives ([`front`]).
//!
//! A run directory holds the plan (`plan.json`: the model, the data, the space,
//! its points), one result per point (`points/NNNNNN.json`, written whole or not at
//! all), each point's target file (`targets/`), and what merging the results
//! writes: `points.jsonl`, `points.csv`, `front.csv`, and plots of accuracy
//! against each cost objective (`front-METRIC.svg`, `.png`). Points are
//! independent tasks: a run on one machine evaluates the pending ones in turn, a
//! cluster runs `--task I` for every index (HyperQueue, Slurm job arrays), and a
//! rerun skips points already evaluated.
//!
//! On one machine, every pending point is first compiled, reported and run at
//! quantized fidelity (no device noise: an estimate from above of its accuracy on
//! chips); then, best estimate first, a point is measured on chips at full
//! fidelity unless a point already measured costs no more in every cost objective
//! and is more accurate than the estimate plus `evaluate.prune_margin` (then it
//! cannot be on the front, and is recorded as `pruned`).

pub mod front;
pub mod search;
pub mod space;

use crate::{
    DriverError,
    artifact::{self, Artifact},
    evaluate::{Evaluation, PerChip},
    plot, report,
    run::{self, RunFidelity},
};
use cim_ir::CimContext;
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};
use space::{Method, Point, Space};
use std::path::{Path, PathBuf};

/// The version of the run directory's files (plan, results, JSON Lines).
pub const SCHEMA: u32 = 1;

/// What an exploration runs: written once per run directory.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Plan {
    /// Files' version.
    pub schema: u32,
    /// The model (absolute path).
    pub model: PathBuf,
    /// Test inputs (.npy).
    pub data: PathBuf,
    /// Their labels (.npy).
    pub labels: PathBuf,
    /// Converter calibration inputs (.npy), also fitting per-chip adapters.
    pub calibration: Option<PathBuf>,
    /// The space file, as given.
    pub space_file: String,
    /// The space's text.
    pub space_text: String,
    /// Its points.
    pub points: usize,
}

/// What became of a point.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured at full fidelity, within the constraints.
    Ok,
    /// Not measured on chips: it cannot be on the front (see the reason).
    Pruned,
    /// Outside a constraint.
    Infeasible,
    /// It does not compile or run (the reason says why).
    Failed,
}

/// A point's accuracy at one time after programming, over the chips.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct AtTime {
    /// Seconds after programming.
    pub drift_time: f64,
    /// Mean over the chips.
    pub accuracy: f64,
    /// Standard deviation over the chips.
    pub std: f64,
}

/// What a point measures.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct Metrics {
    /// Full fidelity: the worst mean over the drift times (absent when pruned).
    pub accuracy: Option<f64>,
    /// The chips' standard deviation at that time.
    pub accuracy_std: Option<f64>,
    /// Each drift time's accuracy.
    pub drift: Vec<AtTime>,
    /// Quantized fidelity (converters, no device noise).
    pub quantized_accuracy: Option<f64>,
    /// Energy per inference, nJ (arrays, converters and digital work).
    pub energy_nj: f64,
    /// One inference, layer after layer, ns.
    pub latency_ns: f64,
    /// Between inferences when layers are pipelined, ns.
    pub interval_ns: f64,
    /// Arrays and their ADCs, mm².
    pub area_mm2: f64,
    /// Arrays used.
    pub arrays: usize,
    /// ADC conversions per inference.
    pub adc_conversions: u64,
}

impl Metrics {
    /// The value of metric `name` ([`space::METRICS`]), if measured.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "accuracy" => self.accuracy,
            "energy_nj" => Some(self.energy_nj),
            "latency_ns" => Some(self.latency_ns),
            "interval_ns" => Some(self.interval_ns),
            "area_mm2" => Some(self.area_mm2),
            "arrays" => Some(self.arrays as f64),
            "adc_conversions" => Some(self.adc_conversions as f64),
            _ => None,
        }
    }
}

/// One point's result.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct PointResult {
    /// Files' version.
    pub schema: u32,
    /// The point's index in the space.
    pub index: usize,
    /// Its choices.
    pub choices: Point,
    /// What became of it.
    pub status: Status,
    /// Why, unless ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// Wall time spent on it, in seconds (not part of any comparison).
    pub seconds: f64,
}

/// An exploration in a run directory.
pub struct Explorer<'c> {
    cim: &'c CimContext,
    dir: PathBuf,
    plan: Plan,
    space: Space,
    /// Keep each point's artifact (`artifacts/NNNNNN`).
    pub keep_artifacts: bool,
    inputs: Option<DataSets>,
}

/// The test inputs, their labels, and the calibration inputs, read once.
struct DataSets {
    inputs: Vec<ArrayD<f64>>,
    labels: ArrayD<f64>,
    calibration: Option<Vec<ArrayD<f64>>>,
}

fn file_error(path: &Path, error: impl std::fmt::Display) -> DriverError {
    DriverError::File {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, DriverError> {
    std::fs::canonicalize(path).map_err(|error| file_error(path, error))
}

/// Writes `bytes` to `path` whole or not at all (a task killed midway leaves no
/// half-written result).
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).map_err(|error| file_error(&partial, error))?;
    std::fs::rename(&partial, path).map_err(|error| file_error(path, error))
}

impl<'c> Explorer<'c> {
    /// Writes the plan of exploring `space_file` for `model` into `dir` (or checks
    /// that the plan there is the same: a run directory holds one exploration).
    pub fn plan(
        cim: &'c CimContext,
        dir: &Path,
        model: &Path,
        space_file: &Path,
        (data, labels, calibration): (&Path, &Path, Option<&Path>),
    ) -> Result<Self, DriverError> {
        let space_text =
            std::fs::read_to_string(space_file).map_err(|error| file_error(space_file, error))?;
        let space = Space::parse(&space_text, &space_file.display().to_string())?;
        let adapters = space.choices.iter().any(|(key, values)| {
            key == "compile.adapter_rank" && values.iter().any(|v| v.as_integer() != Some(0))
        });
        if adapters && calibration.is_none() {
            return Err(DriverError::Usage(format!(
                "{}: compile.adapter_rank above 0 fits each chip's adapters: give --calibration X.npy",
                space_file.display()
            )));
        }
        // A model that does not import fails every point alike: refused here.
        crate::pipeline::parse_model(cim, model)?;
        let plan = Plan {
            schema: SCHEMA,
            model: absolute(model)?,
            data: absolute(data)?,
            labels: absolute(labels)?,
            calibration: calibration.map(absolute).transpose()?,
            space_file: space_file.display().to_string(),
            space_text,
            points: space.size(),
        };
        std::fs::create_dir_all(dir.join("points")).map_err(|error| file_error(dir, error))?;
        let path = dir.join("plan.json");
        if path.exists() {
            let existing = Self::read_plan(dir)?;
            if existing != plan {
                return Err(DriverError::Usage(format!(
                    "{}: this run directory holds another exploration (model, data or space differ): give another -o, or delete it",
                    dir.display()
                )));
            }
        } else {
            let text = serde_json::to_string_pretty(&plan).map_err(|e| file_error(&path, e))?;
            write_whole(&path, text.as_bytes())?;
        }
        Ok(Self::new(cim, dir, plan, space))
    }

    fn new(cim: &'c CimContext, dir: &Path, plan: Plan, space: Space) -> Self {
        Self {
            cim,
            dir: dir.to_owned(),
            plan,
            space,
            keep_artifacts: false,
            inputs: None,
        }
    }

    fn read_plan(dir: &Path) -> Result<Plan, DriverError> {
        let path = dir.join("plan.json");
        let text = std::fs::read_to_string(&path).map_err(|error| {
            file_error(
                &path,
                format!("{error} (write the plan first: cimc explore MODEL --space ... --plan)"),
            )
        })?;
        let plan: Plan = serde_json::from_str(&text).map_err(|error| file_error(&path, error))?;
        if plan.schema != SCHEMA {
            return Err(file_error(
                &path,
                format!(
                    "schema {} (this cimc reads {SCHEMA}): plan it again",
                    plan.schema
                ),
            ));
        }
        Ok(plan)
    }

    /// The exploration planned in `dir`.
    pub fn open(cim: &'c CimContext, dir: &Path) -> Result<Self, DriverError> {
        let plan = Self::read_plan(dir)?;
        let space = Space::parse(&plan.space_text, &plan.space_file)?;
        Ok(Self::new(cim, dir, plan, space))
    }

    /// The number of points.
    pub fn points(&self) -> usize {
        self.plan.points
    }

    /// The space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    fn result_path(&self, index: usize) -> PathBuf {
        self.dir.join("points").join(format!("{index:06}.json"))
    }

    /// The result of point `index`, if it was evaluated.
    pub fn result(&self, index: usize) -> Result<Option<PointResult>, DriverError> {
        let path = self.result_path(index);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|error| file_error(&path, error))?;
        let result: PointResult =
            serde_json::from_str(&text).map_err(|error| file_error(&path, error))?;
        Ok(Some(result))
    }

    fn save(&self, result: &PointResult) -> Result<(), DriverError> {
        let path = self.result_path(result.index);
        let text = serde_json::to_string(result).map_err(|error| file_error(&path, error))?;
        write_whole(&path, text.as_bytes())
    }

    /// The inputs, labels and calibration inputs, read once.
    fn load_inputs(&mut self) -> Result<(), DriverError> {
        if self.inputs.is_none() {
            let inputs = run::read_inputs(std::slice::from_ref(&self.plan.data))?;
            let labels = run::read_inputs(std::slice::from_ref(&self.plan.labels))?.remove(0);
            let calibration = match &self.plan.calibration {
                Some(path) => Some(run::read_inputs(std::slice::from_ref(path))?),
                None => None,
            };
            self.inputs = Some(DataSets {
                inputs,
                labels,
                calibration,
            });
        }
        Ok(())
    }

    /// Compiles point `index` and measures what needs no chip: its report and
    /// quantized accuracy. A point outside a cost constraint, or that fails, is
    /// finished here.
    fn prepare(&mut self, index: usize) -> Result<Prepared, DriverError> {
        self.load_inputs()?;
        let start = std::time::Instant::now();
        let choices = self.space.point(index);
        let finished = |status: Status, reason: String, metrics: Option<Metrics>| {
            Ok(Prepared::Finished(PointResult {
                schema: SCHEMA,
                index,
                choices: choices.clone(),
                status,
                reason: Some(reason),
                metrics,
                seconds: start.elapsed().as_secs_f64(),
            }))
        };
        let (target_text, mut options) = match self.space.configure(&choices) {
            Ok(configured) => configured,
            Err(why) => return finished(Status::Failed, why, None),
        };
        let targets = self.dir.join("targets");
        std::fs::create_dir_all(&targets).map_err(|error| file_error(&targets, error))?;
        let target_path = targets.join(format!("{index:06}.toml"));
        write_whole(&target_path, target_text.as_bytes())?;
        options.target = target_path.display().to_string();
        let artifact_dir = self.dir.join("artifacts").join(format!("{index:06}"));
        let compiled = artifact::compile(
            self.cim,
            &self.plan.model,
            &options,
            self.plan.calibration.as_deref(),
            None,
            &artifact_dir,
        );
        let compiled = match compiled {
            Ok(compiled) => compiled,
            Err(error) => {
                let _ = std::fs::remove_dir_all(&artifact_dir);
                return finished(Status::Failed, error.to_string(), None);
            }
        };
        let artifact = artifact::read_artifact(self.cim, &artifact_dir)?;
        let (summary, _) = report::of_artifact(&artifact, &compiled.target)?;
        let mut metrics = Metrics {
            energy_nj: summary.energy_nj,
            latency_ns: summary.latency_ns,
            interval_ns: summary.interval_ns,
            area_mm2: summary.area_mm2,
            arrays: summary.arrays,
            adc_conversions: summary.adc_conversions,
            ..Metrics::default()
        };
        if let Some(reason) = self.outside(&metrics, false) {
            self.drop_artifact(&artifact_dir);
            return finished(Status::Infeasible, reason, Some(metrics));
        }
        let quantized =
            self.evaluation(&artifact, None)
                .accuracy(RunFidelity::Quantized, 0.0, |_, _| {});
        match quantized {
            Ok(row) => metrics.quantized_accuracy = Some(row.accuracy),
            Err(error) => {
                self.drop_artifact(&artifact_dir);
                return finished(Status::Failed, error.to_string(), Some(metrics));
            }
        }
        Ok(Prepared::Compiled(Compiled {
            index,
            choices,
            metrics,
            adapters: options.adapter_rank > 0,
            artifact: artifact_dir,
            seconds: start.elapsed().as_secs_f64(),
        }))
    }

    fn evaluation<'a>(
        &'a self,
        artifact: &'a Artifact<'c>,
        per_chip: Option<PerChip<'a>>,
    ) -> Evaluation<'a, 'c> {
        let DataSets { inputs, labels, .. } = self.inputs.as_ref().expect("inputs are read first");
        Evaluation {
            artifact,
            inputs,
            labels,
            labels_path: &self.plan.labels,
            repeats: self.space.evaluate.chips,
            seed: self.space.evaluate.seed,
            // One chip per core at once: a point's chips are its largest work.
            jobs: 0,
            digital: self.space.evaluate.digital,
            calibrate_each_chip: per_chip,
        }
    }

    fn drop_artifact(&self, dir: &Path) {
        if !self.keep_artifacts {
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    /// The constraint `metrics` break, if any (`accuracy` only when `measured`).
    fn outside(&self, metrics: &Metrics, measured: bool) -> Option<String> {
        self.space
            .constraints
            .iter()
            .filter(|(name, _)| measured || name.as_str() != "accuracy")
            .find_map(|(name, bound)| {
                let value = metrics.get(name)?;
                (!bound.admits(value)).then(|| {
                    format!(
                        "{name} {value:.6} outside the constraint{}{}",
                        bound.min.map(|v| format!(" min {v}")).unwrap_or_default(),
                        bound.max.map(|v| format!(" max {v}")).unwrap_or_default()
                    )
                })
            })
    }

    /// Measures a compiled point on chips at full fidelity.
    fn measure(&self, compiled: Compiled) -> Result<PointResult, DriverError> {
        let Compiled {
            index,
            choices,
            mut metrics,
            adapters,
            artifact: artifact_dir,
            seconds,
        } = compiled;
        let start = std::time::Instant::now();
        let artifact = artifact::read_artifact(self.cim, &artifact_dir)?;
        let calibration = self
            .inputs
            .as_ref()
            .and_then(|sets| sets.calibration.as_deref());
        let per_chip = match (adapters, calibration) {
            (true, Some(inputs)) => Some(PerChip {
                inputs,
                options: cim_sim::adapters::FitOptions::default(),
            }),
            _ => None,
        };
        let evaluation = self.evaluation(&artifact, per_chip);
        let mut failure = None;
        for &time in &self.space.evaluate.drift_times {
            match evaluation.accuracy(RunFidelity::Full, time, |_, _| {}) {
                Ok(row) => metrics.drift.push(AtTime {
                    drift_time: time,
                    accuracy: row.accuracy,
                    std: row.std,
                }),
                Err(error) => {
                    failure = Some(error.to_string());
                    break;
                }
            }
        }
        drop(artifact);
        self.drop_artifact(&artifact_dir);
        if let Some(worst) = metrics
            .drift
            .iter()
            .min_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
        {
            metrics.accuracy = Some(worst.accuracy);
            metrics.accuracy_std = Some(worst.std);
        }
        let (status, reason) = match (failure, self.outside(&metrics, true)) {
            (Some(why), _) => (Status::Failed, Some(why)),
            (None, Some(why)) => (Status::Infeasible, Some(why)),
            (None, None) => (Status::Ok, None),
        };
        Ok(PointResult {
            schema: SCHEMA,
            index,
            choices,
            status,
            reason,
            metrics: Some(metrics),
            seconds: seconds + start.elapsed().as_secs_f64(),
        })
    }

    /// Evaluates point `index` whole (a cluster's task), unless it was already.
    pub fn run_task(&mut self, index: usize) -> Result<PointResult, DriverError> {
        if index >= self.plan.points {
            return Err(DriverError::Usage(format!(
                "--task {index}: the plan has points 0 to {}",
                self.plan.points.saturating_sub(1)
            )));
        }
        if let Some(done) = self.result(index)? {
            return Ok(done);
        }
        let result = match self.prepare(index)? {
            Prepared::Finished(result) => result,
            Prepared::Compiled(compiled) => self.measure(compiled)?,
        };
        self.save(&result)?;
        Ok(result)
    }

    /// Evaluates every pending point on this machine (each point of the space, or
    /// those an evolutionary search chooses), pruning those that cannot be on the
    /// front; `progress` hears of each point's result as it is saved (with how
    /// many are done, of how many).
    pub fn run_all(
        &mut self,
        mut progress: impl FnMut(&PointResult, usize, usize),
    ) -> Result<(), DriverError> {
        match self.space.search.method {
            Method::Exhaustive => {
                let mut done = Vec::new();
                let all: Vec<usize> = (0..self.plan.points).collect();
                self.evaluate(&all, &mut done, &mut progress)?;
            }
            Method::Evolutionary => {
                let search = self.space.search.clone();
                let (radices, objectives) = (self.space.radices(), self.space.objectives.clone());
                let mut searching = Searching {
                    explorer: self,
                    done: Vec::new(),
                    compiled: Vec::new(),
                    progress: &mut progress,
                };
                search::nsga2(&search, &radices, &objectives, &mut searching)?;
            }
        }
        // Gone unless kept (a directory with artifacts in it stays).
        let _ = std::fs::remove_dir(self.dir.join("artifacts"));
        Ok(())
    }

    /// A point's objective values for the search, measured (`estimated`: with
    /// its quantized accuracy, an estimate from above); a pruned point counts
    /// with its estimate (which a measured point already beats); an infeasible
    /// or failed point has none.
    fn fitness(&self, status: Status, metrics: &Metrics, estimated: bool) -> search::Fitness {
        let accuracy = match status {
            // What the estimate was, whatever measuring found later.
            _ if estimated => metrics.quantized_accuracy?,
            Status::Ok => metrics.accuracy?,
            Status::Pruned => metrics.quantized_accuracy?,
            Status::Infeasible | Status::Failed => return None,
        };
        self.space
            .objectives
            .iter()
            .map(|o| {
                if o == "accuracy" {
                    Some(accuracy)
                } else {
                    metrics.get(o)
                }
            })
            .collect()
    }

    /// Evaluates `points` (their saved results where there are some), appending
    /// the results to `done`: each pending point is compiled and estimated, then,
    /// best estimate first, measured on chips unless a result in `done` prunes it.
    fn evaluate(
        &mut self,
        points: &[usize],
        done: &mut Vec<PointResult>,
        progress: &mut dyn FnMut(&PointResult, usize, usize),
    ) -> Result<(), DriverError> {
        let mut pending = Vec::new();
        for &index in points {
            match self.result(index)? {
                Some(result) => done.push(result),
                None => pending.push(index),
            }
        }
        let mut compiled = Vec::new();
        for index in pending {
            compiled.extend(self.prepare_or_finish(index, done, progress)?);
        }
        self.measure_best_first(compiled, done, progress)
    }

    /// Prepares point `index`: a point finished there (failed, or outside a cost
    /// constraint) is saved and appended to `done`; a compiled one is returned,
    /// to be measured.
    fn prepare_or_finish(
        &mut self,
        index: usize,
        done: &mut Vec<PointResult>,
        progress: &mut dyn FnMut(&PointResult, usize, usize),
    ) -> Result<Option<Compiled>, DriverError> {
        match self.prepare(index)? {
            Prepared::Finished(result) => {
                self.save(&result)?;
                progress(&result, done.len() + 1, self.plan.points);
                done.push(result);
                Ok(None)
            }
            Prepared::Compiled(point) => Ok(Some(point)),
        }
    }

    /// Measures `compiled` on chips, best estimate first (what is measured early
    /// prunes the most), unless a result in `done` prunes a point; each result is
    /// saved and appended to `done`.
    fn measure_best_first(
        &mut self,
        mut compiled: Vec<Compiled>,
        done: &mut Vec<PointResult>,
        progress: &mut dyn FnMut(&PointResult, usize, usize),
    ) -> Result<(), DriverError> {
        let estimate = |point: &Compiled| point.metrics.quantized_accuracy.unwrap_or(0.0);
        compiled.sort_by(|a, b| {
            estimate(b)
                .total_cmp(&estimate(a))
                .then(a.index.cmp(&b.index))
        });
        for point in compiled {
            let result = match self.prune(&point, done) {
                Some(result) => {
                    self.drop_artifact(&point.artifact);
                    result
                }
                None => self.measure(point)?,
            };
            self.save(&result)?;
            progress(&result, done.len() + 1, self.plan.points);
            done.push(result);
        }
        Ok(())
    }

    /// The result of skipping `point` when it cannot be on the front: a
    /// measured point costs no more in every cost objective and is more
    /// accurate than its estimate plus the margin, or the estimate plus the
    /// margin is below the accuracy constraint.
    fn prune(&self, point: &Compiled, done: &[PointResult]) -> Option<PointResult> {
        let Compiled {
            index,
            choices,
            metrics,
            seconds,
            ..
        } = point;
        let margin = self.space.evaluate.prune_margin;
        let objectives = &self.space.objectives;
        if margin < 0.0 || !objectives.iter().any(|o| o == "accuracy") {
            return None;
        }
        let ceiling = metrics.quantized_accuracy? + margin;
        let below_constraint = self
            .space
            .constraints
            .get("accuracy")
            .and_then(|bound| bound.min)
            .filter(|&min| ceiling < min)
            .map(|min| {
                format!("quantized accuracy {ceiling:.4} - margin below the constraint min {min}")
            });
        let beaten = || {
            done.iter()
                .filter(|other| other.status == Status::Ok)
                .find(|other| {
                    let theirs = other.metrics.as_ref().expect("ok points have metrics");
                    theirs.accuracy.is_some_and(|a| a > ceiling)
                        && objectives
                            .iter()
                            .filter(|o| o.as_str() != "accuracy")
                            .all(|o| theirs.get(o) <= metrics.get(o))
                })
                .map(|other| {
                    format!(
                        "point {} costs no more and its accuracy beats this point's quantized accuracy by more than the margin {margin}",
                        other.index
                    )
                })
        };
        let reason = below_constraint.or_else(beaten)?;
        Some(PointResult {
            schema: SCHEMA,
            index: *index,
            choices: choices.clone(),
            status: Status::Pruned,
            reason: Some(reason),
            metrics: Some(metrics.clone()),
            seconds: *seconds,
        })
    }

    /// Joins the results into `points.jsonl`, `points.csv`, `front.csv` and the
    /// plots; returns the summary.
    pub fn merge(&self) -> Result<Merged, DriverError> {
        let results = self.results()?;
        let objectives = &self.space.objectives;
        let eligible: Vec<&PointResult> =
            results.iter().filter(|r| r.status == Status::Ok).collect();
        let values = self.objective_values(eligible.iter().copied());
        let front: Vec<usize> = front::pareto_front(objectives, &values)
            .into_iter()
            .map(|i| eligible[i].index)
            .collect();
        let merged = Merged {
            points: self.plan.points,
            evaluated: results.len(),
            ok: eligible.len(),
            pruned: count(&results, Status::Pruned),
            infeasible: count(&results, Status::Infeasible),
            failed: count(&results, Status::Failed),
            objectives: objectives.clone(),
            front: front.clone(),
        };
        self.write_outputs(&results, &front)?;
        Ok(merged)
    }

    /// Every result saved in the run directory, by index.
    fn results(&self) -> Result<Vec<PointResult>, DriverError> {
        let mut results = Vec::new();
        for index in 0..self.plan.points {
            if let Some(result) = self.result(index)? {
                results.push(result);
            }
        }
        Ok(results)
    }

    /// The objective values of the measured points among `results`.
    fn objective_values<'r>(
        &self,
        results: impl Iterator<Item = &'r PointResult>,
    ) -> Vec<Vec<f64>> {
        results
            .filter(|r| r.status == Status::Ok)
            .map(|r| {
                let metrics = r.metrics.as_ref().expect("ok points have metrics");
                self.space
                    .objectives
                    .iter()
                    .map(|o| metrics.get(o).unwrap_or(f64::NAN))
                    .collect()
            })
            .collect()
    }

    /// How this run's front compares with `other`'s (typically an exhaustive
    /// run of the same space): hypervolumes with costs on a log scale,
    /// normalised by the front of both runs' measured points, and, after each
    /// generation of this run's search, the fraction of `other`'s hypervolume it
    /// had reached.
    pub fn compare(&self, other: &Explorer) -> Result<Comparison, DriverError> {
        let objectives = &self.space.objectives;
        if objectives != &other.space.objectives {
            return Err(DriverError::Usage(format!(
                "--against {}: its objectives ({}) are not this run's ({})",
                other.dir.display(),
                other.space.objectives.join(", "),
                objectives.join(", ")
            )));
        }
        let ours = self.results()?;
        let theirs = other.results()?;
        let (our_values, their_values) = (
            self.objective_values(ours.iter()),
            self.objective_values(theirs.iter()),
        );
        let all: Vec<Vec<f64>> = our_values.iter().chain(&their_values).cloned().collect();
        if their_values.is_empty() {
            return Err(DriverError::Usage(format!(
                "--against {}: it has no measured point to compare with",
                other.dir.display()
            )));
        }
        let bounds = front::bounds(objectives, &all);
        let volume =
            |values: &[Vec<f64>]| front::normalised_hypervolume(objectives, values, &bounds);
        let reference = volume(&their_values);
        let fraction = |volume: f64| {
            if reference > 0.0 {
                volume / reference
            } else {
                1.0
            }
        };
        let log_path = self.dir.join("search.json");
        let log: search::SearchLog = if log_path.exists() {
            let text =
                std::fs::read_to_string(&log_path).map_err(|error| file_error(&log_path, error))?;
            serde_json::from_str(&text).map_err(|error| file_error(&log_path, error))?
        } else {
            search::SearchLog {
                order: ours.iter().map(|r| r.index).collect(),
                generations: vec![ours.len()],
                measured: vec![ours.len()],
            }
        };
        let by_index: std::collections::BTreeMap<usize, &PointResult> =
            ours.iter().map(|r| (r.index, r)).collect();
        let mut progress = Vec::new();
        for &evaluated in &log.generations {
            let prefix: Vec<&PointResult> = log.order[..evaluated.min(log.order.len())]
                .iter()
                .filter_map(|index| by_index.get(index).copied())
                .collect();
            let measured = prefix
                .iter()
                .filter(|r| r.metrics.as_ref().is_some_and(|m| m.accuracy.is_some()))
                .count();
            progress.push(Progress {
                evaluated,
                measured,
                fraction: fraction(volume(&self.objective_values(prefix.into_iter()))),
            });
        }
        let reached = |goal: f64| progress.iter().find(|p| p.fraction >= goal).cloned();
        let our_volume = volume(&our_values);
        Ok(Comparison {
            against: other.dir.display().to_string(),
            hypervolume: our_volume,
            against_hypervolume: reference,
            fraction: fraction(our_volume),
            reached_95: reached(0.95),
            progress,
        })
    }

    fn write_outputs(&self, results: &[PointResult], front: &[usize]) -> Result<(), DriverError> {
        #[derive(Serialize)]
        struct Line<'a> {
            #[serde(flatten)]
            result: &'a PointResult,
            on_front: bool,
        }
        let mut jsonl = String::new();
        for result in results {
            let line = Line {
                result,
                on_front: front.contains(&result.index),
            };
            jsonl.push_str(&serde_json::to_string(&line).map_err(|e| file_error(&self.dir, e))?);
            jsonl.push('\n');
        }
        write_whole(&self.dir.join("points.jsonl"), jsonl.as_bytes())?;
        let keys: Vec<&String> = self.space.choices.iter().map(|(key, _)| key).collect();
        let table = |rows: &mut dyn Iterator<Item = &PointResult>| -> String {
            let mut csv = String::from("index,status");
            for key in &keys {
                csv.push(',');
                csv.push_str(key);
            }
            csv.push_str(",accuracy,accuracy_std,quantized_accuracy,energy_nj,latency_ns,interval_ns,area_mm2,arrays,adc_conversions,on_front\n");
            for result in rows {
                csv.push_str(&format!("{},{:?}", result.index, result.status).to_lowercase());
                for key in &keys {
                    let value = result.choices.get(*key).map(csv_value).unwrap_or_default();
                    csv.push(',');
                    csv.push_str(&value);
                }
                let m = result.metrics.clone().unwrap_or_default();
                let optional = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
                let costs = result.metrics.is_some();
                let cost = |v: f64| if costs { format!("{v}") } else { String::new() };
                csv.push_str(&format!(
                    ",{},{},{},{},{},{},{},{},{},{}\n",
                    optional(m.accuracy),
                    optional(m.accuracy_std),
                    optional(m.quantized_accuracy),
                    cost(m.energy_nj),
                    cost(m.latency_ns),
                    cost(m.interval_ns),
                    cost(m.area_mm2),
                    cost(m.arrays as f64),
                    cost(m.adc_conversions as f64),
                    front.contains(&result.index)
                ));
            }
            csv
        };
        write_whole(
            &self.dir.join("points.csv"),
            table(&mut results.iter()).as_bytes(),
        )?;
        write_whole(
            &self.dir.join("front.csv"),
            table(&mut results.iter().filter(|r| front.contains(&r.index))).as_bytes(),
        )?;
        if self.space.objectives.iter().any(|o| o == "accuracy") {
            for cost in self.space.objectives.iter().filter(|o| *o != "accuracy") {
                let points: Vec<plot::Marked> = results
                    .iter()
                    .filter(|r| r.status == Status::Ok)
                    .filter_map(|r| {
                        let m = r.metrics.as_ref()?;
                        Some(plot::Marked {
                            x: m.get(cost)?,
                            y: m.accuracy?,
                            marked: front.contains(&r.index),
                        })
                    })
                    .collect();
                let title = format!("accuracy against {cost} (front marked)");
                let labels = plot::Labels {
                    title: &title,
                    x: cost,
                    y: "accuracy",
                };
                let svg =
                    plot::scatter_svg(&points, &labels).map_err(|e| file_error(&self.dir, e))?;
                write_whole(&self.dir.join(format!("front-{cost}.svg")), svg.as_bytes())?;
                let png =
                    plot::scatter_png(&points, &labels).map_err(|e| file_error(&self.dir, e))?;
                write_whole(&self.dir.join(format!("front-{cost}.png")), &png)?;
            }
        }
        Ok(())
    }
}

fn count(results: &[PointResult], status: Status) -> usize {
    results.iter().filter(|r| r.status == status).count()
}

/// A choice's value in a CSV cell (quoted when it holds a comma).
fn csv_value(value: &toml::Value) -> String {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.contains(',') || text.contains('"') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The evolutionary search's view of an exploration: estimating is preparing
/// (saved results stand in for work done before), measuring is measuring or
/// pruning; points passed over are recorded `pruned` with their estimates.
struct Searching<'e, 'c, 'p> {
    explorer: &'e mut Explorer<'c>,
    /// Results so far (what prunes).
    done: Vec<PointResult>,
    /// Points estimated and not yet measured or passed over.
    compiled: Vec<Compiled>,
    progress: &'p mut dyn FnMut(&PointResult, usize, usize),
}

impl search::Evaluator for Searching<'_, '_, '_> {
    type Error = DriverError;

    fn estimate(&mut self, points: &[usize]) -> Result<Vec<search::Fitness>, DriverError> {
        let mut estimates = Vec::with_capacity(points.len());
        for &index in points {
            // A result saved before a rerun counts in pruning as it did then.
            let compiled = match self.explorer.result(index)? {
                Some(result) => {
                    self.done.push(result);
                    None
                }
                None => self
                    .explorer
                    .prepare_or_finish(index, &mut self.done, self.progress)?,
            };
            let estimate = match &compiled {
                Some(point) => self.explorer.fitness(Status::Ok, &point.metrics, true),
                None => self.done.last().and_then(|result| {
                    let metrics = result.metrics.as_ref()?;
                    self.explorer.fitness(result.status, metrics, true)
                }),
            };
            estimates.push(estimate);
            self.compiled.extend(compiled);
        }
        Ok(estimates)
    }

    fn measure(
        &mut self,
        chosen: &[usize],
        passed_over: &[usize],
    ) -> Result<Vec<search::Fitness>, DriverError> {
        let mut take = |index: usize| {
            let at = self.compiled.iter().position(|p| p.index == index)?;
            Some(self.compiled.swap_remove(at))
        };
        // Points without a compiled entry were evaluated before this rerun.
        let passed: Vec<Compiled> = passed_over.iter().filter_map(|&i| take(i)).collect();
        let points: Vec<Compiled> = chosen.iter().filter_map(|&i| take(i)).collect();
        for point in passed {
            self.explorer.drop_artifact(&point.artifact);
            let result = PointResult {
                schema: SCHEMA,
                index: point.index,
                choices: point.choices,
                status: Status::Pruned,
                reason: Some(
                    "passed over by the search: other candidates' estimates ranked higher".into(),
                ),
                metrics: Some(point.metrics),
                seconds: point.seconds,
            };
            self.explorer.save(&result)?;
            (self.progress)(&result, self.done.len() + 1, self.explorer.plan.points);
            self.done.push(result);
        }
        self.explorer
            .measure_best_first(points, &mut self.done, self.progress)?;
        Ok(chosen
            .iter()
            .map(|&index| {
                let result = self.done.iter().rev().find(|r| r.index == index)?;
                let metrics = result.metrics.as_ref()?;
                self.explorer.fitness(result.status, metrics, false)
            })
            .collect())
    }

    fn generation_done(&mut self, log: &search::SearchLog) -> Result<(), DriverError> {
        let path = self.explorer.dir.join("search.json");
        let text = serde_json::to_string(log).map_err(|error| file_error(&path, error))?;
        write_whole(&path, text.as_bytes())
    }
}

/// A point after its first stage on one machine.
enum Prepared {
    /// Done already (failed, or outside a cost constraint).
    Finished(PointResult),
    /// Compiled and estimated; to measure on chips.
    Compiled(Compiled),
}

/// A compiled point with its report and quantized accuracy.
struct Compiled {
    index: usize,
    choices: Point,
    metrics: Metrics,
    /// Whether it has adapters (fitted on each chip).
    adapters: bool,
    /// Its artifact directory.
    artifact: PathBuf,
    /// Time spent so far.
    seconds: f64,
}

/// What merging found.
#[derive(Clone, Debug, Serialize)]
pub struct Merged {
    /// Points in the space.
    pub points: usize,
    /// Points with a result.
    pub evaluated: usize,
    /// Measured within the constraints.
    pub ok: usize,
    /// Skipped (could not be on the front).
    pub pruned: usize,
    /// Outside a constraint.
    pub infeasible: usize,
    /// Failed to compile or run.
    pub failed: usize,
    /// The objectives.
    pub objectives: Vec<String>,
    /// The front's points, by index.
    pub front: Vec<usize>,
}

/// How one run's front compares with another's.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// The other run directory.
    pub against: String,
    /// This run's front hypervolume ([`front::normalised_hypervolume`]: costs on
    /// a log scale, each objective scaled to the best (0) and worst (1) of the
    /// front of both runs' measured points, up to 1.1).
    pub hypervolume: f64,
    /// The other run's, scaled alike.
    pub against_hypervolume: f64,
    /// Their ratio.
    pub fraction: f64,
    /// The first generation at which this run had reached 95% of the other's.
    pub reached_95: Option<Progress>,
    /// After each generation (one for an exhaustive run).
    pub progress: Vec<Progress>,
}

/// A search's state after a generation.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    /// Points evaluated so far (compiled, reported and estimated at quantized
    /// fidelity; or found infeasible or failed).
    pub evaluated: usize,
    /// Of which measured on chips at full fidelity.
    pub measured: usize,
    /// Their front's hypervolume as a fraction of the other run's.
    pub fraction: f64,
}
