//! The mapping pipeline: parsing a model (MLIR, or ONNX through the frontend), the
//! choices of a compilation, and the pass pipeline that maps it onto a target.

use crate::DriverError;
use cim_egraph::cost::{Encoding, Objective};
use cim_ir::{
    CimContext,
    diagnostics::{Diagnostic, DiagnosticSink},
    source::parse_module,
};
use cim_passes::{
    pipeline::{self, Element, Pipeline, RunOptions},
    place::Strategy,
};
use cim_target::{CellDevices, Target};
use melior::ir::{Module, operation::OperationLike};
use serde::{Deserialize, Serialize};
use std::path::Path;

cim_choices::choice! {
    /// How layers are cut and packed onto arrays.
    pub enum Mapper {
        /// All layers at once by equality saturation, cheapest under the objective
        /// (cim-map).
        Egraph = "egraph",
        /// A fixed grid per layer (cim-tile).
        Naive = "naive",
    }
    default Egraph
}

cim_choices::choice! {
    /// How signed weights are held in cells.
    pub enum EncodingChoice {
        /// Two arrays, max(w, 0) and max(-w, 0), subtracted.
        Differential = "differential",
        /// One array of w + c and a reference column of c, subtracted.
        Offset = "offset",
        /// One array of device pairs subtracting in analog (targets whose cells are
        /// device pairs).
        Pair = "pair",
        /// The e-graph mapper chooses per layer, with the bits per cell, under its
        /// objective and the target's cell error at the error time.
        Auto = "auto",
    }
    default Differential
}

impl EncodingChoice {
    /// The encoding every array gets, unless the mapper chooses (`auto`).
    pub fn fixed(self) -> Option<Encoding> {
        match self {
            Self::Differential => Some(Encoding::Differential),
            Self::Offset => Some(Encoding::Offset),
            Self::Pair => Some(Encoding::Pair),
            Self::Auto => None,
        }
    }

    /// The encoding of `target` when none is asked for: pairs on device-pair
    /// cells, else differential arrays.
    pub fn of_target(target: &Target) -> Self {
        match target.array.devices {
            CellDevices::Pair => Self::Pair,
            CellDevices::Single => Self::Differential,
        }
    }
}

/// The encodings `target`'s cells can hold.
fn encodings_of(target: &Target) -> &'static [Encoding] {
    match target.array.devices {
        CellDevices::Pair => &[Encoding::Pair],
        CellDevices::Single => &[Encoding::Differential, Encoding::Offset],
    }
}

/// Choices of `cimc compile`. Defaults are each vocabulary's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompileOptions {
    /// The target as given (preset name or file path).
    pub target: String,
    /// How signed weights are encoded (the target's when absent).
    #[serde(default)]
    pub encoding: Option<EncodingChoice>,
    /// Bits of each quantized weight magnitude.
    pub weight_bits: u32,
    /// Input resolution (the target's DAC's when absent).
    #[serde(default)]
    pub input_bits: Option<u32>,
    /// How layers are mapped onto arrays.
    #[serde(default)]
    pub mapper: Mapper,
    /// What cim-map minimises first.
    #[serde(default)]
    pub objective: Objective,
    /// Extra arrays cim-map may spend on copies of the slowest layers.
    #[serde(default)]
    pub duplicate_arrays: u64,
    /// How cim-place assigns slots.
    #[serde(default)]
    pub placement: Strategy,
    /// Seconds after programming at which `auto` encoding prices the cells' error.
    #[serde(default = "an_hour")]
    pub error_time: f64,
    /// With calibration data: the percentage of the values seen that converter
    /// ranges cover (100: from the smallest to the largest).
    #[serde(default = "hundred")]
    pub calibration_percentile: f64,
    /// Rank of the low-rank digital adapters `cim-adapters` gives analog layers
    /// (0: none).
    #[serde(default)]
    pub adapter_rank: u32,
    /// Which layers get adapters: `all`, `sensitive:N`, or layer names
    /// comma-separated.
    #[serde(default = "all_layers")]
    pub adapter_layers: String,
}

fn all_layers() -> String {
    "all".into()
}

fn hundred() -> f64 {
    100.0
}

fn an_hour() -> f64 {
    3600.0
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            target: "ideal".into(),
            encoding: None,
            weight_bits: 8,
            input_bits: None,
            mapper: Mapper::default(),
            objective: Objective::default(),
            duplicate_arrays: 0,
            placement: Strategy::default(),
            error_time: an_hour(),
            calibration_percentile: hundred(),
            adapter_rank: 0,
            adapter_layers: all_layers(),
        }
    }
}

impl CompileOptions {
    /// The encoding, as asked or the target's.
    pub fn encoding_for(&self, target: &Target) -> EncodingChoice {
        self.encoding
            .unwrap_or_else(|| EncodingChoice::of_target(target))
    }

    /// The input resolution, as asked or the target DAC's.
    pub fn input_bits_for(&self, target: &Target) -> u32 {
        self.input_bits.unwrap_or(target.dac.bits)
    }

