//! `cimc`: the end-to-end driver. Compile a model for a CIM target, run it on the
//! simulated crossbars, measure accuracy, report the mapping. Every step is a
//! function of `cim-driver`; this file reads the command line and prints.

use cim_driver::{
    DriverError,
    artifact::{self, Artifact},
    calibrate,
    evaluate::{Accuracy, Evaluation, PerChip},
    explore::{self, Explorer},
    json_lines::{JSON_SCHEMA, JsonLines},
    npy,
    pipeline::{CompileOptions, EncodingChoice, Mapper},
    report,
    run::{self, Periphery, RunFidelity, RunSettings},
};
use cim_egraph::cost::Objective;
use cim_ir::CimContext;
use cim_passes::place::Strategy;
use cim_sim::{Digital, adapters::FitOptions};
use clap::{Parser, Subcommand};
use std::{io::Write, path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "cimc",
    version,
    about = "Compile networks for analog compute-in-memory hardware and run them on simulated crossbars"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Show no progress bars (they are drawn on stderr, and only on a terminal).
    #[arg(long, global = true)]
    pub(crate) quiet: bool,
}

/// Converters other than the artifact's, behind the same programmed arrays.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub(crate) struct PeripheryArgs {
    /// Run every MVM through ADCs of this resolution instead (ranges kept): the
    /// same programmed arrays behind another periphery.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=24))]
    adc_bits: Option<i64>,
    /// Run every MVM through DACs of this resolution instead (ranges kept).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=24))]
    dac_bits: Option<i64>,
}

