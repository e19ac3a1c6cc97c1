//! `cimc`: the end-to-end driver. Compile a model for a CIM target, run it on the
//! simulated crossbars, measure accuracy, report the mapping.

use cim_driver::{
    DriverError,
    compile::{self, ARTIFACT_FORMAT, CompileOptions, Manifest},
    npy, program, report,
};
use cim_interp::{Digital, Fidelity};
use cim_ir::CimContext;
use cim_target::Target;
use clap::{Parser, Subcommand, ValueEnum};
use ndarray::{ArrayD, Axis};
use serde::Serialize;
use std::{path::PathBuf, process::ExitCode};

#[derive(Parser)]
#[command(
    name = "cimc",
    version,
    about = "Compile networks for analog compute-in-memory hardware and run them on simulated crossbars"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FidelityArg {
    /// The float model, before mapping.
    Float,
    /// The mapped model with ideal devices: analog cells, ideal converters.
    Exact,
    /// The programmed model: bit-sliced cell levels, through its DACs and ADCs.
    Quantized,
    /// Quantized, on a chip of the target's devices: programming noise, drift, read
    /// noise, faults, drift compensation, ADC noise (seeded).
    Full,
}

impl FidelityArg {
    fn fidelity(self) -> Option<Fidelity> {
        match self {
            Self::Float => None,
            Self::Exact => Some(Fidelity::Exact),
            Self::Quantized => Some(Fidelity::Quantized),
            Self::Full => Some(Fidelity::Full),
        }
    }
}

/// Where the digital work after the MVMs runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DigitalArg {
    /// In f64, as the IR states it.
    Float,
    /// On the NMDU's fixed-point kernels, by their Rust reference semantics.
    Interp,
    /// On the NMDU's fixed-point kernels, as LLVM-generated code (JIT).
    Nmdu,
}

impl DigitalArg {
    fn digital(self) -> Digital {
        match self {
            Self::Float => Digital::Float,
            Self::Interp => Digital::Reference,
            Self::Nmdu => Digital::Generated,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Map a model onto a target and write an artifact directory (with the crossbar
    /// program in ARTIFACT/program).
    Compile {
        /// The model: MLIR (linalg or tosa on tensors) or ONNX.
        model: PathBuf,
        /// A target preset (ideal) or a target TOML file.
        #[arg(long, default_value = "ideal")]
        target: String,
        /// Signed-weight encoding: differential pairs, an offset and a reference
        /// column, or auto (the e-graph mapper chooses per layer, with the bits per
        /// cell, under its objective and the target's cell error at --error-time).
        #[arg(long, default_value = "differential", value_parser = ["differential", "offset", "auto"])]
        encoding: String,
        /// Seconds after programming at which --encoding auto prices the cells'
        /// read-out error (programming noise, drift, read noise, from the target's
        /// device model).
        #[arg(long, default_value_t = 3600.0)]
        error_time: f64,
        /// Bits of each quantized weight magnitude.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=24))]
        weight_bits: u32,
        /// Input resolution.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=24))]
        input_bits: u32,
        /// How layers are cut and packed onto arrays: egraph (all layers at once,
        /// cheapest in arrays) or naive (a fixed grid per layer).
        #[arg(long, default_value = "egraph", value_parser = ["egraph", "naive"])]
        mapper: String,
        /// What the e-graph mapper minimises first: arrays (area), time (latency:
        /// no packing), ADC conversions (energy), a weighted sum (balanced), or the
        /// error of the weights' encodings (accuracy, with --encoding auto).
        #[arg(long, default_value = "area", value_parser = ["area", "latency", "energy", "balanced", "accuracy"])]
        objective: String,
        /// Extra arrays the e-graph mapper may spend on copies of the slowest layers
        /// (layer pipelining; the batch must be static).
        #[arg(long, default_value_t = 0)]
        duplicate_arrays: u64,
        /// How arrays get their slots: layer by layer in program order, each layer on
        /// as few cores as fit (dataflow), or in module order (first-fit).
        #[arg(long, default_value = "dataflow", value_parser = ["dataflow", "first-fit"])]
        placement: String,
        /// Calibrate DAC and ADC ranges on these inputs (.npy); else ADCs span the full scale.
        #[arg(long)]
        calibration: Option<PathBuf>,
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
        #[arg(long, value_enum, default_value = "exact")]
        fidelity: FidelityArg,
        /// Seed of the chip's random effects (full fidelity).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Seconds between programming and this run (full fidelity).
        #[arg(long, default_value_t = 0.0)]
        drift_time: f64,
        /// Where the digital work after the MVMs runs (interp and nmdu read ADC
        /// codes: quantized and full fidelity).
        #[arg(long, value_enum, default_value = "float")]
        digital: DigitalArg,
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
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [FidelityArg::Float, FidelityArg::Exact, FidelityArg::Quantized])]
        fidelity: Vec<FidelityArg>,
        /// Chips to program at full fidelity (seeds seed, seed+1, ...): the accuracy
        /// is their mean, with its standard deviation.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        repeats: u64,
        /// Seed of the first chip (full fidelity).
        #[arg(long, default_value_t = 0)]
        seed: u64,
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
        #[arg(long, value_enum, default_value = "float")]
        digital: DigitalArg,
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
    cim_driver::keep_freed_buffers();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cimc: error: {error}");
            ExitCode::from(match error {
                DriverError::Usage(_) => 2,
                _ => 1,
            })
        }
    }
}

