//! Compiling a model for a target, calibrating its converters, and the artifact.

use crate::{DriverError, npy};
use cim_interp::{Digital, Fidelity, Interpreter, mvm_key};
use cim_ir::{
    CimContext,
    attributes::{Converter, DacMode, Window},
    diagnostics::{Diagnostic, DiagnosticSink},
    dialect::ops,
    query::{TensorShape, attribute, context_of, op_name, string_attribute},
    source::parse_module,
};
use cim_passes::pipeline::{self, Element, Pipeline, RunOptions};
use cim_target::Target;
use melior::ir::{
    BlockLike, Module, OperationRef, ValueLike,
    attribute::FlatSymbolRefAttribute,
    operation::{OperationLike, OperationMutLike, OperationRefMut, WalkOrder, WalkResult},
};
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};
use std::{collections::HashMap, path::Path};

/// Choices of `cimc compile`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompileOptions {
    /// The target as given (preset name or file path).
    pub target: String,
    /// `differential`, `offset`, or `auto` (cim-map chooses per layer, with the bits
    /// per cell, under its objective and the device's error).
    pub encoding: String,
    /// Bits of each quantized weight magnitude.
    pub weight_bits: u32,
    /// Input resolution.
    pub input_bits: u32,
    /// `egraph` (cim-map: all layers at once, by cost) or `naive` (cim-tile: a fixed
    /// grid per layer).
    #[serde(default = "egraph")]
    pub mapper: String,
    /// What cim-map minimises first: `area`, `latency`, `energy` or `balanced`.
    #[serde(default = "area")]
    pub objective: String,
    /// Extra arrays cim-map may spend on copies of the slowest layers.
    #[serde(default)]
    pub duplicate_arrays: u64,
    /// How cim-place assigns slots: `dataflow` or `first-fit`.
    #[serde(default = "dataflow")]
    pub placement: String,
    /// Seconds after programming at which `auto` encoding prices the cells' error.
    #[serde(default = "an_hour")]
    pub error_time: f64,
}

fn an_hour() -> f64 {
    3600.0
}

fn dataflow() -> String {
    "dataflow".into()
}

fn egraph() -> String {
    "egraph".into()
}

fn area() -> String {
    "area".into()
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            target: "ideal".into(),
            encoding: "differential".into(),
            weight_bits: 8,
            input_bits: 8,
            mapper: egraph(),
            objective: area(),
            duplicate_arrays: 0,
            placement: dataflow(),
            error_time: an_hour(),
        }
    }
}

