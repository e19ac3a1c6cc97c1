//! Drift compensation, as chips and aihwkit's `GlobalDriftCompensation` do it:
//! right after programming and again at the time of the run, every block an MVM
//! reads is read with one-hot inputs through that MVM's own converters (so the
//! readouts carry the output noise and quantization a run sees), and the MVM's
//! results are multiplied, digitally after conversion, by the mean absolute
//! readout then over now: one factor per block (`global`), or one per column
//! (`per_column`).

use crate::{
    Simulator,
    adc::ChipAdcs,
    mvm::{self, Block, Input},
};
use cim_device::{
    compensation::{global_factor, per_column_factors},
    devices::DriftCompensation,
    rng::DeviceRng,
};
use cim_interp::{
    InterpError,
    kernels::{CHUNK_ROWS, for_chunks},
    malformed,
};
use cim_ir::{attributes::Window, mapped::MvmOp, query::op_id};
use ndarray::Array2;
use std::collections::HashMap;

/// What an MVM's results are multiplied by.
#[derive(Clone, Debug, PartialEq)]
pub enum Factor {
    /// One factor for the block.
    Global(f64),
    /// One factor per column of the block.
    PerColumn(Vec<f64>),
}

impl Factor {
    /// Multiplies `output` (batch × columns), in parallel.
    pub fn apply(&self, output: &mut Array2<f64>) {
        let width = output.ncols().max(1);
        let Some(values) = output.as_slice_mut() else {
            return;
        };
        for_chunks(values, CHUNK_ROWS * width, |_, chunk| match self {
            Self::Global(factor) => chunk.iter_mut().for_each(|y| *y *= factor),
            Self::PerColumn(factors) => {
                for row in chunk.chunks_mut(width) {
                    for (y, factor) in row.iter_mut().zip(factors) {
                        *y *= factor;
                    }
                }
            }
        });
    }

    /// The factor of column `column`.
    pub fn of_column(&self, column: usize) -> f64 {
        match self {
            Self::Global(factor) => *factor,
            Self::PerColumn(factors) => factors.get(column).copied().unwrap_or(1.0),
        }
    }
}

/// The factor of every MVM of `sim`'s module (by [`op_id`]) on its programmed
/// chip; readout noise from streams of `root`.
pub fn factors(
    sim: &Simulator,
    mode: DriftCompensation,
    root: &DeviceRng,
) -> Result<HashMap<usize, Factor>, InterpError> {
    let mut factors = HashMap::new();
    let Some(chip) = sim.chip.as_ref() else {
        return Ok(factors);
    };
    if mode == DriftCompensation::None {
        return Ok(factors);
    }
    for (index, mvm) in MvmOp::all(sim.interpreter.module().as_operation())
        .iter()
        .enumerate()
    {
        let op = &mvm.op;
        let array = mvm.array().ok_or_else(|| malformed(op, "no array"))?;
        let Window { row, col } = mvm.window().ok_or_else(|| malformed(op, "no window"))?;
        let (rows, cols) = (mvm.rows() as usize, mvm.cols() as usize);
        let (r0, c0) = (row as usize, col as usize);
        let readout = |levels: &Array2<f32>, stream: u64| -> Result<Array2<f64>, InterpError> {
            let values = Array2::from_shape_fn((rows, cols), |(r, c)| {
                levels.get((r0 + r, c0 + c)).copied().unwrap_or(0.0)
            });
            let block = Block {
                array: &array,
                values: values.view(),
                corner: (r0, c0),
                cells: sim.cells.get(&array).copied(),
            };
            let eye = Array2::from_shape_fn((rows, rows), |(i, j)| f64::from(u8::from(i == j)));
            let adcs = ChipAdcs {
                model: chip.adcs.model.clone(),
                columns: chip.adcs.columns.clone(),
                stream: root.fork(2 * index as u64 + stream),
                conversions: std::cell::Cell::new(0),
                vectors: std::cell::Cell::new(0),
            };
            mvm::convert(
                sim,
                op,
                &block,
                Input {
                    values: eye.view(),
                    id: None,
                },
                (mvm.dac(), mvm.adc()),
                Some(&adcs),
            )
        };
        let (Some(then), Some(now)) = (chip.at_programming.get(&array), chip.arrays.get(&array))
        else {
            return Err(malformed(op, format!("no array @{array} on the chip")));
        };
        let (then, now) = (readout(then, 0)?, readout(now, 1)?);
        let (then, now) = (
            then.as_standard_layout()
                .into_owned()
                .into_raw_vec_and_offset()
                .0,
            now.as_standard_layout()
                .into_owned()
                .into_raw_vec_and_offset()
                .0,
        );
        let factor = match mode {
            DriftCompensation::Global => Factor::Global(global_factor(&then, &now)),
            DriftCompensation::PerColumn => {
                Factor::PerColumn(per_column_factors(&then, &now, cols.max(1)))
            }
            DriftCompensation::None => continue,
        };
        factors.insert(op_id(op), factor);
    }
    Ok(factors)
}
