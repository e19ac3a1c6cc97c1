//! IR drop: the MVM of a chip whose word and bit lines have resistance (full
//! fidelity with a target's `[wires]`): the block's cells become conductances, the
//! inputs read voltages, and `cim-device` computes the column currents (exact nodal
//! solve or its approximation), which are read back in the levels the rest of the
//! program works in.

use cim_device::irdrop::{Crossbar, IrDropError, IrDropModel, Wires};
use cim_interp::kernels::{CHUNK_ROWS, for_chunks, gemm};
use ndarray::{Array2, ArrayView2};
use std::sync::Mutex;

/// The chip's lines and the conductance range its levels map to.
#[derive(Clone, Debug)]
/// The lines of a chip and the conductance range its levels map to.
pub struct Lines {
    /// Word and bit lines.
    pub wires: Wires,
    /// µS of level 0 and of the top level.
    pub g_min: f64,
    /// µS of the top level.
    pub g_max: f64,
}

/// Where a block sits in its array: the word-line segments before its first
/// column, and the bit-line segments below its last row.
pub(crate) type Leads = (usize, usize);

impl Lines {
    /// `driven · block` as the currents of the array give it: `driven` is batch x
    /// rows of inputs (in the DAC's units, `input_scale` the full-scale value),
    /// `block` rows x cols of levels of `0..=max_level`.
    pub(crate) fn product(
        &self,
        driven: ArrayView2<f32>,
        block: ArrayView2<f32>,
        max_level: f64,
        leads: Leads,
        input_scale: f64,
    ) -> Result<Array2<f32>, IrDropError> {
        let (rows, cols) = block.dim();
        let span = self.g_max - self.g_min;
        // Siemens from µS.
        let siemens: Vec<f64> = block
            .iter()
            .map(|&level| (self.g_min + f64::from(level) / max_level * span) * 1e-6)
            .collect();
        let crossbar = Crossbar::with_leads(
            rows,
            cols,
            siemens,
            1.0 / self.wires.word_ohms,
            1.0 / self.wires.bit_ohms,
            leads,
        )?;
        let volts_per_unit = self.wires.read_volts / input_scale;
        let batch = driven.nrows();
        let mut out = Array2::<f32>::zeros((batch, cols));
        let failure = Mutex::new(None);
        let values = out.as_slice_mut().expect("a new array is contiguous");
        for_chunks(values, CHUNK_ROWS * cols.max(1), |index, chunk| {
            for (offset, row) in chunk.chunks_mut(cols.max(1)).enumerate() {
                let x = driven.row(index * CHUNK_ROWS + offset);
                let volts: Vec<f64> = x.iter().map(|&x| f64::from(x) * volts_per_unit).collect();
                let currents = match self.wires.ir_drop {
                    IrDropModel::Exact => crossbar.solve(&volts),
                    _ => crossbar.approximate(&volts),
                };
                match currents {
                    Ok(currents) => {
                        // g_min conducts for every level: the reference (the other
                        // array of a pair, or the offset column) takes it away.
                        let baseline = self.g_min * x.iter().map(|&x| f64::from(x)).sum::<f64>();
                        for (y, current) in row.iter_mut().zip(currents) {
                            *y = ((current / volts_per_unit * 1e6 - baseline) / span * max_level)
                                as f32;
                        }
                    }
                    Err(error) => {
                        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
                    }
                }
            }
        });
        match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(error) => Err(error),
            None => Ok(out),
        }
    }
}

/// aihwkit's empirical IR drop ([`IrDropModel::Aihwkit`]) on `sums` (batch ×
/// cols, in levels × driven input), of `driven` (batch × rows, in units of the
/// DAC's full scale) through `block` (rows × cols of levels, `top` the largest):
/// each output loses `c_i · scale · Σ_j w_ij x_j (1 − (1 − j/n)²)`, with `a_i =
/// n/g_ratio · Σ_j |w_ij x_j|` and `c_i = a_i (a_i (0.05 a_i − 0.2) + 0.5)`.
pub fn aihwkit_drop(
    sums: &mut Array2<f32>,
    driven: ArrayView2<f32>,
    block: ArrayView2<f32>,
    top: f64,
    (scale, g_ratio): (f64, f64),
) {
    let n = block.nrows().max(1) as f64;
    let weights = block.mapv(|w| (f64::from(w) / top) as f32);
    let magnitude = weights.mapv(f32::abs);
    let current = gemm(driven.mapv(f32::abs).view(), magnitude.view());
    let placed = Array2::from_shape_fn(driven.raw_dim(), |(b, j)| {
        let position = 1.0 - j as f64 / n;
        (f64::from(driven[[b, j]]) * (1.0 - position * position)) as f32
    });
    let lost = gemm(placed.view(), weights.view());
    for ((y, &a), &l) in sums.iter_mut().zip(current.iter()).zip(lost.iter()) {
        let a = n / g_ratio * f64::from(a);
        let c = a * (a * (0.05 * a - 0.2) + 0.5);
        *y -= (c * scale * f64::from(l) * top) as f32;
    }
}