/// The mapping pipeline for `target`: lower tosa, mark analog contractions, map onto
/// the target's arrays (cim-map, or cim-tile for the naive mapper), split signs, slice bits into its cells (unless `sliced` is
/// false: the exact program keeps analog cells), place, clean up. With `auto`
/// encoding, cim-map chooses each layer's encoding and bits per cell (1 to the
/// target's), priced by the read-out error of the target's cells at
/// `error_time` ([`cim_device::devices::Devices::cell_error`]).
pub fn mapping_pipeline(
    options: &CompileOptions,
    target: &Target,
    sliced: bool,
) -> Result<String, DriverError> {
    let dac_bits = match target.dac.mode {
        cim_target::DacMode::BitSerial => 1,
        cim_target::DacMode::MultiLevel => options.input_bits,
    };
    let [lo, hi] = target.dac.input_range;
    let slice = if sliced {
        format!(
            "cim-bitslice{{weight-bits={} cell-bits={} input-bits={} dac-bits={dac_bits} input-min={lo:?} input-max={hi:?}}},",
            options.weight_bits, target.array.cell_bits, options.input_bits
        )
    } else {
        String::new()
    };
    let (rows, cols) = (target.array.rows, target.array.cols);
    let auto = options.encoding == "auto";
    if auto && !(options.error_time.is_finite() && options.error_time >= 0.0) {
        return Err(DriverError::Usage(format!(
            "--error-time {} must be a finite number of seconds >= 0",
            options.error_time
        )));
    }
    let choose = if auto {
        let noise = (1..=target.array.cell_bits)
            .map(|bits| {
                let max_level = ((1u64 << bits) - 1) as f64;
                target
                    .device
                    .cell_error(max_level, options.error_time, 0)
                    .map(|sigma| format!("{bits}:{sigma:e}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| DriverError::Usage(format!("--encoding auto: {error}")))?;
        format!(
            " choose-encoding=true weight-bits={} cell-noise={}",
            options.weight_bits,
            noise.join(",")
        )
    } else {
        String::new()
    };
    let mapper = match options.mapper.as_str() {
        "naive" if auto => {
            return Err(DriverError::Usage(
                "--encoding auto is chosen by the e-graph mapper: use --mapper egraph".into(),
            ));
        }
        "naive" => format!("cim-tile{{rows={rows} cols={cols}}}"),
        _ => format!(
            "cim-map{{rows={rows} cols={cols} objective={} duplicate-arrays={}{choose}}}",
            options.objective, options.duplicate_arrays
        ),
    };
    // Arrays cim-map did not mark (none, unless auto) take the option's encoding.
    let fallback = if auto {
        "differential"
    } else {
        &options.encoding
    };
    Ok(format!(
        "builtin.module(func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith),canonicalize,\
         convert-linalg-to-cim,{mapper},cim-split-weights{{encoding={}}},{slice}\
         cim-place{{target={} strategy={}}},cim-dce,canonicalize,cse)",
        fallback, options.target, options.placement
    ))
}

fn render(diagnostics: &[Diagnostic], path: &str, source: &str) -> String {
    let lookup = |name: &str| (name == path).then(|| source.to_owned());
    diagnostics.iter().map(|d| d.render(&lookup)).collect()
}

/// Parses an input model file: MLIR, or ONNX through the ONNX frontend.
pub fn parse_model<'c>(
    cim: &'c CimContext,
    path: &Path,
) -> Result<(Module<'c>, String), DriverError> {
    let mut name = path.display().to_string();
    let source = if path.extension().is_some_and(|ext| ext == "onnx") {
        let text =
            cim_onnx::import_file(path).map_err(|error| DriverError::Import(error.to_string()))?;
        // Diagnostics then point into the imported MLIR, which is named as such.
        name.push_str(" (imported as MLIR)");
        text
    } else {
        std::fs::read_to_string(path).map_err(|error| DriverError::File {
            path: name.clone(),
            message: error.to_string(),
        })?
    };
    let sink = DiagnosticSink::attach(cim.context());
    let module = parse_module(cim.context(), &source, &name);
    let verified = module.as_ref().is_some_and(|module| {
        module.as_operation().verify() && cim_passes::verify::verify(module.as_operation()).is_ok()
    });
    match module {
        Some(module) if verified => Ok((module, source)),
        _ => Err(DriverError::Input {
            diagnostics: render(&sink.take(), &name, &source),
            path: name,
        }),
    }
}

/// Runs the mapping pipeline on `module` (see [`mapping_pipeline`]); `after_step`
/// sees the module after each step (for `--emit-mlir-after-each-pass`).
pub fn map(
    cim: &CimContext,
    module: &mut Module,
    options: &CompileOptions,
    target: &Target,
    sliced: bool,
    after_step: impl FnMut(&Element, &Module),
) -> Result<(), DriverError> {
    let text = mapping_pipeline(options, target, sliced)?;
    let pipeline = Pipeline::parse(&text).map_err(|error| DriverError::Usage(error.to_string()))?;
    let sink = DiagnosticSink::attach(cim.context());
    pipeline::run(
        cim.context(),
        module,
        &pipeline,
        &RunOptions { verify_each: true },
        after_step,
    )
    .map_err(|error| {
        let step = match &error {
            pipeline::RunError::Failed { step } => step.clone(),
            other => other.to_string(),
        };
        DriverError::Pipeline {
            step,
            diagnostics: render(&sink.take(), "", ""),
        }
    })
}

/// The `cim.mvm` operations of a module, in order.
fn mvms<'c, 'a>(module: &'a Module<'c>) -> Vec<OperationRef<'c, 'a>> {
    let mut found = Vec::new();
    module.as_operation().walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == ops::MVM {
            found.push(op.to_raw());
        }
        WalkResult::Advance
    });
    // SAFETY: collected from the module just above, which outlives the references.
    found
        .into_iter()
        .map(|raw| unsafe { OperationRef::from_raw(raw) })
        .collect()
}

fn set_converter(op: OperationRef, name: &str, converter: Converter) {
    let attribute = converter.build(context_of(&op));
    // SAFETY: the op is live; nothing else refers to it while its attribute changes.
    let mut op = unsafe { OperationRefMut::from_raw(op.to_raw()) };
    op.set_attribute(name, attribute);
}

/// For a target that converts every bit plane (`[adc] conversion =
/// "per_bit_plane"`): gives each MVM with a bit-serial DAC a per-plane ADC of the
/// target's bits over the full scale of one plane of its block (every row driven:
/// the largest column sum of its cell levels), so no plane can clip. Other MVMs keep
/// their ADC. Returns how many changed.
pub fn set_per_plane_adcs(module: &Module, target: &Target) -> Result<usize, DriverError> {
    if target.adc.conversion != cim_target::Conversion::PerBitPlane {
        return Ok(0);
    }
    let interpreter =
        Interpreter::new(module).map_err(|error| DriverError::Run(error.to_string()))?;
    let mut changed = 0;
    for op in mvms(module) {
        let Some(Converter::Dac {
            mode: DacMode::BitSerial,
            ..
        }) = attribute(&op, "dac").and_then(Converter::read)
        else {
            continue;
        };
        let Some((weights, window)) = read_block(&op, &interpreter) else {
            continue;
        };
        let (rows, cols) = block_size(&op, weights);
        let (row0, col0) = (window.row as usize, window.col as usize);
        let full_scale = (col0..cols.min(weights.ncols()))
            .map(|col| {
                weights
                    .column(col)
                    .iter()
                    .take(rows.min(weights.nrows()))
                    .skip(row0)
                    .map(|w| w.max(0.0))
                    .sum::<f64>()
            })
            .fold(0.0f64, f64::max);
        set_converter(
            op,
            "adc",
            Converter::AdcPerPlane {
                bits: i64::from(target.adc.bits),
                lo: 0.0,
                hi: full_scale.max(1.0),
            },
        );
        changed += 1;
    }
    Ok(changed)
}

/// The programmed weights of the array an MVM reads, and its window.
fn read_block<'i>(
    op: &OperationRef,
    interpreter: &'i Interpreter,
) -> Option<(&'i ndarray::Array2<f64>, Window)> {
    let array = attribute(op, "array")
        .and_then(|a| FlatSymbolRefAttribute::try_from(a).ok())
        .map(|s| s.value().to_owned())?;
    let window = attribute(op, "window")
        .and_then(Window::read)
        .unwrap_or(Window { row: 0, col: 0 });
    Some((interpreter.array(&array)?, window))
}

