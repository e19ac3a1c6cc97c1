#![warn(missing_docs)]
//! Hardware targets: what a CIM system offers the compiler.
//!
//! A target is a TOML file (schema below, presets in `targets/`). Unknown keys and
//! out-of-range values are errors that name the file, the key path and what is
//! allowed.
//!
//! ```toml
//! name = "ideal"
//! description = "..."
//! [array]            # one crossbar array
//! rows = 256         # word lines, >= 1
//! cols = 256         # bit lines, >= 1
//! cell_bits = 4      # bits per memory cell, 1..=16
//! devices = "single" # a cell is one device (signed weights: two arrays whose two
//!                    # conversions the NMDU subtracts), or a "pair" whose currents
//!                    # subtract in analog before one conversion (aihwkit's ONE_PASS)
//! weight_scaling = "block"    # one weight scale per "array", "block" or "column"
//! [hierarchy]        # chips > cores > arrays
//! chips = 16
//! cores_per_chip = 64
//! arrays_per_core = 16
//! [dac]
//! bits = 8                    # 1..=24
//! mode = "bit_serial"         # or "multi_level"
//! input_range = [-1.0, 1.0]   # lo < hi
//! management = "none"         # per-vector scaling: "none", "abs_max", "constant"
//! constant = 1.0              # the scale of "constant"
//! [adc]
//! bits = 8                    # 1..=24
//! noise = 0.0                 # std of conversion noise, fraction of the range
//! offset_std = 0.0            # std of a column's offset, fraction of the range
//! gain_std = 0.0              # std of a column's gain around 1
//! s_curve = 0.0               # S-shaped nonlinearity tanh(k·u)/tanh(k), 0: linear
//! columns_per_adc = 1         # columns sharing one ADC (converted in turn)
//! conversion = "per_mvm"      # or "per_bit_plane" (bit-serial DACs)
//! range = "full_scale"        # without calibration data: "full_scale" or "bound"
//! bound = 12.0                # the range ±bound of range = "bound", in units:
//! units = "weights"           # "weights" (the layer's) or "normalized" (its largest)
//! management = "none"         # saturated vectors: "none" or "iterative"
//! [device]           # optional: the memory devices (ideal when absent)
//! technology = "pcm"          # "ideal", "pcm", "hermes" or "rram"
//! g_min = 0.0                 # µS, level 0
//! g_max = 25.0                # µS, the top level
//! drift_compensation = "global"   # "none", "global" or "per_column"
//! forward_noise = 0.0         # weight noise at every read (aihwkit's w_noise, PCM_READ)
//! [device.pcm]                # aihwkit's PCMLikeNoiseModel parameters (defaults)
//! [device.hermes]             # aihwkit's HermesNoiseModel parameters (defaults)
//! [device.faults]             # fractions of cells stuck
//! off = 0.0
//! on = 0.0
//! [wires]            # optional: line resistance (ideal lines when absent)
//! word_ohms = 1.0             # one word-line segment (cell pitch)
//! bit_ohms = 1.0              # one bit-line segment
//! read_volts = 0.2            # the read voltage of a full-scale input
//! ir_drop = "approximate"     # "none", "approximate", "exact" or "aihwkit"
//! drop_scale = 1.0            # "aihwkit": its ir_drop factor
//! g_ratio = 571428.6          # "aihwkit": its ir_drop_g_ratio (1 / 0.35 / 5e-6)
//! [cost]             # optional: figures for reports (defaults below)
//! mvm_ns = 100.0     # one analog MVM of one input plane on one array, all columns converted
//! adc_pj = 2.0       # one ADC conversion
//! dac_pj = 0.1       # driving one word line for one input plane
//! digital_pj = 0.05  # one digital operation (add, shift, scale) on one value
//! digital_ns = 0.01  # one digital operation, the NMDU's lanes in parallel (100 Gop/s)
//! adc_ns = 0.0       # one more conversion by an ADC that columns share
//! ```
//!
//! The cost defaults are illustrative orders of magnitude, not one chip's figures:
//! set them from your process to read absolute numbers off the reports; ratios
//! between mappings hold either way.

pub use cim_device::{devices::Devices, irdrop::Wires};
use serde::Deserialize;
use std::path::Path;
use thiserror::Error;