fn context() -> Result<CimContext, DriverError> {
    CimContext::new().map_err(|error| DriverError::Run(error.to_string()))
}

/// Accuracy at one fidelity (full: over several chips).
#[derive(Serialize)]
struct Accuracy {
    fidelity: String,
    /// Where the digital work ran: float, interp or nmdu.
    digital: String,
    /// Mean over the chips.
    accuracy: f64,
    /// Standard deviation over the chips (0 for one).
    std: f64,
    /// Each chip's accuracy (full fidelity: seeds seed, seed+1, ...).
    chips: Vec<f64>,
    /// Correct answers, all chips.
    correct: usize,
    /// Inputs, all chips.
    total: usize,
    /// Seconds since programming (full fidelity).
    drift_time: f64,
}

/// A labelled data set to measure an artifact on.
struct Evaluation<'a, 'c> {
    artifact: &'a compile::Artifact<'c>,
    inputs: &'a [ArrayD<f64>],
    labels: &'a ArrayD<f64>,
    labels_path: &'a std::path::Path,
    repeats: u64,
    seed: u64,
    digital: DigitalArg,
}

impl Evaluation<'_, '_> {
    fn accuracy(&self, level: FidelityArg, drift_time: f64) -> Result<Accuracy, DriverError> {
        let chips = if level == FidelityArg::Full {
            self.repeats
        } else {
            1
        };
        // The NMDU reads ADC codes: float and exact runs keep float digital work.
        let digital = if matches!(level, FidelityArg::Quantized | FidelityArg::Full) {
            self.digital
        } else {
            DigitalArg::Float
        };
        let show_progress = chips > 1 && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let mut accuracies = Vec::new();
        let mut correct_total = 0;
        for chip in 0..chips {
            if show_progress {
                eprint!("\r{level:?} at {drift_time} s: chip {}/{chips}", chip + 1);
            }
            let options = compile::RunSettings {
                drift_time,
                seed: self.seed.wrapping_add(chip),
                digital: digital.digital(),
            };
            let outputs =
                compile::run_artifact_on(self.artifact, self.inputs, level.fidelity(), &options)?;
            let correct = count_correct(&outputs[0], self.labels, self.labels_path)?;
            correct_total += correct;
            accuracies.push(correct as f64 / self.labels.len().max(1) as f64);
        }
        if show_progress {
            eprint!("\r\x1b[K");
        }
        let mean = accuracies.iter().sum::<f64>() / accuracies.len() as f64;
        let std = if accuracies.len() > 1 {
            (accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>()
                / (accuracies.len() - 1) as f64)
                .sqrt()
        } else {
            0.0
        };
        Ok(Accuracy {
            fidelity: format!("{level:?}").to_lowercase(),
            digital: format!("{:?}", digital).to_lowercase(),
            accuracy: mean,
            std,
            chips: accuracies,
            correct: correct_total,
            total: self.labels.len() * chips as usize,
            drift_time: if level == FidelityArg::Full {
                drift_time
            } else {
                0.0
            },
        })
    }
}

