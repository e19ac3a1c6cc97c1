//! The ADCs that read an MVM's column sums out: every conversion in one place.
//! An ideal ADC rounds to its levels; on a programmed chip each conversion also
//! draws its noise (its own stream, by the conversion's place in the run) and goes
//! through its column's gain, offset and transfer curve (`cim_device::adc`).

use crate::levels::{quantize, quantize_symmetric};
use cim_device::{
    adc::{AdcModel, ColumnError},
    rng::DeviceRng,
};
use cim_interp::{
    InterpError,
    kernels::{CHUNK_ROWS, for_chunks},
    malformed,
};
use melior::ir::OperationRef;
use ndarray::ArrayD;
use std::{cell::Cell, collections::HashMap};

/// An ADC setting: resolution and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adc {
    /// Resolution.
    pub bits: i64,
    /// Lowest output.
    pub lo: f64,
    /// Highest output.
    pub hi: f64,
}

/// The ADCs of a programmed chip: their non-idealities, each column's gain and
/// offset, and the stream every conversion draws its noise from.
pub struct ChipAdcs {
    /// The model.
    pub model: AdcModel,
    /// Each array's columns' gain and offset (when the model spreads them).
    pub columns: HashMap<String, Vec<ColumnError>>,
    /// The root of the conversions' streams.
    pub stream: DeviceRng,
    /// Conversions so far in this chip's life: each draws from its own stream.
    pub conversions: Cell<u64>,
}

/// Converts `output` (an MVM's result on columns `c0..` of `array`) through `adc`,
/// in place: quantization, and on a chip (`chip`) the ADC's noise and column
/// errors.
pub fn convert(
    op: &OperationRef,
    output: &mut ArrayD<f64>,
    chip: Option<&ChipAdcs>,
    array: &str,
    c0: usize,
    adc: Adc,
) -> Result<(), InterpError> {
    let Adc { bits, lo, hi } = adc;
    let width = output.shape().last().copied().unwrap_or(1).max(1);
    let values = output
        .as_slice_mut()
        .ok_or_else(|| malformed(op, "result not contiguous"))?;
    match chip {
        Some(chip) if !chip.model.is_ideal() => {
            let model = &chip.model;
            // This block's columns' gains and offsets, once.
            let errors: Vec<ColumnError> = (0..width)
                .map(|j| {
                    chip.columns
                        .get(array)
                        .and_then(|columns| columns.get(c0 + j))
                        .copied()
                        .unwrap_or(ColumnError {
                            gain: 1.0,
                            offset: 0.0,
                        })
                })
                .collect();
            let count = &chip.conversions;
            let stream = chip.stream.fork(count.get());
            count.set(count.get() + 1);
            let noisy = model.noise > 0.0;
            // Noise alone (the common case) needs no per-column work.
            let plain = !model.has_column_errors() && model.s_curve == 0.0;
            let sigma = model.noise * (hi - lo);
            for_chunks(values, CHUNK_ROWS * width, |index, chunk| {
                let mut rng = stream.fork(index as u64);
                if plain {
                    for y in chunk.iter_mut() {
                        *y = quantize(*y + sigma * rng.normal(), bits, lo, hi);
                    }
                    return;
                }
                for row in chunk.chunks_mut(width) {
                    for (y, error) in row.iter_mut().zip(&errors) {
                        let draw = if noisy { rng.normal() } else { 0.0 };
                        let analog = model.analog(*y, lo, hi, *error, draw);
                        *y = quantize(analog, bits, lo, hi);
                    }
                }
            });
        }
        _ => for_chunks(values, CHUNK_ROWS * width, |_, chunk| {
            for y in chunk {
                *y = quantize(*y, bits, lo, hi);
            }
        }),
    }
    Ok(())
}

/// Converts `output` (rows of an MVM's results on columns `c0..` of `array`) through
/// a managed ADC of `bits` over [−bound, bound], in place: on a chip, the ADC's
/// noise and column errors, then the symmetric levels (ties to even), clipped.
/// Returns, per row, whether any of its values saturated (reached the top or
/// bottom level: aihwkit's test for bound management).
pub fn convert_managed(
    op: &OperationRef,
    output: &mut ndarray::Array2<f64>,
    chip: Option<&ChipAdcs>,
    array: &str,
    c0: usize,
    (bits, bound): (i64, f64),
) -> Result<Vec<bool>, InterpError> {
    let width = output.ncols().max(1);
    let values = output
        .as_slice_mut()
        .ok_or_else(|| malformed(op, "result not contiguous"))?;
    let (lo, hi) = (-bound, bound);
    match chip {
        Some(chip) if !chip.model.is_ideal() => {
            let model = &chip.model;
            let errors: Vec<ColumnError> = (0..width)
                .map(|j| {
                    chip.columns
                        .get(array)
                        .and_then(|columns| columns.get(c0 + j))
                        .copied()
                        .unwrap_or(ColumnError {
                            gain: 1.0,
                            offset: 0.0,
                        })
                })
                .collect();
            let count = &chip.conversions;
            let stream = chip.stream.fork(count.get());
            count.set(count.get() + 1);
            let noisy = model.noise > 0.0;
            let plain = !model.has_column_errors() && model.s_curve == 0.0;
            let sigma = model.noise * (hi - lo);
            for_chunks(values, CHUNK_ROWS * width, |index, chunk| {
                let mut rng = stream.fork(index as u64);
                if plain {
                    for y in chunk.iter_mut() {
                        *y = quantize_symmetric(*y + sigma * rng.normal(), bits, bound).0;
                    }
                    return;
                }
                for row in chunk.chunks_mut(width) {
                    for (y, error) in row.iter_mut().zip(&errors) {
                        let draw = if noisy { rng.normal() } else { 0.0 };
                        let analog = model.analog(*y, lo, hi, *error, draw);
                        *y = quantize_symmetric(analog, bits, bound).0;
                    }
                }
            });
        }
        _ => for_chunks(values, CHUNK_ROWS * width, |_, chunk| {
            for y in chunk {
                *y = quantize_symmetric(*y, bits, bound).0;
            }
        }),
    }
    let top = quantize_symmetric(f64::INFINITY, bits, bound).0;
    Ok(output
        .rows()
        .into_iter()
        .map(|row| row.iter().any(|y| y.abs() >= top))
        .collect())
}