/// One crossbar array.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArraySpec {
    /// Word lines (inputs).
    pub rows: u32,
    /// Bit lines (outputs).
    pub cols: u32,
    /// Bits stored per cell.
    pub cell_bits: u32,
    /// What a cell is: one device, or a device pair whose currents subtract in
    /// analog (aihwkit's tiles; then signed weights are `pair` encoded).
    #[serde(default)]
    pub devices: CellDevices,
    /// What shares one weight scale (the weight a top level is worth): the array,
    /// each MVM's block, or each column of a block (aihwkit's
    /// `weight_scaling_columnwise`).
    #[serde(default)]
    pub weight_scaling: WeightScaling,
}

cim_choices::choice! {
    /// What one cell of an array is.
    pub enum CellDevices {
        /// One device; signed weights take two arrays (`differential`) or an
        /// offset.
        Single = "single",
        /// A device pair, subtracting in analog (`pair` encoding).
        Pair = "pair",
    }
    default Single
}

cim_choices::choice! {
    /// What shares one weight scale.
    pub enum WeightScaling {
        /// The whole array (aihwkit: one scale per tile).
        Array = "array",
        /// Each block an MVM reads: layers packed on one array each span the full
        /// conductance range.
        Block = "block",
        /// Each column of each block.
        Column = "column",
    }
    default Block
}

cim_choices::choice! {
    /// How the DAC scales each input vector (aihwkit's `noise_management`).
    pub enum InputManagement {
        /// Not at all: inputs are driven as they are, within `input_range`.
        None = "none",
        /// By its largest magnitude (`ABS_MAX`): each vector fills the range, and
        /// the output is multiplied back.
        AbsMax = "abs_max",
        /// By a constant (`CONSTANT`): `dac.constant`.
        Constant = "constant",
    }
    default None
}

cim_choices::choice! {
    /// What an ADC's range is set to without calibration data.
    pub enum AdcRange {
        /// The full scale of the block it converts: nothing can clip.
        FullScale = "full_scale",
        /// A fixed bound, `adc.bound` in `adc.units` (aihwkit's `out_bound`), with
        /// 2^bits − 1 levels symmetric about 0.
        Bound = "bound",
    }
    default FullScale
}

cim_choices::choice! {
    /// The units of a fixed ADC bound.
    pub enum BoundUnits {
        /// The layer's own weights times the DAC's input (aihwkit with
        /// `weight_scaling_omega = 0`: the tile holds the weights unscaled).
        Weights = "weights",
        /// The block's (or column's) largest weight times the DAC's input (aihwkit
        /// with weights scaled to 1).
        Normalized = "normalized",
    }
    default Weights
}

cim_choices::choice! {
    /// What happens when an ADC saturates (aihwkit's `bound_management`).
    pub enum BoundManagement {
        /// Nothing: the output clips.
        None = "none",
        /// The input vector is converted again, halved, until nothing clips or the
        /// DAC's resolution gives out (`ITERATIVE`).
        Iterative = "iterative",
    }
    default None
}

/// How arrays are grouped.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hierarchy {
    /// Chips on the board.
    pub chips: u32,
    /// Cores per chip.
    pub cores_per_chip: u32,
    /// Arrays per core.
    pub arrays_per_core: u32,
    /// Whether arrays can be reprogrammed between layers: a model with more arrays
    /// than the chips hold then runs in rounds (the chips programmed with one
    /// group of layers after another), instead of failing to place.
    #[serde(default)]
    pub reprogrammable: bool,
}

/// DAC drive mode.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DacMode {
    /// One bit plane per cycle.
    BitSerial,
    /// All bits as one level.
    MultiLevel,
}

/// The input converters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DacSpec {
    /// Resolution.
    pub bits: u32,
    /// Drive mode.
    pub mode: DacMode,
    /// Represented input range `[lo, hi]`.
    #[serde(deserialize_with = "cim_device::exactly")]
    pub input_range: [f64; 2],
    /// How each input vector is scaled before conversion (multi-level DACs).
    #[serde(default)]
    pub management: InputManagement,
    /// The scale of `management = "constant"`.
    #[serde(default = "unit")]
    pub constant: f64,
}

fn unit() -> f64 {
    1.0
}