/// The rows and columns of its array an MVM reads up to: its window plus its input's
/// columns by its result's columns (arrays shared by packed layers hold other blocks
/// too).
fn block_size(op: &OperationRef, weights: &ndarray::Array2<f64>) -> (usize, usize) {
    let width = |value: Option<melior::ir::Type>| {
        value
            .and_then(TensorShape::of_type)
            .and_then(|shape| shape.last().flatten())
    };
    let window = attribute(op, "window")
        .and_then(Window::read)
        .unwrap_or(Window { row: 0, col: 0 });
    let (row0, col0) = (window.row as usize, window.col as usize);
    (
        width(op.operand(0).ok().map(|v| v.r#type()))
            .map_or(weights.nrows(), |r| row0 + r as usize),
        width(op.result(0).ok().map(|v| v.r#type())).map_or(weights.ncols(), |c| col0 + c as usize),
    )
}

/// Gives every MVM an ADC of `bits` whose range is the full scale of its block for
/// its DAC's input range: no column current can clip.
pub fn set_full_scale_adcs(module: &Module, bits: u32) -> Result<(), DriverError> {
    let interpreter =
        Interpreter::new(module).map_err(|error| DriverError::Run(error.to_string()))?;
    for op in mvms(module) {
        let Some(Converter::Dac { lo, hi, .. }) = attribute(&op, "dac").and_then(Converter::read)
        else {
            continue;
        };
        let Some((weights, window)) = read_block(&op, &interpreter) else {
            continue;
        };
        let (row0, col0) = (window.row as usize, window.col as usize);
        let (rows_read, cols_read) = block_size(&op, weights);
        let (mut low, mut high) = (0.0f64, 0.0f64);
        for col in col0..cols_read.min(weights.ncols()) {
            let column = weights.column(col);
            let rows = column
                .iter()
                .take(rows_read.min(weights.nrows()))
                .skip(row0);
            let (min, max) = rows.fold((0.0, 0.0), |(min, max), &w| {
                let (a, b) = (lo * w, hi * w);
                (min + a.min(b), max + a.max(b))
            });
            low = low.min(min);
            high = high.max(max);
        }
        if high <= low {
            high = low + 1.0;
        }
        set_converter(
            op,
            "adc",
            Converter::Adc {
                bits: i64::from(bits),
                lo: low,
                hi: high,
            },
        );
    }
    Ok(())
}

/// What calibration saw at one MVM.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    input: (f64, f64),
    output: (f64, f64),
}

/// Calibrates every MVM's converters on `data` (the first function's inputs): the DAC
/// range becomes the observed input range (including 0), the ADC range the observed
/// result range, at the target's resolutions.
pub fn calibrate(
    module: &Module,
    function: &str,
    data: &ArrayD<f64>,
    target: &Target,
) -> Result<usize, DriverError> {
    let interpreter =
        Interpreter::new(module).map_err(|error| DriverError::Run(error.to_string()))?;
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    let range = |values: &ArrayD<f64>| {
        values
            .iter()
            .fold((0.0f64, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    };
    let mut observe = |key, input: &ArrayD<f64>, output: &ArrayD<f64>| {
        let entry = seen.entry(key).or_default();
        let (i, o) = (range(input), range(output));
        entry.input = (entry.input.0.min(i.0), entry.input.1.max(i.1));
        entry.output = (entry.output.0.min(o.0), entry.output.1.max(o.1));
    };
    guarded("calibration", || {
        interpreter.run_observed(function, std::slice::from_ref(data), &mut observe)
    })?
    .map_err(|error| DriverError::Run(format!("calibration run failed: {error}")))?;
    let widen = |(lo, hi): (f64, f64)| if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let mut calibrated = 0;
    for op in mvms(module) {
        let Some(observed) = seen.get(&mvm_key(&op)) else {
            continue;
        };
        let (mode, bits) = match attribute(&op, "dac").and_then(Converter::read) {
            Some(Converter::Dac { mode, bits, .. }) => (mode, bits),
            _ => (DacMode::MultiLevel, i64::from(target.dac.bits)),
        };
        let (lo, hi) = widen(observed.input);
        set_converter(op, "dac", Converter::Dac { bits, mode, lo, hi });
        let (lo, hi) = widen(observed.output);
        set_converter(
            op,
            "adc",
            Converter::Adc {
                bits: i64::from(target.adc.bits),
                lo,
                hi,
            },
        );
        calibrated += 1;
    }
    Ok(calibrated)
}

/// `manifest.json` of an artifact.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Artifact format version.
    pub format: u32,
    /// The cim version that wrote it.
    pub cim_version: String,
    /// The model file compiled.
    pub model: String,
    /// The function that runs.
    pub function: String,
    /// The target's name.
    pub target_name: String,
    /// How it was compiled.
    pub options: CompileOptions,
    /// Whether converter ranges were calibrated on data (else full scale).
    pub calibrated: bool,
}

/// The current artifact format.
pub const ARTIFACT_FORMAT: u32 = 1;

/// The first public function of a module (the entry point).
pub fn entry_function(module: &Module) -> Option<String> {
    let first = module.body().first_operation();
    std::iter::successors(first, |op| op.next_in_block())
        .filter(|op| op_name(op) == "func.func" && string_attribute(op, "sym_visibility").is_none())
        .find_map(|op| string_attribute(&op, "sym_name"))
}

/// The programs of an artifact, as MLIR text.
pub struct Programs {
    /// The model before mapping: the digital float reference.
    pub float: String,
    /// Mapped with analog (unquantized) cells: what ideal devices compute.
    pub exact: String,
    /// Mapped, bit-sliced and with its converters: what is programmed.
    pub mapped: String,
}

/// The text of `module` with its locations, so that the layer every op was written
/// for (a named location, see [`crate::report`]) survives into the artifact.
pub fn print_with_locations(module: &Module) -> String {
    let flags = melior::ir::operation::OperationPrintingFlags::new().enable_debug_info(true, false);
    module
        .as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_else(|_| module.as_operation().to_string())
}

/// Writes an artifact directory.
pub fn write_artifact(
    dir: &Path,
    manifest: &Manifest,
    programs: &Programs,
) -> Result<(), DriverError> {
    let file = |name: &str| dir.join(name);
    let error = |path: &Path, message: String| DriverError::File {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(dir).map_err(|e| error(dir, e.to_string()))?;
    let json =
        serde_json::to_string_pretty(manifest).map_err(|e| DriverError::Run(e.to_string()))?;
    let files = [
        ("manifest.json", json.as_str()),
        ("float.mlir", programs.float.as_str()),
        ("exact.mlir", programs.exact.as_str()),
        ("mapped.mlir", programs.mapped.as_str()),
    ];
    for (name, text) in files {
        std::fs::write(file(name), text).map_err(|e| error(&file(name), e.to_string()))?;
    }
    Ok(())
}

/// A loaded artifact: its manifest and programs.
pub struct Artifact<'c> {
    /// The manifest.
    pub manifest: Manifest,
    /// The model before mapping (digital reference).
    pub float: Module<'c>,
    /// Mapped with analog cells (exact fidelity).
    pub exact: Module<'c>,
    /// Mapped and bit-sliced (quantized fidelity; the report).
    pub mapped: Module<'c>,
}

/// Reads an artifact directory written by [`write_artifact`].
pub fn read_artifact<'c>(cim: &'c CimContext, dir: &Path) -> Result<Artifact<'c>, DriverError> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|error| DriverError::File {
        path: manifest_path.display().to_string(),
        message: format!("{error}: is this a directory written by `cimc compile`?"),
    })?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|error| DriverError::File {
        path: manifest_path.display().to_string(),
        message: error.to_string(),
    })?;
    if manifest.format != ARTIFACT_FORMAT {
        return Err(DriverError::File {
            path: manifest_path.display().to_string(),
            message: format!(
                "artifact format {} is not {ARTIFACT_FORMAT}: recompile with this cimc",
                manifest.format
            ),
        });
    }
    let (float, _) = parse_model(cim, &dir.join("float.mlir"))?;
    let (exact, _) = parse_model(cim, &dir.join("exact.mlir"))?;
    let (mapped, _) = parse_model(cim, &dir.join("mapped.mlir"))?;
    Ok(Artifact {
        manifest,
        float,
        exact,
        mapped,
    })
}

