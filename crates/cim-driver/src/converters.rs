//! Converter ranges: what each MVM's DAC and ADC span, set after mapping. Without
//! data, every ADC spans the full scale of its block; with calibration data, the
//! DAC spans the inputs seen and the ADC the results seen (exact semantics); a
//! target converting every bit plane gets per-plane ADCs over one plane's full
//! scale. What a conversion then does is the simulator's (`cim_sim::adc`).

use crate::DriverError;
use cim_interp::Interpreter;
use cim_ir::{
    attributes::{Converter, DacMode, Window},
    mapped::{CrossbarOp, MvmOp},
    query::op_id,
};
use cim_target::Target;
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
        let Some(Converter::Dac { lo, hi, .. }) = mvm.dac() else {
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
    let mut observe = |op: &OperationRef, input: &ArrayD<f64>, output: &ArrayD<f64>| {
        let entry = seen.entry(op_id(op)).or_default();
        let (i, o) = (range(input), range(output));
        entry.input = (entry.input.0.min(i.0), entry.input.1.max(i.1));
        entry.output = (entry.output.0.min(o.0), entry.output.1.max(o.1));
    };
    crate::guarded("calibration", || {
        interpreter.run_observed(function, std::slice::from_ref(data), &mut observe)
    })?
    .map_err(|error| DriverError::Run(format!("calibration run failed: {error}")))?;
    let widen = |(lo, hi): (f64, f64)| if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
    let mut calibrated = 0;
    for mvm in MvmOp::all(module.as_operation()) {
        let Some(observed) = seen.get(&op_id(&mvm.op)) else {
            continue;
        };
        let (mode, bits) = match mvm.dac() {
            Some(Converter::Dac { mode, bits, .. }) => (mode, bits),
            _ => (DacMode::MultiLevel, i64::from(target.dac.bits)),
        };
        let (lo, hi) = widen(observed.input);
        mvm.set_converter("dac", Converter::Dac { bits, mode, lo, hi });
        let (lo, hi) = widen(observed.output);
        mvm.set_converter(
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