/// The output converters.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdcSpec {
    /// Resolution.
    pub bits: u32,
    /// Standard deviation of the noise added to each conversion's input, as a
    /// fraction of the ADC's range (full fidelity only).
    #[serde(default)]
    pub noise: f64,
    /// Standard deviation of each column's offset, fraction of the range (full
    /// fidelity; fixed per chip).
    #[serde(default)]
    pub offset_std: f64,
    /// Standard deviation of each column's gain around 1 (full fidelity; fixed per
    /// chip).
    #[serde(default)]
    pub gain_std: f64,
    /// Strength of the transfer curve's S-shaped nonlinearity, `tanh(k·u)/tanh(k)`
    /// over the range (0: linear; full fidelity).
    #[serde(default)]
    pub s_curve: f64,
    /// Columns that share one ADC (converted one after another; reports' time).
    #[serde(default = "one")]
    pub columns_per_adc: u32,
    /// What one conversion covers with a bit-serial DAC: the whole MVM (`per_mvm`,
    /// the default: charge integrated over the input's bit planes, then converted
    /// once) or each bit plane (`per_bit_plane`: a conversion after every plane,
    /// recombined by shift-and-add; each plane's range is the block's full scale).
    #[serde(default)]
    pub conversion: Conversion,
    /// What the range is without calibration data.
    #[serde(default)]
    pub range: AdcRange,
    /// The bound of `range = "bound"`, in `units` (aihwkit's `out_bound`).
    #[serde(default = "twelve")]
    pub bound: f64,
    /// The units of `bound`.
    #[serde(default)]
    pub units: BoundUnits,
    /// What a saturated conversion does.
    #[serde(default)]
    pub management: BoundManagement,
}

fn twelve() -> f64 {
    12.0
}

fn one() -> u32 {
    1
}

impl AdcSpec {
    /// The converter's non-idealities, for the runtime.
    pub fn model(&self) -> cim_device::adc::AdcModel {
        cim_device::adc::AdcModel {
            noise: self.noise,
            offset_std: self.offset_std,
            gain_std: self.gain_std,
            s_curve: self.s_curve,
        }
    }
}

/// When a bit-serial input's MVM is converted.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// Once per MVM.
    #[default]
    PerMvm,
    /// Once per input bit plane.
    PerBitPlane,
}

/// Cost figures of one operation, for estimated latency and energy in reports.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CostSpec {
    /// Time of one analog MVM of one input plane on one array (drive, settle,
    /// convert every column), in ns.
    pub mvm_ns: f64,
    /// Energy of one ADC conversion, in pJ.
    pub adc_pj: f64,
    /// Energy of driving one word line for one input plane, in pJ.
    pub dac_pj: f64,
    /// Energy of one digital operation on one value, in pJ.
    pub digital_pj: f64,
    /// Time of one digital operation on one value as the NMDU sustains them (its
    /// lanes in parallel), in ns: 0.01 is 100 Gop/s.
    pub digital_ns: f64,
    /// Time of one more conversion by an ADC shared by several columns, in ns.
    pub adc_ns: f64,
    /// Silicon area of one array with its drivers, in µm².
    pub array_um2: f64,
    /// Silicon area of one ADC, in µm² (an array has one per `columns_per_adc`
    /// columns).
    pub adc_um2: f64,
    /// Time to program one array (write and verify every cell), in µs: what a
    /// round of a reprogrammed chip costs per array of a core.
    pub program_us: f64,
    /// The design the figures above were given for; another design's costs are
    /// scaled from it ([`Target::costs`]). Absent: the figures hold for any.
    #[serde(default)]
    pub reference: Option<CostReference>,
}

/// The design a target's cost figures describe: a design-space search changes
/// resolutions and array sizes, and the costs follow by the usual scaling laws
/// (see [`Target::costs`]).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostReference {
    /// The ADC resolution of `adc_pj`, `adc_um2` and `adc_ns`.
    pub adc_bits: u32,
    /// The DAC resolution of `dac_pj`.
    pub dac_bits: u32,
    /// The array rows of `array_um2`.
    pub rows: u32,
    /// The array columns of `array_um2`.
    pub cols: u32,
}

impl Default for CostSpec {
    fn default() -> Self {
        Self {
            mvm_ns: 100.0,
            adc_pj: 2.0,
            dac_pj: 0.1,
            digital_pj: 0.05,
            digital_ns: 0.01,
            adc_ns: 0.0,
            array_um2: 10000.0,
            adc_um2: 1500.0,
            program_us: 1000.0,
            reference: None,
        }
    }
}

