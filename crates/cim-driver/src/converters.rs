//! Converter ranges: what each MVM's DAC and ADC span, set after mapping. Without
//! data, every ADC spans the full scale of its block; with calibration data, the
//! DAC spans the inputs seen and the ADC the results seen (exact semantics); a
//! target converting every bit plane gets per-plane ADCs over one plane's full
//! scale. What a conversion then does is the simulator's (`cim_sim::adc`).

use crate::DriverError;
use cim_interp::Interpreter;
use cim_ir::{
    attributes::{Converter, DacMode, InputScaling, Window},
    build::read_dense_f32,
    dialect::ops,
    mapped::{CrossbarOp, MvmOp},
    query::{attribute, i64_array_attribute, op_id, op_name, users},
};
use cim_target::{AdcRange, BoundManagement, BoundUnits, InputManagement, Target};
use melior::ir::operation::OperationLike;
use melior::ir::{Module, OperationRef};
use ndarray::{Array2, ArrayD};
use std::collections::HashMap;

/// Every array's programmed weights, by name.
fn weights(module: &Module) -> Result<HashMap<String, Array2<f64>>, DriverError> {
    CrossbarOp::all(module.as_operation())
        .into_iter()
        .map(|array| {
            let weights = array
                .weights()
                .map_err(|message| DriverError::Run(format!("array @{}: {message}", array.name)))?;
            let [rows, cols] = weights.shape;
            let block = Array2::from_shape_vec(
                (rows as usize, cols as usize),
                weights.values.into_iter().map(f64::from).collect(),
            )
            .map_err(|error| DriverError::Run(error.to_string()))?;
            Ok((array.name, block))
        })
        .collect()
}

/// The weights of the array an MVM reads, and its window.
fn read_block<'w>(
    mvm: &MvmOp,
    weights: &'w HashMap<String, Array2<f64>>,
) -> Option<(&'w Array2<f64>, Window)> {
    let window = mvm.window().unwrap_or(Window { row: 0, col: 0 });
    Some((weights.get(&mvm.array()?)?, window))
}