impl PeripheryArgs {
    fn periphery(self) -> Periphery {
        Periphery {
            adc_bits: self.adc_bits,
            dac_bits: self.dac_bits,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Map a model onto a target and write an artifact directory (with the crossbar
    /// program in ARTIFACT/program).
    Compile {
        /// The model: MLIR (linalg or tosa on tensors) or ONNX.
        model: PathBuf,
        /// A target preset (ideal) or a target TOML file.
        #[arg(long, default_value = "ideal")]
        target: String,
        /// Signed-weight encoding (default: the target's: pair on device-pair
        /// cells, else differential).
        #[arg(long, value_enum)]
        encoding: Option<EncodingChoice>,
        /// Seconds after programming at which --encoding auto prices the cells'
        /// read-out error (programming noise, drift, read noise, from the target's
        /// device model).
        #[arg(long, default_value_t = 3600.0)]
        error_time: f64,
        /// Bits of each quantized weight magnitude.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=24))]
        weight_bits: u32,
        /// Input resolution (default: the target's DAC bits).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=24))]
        input_bits: Option<u32>,
        /// How layers are cut and packed onto arrays.
        #[arg(long, value_enum, default_value_t)]
        mapper: Mapper,
        /// What the e-graph mapper minimises first.
        #[arg(long, value_enum, default_value_t)]
        objective: Objective,
        /// Extra arrays the e-graph mapper may spend on copies of the slowest layers
        /// (layer pipelining; the batch must be static).
        #[arg(long, default_value_t = 0)]
        duplicate_arrays: u64,
        /// How arrays get their slots.
        #[arg(long, value_enum, default_value_t)]
        placement: Strategy,
        /// Calibrate DAC and ADC ranges on these inputs (.npy); else the ranges are
        /// the target's (the full scale of each block, or a fixed bound).
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// With --calibration: the percentage of the values seen that the ranges
        /// cover (100: from the smallest to the largest).
        #[arg(long, default_value_t = 100.0)]
        calibration_percentile: f64,
        /// Give analog layers a digital correction: a per-column affine and a
        /// low-rank adapter of this rank (cim-adapters). With --calibration, an
        /// across-chips set named `default` is fitted on it (see `cimc calibrate`).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=4096))]
        adapter_rank: u32,
        /// Which layers get adapters: all, sensitive:N (the N layers device noise
        /// disturbs most), or layer names as `cimc report` prints them,
        /// comma-separated.
        #[arg(long, default_value = "all")]
        adapter_layers: String,
        /// Write the IR after each pipeline step into this directory.
        #[arg(long)]
        emit_mlir_after_each_pass: Option<PathBuf>,
        /// The artifact directory to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run an artifact on inputs and write its outputs.
    Run {
        /// The artifact directory.
        artifact: PathBuf,
        /// One .npy per function argument, in order.
        #[arg(long = "input", required = true)]
        inputs: Vec<PathBuf>,
        /// Where to write the (first) result, as float32 .npy.
        #[arg(long)]
        output: PathBuf,
        /// How to execute.
        #[arg(long, value_enum, default_value_t)]
        fidelity: RunFidelity,
        /// Seed of the chip's random effects (full fidelity).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Seconds between programming and this run (full fidelity).
        #[arg(long, default_value_t = 0.0)]
        drift_time: f64,
        /// Where the digital work after the MVMs runs (interp and nmdu read ADC
        /// codes: quantized and full fidelity).
        #[arg(long, value_enum, default_value_t)]
        digital: Digital,
        /// The adapter set the mapped program runs with (`none`: the identity);
        /// the artifact's latest by default.
        #[arg(long)]
        adapters: Option<String>,
        #[command(flatten)]
        periphery: PeripheryArgs,
    },
    /// Fit an artifact's digital corrections (compiled with --adapter-rank) on
    /// simulated chips, without retraining, and keep them as a named adapter set.
    /// With neither --chip nor --chips, one set for every chip of the target:
    /// pooled over 8 chips (seeds 2^32, 2^32+1, ...) and the drift times.
    Calibrate {
        /// The artifact directory.
        artifact: PathBuf,
        /// Calibration inputs (.npy, batch first; keep them apart from test data):
        /// one per function argument, in order.
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Seconds since programming at which the chips are read (comma-separated:
        /// pooled).
        #[arg(long = "drift-time", value_delimiter = ',', default_values_t = [86400.0])]
        drift_times: Vec<f64>,
        /// Fit for this one chip (its seed, as `cimc run --seed`): a per-chip set.
        #[arg(long, conflicts_with = "chips")]
        chip: Option<u64>,
        /// Pool over this many chips (seeds 2^32, 2^32+1, ...; 8 without --chip).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000))]
        chips: Option<u64>,
        /// The set's name (replaces a set of that name).
        #[arg(long, default_value = "default")]
        name: String,
        /// Ridge of the regression, relative to the inputs' mean square.
        #[arg(long, default_value_t = 1e-4)]
        ridge: f64,
        /// Rounds of (adapter, affine) fitting.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=100))]
        rounds: u64,
        #[command(flatten)]
        periphery: PeripheryArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure top-1 accuracy on a labelled data set.
    Eval {
        /// The artifact directory.
        artifact: PathBuf,
        /// Inputs (.npy, batch first).
        #[arg(long)]
        data: PathBuf,
        /// Integer labels (.npy), one per input.
        #[arg(long)]
        labels: PathBuf,
        /// Fidelities to evaluate (repeat or comma-separate); float, exact and
        /// quantized by default.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [RunFidelity::Float, RunFidelity::Exact, RunFidelity::Quantized])]
        fidelity: Vec<RunFidelity>,
        /// Chips to program at full fidelity (seeds seed, seed+1, ...): the accuracy
        /// is their mean, with its standard deviation. At most 10,000 (the mean's
        /// standard error is then a hundredth of the chips' spread); for more, run
        /// further seeds in another call.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        repeats: u64,
        /// Seed of the first chip (full fidelity).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Chips measured at once, each on a thread of its own with its own copy
        /// of the program (0: one per core; at most 256); the results do not
        /// depend on it.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256))]
        jobs: u16,
        /// Seconds between programming and evaluation (full fidelity).
        #[arg(long, default_value_t = 0.0)]
        drift_time: f64,
        /// Sweep full fidelity over drift times instead: write accuracy against time
        /// to PREFIX.csv and plots of it to PREFIX.svg and PREFIX.png.
        #[arg(long, value_name = "PREFIX")]
        drift_sweep: Option<PathBuf>,
        /// The sweep's times in seconds (comma-separated); 1 s, 1 h, 1 day, 30 days
        /// and 1 year by default.
        #[arg(long, value_delimiter = ',', default_values_t = [1.0, 3600.0, 86400.0, 2592000.0, 31557600.0])]
        drift_times: Vec<f64>,
        /// Where the digital work after the MVMs runs at quantized and full
        /// fidelity (float and exact keep float digital work).
        #[arg(long, value_enum, default_value_t)]
        digital: Digital,
        /// The adapter set the mapped program runs with (`none`: the identity);
        /// the artifact's latest by default.
        #[arg(long, conflicts_with = "calibrate_each_chip")]
        adapters: Option<String>,
        /// At full fidelity, fit each chip's own corrections on these inputs
        /// (.npy) once it has drifted, then measure it.
        #[arg(long)]
        calibrate_each_chip: Option<PathBuf>,
        #[command(flatten)]
        periphery: PeripheryArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also write each row as it is measured to this file as JSON Lines
        /// (`{"schema": 1, "kind": "accuracy", "data": {...}}`), for long runs.
        #[arg(long, value_name = "FILE")]
        json_out: Option<PathBuf>,
    },
    /// Search a design space: compile, report and measure every point of SPACE
    /// on chips, and find the Pareto front of its objectives (results in -o RUN:
    /// points.jsonl, points.csv, front.csv, plots). A rerun skips points already
    /// evaluated; --plan, --task and --merge split the points over a cluster.
    Explore {
        /// The model (not needed with --task or --merge: the plan names it).
        model: Option<PathBuf>,
        /// The design space (TOML: base_target, objectives, [target], [compile],
        /// [constraints], [evaluate]).
        #[arg(long)]
        space: Option<PathBuf>,
        /// Test inputs (.npy, batch first).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Their integer labels (.npy).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Calibrate converter ranges on these inputs (.npy); also fits each chip's
        /// adapters where the space gives compile.adapter_rank.
        #[arg(long)]
        calibration: Option<PathBuf>,
        /// The run directory.
        #[arg(short, long)]
        output: PathBuf,
        /// Only write the plan (RUN/plan.json) and print how many tasks it has.
        #[arg(long, conflicts_with_all = ["task", "merge"])]
        plan: bool,
        /// Evaluate one point of the plan in RUN (a cluster task: HyperQueue's
        /// $HQ_TASK_ID, Slurm's $SLURM_ARRAY_TASK_ID).
        #[arg(long, conflicts_with = "merge")]
        task: Option<usize>,
        /// Join the results in RUN into points.jsonl, points.csv, front.csv and the
        /// plots.
        #[arg(long)]
        merge: bool,
        /// Keep each point's artifact in RUN/artifacts.
        #[arg(long)]
        keep_artifacts: bool,
        /// Compare the front with another run's (an exhaustive run of the same
        /// space): hypervolume fraction, after each generation of a search.
        #[arg(long, value_name = "RUN", conflicts_with_all = ["plan", "task"])]
        against: Option<PathBuf>,
        /// Also write each point's result as it is saved to this file as JSON
        /// Lines (`{"schema": 1, "kind": "point", "data": {...}}`).
        #[arg(long, value_name = "FILE", conflicts_with = "plan")]
        json_out: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the per-layer mapping of an artifact.
    Report {
        /// The artifact directory.
        artifact: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also draw the arrays' occupancy (the blocks MVMs read) into this SVG file.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    cim_driver::guard::install("cimc");
    cim_driver::configure_process();
    let cli = Cli::parse();
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    cim_driver::guard::stage(cli.command.stage());
    let result = context().and_then(|cim| run(cli.command, &cim, &mut std::io::stdout().lock()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cimc: error: {error}");
            ExitCode::from(exit_code(&error))
        }
    }
}

impl Command {
    /// What the guard names in an internal error.
    fn stage(&self) -> &'static str {
        match self {
            Command::Compile { .. } => "cimc compile",
            Command::Run { .. } => "cimc run",
            Command::Eval { .. } => "cimc eval",
            Command::Calibrate { .. } => "cimc calibrate",
            Command::Report { .. } => "cimc report",
            Command::Explore { .. } => "cimc explore",
        }
    }
}

/// The exit status of a failure: 2 for a wrong command line, 1 for the rest.
pub(crate) fn exit_code(error: &DriverError) -> u8 {
    match error {
        DriverError::Usage(_) => 2,
        _ => 1,
    }
}

fn context() -> Result<CimContext, DriverError> {
    CimContext::new().map_err(|error| DriverError::Run(error.to_string()))
}

fn print_accuracies(out: &mut dyn Write, rows: &[Accuracy], json: bool) {
    if json {
        print_json_rows(out, &rows);
        return;
    }
    for row in rows {
        let name = if row.digital == Digital::Float {
            row.fidelity.to_string()
        } else {
            format!("{}/{}", row.fidelity, row.digital)
        };
        let at = if row.fidelity == RunFidelity::Full {
            format!(" at {} s", row.drift_time)
        } else {
            String::new()
        };
        if row.chips.len() > 1 {
            let _ = writeln!(
                out,
                "{:<10} accuracy {:.4} ± {:.4} over {} chips{at} ({}/{})",
                name,
                row.accuracy,
                row.std,
                row.chips.len(),
                row.correct,
                row.total
            );
        } else {
            let _ = writeln!(
                out,
                "{:<10} accuracy {:.4}{at} ({}/{})",
                name, row.accuracy, row.correct, row.total
            );
        }
    }
}

/// Prints `value` as pretty JSON.
/// A `--json` object with its schema version first.
#[derive(serde::Serialize)]
struct Versioned<'a, T: serde::Serialize> {
    schema: u32,
    #[serde(flatten)]
    value: &'a T,
}

/// Prints `value` (a struct or map) as JSON with its schema version.
fn print_json(out: &mut dyn Write, value: &impl serde::Serialize) {
    let versioned = Versioned {
        schema: JSON_SCHEMA,
        value,
    };
    let _ = writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(&versioned).unwrap_or_default()
    );
}

/// Prints a list as JSON: `{"schema": N, "rows": [...]}`.
fn print_json_rows(out: &mut dyn Write, rows: &impl serde::Serialize) {
    #[derive(serde::Serialize)]
    struct Rows<'a, T: serde::Serialize> {
        rows: &'a T,
    }
    print_json(out, &Rows { rows });
}

/// `--quiet`: no progress bars.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A progress bar on stderr, of `length` steps (a counter when unknown): indicatif
/// draws it only when stderr is a terminal, and `--quiet` hides it.
fn progress_bar(length: Option<u64>, message: String) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return ProgressBar::hidden();
    }
    let template = match length {
        Some(_) => "{msg} [{bar:30}] {pos}/{len} ({elapsed}, {eta} left)",
        None => "{msg} {pos} ({elapsed})",
    };
    let bar = ProgressBar::with_draw_target(length, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// The chips of `cimc eval`'s rows: a bar per fidelity and drift time, when there
/// are several chips.
#[derive(Default)]
struct ChipProgress {
    bar: Option<((RunFidelity, u64), indicatif::ProgressBar)>,
}

impl ChipProgress {
    /// Chip `chip` of `chips` starts at `level` and `drift_time`.
    fn chip(&mut self, level: RunFidelity, drift_time: f64, chip: u64, chips: u64) {
        if chips < 2 {
            return;
        }
        let key = (level, drift_time.to_bits());
        if self.bar.as_ref().is_none_or(|(current, _)| *current != key) {
            self.finish();
            let message = format!("{level:?} at {drift_time} s: chips");
            self.bar = Some((key, progress_bar(Some(chips), message)));
        }
        if let Some((_, bar)) = &self.bar {
            bar.set_position(chip);
        }
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Applies the adapter set `name` (the latest when `None`, none for `none`) to
/// the artifact's mapped program.
fn use_adapters(
    artifact: &Artifact,
    name: Option<&str>,
    periphery: Periphery,
) -> Result<Option<calibrate::AdapterSet>, DriverError> {
    if name == Some("none") {
        return Ok(None);
    }
    let Some(set) = calibrate::load(artifact, name)? else {
        return Ok(None);
    };
    calibrate::apply(artifact.mapped()?, &set, periphery)?;
    Ok(Some(set))
}

/// Fits a set: on chip `chip` (per chip), else pooled over `chips` (8 by default).
#[allow(clippy::too_many_arguments)]
fn fit_set(
    artifact: &Artifact,
    inputs: &[ndarray::ArrayD<f64>],
    data: &[PathBuf],
    (chip, chips): (Option<u64>, Option<u64>),
    drift_times: Vec<f64>,
    name: &str,
    options: FitOptions,
    periphery: Periphery,
) -> Result<calibrate::AdapterSet, DriverError> {
    let chips = match chip {
        Some(seed) => vec![seed],
        None => (0..chips.unwrap_or(8))
            .map(|i| calibrate::CALIBRATION_SEEDS + i)
            .collect(),
    };
    let calibration = calibrate::Calibration {
        inputs,
        data: data
            .iter()
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        chips,
        drift_times,
        options,
        name: name.to_owned(),
        periphery,
    };
    calibrate::calibrate(artifact, &calibration)
}

/// Prints what a fitted set is and how well it fits.
fn print_set(out: &mut dyn Write, set: &calibrate::AdapterSet, path: &std::path::Path) {
    let fitted = &set.fitted;
    let _ = writeln!(
        out,
        "adapter set '{}' ({}: chips {:?} at {:?} s, calibration inputs of shape {:?}; {} parameters) -> {}",
        set.name,
        fitted.mode,
        fitted.chips,
        fitted.drift_times,
        fitted.shape,
        set.parameters(),
        path.display()
    );
    for (layer, quality) in &set.quality {
        let _ = writeln!(
            out,
            "  {layer}: relative squared error {:.3e} -> {:.3e} (weight {:.2})",
            quality.before, quality.after, quality.weight
        );
    }
    if let Some(network) = &set.network {
        let _ = writeln!(
            out,
            "  the network's results on held-out calibration inputs: cosine distance to float {:.3e} -> {:.3e}{}",
            network.before,
            network.after,
            if network.kept {
                ""
            } else {
                "; not nearer float than the chip's drift compensation alone: the set's corrections are the identity"
            }
        );
    }
}

/// How an exploration's front compares with another run's.
fn print_comparison(out: &mut dyn Write, comparison: &explore::Comparison) {
    let _ = writeln!(
        out,
        "front hypervolume {:.4}, {:.1}% of {}'s {:.4} (costs on a log scale; each objective scaled to the front of both runs)",
        comparison.hypervolume,
        100.0 * comparison.fraction,
        comparison.against,
        comparison.against_hypervolume
    );
    for (generation, step) in comparison.progress.iter().enumerate() {
        let _ = writeln!(
            out,
            "  generation {generation:>3}: {:>5} points evaluated, {:>5} measured on chips, {:>6.1}%",
            step.evaluated,
            step.measured,
            100.0 * step.fraction
        );
    }
    match &comparison.reached_95 {
        Some(step) => {
            let _ = writeln!(
                out,
                "reached 95% after {} points evaluated ({} measured on chips)",
                step.evaluated, step.measured
            );
        }
        None => {
            let _ = writeln!(out, "did not reach 95%");
        }
    }
}

/// The front of an exploration, a line per point, and what the run holds.
fn print_front(
    out: &mut dyn Write,
    explorer: &Explorer,
    merged: &explore::Merged,
    dir: &std::path::Path,
) -> Result<(), DriverError> {
    let _ = writeln!(
        out,
        "{} of {} points evaluated: {} measured, {} pruned, {} infeasible, {} failed",
        merged.evaluated, merged.points, merged.ok, merged.pruned, merged.infeasible, merged.failed
    );
    let _ = writeln!(
        out,
        "Pareto front over {} ({} points):",
        merged.objectives.join(", "),
        merged.front.len()
    );
    for &index in &merged.front {
        let Some(result) = explorer.result(index)? else {
            continue;
        };
        let metrics = result.metrics.unwrap_or_default();
        let choices: Vec<String> = result
            .choices
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        let _ = writeln!(
            out,
            "  {index:>6}  accuracy {:.4} ± {:.4}  energy {:.4} nJ  latency {:.0} ns  area {:.4} mm²  [{}]",
            metrics.accuracy.unwrap_or(f64::NAN),
            metrics.accuracy_std.unwrap_or(f64::NAN),
            metrics.energy_nj,
            metrics.latency_ns,
            metrics.area_mm2,
            choices.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "results: {0}/points.jsonl, {0}/points.csv, {0}/front.csv, plots {0}/front-*.svg and .png",
        dir.display()
    );
    Ok(())
}

fn read_artifact<'c>(
    cim: &'c CimContext,
    dir: &std::path::Path,
) -> Result<Artifact<'c>, DriverError> {
    artifact::read_artifact(cim, dir)
}

/// Runs `command` in `cim`, printing to `out`.
pub(crate) fn run(
    command: Command,
    cim: &CimContext,
    out: &mut dyn Write,
) -> Result<(), DriverError> {
    // Diagnostics name their source line; the op printed whole is cim-opt's habit.
    cim.set_print_op_on_diagnostic(false);
    match command {
        Command::Compile {
            model,
            target,
            encoding,
            error_time,
            weight_bits,
            input_bits,
            mapper,
            objective,
            duplicate_arrays,
            placement,
            calibration,
            calibration_percentile,
            adapter_rank,
            adapter_layers,
            emit_mlir_after_each_pass,
            output,
            json,
        } => {
            let options = CompileOptions {
                calibration_percentile,
                target,
                encoding,
                weight_bits,
                input_bits,
                mapper,
                objective,
                duplicate_arrays,
                placement,
                error_time,
                adapter_rank,
                adapter_layers,
            };
            let compiled = artifact::compile(
                cim,
                &model,
                &options,
                calibration.as_deref(),
                emit_mlir_after_each_pass.as_deref(),
                &output,
            )?;
            let summary = &compiled.report;
            if json {
                print_json(out, summary);
            } else {
                let _ = writeln!(
                    out,
                    "compiled {} for target '{}': {} arrays on {} chips, {} ADC conversions per inference; {} -> {}",
                    model.display(),
                    compiled.target.name,
                    summary.arrays,
                    summary.chips,
                    summary.adc_conversions,
                    compiled.converters,
                    output.display()
                );
                if compiled.removed_adapter_sets > 0 {
                    let _ = writeln!(
                        out,
                        "removed {} adapter sets of the program {} held before: sets belong to one program",
                        compiled.removed_adapter_sets,
                        output.display()
                    );
                }
            }
            if let (true, Some(data)) = (adapter_rank > 0, &calibration) {
                let artifact = read_artifact(cim, &output)?;
                let inputs = run::read_inputs(std::slice::from_ref(data))?;
                let set = fit_set(
                    &artifact,
                    &inputs,
                    std::slice::from_ref(data),
                    (None, None),
                    vec![86400.0],
                    "default",
                    FitOptions::default(),
                    Periphery::default(),
                )?;
                let path = calibrate::save(&artifact, set.clone())?;
                if !json {
                    print_set(out, &set, &path);
                }
            }
            Ok(())
        }
        Command::Calibrate {
            artifact,
            data,
            drift_times,
            chip,
            chips,
            name,
            ridge,
            rounds,
            periphery,
            json,
        } => {
            let artifact = read_artifact(cim, &artifact)?;
            let periphery = periphery.periphery();
            periphery.apply(&artifact)?;
            let inputs = run::read_inputs(&data)?;
            if !(ridge.is_finite() && ridge >= 0.0) {
                return Err(DriverError::Usage(format!(
                    "--ridge {ridge}: give a finite number >= 0"
                )));
            }
            let options = FitOptions {
                ridge,
                rounds: rounds as usize,
                ..FitOptions::default()
            };
            let set = fit_set(
                &artifact,
                &inputs,
                &data,
                (chip, chips),
                drift_times,
                &name,
                options,
                periphery,
            )?;
            let path = calibrate::save(&artifact, set.clone())?;
            if json {
                print_json(
                    out,
                    &serde_json::json!({ "set": set.name, "file": path, "layers": set.quality }),
                );
            } else {
                print_set(out, &set, &path);
            }
            Ok(())
        }
        Command::Run {
            artifact,
            inputs,
            output,
            fidelity,
            seed,
            drift_time,
            digital,
            adapters,
            periphery,
        } => {
            let artifact = read_artifact(cim, &artifact)?;
            if fidelity.converts() {
                let periphery = periphery.periphery();
                periphery.apply(&artifact)?;
                use_adapters(&artifact, adapters.as_deref(), periphery)?;
            }
            let inputs = run::read_inputs(&inputs)?;
            let settings = RunSettings {
                drift_time,
                seed,
                digital,
            };
            let results = run::run_artifact_on(&artifact, &inputs, fidelity.fidelity(), &settings)?;
            let first = results
                .first()
                .ok_or_else(|| DriverError::Run("the function returns nothing".into()))?;
            Ok(npy::write_f32(&output, first)?)
        }
        Command::Eval {
            artifact,
            data,
            labels,
            fidelity,
            repeats,
            seed,
            jobs,
            drift_time,
            drift_sweep,
            drift_times,
            digital,
            adapters,
            calibrate_each_chip,
            periphery,
            json,
            json_out,
        } => {
            let artifact = read_artifact(cim, &artifact)?;
            let periphery = periphery.periphery();
            periphery.apply(&artifact)?;
            let inputs = run::read_inputs(std::slice::from_ref(&data))?;
            let calibration_inputs = match &calibrate_each_chip {
                Some(path) => Some(run::read_inputs(std::slice::from_ref(path))?),
                None => None,
            };
            let applied = if calibrate_each_chip.is_some() {
                None
            } else {
                use_adapters(&artifact, adapters.as_deref(), periphery)?
            };
            let labels_path = labels;
            let labels = run::read_inputs(std::slice::from_ref(&labels_path))?.remove(0);
            let evaluation = Evaluation {
                artifact: &artifact,
                inputs: &inputs,
                labels: &labels,
                labels_path: &labels_path,
                repeats,
                seed,
                jobs: usize::from(jobs),
                digital,
                calibrate_each_chip: calibration_inputs.as_deref().map(|inputs| PerChip {
                    inputs,
                    options: FitOptions::default(),
                }),
            };
            evaluation.check()?;
            let mut lines = json_out.as_deref().map(JsonLines::create).transpose()?;
            let mut stream = |row: &Accuracy| match &mut lines {
                Some(lines) => lines.write("accuracy", row),
                None => Ok(()),
            };
            let mut chips = ChipProgress::default();
            let rows = match drift_sweep {
                Some(prefix) => evaluation.drift_sweep(
                    &drift_times,
                    &prefix,
                    |time, chip, count| chips.chip(RunFidelity::Full, time, chip, count),
                    stream,
                ),
                None => fidelity
                    .into_iter()
                    .map(|level| {
                        let row = evaluation.accuracy(level, drift_time, |chip, count| {
                            chips.chip(level, drift_time, chip, count)
                        })?;
                        stream(&row)?;
                        Ok(row)
                    })
                    .collect::<Result<_, DriverError>>(),
            };
            chips.finish();
            let rows = rows?;
            if !json && !artifact.manifest.converters.is_empty() {
                let _ = writeln!(out, "converters: {}", artifact.manifest.converters);
            }
            if !json && periphery != Periphery::default() {
                let _ = writeln!(out, "converters changed for this run: {periphery}");
            }
            if !json {
                if let Some(set) = &applied {
                    let fitted = &set.fitted;
                    let _ = writeln!(
                        out,
                        "adapters: set '{}' ({}, {} chips at {:?} s, {} parameters)",
                        set.name,
                        fitted.mode,
                        fitted.chips.len(),
                        fitted.drift_times,
                        set.parameters()
                    );
                } else if calibrate_each_chip.is_some() {
                    let _ = writeln!(out, "adapters: fitted on each chip at full fidelity");
                }
            }
            print_accuracies(out, &rows, json);
            Ok(())
        }
        Command::Explore {
            model,
            space,
            data,
            labels,
            calibration,
            output,
            plan,
            task,
            merge,
            keep_artifacts,
            against,
            json,
            json_out,
        } => {
            let mut explorer = if task.is_some() || merge {
                Explorer::open(cim, &output)?
            } else {
                let (Some(model), Some(space), Some(data), Some(labels)) =
                    (&model, &space, &data, &labels)
                else {
                    return Err(DriverError::Usage(
                        "cimc explore MODEL --space SPACE.toml --data X.npy --labels Y.npy -o RUN: give the model, the space, the data and the labels (or --task I / --merge with a planned RUN)".into(),
                    ));
                };
                Explorer::plan(
                    cim,
                    &output,
                    model,
                    space,
                    (data, labels, calibration.as_deref()),
                )?
            };
            explorer.keep_artifacts = keep_artifacts;
            if plan && explorer.space().search.method == explore::space::Method::Evolutionary {
                return Err(DriverError::Usage(
                    "--plan: an evolutionary search chooses each generation's points from the results of the last, so it runs on one machine (drop --plan); to use a cluster, search the space exhaustively (no [search] method)".into(),
                ));
            }
            if plan {
                let points = explorer.points();
                if json {
                    print_json(out, &serde_json::json!({ "tasks": points }));
                } else {
                    let _ = writeln!(
                        out,
                        "planned {points} points in {}: run `cimc explore -o {0} --task I` for I in 0..{}, then `cimc explore -o {0} --merge`",
                        output.display(),
                        points.saturating_sub(1)
                    );
                }
                return Ok(());
            }
            if let Some(index) = task {
                let result = explorer.run_task(index)?;
                if json {
                    // A point's result carries its own schema (that of RUN/points/).
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::to_string_pretty(&result).unwrap_or_default()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "point {index}: {:?}{}",
                        result.status,
                        result
                            .reason
                            .as_deref()
                            .map(|why| format!(" ({why})"))
                            .unwrap_or_default()
                    );
                }
                return Ok(());
            }
            if !merge {
                let mut lines = json_out.as_deref().map(JsonLines::create).transpose()?;
                // A search's length is not known in advance: it shows a count.
                let bar = if explorer.space().search.method == explore::space::Method::Evolutionary
                {
                    progress_bar(None, "explore: points evaluated by the search".into())
                } else {
                    progress_bar(Some(explorer.points() as u64), "explore: points".into())
                };
                let mut unwritten = None;
                explorer.run_all(|result, done, _| {
                    if let Some(lines) = &mut lines
                        && let Err(error) = lines.write("point", result)
                    {
                        unwritten.get_or_insert(error);
                    }
                    bar.set_position(done as u64);
                })?;
                bar.finish_and_clear();
                if let Some(error) = unwritten {
                    return Err(error);
                }
            }
            let merged = explorer.merge()?;
            let comparison = match &against {
                Some(other) => Some(explorer.compare(&Explorer::open(cim, other)?)?),
                None => None,
            };
            if json {
                #[derive(serde::Serialize)]
                struct WithComparison<'a> {
                    #[serde(flatten)]
                    merged: &'a explore::Merged,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    comparison: Option<&'a explore::Comparison>,
                }
                print_json(
                    out,
                    &WithComparison {
                        merged: &merged,
                        comparison: comparison.as_ref(),
                    },
                );
            } else {
                print_front(out, &explorer, &merged, &output)?;
                if let Some(comparison) = &comparison {
                    print_comparison(out, comparison);
                }
            }
            Ok(())
        }
        Command::Report {
            artifact,
            json,
            svg,
        } => {
            let artifact = read_artifact(cim, &artifact)?;
            let (summary, uncounted) = report::of_artifact(&artifact, &artifact.target()?)?;
            if let Some(path) = svg {
                let picture = cim_driver::occupancy::occupancy_svg(artifact.mapped()?);
                std::fs::write(&path, picture).map_err(|error| DriverError::File {
                    path: path.display().to_string(),
                    message: error.to_string(),
                })?;
            }
            if json {
                print_json(out, &summary);
            } else {
                let _ = writeln!(
                    out,
                    "target '{}', model {}",
                    artifact.manifest.target_name, artifact.manifest.model
                );
                let _ = write!(out, "{summary}");
                if let Some(why) = uncounted {
                    let _ = writeln!(out, "digital work between MVMs: not counted ({why})");
                }
            }
            Ok(())
        }
    }
}