/// The near-memory digital unit's number formats (`cimc run --digital interp|nmdu`):
/// signed fixed-point multipliers (per plane and column; they carry the slices'
/// significance, the ADC steps and the affine correction), a saturating
/// accumulator, and the output handed to the next digital op.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NmduSpec {
    /// Width of the multipliers, 2..=24 bits.
    pub multiplier_bits: u32,
    /// Width of the accumulator, 8..=48 bits.
    pub accumulator_bits: u32,
    /// Width of the outputs, 2..=32 bits.
    pub output_bits: u32,
    /// Fractional bits of the elementwise unit's 32-bit values (gates, normalisation,
    /// softmax: Q(31−f).f), 14..=22.
    pub fraction_bits: u32,
}

impl Default for NmduSpec {
    fn default() -> Self {
        Self {
            multiplier_bits: 16,
            accumulator_bits: 32,
            output_bits: 16,
            fraction_bits: 16,
        }
    }
}

/// A hardware target.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Short name (presets are found by it).
    pub name: String,
    /// One line for people.
    #[serde(default)]
    pub description: String,
    /// The array.
    pub array: ArraySpec,
    /// Chips, cores, arrays.
    pub hierarchy: Hierarchy,
    /// Input converters.
    pub dac: DacSpec,
    /// Output converters.
    pub adc: AdcSpec,
    /// Cost figures for reports.
    #[serde(default)]
    pub cost: CostSpec,
    /// The memory devices (full fidelity); ideal when absent.
    #[serde(default)]
    pub device: Devices,
    /// Word and bit lines (full fidelity); ideal when absent.
    #[serde(default)]
    pub wires: Wires,
    /// The near-memory digital unit's formats; 16-bit multipliers, a 32-bit
    /// accumulator and 16-bit outputs when absent.
    #[serde(default)]
    pub nmdu: NmduSpec,
}

/// A target that cannot be read.
#[derive(Debug, Error, PartialEq)]
pub enum TargetError {
    /// Neither a preset nor a readable file.
    #[error("unknown target '{name}': not a preset ({presets}) and not a readable file ({reason})")]
    Unknown {
        /// What was asked for.
        name: String,
        /// The presets.
        presets: String,
        /// Why the file could not be read.
        reason: String,
    },
    /// TOML syntax or schema.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// File (or preset) name.
        file: String,
        /// Key path (`dac.mode`).
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// Presets shipped with cim: (name, TOML).
pub const PRESETS: &[(&str, &str)] = &[
    ("ideal", include_str!("../../../targets/ideal.toml")),
    ("pcm", include_str!("../../../targets/pcm.toml")),
    ("pcm-hwa", include_str!("../../../targets/pcm-hwa.toml")),
    ("hermes", include_str!("../../../targets/hermes.toml")),
    ("rram", include_str!("../../../targets/rram.toml")),
    (
        "rram-8chip",
        include_str!("../../../targets/rram-8chip.toml"),
    ),
];

/// The most arrays a target may hold: placement keeps a slot per array.
pub const MAX_ARRAYS: u64 = 1 << 24;
/// The largest magnitude of a converter range (ranges multiply through weights
/// and levels, which must stay finite).
pub const MAX_MAGNITUDE: f64 = 1e12;
/// The most rows or columns of an array (tiling allocates whole arrays).
pub const MAX_ARRAY_SIDE: u64 = 1 << 16;

impl Target {
    /// The cost figures of this design: `cost` as given, or scaled from its
    /// `cost.reference` design. A SAR ADC's energy per conversion and its
    /// capacitor array's area double with each bit (a constant Walden figure of
    /// merit), and it converts one bit per cycle (time linear in bits); a DAC's
    /// drive energy doubles with each bit (current steering); an array's area
    /// goes with its cells.
    pub fn costs(&self) -> CostSpec {
        let Some(reference) = self.cost.reference else {
            return self.cost.clone();
        };
        let doubling = |bits: u32, of: u32| 2f64.powi(bits as i32 - of as i32);
        CostSpec {
            adc_pj: self.cost.adc_pj * doubling(self.adc.bits, reference.adc_bits),
            adc_um2: self.cost.adc_um2 * doubling(self.adc.bits, reference.adc_bits),
            adc_ns: self.cost.adc_ns * f64::from(self.adc.bits) / f64::from(reference.adc_bits),
            dac_pj: self.cost.dac_pj * doubling(self.dac.bits, reference.dac_bits),
            array_um2: self.cost.array_um2
                * (f64::from(self.array.rows) * f64::from(self.array.cols))
                / (f64::from(reference.rows) * f64::from(reference.cols)),
            ..self.cost.clone()
        }
    }

