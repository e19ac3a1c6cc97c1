//! `cimc`: the end-to-end driver. Compile a model for a CIM target, run it on the
//! simulated crossbars, measure accuracy, report the mapping.

use cim_driver::{
    DriverError,
    compile::{self, ARTIFACT_FORMAT, CompileOptions, Manifest},
    npy, program, report,
};
use cim_interp::Fidelity;
use cim_ir::CimContext;
use cim_target::Target;
use clap::{Parser, Subcommand, ValueEnum};
use ndarray::Axis;
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
}

impl FidelityArg {
    fn fidelity(self) -> Option<Fidelity> {
        match self {
            Self::Float => None,
            Self::Exact => Some(Fidelity::Exact),
            Self::Quantized => Some(Fidelity::Quantized),
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
        /// Signed-weight encoding.
        #[arg(long, default_value = "differential", value_parser = ["differential", "offset"])]
        encoding: String,
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
        /// no packing), ADC conversions (energy), or a weighted sum (balanced).
        #[arg(long, default_value = "area", value_parser = ["area", "latency", "energy", "balanced"])]
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
        /// Seed of random effects (none at these fidelities; recorded for reproducibility).
        #[arg(long, default_value_t = 0)]
        seed: u64,
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
        /// Fidelities to evaluate (repeat or comma-separate); all three by default.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [FidelityArg::Float, FidelityArg::Exact, FidelityArg::Quantized])]
        fidelity: Vec<FidelityArg>,
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
            let summary = report::report(&module, &loaded.cost);
            if json {
                print_json(&summary);
            } else {
                println!(
                    "compiled {} for target '{}': {} arrays on {} chips, {} ADC conversions per input; {} -> {}",
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
            seed: _,
        } => {
            let cim = context()?;
            let artifact = compile::read_artifact(&cim, &artifact)?;
            let inputs = compile::read_inputs(&inputs)?;
            let results = compile::run_artifact(&artifact, &inputs, fidelity.fidelity())?;
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
            #[derive(Serialize)]
            struct Accuracy {
                fidelity: String,
                accuracy: f64,
                correct: usize,
                total: usize,
            }
            let mut rows = Vec::new();
            for level in fidelity {
                let outputs = compile::run_artifact(&artifact, &inputs, level.fidelity())?;
                let logits = &outputs[0];
                if logits.ndim() != 2 || logits.len_of(Axis(0)) != labels.len() {
                    return Err(DriverError::Usage(format!(
                        "{}: {} labels for outputs of shape {:?}: give one integer label per input",
                        labels_path.display(),
                        labels.len(),
                        logits.shape()
                    )));
                }
                let correct = logits
                    .axis_iter(Axis(0))
                    .zip(labels.iter())
                    .filter(|(row, label)| {
                        let best =
                            row.iter()
                                .enumerate()
                                .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                                    if v > best.1 { (i, v) } else { best }
                                });
                        best.0 as f64 == **label
                    })
                    .count();
                rows.push(Accuracy {
                    fidelity: format!("{level:?}").to_lowercase(),
                    accuracy: correct as f64 / labels.len().max(1) as f64,
                    correct,
                    total: labels.len(),
                });
            }
            if json {
                print_json(&rows);
            } else {
                for row in rows {
                    println!(
                        "{:<10} accuracy {:.4} ({}/{})",
                        row.fidelity, row.accuracy, row.correct, row.total
                    );
                }
            }
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
            let summary = report::report(&artifact.mapped, &target.cost);
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