fn print_accuracies(rows: &[Accuracy], json: bool) {
    if json {
        print_json(&rows);
        return;
    }
    for row in rows {
        let name = if row.digital == "float" {
            row.fidelity.clone()
        } else {
            format!("{}/{}", row.fidelity, row.digital)
        };
        let at = if row.fidelity == "full" {
            format!(" at {} s", row.drift_time)
        } else {
            String::new()
        };
        if row.chips.len() > 1 {
            println!(
                "{:<10} accuracy {:.4} ± {:.4} over {} chips{at} ({}/{})",
                name,
                row.accuracy,
                row.std,
                row.chips.len(),
                row.correct,
                row.total
            );
        } else {
            println!(
                "{:<10} accuracy {:.4}{at} ({}/{})",
                name, row.accuracy, row.correct, row.total
            );
        }
    }
}

/// Inputs whose largest logit is at their label.
fn count_correct(
    logits: &ArrayD<f64>,
    labels: &ArrayD<f64>,
    labels_path: &std::path::Path,
) -> Result<usize, DriverError> {
    if logits.ndim() != 2 || logits.len_of(Axis(0)) != labels.len() {
        return Err(DriverError::Usage(format!(
            "{}: {} labels for outputs of shape {:?}: give one integer label per input",
            labels_path.display(),
            labels.len(),
            logits.shape()
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

/// Prints `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn run(command: Command) -> Result<(), DriverError> {
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
            emit_mlir_after_each_pass,
            output,
            json,
        } => {
            let loaded =
                Target::load(&target).map_err(|error| DriverError::Usage(error.to_string()))?;
            let options = CompileOptions {
                target,
                encoding,
                weight_bits,
                input_bits,
                mapper,
                objective,
                duplicate_arrays,
                placement,
                error_time,
            };
            if options.mapper == "naive"
                && (options.duplicate_arrays > 0 || options.objective != "area")
            {
                return Err(DriverError::Usage(
                    "--objective and --duplicate-arrays choose among the e-graph mapper's mappings: use them with --mapper egraph".into(),
                ));
            }
            let cim = context()?;
            let (mut module, _) = compile::parse_model(&cim, &model)?;
            let function =
                compile::entry_function(&module).ok_or_else(|| DriverError::Unsupported {
                    path: model.display().to_string(),
                    message: "no public func.func to compile".into(),
                })?;
            let float = module.as_operation().to_string();
            let (mut exact, _) = compile::parse_model(&cim, &model)?;
            compile::map(&cim, &mut exact, &options, &loaded, false, |_, _| {})?;
            if let Some(dir) = &emit_mlir_after_each_pass {
                std::fs::create_dir_all(dir).map_err(|e| DriverError::File {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            let mut step = 0;
            compile::map(
                &cim,
                &mut module,
                &options,
                &loaded,
                true,
                |element, module| {
                    step += 1;
                    if let Some(dir) = &emit_mlir_after_each_pass {
                        let name = element.name().replace(['/', '.'], "-");
                        let _ = std::fs::write(
                            dir.join(format!("{step:02}-{name}.mlir")),
                            module.as_operation().to_string(),
                        );
                    }
                },
            )?;
            let calibrated = match &calibration {
                Some(path) => {
                    let data = compile::read_inputs(std::slice::from_ref(path))?.remove(0);
                    compile::calibrate(&module, &function, &data, &loaded)?;
                    true
                }
                None => {
                    compile::set_full_scale_adcs(&module, loaded.adc.bits)?;
                    false
                }
            };
            compile::set_per_plane_adcs(&module, &loaded)?;
            let manifest = Manifest {
                format: ARTIFACT_FORMAT,
                cim_version: env!("CARGO_PKG_VERSION").into(),
                model: model.display().to_string(),
                function,
                target_name: loaded.name.clone(),
                options,
                calibrated,
            };
            let programs = compile::Programs {
                float,
                exact: compile::print_with_locations(&exact),
                mapped: compile::print_with_locations(&module),
            };
            compile::write_artifact(&output, &manifest, &programs)?;
            program::write(&module, &manifest.function, &output.join("program"))?;
            let summary = report::report(&module, &loaded);
            if json {
                print_json(&summary);
            } else {
                println!(
                    "compiled {} for target '{}': {} arrays on {} chips, {} ADC conversions per inference; {} -> {}",
                    model.display(),
                    loaded.name,
                    summary.arrays,
                    summary.chips,
                    summary.adc_conversions,
                    if calibrated {
                        "converters calibrated"
                    } else {
                        "ADCs at full scale"
                    },
                    output.display()
                );
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
        } => {
            let cim = context()?;
            let artifact = compile::read_artifact(&cim, &artifact)?;
            let inputs = compile::read_inputs(&inputs)?;
            let chip = compile::RunSettings {
                drift_time,
                seed,
                digital: digital.digital(),
            };
            let results = compile::run_artifact_on(&artifact, &inputs, fidelity.fidelity(), &chip)?;
            let first = results
                .first()
                .ok_or_else(|| DriverError::Run("the function returns nothing".into()))?;
            npy::write_f32(&output, first).map_err(|e| DriverError::File {
                path: output.display().to_string(),
                message: e.to_string(),
            })
        }
        Command::Eval {
            artifact,
            data,
            labels,
            fidelity,
            repeats,
            seed,
            drift_time,
            drift_sweep,
            drift_times,
            digital,
            json,
        } => {
            let cim = context()?;
            let artifact = compile::read_artifact(&cim, &artifact)?;
            let inputs = compile::read_inputs(std::slice::from_ref(&data))?;
            let labels_path = labels;
            let labels = compile::read_inputs(std::slice::from_ref(&labels_path))?.remove(0);
            if labels.ndim() != 1 {
                return Err(DriverError::Usage(format!(
                    "{}: labels of shape {:?}: give one integer label per input, as a 1-D array",
                    labels_path.display(),
                    labels.shape()
                )));
            }
            let evaluation = Evaluation {
                artifact: &artifact,
                inputs: &inputs,
                labels: &labels,
                labels_path: &labels_path,
                repeats,
                seed,
                digital,
            };
            if let Some(prefix) = drift_sweep {
                let mut rows = Vec::new();
                for &time in &drift_times {
                    rows.push(evaluation.accuracy(FidelityArg::Full, time)?);
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
                let title = format!(
                    "{} on '{}', {} chips per point",
                    artifact.manifest.model, artifact.manifest.target_name, repeats
                );
                let svg = cim_driver::plot::accuracy_over_time_svg(&points, &title);
                let png = cim_driver::plot::accuracy_over_time_png(&points, &title)
                    .map_err(DriverError::Run)?;
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
                print_accuracies(&rows, json);
                return Ok(());
            }
            let mut rows = Vec::new();
            for level in fidelity {
                rows.push(evaluation.accuracy(level, drift_time)?);
            }
            print_accuracies(&rows, json);
            Ok(())
        }
        Command::Report {
            artifact,
            json,
            svg,
        } => {
            let cim = context()?;
            let artifact = compile::read_artifact(&cim, &artifact)?;
            let target = Target::load(&artifact.manifest.options.target).map_err(|error| {
                DriverError::Usage(format!(
                    "the artifact's target cannot be loaded for its cost figures: {error}"
                ))
            })?;
            let summary = report::report(&artifact.mapped, &target);
            if let Some(path) = svg {
                let picture = cim_driver::occupancy::occupancy_svg(&artifact.mapped);
                std::fs::write(&path, picture).map_err(|error| DriverError::File {
                    path: path.display().to_string(),
                    message: error.to_string(),
                })?;
            }
            if json {
                print_json(&summary);
            } else {
                println!(
                    "target '{}', model {}",
                    artifact.manifest.target_name, artifact.manifest.model
                );
                print!("{summary}");
            }
            Ok(())
        }
    }
}