    /// A preset by name, or else a TOML file by path.
    pub fn load(name_or_path: &str) -> Result<Self, TargetError> {
        let (text, file) = Self::source(name_or_path)?;
        Self::parse(&text, &file)
    }

    /// The TOML text of a preset by name, or else of a file by path, and how
    /// errors name it.
    pub fn source(name_or_path: &str) -> Result<(String, String), TargetError> {
        if let Some((name, text)) = PRESETS.iter().find(|(name, _)| *name == name_or_path) {
            return Ok(((*text).to_owned(), format!("preset '{name}'")));
        }
        match std::fs::read_to_string(Path::new(name_or_path)) {
            Ok(text) => Ok((text, name_or_path.to_owned())),
            Err(error) => Err(TargetError::Unknown {
                name: name_or_path.to_owned(),
                presets: PRESETS
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
                reason: error.to_string(),
            }),
        }
    }

    /// Parses and validates TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, TargetError> {
        let deserializer =
            toml::Deserializer::parse(text).map_err(|error| TargetError::Invalid {
                file: file.to_owned(),
                key: "(syntax)".to_owned(),
                message: error.message().to_owned(),
            })?;
        let target: Self = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            TargetError::Invalid {
                file: file.to_owned(),
                key: error.path().to_string(),
                message: error.inner().message().to_owned(),
            }
        })?;
        target.validate(file)?;
        Ok(target)
    }

    fn validate(&self, file: &str) -> Result<(), TargetError> {
        let invalid = |key: &str, message: String| TargetError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let at_least_one = [
            ("array.rows", self.array.rows),
            ("array.cols", self.array.cols),
            ("hierarchy.chips", self.hierarchy.chips),
            ("hierarchy.cores_per_chip", self.hierarchy.cores_per_chip),
            ("hierarchy.arrays_per_core", self.hierarchy.arrays_per_core),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        for (key, value) in [
            ("array.rows", self.array.rows),
            ("array.cols", self.array.cols),
        ] {
            if u64::from(value) > MAX_ARRAY_SIDE {
                return Err(invalid(
                    key,
                    format!("{value} is out of range: allowed 1..={MAX_ARRAY_SIDE}"),
                ));
            }
        }
        if self.capacity() > MAX_ARRAYS {
            return Err(invalid(
                "hierarchy",
                format!(
                    "the system holds {} arrays (chips x cores_per_chip x arrays_per_core); cim places at most {MAX_ARRAYS}: describe fewer",
                    self.capacity()
                ),
            ));
        }
        let ranges = [
            ("array.cell_bits", self.array.cell_bits, 1, 16),
            ("dac.bits", self.dac.bits, 1, 24),
            ("adc.bits", self.adc.bits, 1, 24),
            ("adc.columns_per_adc", self.adc.columns_per_adc, 1, 1 << 16),
            ("nmdu.multiplier_bits", self.nmdu.multiplier_bits, 2, 24),
            ("nmdu.accumulator_bits", self.nmdu.accumulator_bits, 8, 48),
            ("nmdu.output_bits", self.nmdu.output_bits, 2, 32),
            ("nmdu.fraction_bits", self.nmdu.fraction_bits, 14, 22),
        ];
        for (key, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(invalid(
                    key,
                    format!("{value} is out of range: allowed {min}..={max}"),
                ));
            }
        }
        let costs = [
            ("cost.mvm_ns", self.cost.mvm_ns),
            ("cost.adc_pj", self.cost.adc_pj),
            ("cost.dac_pj", self.cost.dac_pj),
            ("cost.digital_pj", self.cost.digital_pj),
            ("cost.digital_ns", self.cost.digital_ns),
            ("cost.adc_ns", self.cost.adc_ns),
            ("cost.array_um2", self.cost.array_um2),
            ("cost.adc_um2", self.cost.adc_um2),
            ("cost.program_us", self.cost.program_us),
        ];
        for (key, value) in costs {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(
                    key,
                    format!("{value} must be a finite number >= 0"),
                ));
            }
        }
        if let Some(reference) = self.cost.reference {
            for (key, value, max) in [
                ("cost.reference.adc_bits", reference.adc_bits, 32),
                ("cost.reference.dac_bits", reference.dac_bits, 32),
                ("cost.reference.rows", reference.rows, MAX_ARRAY_SIDE as u32),
                ("cost.reference.cols", reference.cols, MAX_ARRAY_SIDE as u32),
            ] {
                if !(1..=max).contains(&value) {
                    return Err(invalid(
                        key,
                        format!("{value} is out of range: allowed 1..={max}"),
                    ));
                }
            }
        }
        let adc = [
            ("adc.noise", self.adc.noise),
            ("adc.offset_std", self.adc.offset_std),
            ("adc.gain_std", self.adc.gain_std),
            ("adc.s_curve", self.adc.s_curve),
        ];
        for (key, value) in adc {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(key, format!("{value} must be finite and >= 0")));
            }
        }
        if let Some((key, message)) = self.device.problem().or_else(|| self.wires.problem()) {
            return Err(invalid(key, message));
        }
        if !(self.dac.constant.is_finite() && self.dac.constant > 0.0) {
            return Err(invalid(
                "dac.constant",
                format!("{} must be finite and > 0", self.dac.constant),
            ));
        }
        if !(self.adc.bound.is_finite() && self.adc.bound > 0.0) {
            return Err(invalid(
                "adc.bound",
                format!("{} must be finite and > 0", self.adc.bound),
            ));
        }
        let managed = self.dac.management != InputManagement::None;
        if managed && self.dac.mode != DacMode::MultiLevel {
            return Err(invalid(
                "dac.management",
                "scales inputs of a multi-level DAC: set dac.mode = \"multi_level\" or management = \"none\"".into(),
            ));
        }
        if (managed || self.adc.range == AdcRange::Bound)
            && (self.dac.bits < 2 || self.adc.bits < 2)
        {
            return Err(invalid(
                "dac.bits",
                "managed converters have 2^bits - 1 levels symmetric about 0: give at least 2 bits"
                    .into(),
            ));
        }
        if self.adc.management == BoundManagement::Iterative && self.adc.range != AdcRange::Bound {
            return Err(invalid(
                "adc.management",
                "bound management needs a fixed bound to saturate at: set adc.range = \"bound\""
                    .into(),
            ));
        }
        let [lo, hi] = self.dac.input_range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi && lo.abs().max(hi.abs()) <= MAX_MAGNITUDE)
        {
            return Err(invalid(
                "dac.input_range",
                format!("[{lo:e}, {hi:e}] must be finite with lo < hi, within ±{MAX_MAGNITUDE:e}"),
            ));
        }
        Ok(())
    }

    /// Arrays on the whole system.
    pub fn capacity(&self) -> u64 {
        u64::from(self.hierarchy.chips)
            * u64::from(self.hierarchy.cores_per_chip)
            * u64::from(self.hierarchy.arrays_per_core)
    }

    /// The (chip, core, array) of the `index`-th array in first-fit order.
    pub fn place_of(&self, index: u64) -> Option<(u64, u64, u64)> {
        if index >= self.capacity() {
            return None;
        }
        let per_core = u64::from(self.hierarchy.arrays_per_core);
        let per_chip = per_core * u64::from(self.hierarchy.cores_per_chip);
        Some((
            index / per_chip,
            index % per_chip / per_core,
            index % per_core,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_load() {
        for (name, _) in PRESETS {
            let target = Target::load(name).unwrap();
            assert_eq!(&target.name, name);
        }
        assert_eq!(Target::load("ideal").unwrap().capacity(), 16 * 64 * 16);
        let pcm = Target::load("pcm").unwrap();
        assert_eq!(pcm.device.technology, cim_device::devices::Technology::Pcm);
        assert_eq!(pcm.device.pcm, cim_device::pcm::PcmModel::default());
        // 144k cells per chip, eight chips.
        let board = Target::load("rram-8chip").unwrap();
        let cells = board.array.rows * board.array.cols * board.hierarchy.arrays_per_core;
        assert_eq!((cells, board.hierarchy.chips), (147_456, 8));
        // A core of the rram preset is a 256 Kb macro.
        let rram = Target::load("rram").unwrap();
        let bits = rram.array.rows * rram.array.cols * rram.array.cell_bits;
        assert_eq!(bits * rram.hierarchy.arrays_per_core, 256 * 1024);
    }

    #[test]
    fn device_errors_name_the_key() {
        let pcm = PRESETS[1].1;
        let error = Target::parse(
            &pcm.replace("\"pcm\"\ng_min", "\"memristor\"\ng_min"),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("t.toml: device.technology: "), "{error}");
        assert!(error.contains("ideal") && error.contains("pcm"), "{error}");
        let error = Target::parse(&pcm.replace("t0 = 20.0", "t0 = -1.0"), "t.toml").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.toml: device.pcm.t0: -1 must be finite and > 0"
        );
        let error = Target::parse(&pcm.replace("t_read", "t_reed"), "t.toml").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.toml: device.pcm.t_reed: unknown field"),
            "{error}"
        );
    }

    #[test]
    fn errors_name_the_key_and_the_allowed_values() {
        let good = PRESETS[0].1;
        let error = Target::parse(&good.replace("bit_serial", "pulse"), "t.toml").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("t.toml: dac.mode: "), "{text}");
        assert!(
            text.contains("bit_serial") && text.contains("multi_level"),
            "{text}"
        );
        let error =
            Target::parse(&good.replace("cell_bits = 4", "cell_bits = 40"), "t.toml").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.toml: array.cell_bits: 40 is out of range: allowed 1..=16"
        );
        let error = Target::parse(&good.replace("rows = 256", "rows = 256\nrow = 3"), "t.toml")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("t.toml: array.row: unknown field `row`"),
            "{error}"
        );
        let error =
            Target::parse(&good.replace("[-1.0, 1.0]", "[1.0, -1.0]"), "t.toml").unwrap_err();
        assert!(error.to_string().contains("dac.input_range"), "{error}");
        let error =
            Target::parse(&good.replace("adc_pj = 2.0", "adc_pj = -1.0"), "t.toml").unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.toml: cost.adc_pj: -1 must be a finite number >= 0"
        );
        let error = Target::parse("name = ", "t.toml").unwrap_err();
        assert!(
            matches!(error, TargetError::Invalid { ref key, .. } if key == "(syntax)"),
            "{error}"
        );
        let error = Target::load("no/such/target.toml").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("not a preset (ideal, pcm, pcm-hwa, hermes, rram, rram-8chip)"),
            "{error}"
        );
    }

    #[test]
    fn first_fit_places_fill_cores_then_chips() {
        let target = Target::parse(
            &PRESETS[0]
                .1
                .replace("chips = 16", "chips = 2")
                .replace("cores_per_chip = 64", "cores_per_chip = 3")
                .replace("arrays_per_core = 16", "arrays_per_core = 2"),
            "small",
        )
        .unwrap();
        let places: Vec<_> = (0..13).map(|index| target.place_of(index)).collect();
        assert_eq!(places[0], Some((0, 0, 0)));
        assert_eq!(places[1], Some((0, 0, 1)));
        assert_eq!(places[2], Some((0, 1, 0)));
        assert_eq!(places[6], Some((1, 0, 0)));
        assert_eq!(places[11], Some((1, 2, 1)));
        assert_eq!(places[12], None);
    }

    #[test]
    fn costs_scale_from_the_reference_design() {
        let pcm = Target::load("pcm").unwrap();
        // The preset is its own reference: its figures as given.
        assert_eq!(pcm.costs(), pcm.cost);
        let mut other = pcm.clone();
        other.adc.bits = pcm.adc.bits - 2;
        other.dac.bits = pcm.dac.bits + 1;
        other.array.rows = pcm.array.rows / 2;
        let costs = other.costs();
        assert_eq!(costs.adc_pj, pcm.cost.adc_pj / 4.0);
        assert_eq!(costs.adc_um2, pcm.cost.adc_um2 / 4.0);
        assert_eq!(costs.dac_pj, pcm.cost.dac_pj * 2.0);
        assert_eq!(costs.array_um2, pcm.cost.array_um2 / 2.0);
        assert_eq!(costs.mvm_ns, pcm.cost.mvm_ns);
        // Without a reference, the figures hold for any design.
        other.cost.reference = None;
        assert_eq!(other.costs(), other.cost);
        let error = Target::parse(
            &PRESETS[1].1.replace(
                "[cost.reference]\nadc_bits = 9",
                "[cost.reference]\nadc_bits = 0",
            ),
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("cost.reference.adc_bits"), "{error}");
    }
}