/// Runs the artifact's function on `inputs`: the float model (`None`), the exact
/// program, or the programmed one through its converters.
pub fn run_artifact(
    artifact: &Artifact,
    inputs: &[ArrayD<f64>],
    fidelity: Option<Fidelity>,
) -> Result<Vec<ArrayD<f64>>, DriverError> {
    run_artifact_on(artifact, inputs, fidelity, &RunSettings::default())
}

/// How a run executes beyond its fidelity: the chip of a full-fidelity run (when it
/// is read, the seed of its devices) and where the digital work runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunSettings {
    /// Seconds since programming.
    pub drift_time: f64,
    /// Seed of programming and conversion noise.
    pub seed: u64,
    /// Float, or the NMDU's fixed-point kernels (reference or generated code):
    /// quantized and full fidelity only, as the NMDU reads ADC codes.
    pub digital: Digital,
}

/// [`run_artifact`]; at [`Fidelity::Full`], the mapped program runs on a chip of
/// the artifact's target, programmed with `chip.seed` and read `chip.drift_time`
/// seconds later; with `chip.digital` on the NMDU, its digital work runs on
/// fixed-point kernels in the target's formats.
pub fn run_artifact_on(
    artifact: &Artifact,
    inputs: &[ArrayD<f64>],
    fidelity: Option<Fidelity>,
    chip: &RunSettings,
) -> Result<Vec<ArrayD<f64>>, DriverError> {
    let module = match fidelity {
        None => &artifact.float,
        Some(Fidelity::Exact) => &artifact.exact,
        Some(Fidelity::Quantized | Fidelity::Full) => &artifact.mapped,
    };
    let mut interpreter = Interpreter::new(module)
        .map_err(|error| DriverError::Run(error.to_string()))?
        .with_fidelity(fidelity.unwrap_or_default());
    if chip.digital != Digital::Float {
        if !matches!(fidelity, Some(Fidelity::Quantized | Fidelity::Full)) {
            return Err(DriverError::Usage(
                "the NMDU reads ADC codes: --digital interp|nmdu needs --fidelity quantized or full"
                    .into(),
            ));
        }
        let target = Target::load(&artifact.manifest.options.target).map_err(|error| {
            DriverError::Usage(format!(
                "the artifact's target cannot be loaded for its NMDU formats: {error}"
            ))
        })?;
        interpreter = interpreter
            .with_digital(chip.digital, nmdu_format(&target))
            .map_err(|error| DriverError::Run(error.to_string()))?;
    }
    if fidelity == Some(Fidelity::Full) {
        if !(chip.drift_time.is_finite() && chip.drift_time >= 0.0) {
            return Err(DriverError::Usage(format!(
                "--drift-time {}: give the seconds since programming, >= 0",
                chip.drift_time
            )));
        }
        let target = Target::load(&artifact.manifest.options.target).map_err(|error| {
            DriverError::Usage(format!(
                "the artifact's target cannot be loaded for its devices: {error}"
            ))
        })?;
        interpreter = interpreter
            .program(&cim_interp::Chip {
                devices: &target.device,
                time: chip.drift_time,
                seed: chip.seed,
                adc: target.adc.model(),
                wires: &target.wires,
            })
            .map_err(|error| DriverError::Run(error.to_string()))?;
    }
    guarded("the interpreter", || {
        interpreter.run(&artifact.manifest.function, inputs)
    })?
    .map_err(|error| DriverError::Run(format!("@{}: {error}", artifact.manifest.function)))
}

/// The NMDU formats of `target`.
pub fn nmdu_format(target: &Target) -> cim_interp::Format {
    cim_interp::Format {
        multiplier_bits: target.nmdu.multiplier_bits,
        accumulator_bits: target.nmdu.accumulator_bits,
        out_bits: target.nmdu.output_bits,
        fraction_bits: target.nmdu.fraction_bits,
    }
}

/// Runs `work`, turning a panic (a bug, never an input error) into an error that
/// says where, so the tools exit with a message instead of a crash.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> T) -> Result<T, DriverError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        DriverError::Run(format!(
            "internal error in {what}: {reason} (please report it)"
        ))
    })
}

/// Reads `.npy` inputs.
pub fn read_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<ArrayD<f64>>, DriverError> {
    paths
        .iter()
        .map(|path| {
            npy::read(path).map_err(|error| DriverError::File {
                path: path.display().to_string(),
                message: error.to_string(),
            })
        })
        .collect()
}