/// The rows and columns of its array an MVM reads up to: its window plus its input's
/// columns by its result's columns (arrays shared by packed layers hold other blocks
/// too).
fn block_size(mvm: &MvmOp, weights: &Array2<f64>) -> (usize, usize) {
    let window = mvm.window().unwrap_or(Window { row: 0, col: 0 });
    let (row0, col0) = (window.row as usize, window.col as usize);
    let (rows, cols) = (mvm.rows(), mvm.cols());
    (
        if rows == 0 {
            weights.nrows()
        } else {
            row0 + rows as usize
        },
        if cols == 0 {
            weights.ncols()
        } else {
            col0 + cols as usize
        },
    )
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
    let weights = weights(module)?;
    let mut changed = 0;
    for mvm in MvmOp::all(module.as_operation()) {
        let Some(Converter::Dac {
            mode: DacMode::BitSerial,
            ..
        }) = mvm.dac()
        else {
            continue;
        };
        let Some((block, window)) = read_block(&mvm, &weights) else {
            continue;
        };
        let (rows, cols) = block_size(&mvm, block);
        let (row0, col0) = (window.row as usize, window.col as usize);
        let full_scale = (col0..cols.min(block.ncols()))
            .map(|col| {
                block
                    .column(col)
                    .iter()
                    .take(rows.min(block.nrows()))
                    .skip(row0)
                    .map(|w| w.max(0.0))
                    .sum::<f64>()
            })
            .fold(0.0f64, f64::max);
        mvm.set_converter(
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

/// Gives every MVM an ADC of `bits` whose range is the full scale of its block for
/// its DAC's input range: no column current can clip.
pub fn set_full_scale_adcs(module: &Module, bits: u32) -> Result<(), DriverError> {
    let weights = weights(module)?;
    for mvm in MvmOp::all(module.as_operation()) {
        let Some((lo, hi)) = mvm.dac().and_then(|dac| dac.range()) else {
            continue;
        };
        let Some((block, window)) = read_block(&mvm, &weights) else {
            continue;
        };
        let (row0, col0) = (window.row as usize, window.col as usize);
        let (rows_read, cols_read) = block_size(&mvm, block);
        let (mut low, mut high) = (0.0f64, 0.0f64);
        for col in col0..cols_read.min(block.ncols()) {
            let column = block.column(col);
            let rows = column.iter().take(rows_read.min(block.nrows())).skip(row0);
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
        mvm.set_converter(
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

/// The scale a target's managed DAC divides each input vector by, per row of
/// `input`; `None` when the target's DAC does not manage inputs.
fn input_scales(target: &Target, input: &ArrayD<f64>) -> Option<Vec<f64>> {
    let rows = input.shape().first().copied().unwrap_or(1);
    let width = input.len() / rows.max(1);
    match target.dac.management {
        InputManagement::None => None,
        InputManagement::Constant => Some(vec![target.dac.constant; rows]),
        InputManagement::AbsMax => Some(
            input
                .as_standard_layout()
                .as_slice()
                .unwrap_or(&[])
                .chunks(width.max(1))
                .map(|row| row.iter().fold(0.0f64, |m, v| m.max(v.abs())))
                .collect(),
        ),
    }
}

/// A managed DAC for `target` in place of `dac` (the one cim-bitslice gave an
/// MVM), when the target manages inputs.
fn managed_dac(target: &Target, dac: Option<Converter>) -> Option<Converter> {
    let bits = match dac {
        Some(Converter::Dac { bits, .. }) => bits,
        _ => i64::from(target.dac.bits),
    };
    let [lo, hi] = target.dac.input_range;
    let scaling = match target.dac.management {
        InputManagement::None => return None,
        InputManagement::AbsMax => InputScaling::AbsMax,
        InputManagement::Constant => InputScaling::Constant,
    };
    Some(Converter::DacManaged {
        bits,
        scaling,
        constant: target.dac.constant,
        bound: lo.abs().max(hi.abs()),
    })
}

/// Conversions per input vector at most with bound management, as aihwkit's
/// `ITERATIVE` stops: the input is halved until its reduction exceeds a quarter
/// over the DAC's step (`max_bm_res = 0.25`), the pass that exceeds it the last.
fn passes(target: &Target, dac: Option<Converter>) -> i64 {
    if target.adc.management != BoundManagement::Iterative {
        return 1;
    }
    let bits = dac
        .and_then(|dac| dac.bits())
        .unwrap_or(i64::from(target.dac.bits));
    // The DAC's step, in units of its bound.
    let step = 2.0 / ((1u64 << bits.clamp(2, 30)) - 2) as f64;
    let limit = 0.25 / step;
    let mut passes = 1;
    while f64::from(1u32 << (passes - 1).min(30)) <= limit && passes < 30 {
        passes += 1;
    }
    i64::from(passes)
}

/// The weight one level of an MVM's cells is worth (the largest over its
/// columns): through the shift-add that recombines its slice and the affine that
/// scales its block, as cim-bitslice writes them.
fn weight_per_level(mvm: &MvmOp) -> Option<f64> {
    let (shift_add, operand) = match users(mvm.result()).as_slice() {
        [(user, operand)] if op_name(user) == ops::SHIFT_ADD => (*user, *operand),
        _ => return None,
    };
    let shift = i64_array_attribute(&shift_add, "shifts")?
        .get(operand)
        .copied()?;
    let result: melior::ir::Value = shift_add.result(0).ok()?.into();
    let affine = match users(result).as_slice() {
        [(user, 0)] if op_name(user) == ops::AFFINE => *user,
        _ => return None,
    };
    let scale = attribute(&affine, "scale").and_then(read_dense_f32)?;
    let largest = scale.iter().fold(0.0f64, |m, &s| m.max(f64::from(s).abs()));
    Some(largest * (shift as f64).exp2())
}

/// The bound of `target`'s fixed-bound ADC for `mvm`, in the MVM's units (cell
/// levels times the DAC's input).
fn level_bound(target: &Target, mvm: &MvmOp) -> Result<f64, DriverError> {
    let bound = match target.adc.units {
        BoundUnits::Weights => {
            let per_level = weight_per_level(mvm).filter(|w| *w > 0.0).ok_or_else(|| {
                DriverError::Run(format!(
                    "{}: an ADC bound in weight units needs the MVM's scale (a cim.shift_add and a cim.affine after it, as cim-bitslice writes them)",
                    mvm.op.location()
                ))
            })?;
            target.adc.bound / per_level
        }
        BoundUnits::Normalized => {
            let bits = mvm
                .array()
                .and_then(|array| {
                    CrossbarOp::all(top_module(&mvm.op)?)
                        .into_iter()
                        .find(|a| a.name == array)
                })
                .and_then(|array| array.cell_bits())
                .unwrap_or(i64::from(target.array.cell_bits));
            target.adc.bound * ((1u64 << bits.clamp(1, 52)) - 1) as f64
        }
    };
    // A bound that is finite in the target's units can still leave f64 in ADC levels.
    if !(bound.is_finite() && bound >= f64::MIN_POSITIVE) {
        return Err(DriverError::Usage(format!(
            "target '{}': adc.bound = {:e} is {bound:e} ADC levels at {}: give a bound of a few times the layer's largest output (aihwkit's out_bound is 12 in normalized units)",
            target.name,
            target.adc.bound,
            mvm.op.location()
        )));
    }
    Ok(bound)
}

/// The module an op is in.
fn top_module<'c, 'a>(op: &OperationRef<'c, 'a>) -> Option<OperationRef<'c, 'a>> {
    let mut current = op.parent_operation()?;
    while let Some(parent) = current.parent_operation() {
        current = parent;
    }
    Some(current)
}

/// Sets every MVM's converters for `target` without data, as the target says: the
/// DAC managed or as cim-bitslice set it; the ADC at the full scale of its block
/// (`range = "full_scale"`) or at a fixed bound (`range = "bound"`), per bit plane
/// where the target converts planes. Returns what was set, for people.
pub fn set_defaults(module: &Module, target: &Target) -> Result<String, DriverError> {
    let mvms = MvmOp::all(module.as_operation());
    for mvm in &mvms {
        if let Some(dac) = managed_dac(target, mvm.dac()) {
            mvm.set_converter("dac", dac);
        }
    }
    match target.adc.range {
        AdcRange::FullScale => set_full_scale_adcs(module, target.adc.bits)?,
        AdcRange::Bound => {
            for mvm in &mvms {
                let bound = level_bound(target, mvm)?;
                mvm.set_converter(
                    "adc",
                    Converter::AdcManaged {
                        bits: i64::from(target.adc.bits),
                        bound,
                        passes: passes(target, mvm.dac()),
                    },
                );
            }
        }
    }
    set_per_plane_adcs(module, target)?;
    Ok(describe(target, None))
}

/// Converter settings for people: what the DAC and ADC are and where their ranges
/// come from.
fn describe(target: &Target, calibration: Option<f64>) -> String {
    let dac = match target.dac.management {
        InputManagement::None => format!(
            "DAC {} bits over {:?}",
            target.dac.bits, target.dac.input_range
        ),
        InputManagement::AbsMax => format!(
            "DAC {} bits, each input vector scaled by its largest magnitude (abs_max)",
            target.dac.bits
        ),
        InputManagement::Constant => format!(
            "DAC {} bits, inputs scaled by {}",
            target.dac.bits, target.dac.constant
        ),
    };
    let adc = match (calibration, target.adc.range) {
        (Some(percentile), _) => format!(
            "ADC {} bits over ranges calibrated on data ({percentile}th percentile)",
            target.adc.bits
        ),
        (None, AdcRange::FullScale) => {
            format!("ADC {} bits over each block's full scale", target.adc.bits)
        }
        (None, AdcRange::Bound) => format!(
            "ADC {} bits over ±{} ({} units)",
            target.adc.bits, target.adc.bound, target.adc.units
        ),
    };
    let bound = match target.adc.management {
        BoundManagement::Iterative => ", iterative bound management",
        BoundManagement::None => "",
    };
    if calibration.is_some() && target.dac.management == InputManagement::None {
        return format!("DAC {} bits and {adc}{bound}", target.dac.bits);
    }
    format!("{dac}; {adc}{bound}")
}

/// Samples of what calibration saw at one MVM: its inputs, and its outputs (per
/// unit of the input scale when the target's DAC scales inputs).
#[derive(Default)]
struct Seen {
    inputs: Vec<f64>,
    outputs: Vec<f64>,
}

/// Values kept per MVM and side: a larger sample is thinned by a fixed stride.
const SAMPLES: usize = 1 << 20;

fn keep(samples: &mut Vec<f64>, values: impl Iterator<Item = f64>) {
    samples.extend(values);
    if samples.len() > 2 * SAMPLES {
        let stride = samples.len().div_ceil(SAMPLES);
        *samples = samples.iter().step_by(stride).copied().collect();
    }
}

/// The range `[lo, hi]` (including 0) of `values` at `percentile`: the lowest value
/// beyond which `100 − percentile` % of the negatives lie, likewise the highest;
/// at 100 the minimum and the maximum.
fn percentile_range(values: &[f64], percentile: f64) -> (f64, f64) {
    let quantile = |mut side: Vec<f64>| -> f64 {
        if side.is_empty() {
            return 0.0;
        }
        side.sort_by(f64::total_cmp);
        let rank = ((percentile / 100.0) * side.len() as f64).ceil() as usize;
        side[rank.clamp(1, side.len()) - 1]
    };
    let negatives = values.iter().filter(|v| **v < 0.0).map(|v| -v).collect();
    let positives = values.iter().filter(|v| **v > 0.0).copied().collect();
    (-quantile(negatives), quantile(positives))
}

/// Calibrates every MVM's converters on `data` (the first function's inputs): the
/// DAC range becomes the observed input range (including 0) unless the target
/// scales each input vector (then the DAC spans the scaled inputs), the ADC range
/// the observed result range (per unit of the input scale, if any; symmetric for a
/// fixed-bound ADC, which keeps its bound management), at the target's
/// resolutions: the ranges cover `percentile` % of what was seen (100: all).
/// Returns what was set, for people.
pub fn calibrate(
    module: &Module,
    function: &str,
    data: &ArrayD<f64>,
    target: &Target,
    percentile: f64,
) -> Result<String, DriverError> {
    if !(percentile > 0.0 && percentile <= 100.0) {
        return Err(DriverError::Usage(format!(
            "--calibration-percentile {percentile} must be in (0, 100]"
        )));
    }
    let interpreter =
        Interpreter::new(module).map_err(|error| DriverError::Run(error.to_string()))?;
    let mut seen: HashMap<usize, Seen> = HashMap::new();
    let mut observe = |op: &OperationRef, input: &ArrayD<f64>, output: &ArrayD<f64>| {
        let entry = seen.entry(op_id(op)).or_default();
        keep(&mut entry.inputs, input.iter().copied());
        match input_scales(target, input) {
            None => keep(&mut entry.outputs, output.iter().copied()),
            Some(scales) => {
                let width = output.len() / scales.len().max(1);
                let output = output.as_standard_layout();
                let values = output.as_slice().unwrap_or(&[]);
                let normalized = values
                    .chunks(width.max(1))
                    .zip(&scales)
                    .filter(|(_, scale)| **scale > 0.0)
                    .flat_map(|(row, scale)| row.iter().map(move |y| y / scale));
                keep(&mut entry.outputs, normalized);
            }
        }
    };
    crate::guarded("calibration", || {
        interpreter.run_observed(function, std::slice::from_ref(data), &mut observe)
    })?
    .map_err(|error| DriverError::Run(format!("calibration run failed: {error}")))?;
    let widen = |(lo, hi): (f64, f64)| if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    for mvm in MvmOp::all(module.as_operation()) {
        let Some(observed) = seen.get(&op_id(&mvm.op)) else {
            continue;
        };
        match managed_dac(target, mvm.dac()) {
            Some(dac) => mvm.set_converter("dac", dac),
            None => {
                let (mode, bits) = match mvm.dac() {
                    Some(Converter::Dac { mode, bits, .. }) => (mode, bits),
                    _ => (DacMode::MultiLevel, i64::from(target.dac.bits)),
                };
                let (lo, hi) = widen(percentile_range(&observed.inputs, percentile));
                mvm.set_converter("dac", Converter::Dac { bits, mode, lo, hi });
            }
        }
        let (lo, hi) = widen(percentile_range(&observed.outputs, percentile));
        let adc = match target.adc.range {
            AdcRange::Bound => Converter::AdcManaged {
                bits: i64::from(target.adc.bits),
                bound: lo.abs().max(hi.abs()),
                passes: passes(target, mvm.dac()),
            },
            AdcRange::FullScale => Converter::Adc {
                bits: i64::from(target.adc.bits),
                lo,
                hi,
            },
        };
        mvm.set_converter("adc", adc);
    }
    set_per_plane_adcs(module, target)?;
    Ok(describe(target, Some(percentile)))
}