    /// Refuses choices that do not go together (each message says what to do).
    pub fn check(&self) -> Result<(), DriverError> {
        if self.mapper == Mapper::Naive
            && (self.duplicate_arrays > 0 || self.objective != Objective::default())
        {
            return Err(DriverError::Usage(
                "--objective and --duplicate-arrays choose among the e-graph mapper's mappings: use them with --mapper egraph".into(),
            ));
        }
        Ok(())
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
    let input_bits = options.input_bits_for(target);
    let dac_bits = match target.dac.mode {
        cim_target::DacMode::BitSerial => 1,
        cim_target::DacMode::MultiLevel => input_bits,
    };
    let [lo, hi] = target.dac.input_range;
    let slice = if sliced {
        format!(
            "cim-bitslice{{weight-bits={} cell-bits={} input-bits={input_bits} dac-bits={dac_bits} input-min={lo:?} input-max={hi:?} weight-scaling={}}},",
            options.weight_bits, target.array.cell_bits, target.array.weight_scaling
        )
    } else {
        String::new()
    };
    let (rows, cols) = (target.array.rows, target.array.cols);
    let encoding = options.encoding_for(target);
    if let Some(fixed) = encoding.fixed()
        && !encodings_of(target).contains(&fixed)
    {
        return Err(DriverError::Usage(format!(
            "--encoding {encoding}: target '{}' has {} cells, which hold {}",
            target.name,
            target.array.devices,
            encodings_of(target)
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        )));
    }
    let auto = encoding == EncodingChoice::Auto;
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
        let encodings: Vec<String> = encodings_of(target).iter().map(|e| e.to_string()).collect();
        format!(
            " choose-encoding=true encodings={} weight-bits={} cell-noise={}",
            encodings.join(","),
            options.weight_bits,
            noise.join(",")
        )
    } else {
        String::new()
    };
    let mapper = match options.mapper {
        Mapper::Naive if auto => {
            return Err(DriverError::Usage(
                "--encoding auto is chosen by the e-graph mapper: use --mapper egraph".into(),
            ));
        }
        Mapper::Naive => format!("cim-tile{{rows={rows} cols={cols}}}"),
        Mapper::Egraph => format!(
            "cim-map{{rows={rows} cols={cols} objective={} duplicate-arrays={}{choose}}}",
            options.objective, options.duplicate_arrays
        ),
    };
    let adapters = if options.adapter_rank > 0 {
        format!("{},", adapters_pass(options)?)
    } else {
        String::new()
    };
    // Arrays cim-map did not mark (none, unless auto) take the option's encoding.
    let fallback = encoding.fixed().unwrap_or(encodings_of(target)[0]);
    Ok(format!(
        "builtin.module(func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith),canonicalize,\
         convert-linalg-to-cim,{adapters}{mapper},cim-split-weights{{encoding={}}},{slice}\
         cim-place{{target=\"{}\" strategy={}}},cim-dce,canonicalize,cse)",
        fallback, options.target, options.placement
    ))
}

/// The `cim-adapters` step of `options` (`--adapter-rank`, `--adapter-layers`).
fn adapters_pass(options: &CompileOptions) -> Result<String, DriverError> {
    let layers = options.adapter_layers.trim();
    let placement = if layers == "all" {
        "placement=all".to_owned()
    } else if let Some(count) = layers.strip_prefix("sensitive:") {
        let count: u64 = count.parse().ok().filter(|c| *c > 0).ok_or_else(|| {
            DriverError::Usage(format!(
                "--adapter-layers {layers}: write sensitive:N with N >= 1"
            ))
        })?;
        format!("placement=sensitive count={count}")
    } else if !layers.is_empty()
        && layers.split(',').all(|name| {
            !name.trim().is_empty()
                && name
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    {
        format!("placement=named layers={}", layers.replace(' ', ""))
    } else {
        return Err(DriverError::Usage(format!(
            "--adapter-layers '{layers}': give all, sensitive:N, or layer names as `cimc report` prints them, comma-separated"
        )));
    };
    Ok(format!(
        "cim-adapters{{rank={} {placement}}}",
        options.adapter_rank
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

/// The steps that bring TOSA to linalg on tensors, the first of the mapping
/// pipeline: the float program is kept after them, where the interpreter reads it.
pub const TOSA_TO_LINALG: &str =
    "builtin.module(func.func(tosa-to-linalg-named,tosa-to-linalg,tosa-to-arith),canonicalize)";

/// Lowers the TOSA ops of `module` to linalg (a module without them is unchanged
/// but for canonicalization).
pub fn lower_tosa(cim: &CimContext, module: &mut Module) -> Result<(), DriverError> {
    run_text(cim, module, TOSA_TO_LINALG, |_, _| {})
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
    run_text(cim, module, &text, after_step)
}

/// Runs the pipeline `text` on `module`.
fn run_text(
    cim: &CimContext,
    module: &mut Module,
    text: &str,
    after_step: impl FnMut(&Element, &Module),
) -> Result<(), DriverError> {
    let pipeline = Pipeline::parse(text).map_err(|error| DriverError::Usage(error.to_string()))?;
    let sink = DiagnosticSink::attach(cim.context());
    pipeline::run(
        cim.context(),
        module,
        &pipeline,
        &RunOptions {
            verify_each: true,
            ..RunOptions::default()
        },
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
