//! The `cim.mvm` executor at quantized and full fidelity: the input through its
//! DAC ([`crate::dac`]), the product with the block its array holds (an f32 GEMM,
//! or the currents of resistive lines, [`crate::irdrop`]), the chip's read effects,
//! and the result through its ADC ([`crate::adc`]): once per MVM, once per input
//! bit plane (the planes stacked into one GEMM), or, with managed converters, once
//! per input vector and pass of bound management; then the chip's drift
//! compensation ([`crate::compensation`]).
//!
//! What lines carry and cells hold is f32 (devices are noisy at 1e-2, far above
//! its precision); conversions write the f64 values the digital work reads.

use crate::{
    Simulator,
    adc::{self, Adc, ChipAdcs},
    chip::ArrayCells,
    dac::{self, Dac},
    levels::{Symmetric, Uniform},
};
use cim_interp::{
    InterpError, Operands,
    kernels::{CHUNK_ROWS, abs_max, gemm, wide_vectors},
    malformed,
    ops::cim::Mvm,
};
use cim_ir::{
    attributes::{Converter, DacMode, InputScaling},
    mapped::MvmOp,
    query::{op_id, value_id},
};
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD, ArrayView2, Ix2, s};
use std::rc::Rc;

/// Runs the MVM of `operands` on `sim`'s arrays.
pub fn run(sim: &Simulator, operands: Operands) -> Result<ArrayD<f64>, InterpError> {
    let op = operands.op;
    let view = MvmOp::read(*op).ok_or_else(|| malformed(op, "not a cim.mvm"))?;
    let mvm = Mvm::read(operands, |name| sim.array(name))?;
    let block = Block {
        array: &mvm.array,
        values: mvm.block.view(),
        corner: mvm.corner,
        cells: sim.cells.get(&mvm.array).copied(),
    };
    let input = Input {
        values: two_d(op, mvm.input)?,
        id: Some(value_id(operands.value(0)?)),
    };
    let chip_adcs = sim.chip.as_ref().map(|chip| &chip.adcs);
    let mut output = convert(sim, op, &block, input, (view.dac(), view.adc()), chip_adcs)?;
    // On the NMDU the compensation is in the kernels' multipliers.
    if let Some(factor) = sim.compensation.get(&op_id(op))
        && !sim.on_nmdu()
    {
        factor.apply(&mut output);
    }
    Ok(output.into_dyn())
}

fn two_d<'a>(
    op: &OperationRef,
    values: &'a ArrayD<f64>,
) -> Result<ArrayView2<'a, f64>, InterpError> {
    values
        .view()
        .into_dimensionality::<Ix2>()
        .map_err(|_| malformed(op, "input is not 2-D"))
}

/// The block an MVM reads.
pub struct Block<'a> {
    /// Its array's name.
    pub array: &'a str,
    /// The levels its cells hold, rows × cols.
    pub values: ArrayView2<'a, f32>,
    /// Its top-left corner in the array: (row, col).
    pub corner: (usize, usize),
    /// What the simulator knows of the array's cells.
    pub cells: Option<ArrayCells>,
}

/// An MVM's input: its values (batch × rows) and, when it is an SSA value, the
/// value's identity (MVMs reading one value through one DAC share its conversion).
#[derive(Clone, Copy)]
pub struct Input<'a> {
    /// Batch × rows.
    pub values: ArrayView2<'a, f64>,
    /// The SSA value's identity, if any.
    pub id: Option<usize>,
}

/// `input` through the DAC, the block and the ADC of `converters`; conversion noise
/// from `adcs` (a programmed chip's ADCs) when given.
pub fn convert(
    sim: &Simulator,
    op: &OperationRef,
    block: &Block,
    input: Input,
    converters: (Option<Converter>, Option<Converter>),
    adcs: Option<&ChipAdcs>,
) -> Result<Array2<f64>, InterpError> {
    let (dac, adc) = converters;
    if matches!(dac, Some(Converter::DacManaged { .. }))
        || matches!(adc, Some(Converter::AdcManaged { .. }))
    {
        return managed(sim, op, block, input, converters, adcs);
    }
    let c0 = block.corner.1;
    if let Some(Converter::AdcPerPlane { bits, lo, hi }) = adc {
        let Some(Converter::Dac {
            bits: planes,
            mode: DacMode::BitSerial,
            lo: x_lo,
            hi: x_hi,
        }) = dac
        else {
            return Err(malformed(op, "a per-plane ADC needs a bit-serial DAC"));
        };
        // Each plane drives rows with 0 or 1 and is converted on its own; the
        // planes are stacked along the batch into one product.
        // MVMs reading one value through one DAC share its planes.
        let driven = sim
            .driven
            .planes(input.id, input.values, planes, (x_lo, x_hi));
        let (planes, stacked) = (&driven.0, &driven.1);
        let batch = input.values.nrows();
        let sums = product(sim, op, block, stacked.view(), 1.0)?;
        let mut total = Array2::<f64>::zeros((batch, block.values.ncols()));
        for b in 0..planes.count() {
            let rows = b as usize * batch..(b as usize + 1) * batch;
            adc::convert_accumulating(
                sums.slice(s![rows, ..]),
                adcs,
                (block.array, c0),
                Adc { bits, lo, hi },
                (&mut total, planes.worth(b)),
            );
        }
        return Ok(total);
    }
    // What the DACs drive.
    let driven: Rc<Array2<f32>> = match (dac, input.id) {
        (Some(Converter::Dac { bits, lo, hi, .. }), Some(id)) => {
            sim.driven.drive(id, input.values, Dac { bits, lo, hi })
        }
        (Some(Converter::Dac { bits, lo, hi, .. }), None) => {
            dac::Driven::default().drive(0, input.values, Dac { bits, lo, hi })
        }
        _ => Rc::new(dac::narrow(input.values, |x| x)),
    };
    let dac_scale = match dac {
        Some(Converter::Dac { lo, hi, .. }) => Dac { bits: 0, lo, hi }.full_scale(),
        _ => 1.0,
    };
    let sums = product(sim, op, block, driven.view(), dac_scale)?;
    Ok(match adc {
        Some(Converter::Adc { bits, lo, hi }) => {
            adc::convert(sums.view(), adcs, block.array, c0, Adc { bits, lo, hi })
        }
        _ => sums.mapv(f64::from),
    })
}

/// The block's product with what the rows are driven with (`scale` maps inputs to
/// the lines' read voltage): an f32 GEMM and the chip's read effects, or on a chip
/// with resistive lines the currents they carry.
fn product(
    sim: &Simulator,
    op: &OperationRef,
    block: &Block,
    driven: ArrayView2<f32>,
    scale: f64,
) -> Result<Array2<f32>, InterpError> {
    let lines = sim.chip.as_ref().and_then(|chip| chip.lines.as_ref());
    match (lines, block.cells) {
        (Some(lines), Some(cells)) if cells.bits.is_some() => {
            let bits = cells.bits.unwrap_or(1);
            let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
            let rows = block.values.nrows();
            let leads = (
                block.corner.1,
                cells.word_lines.saturating_sub(block.corner.0 + rows),
            );
            lines
                .product(
                    driven,
                    block.values,
                    max_level,
                    leads,
                    scale.max(f64::MIN_POSITIVE),
                )
                .map_err(|error| malformed(op, error.to_string()))
        }
        _ => {
            let mut sums = gemm(driven, block.values);
            read_effects(sim, block, driven, scale, &mut sums);
            Ok(sums)
        }
    }
}

/// What a programmed chip's reads add to an MVM's sums before conversion:
/// aihwkit's empirical IR drop ([`crate::irdrop::aihwkit_drop`]) and weight noise
/// at every read ([`crate::read_noise`]); `full_scale` is the DAC's.
fn read_effects(
    sim: &Simulator,
    block: &Block,
    driven: ArrayView2<f32>,
    full_scale: f64,
    sums: &mut Array2<f32>,
) {
    let Some(chip) = sim.chip.as_ref() else {
        return;
    };
    let Some(bits) = block.cells.and_then(|cells| cells.bits) else {
        return;
    };
    if chip.aihwkit_drop.is_none() && chip.forward_noise == 0.0 {
        return;
    }
    let top = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
    let unit = (1.0 / full_scale.max(f64::MIN_POSITIVE)) as f32;
    let x = driven.mapv(|x| x * unit);
    if let Some(parameters) = chip.aihwkit_drop {
        crate::irdrop::aihwkit_drop(sums, x.view(), block.values, top, parameters);
    }
    if chip.forward_noise > 0.0 {
        let count = &chip.adcs.conversions;
        let mut rng = chip.adcs.stream.fork(count.get());
        count.set(count.get() + 1);
        crate::read_noise::add(
            sums,
            x.view(),
            block.values,
            top,
            chip.forward_noise,
            &mut rng,
        );
    }
}

/// An MVM with managed converters (aihwkit's periphery): each input vector divided
/// by its scale (`abs_max`: its largest magnitude; `constant`), through the DAC, the
/// product, the ADC; a vector whose output saturates a managed ADC is converted
/// again with its input halved, up to the ADC's passes (bound management); the
/// result multiplied back by the vector's scale. A vector of zeros scaled by its
/// largest magnitude gives zeros, unconverted.
fn managed(
    sim: &Simulator,
    op: &OperationRef,
    block: &Block,
    input: Input,
    (dac, adc): (Option<Converter>, Option<Converter>),
    adcs: Option<&ChipAdcs>,
) -> Result<Array2<f64>, InterpError> {
    let x = input.values;
    let (batch, cols) = (x.nrows(), block.values.ncols());
    // Each vector's scale, and how its input reaches the lines.
    let scales: Vec<f64> = match dac {
        Some(Converter::DacManaged {
            scaling, constant, ..
        }) => match scaling {
            InputScaling::AbsMax => {
                let mut scales = vec![0.0; batch];
                cim_interp::kernels::for_chunks(&mut scales, CHUNK_ROWS, |index, chunk| {
                    wide_vectors(
                        #[inline(always)]
                        || {
                            for (r, scale) in chunk.iter_mut().enumerate() {
                                let row = x.row(index * CHUNK_ROWS + r);
                                *scale = match row.as_slice() {
                                    Some(row) => abs_max(row),
                                    None => row.iter().fold(0.0f64, |m, v| m.max(v.abs())),
                                };
                            }
                        },
                    )
                });
                scales
            }
            InputScaling::Constant => vec![constant; batch],
            InputScaling::None => vec![1.0; batch],
        },
        _ => vec![1.0; batch],
    };
    let (symmetric, uniform) = match dac {
        Some(Converter::DacManaged { bits, bound, .. }) => {
            (Some(Symmetric::new(bits, bound)), None)
        }
        Some(Converter::Dac { bits, lo, hi, .. }) => (None, Some(Uniform::new(bits, lo, hi))),
        _ => (None, None),
    };
    // Each vector's factor onto the DAC's range (a multiply per value, not a
    // division: the same bits, as `v * (1 / scale)` was always computed).
    let inverse: Vec<f64> = scales.iter().map(|scale| 1.0 / scale).collect();
    // The vectors of `rows` (all, in order, for `None`) through the DAC, each
    // scaled and then divided by `reduction` (a power of two, so multiplying by
    // its inverse gives the same bits); one loop per kind of levels, so the
    // compiler sees the rounding it vectorises.
    let drive = |rows: Option<&[usize]>, reduction: f64| -> Array2<f32> {
        let shrink = 1.0 / reduction;
        let factors = Some(inverse.as_slice());
        match (symmetric, uniform) {
            (Some(levels), _) => dac::narrow_gathered(x, rows, factors, move |v, factor| {
                levels.quantize(v * factor * shrink).0
            }),
            (_, Some(levels)) => dac::narrow_gathered(x, rows, factors, move |v, factor| {
                levels.quantize(v * factor * shrink)
            }),
            _ => dac::narrow_gathered(x, rows, factors, move |v, factor| v * factor * shrink),
        }
    };
    let passes = match adc {
        Some(Converter::AdcManaged { passes, .. }) => passes.max(1),
        _ => 1,
    };
    // What drives the lines at full scale (for IR drop and read noise).
    let full_scale = dac
        .and_then(|dac| dac.range())
        .map_or(1.0, |(lo, hi)| lo.abs().max(hi.abs()));
    // Filled by the passes (vectors of zero scale stay zero).
    let mut output: Option<Array2<f64>> = None;
    // Vectors still to convert: all but those a zero scale leaves at zero.
    let mut pending: Vec<usize> = (0..batch).filter(|&b| scales[b] > 0.0).collect();
    for pass in 0..passes {
        if pending.is_empty() {
            break;
        }
        let reduction = f64::from(1u32 << pass.min(30));
        // The first pass drives every vector in order: no gather needed.
        let gather = (pending.len() < batch).then_some(pending.as_slice());
        let driven = drive(gather, reduction);
        let sums = product(sim, op, block, driven.view(), full_scale)?;
        // What each converted row is multiplied back by.
        let back: Vec<f64> = pending.iter().map(|&b| scales[b] * reduction).collect();
        let last = pass + 1 == passes;
        let (converted, saturated) = match adc {
            Some(Converter::AdcManaged { bits, bound, .. }) => adc::convert_managed(
                sums.view(),
                adcs,
                (block.array, block.corner.1),
                (bits, bound),
                &back,
                !last,
            ),
            Some(Converter::Adc { bits, lo, hi }) => {
                let mut converted = adc::convert(
                    sums.view(),
                    adcs,
                    block.array,
                    block.corner.1,
                    Adc { bits, lo, hi },
                );
                scale_rows(&mut converted, &back);
                (converted, vec![false; pending.len()])
            }
            Some(Converter::AdcPerPlane { .. }) => {
                return Err(malformed(
                    op,
                    "a per-plane ADC converts the bit planes of a bit-serial DAC, not a managed one",
                ));
            }
            _ => {
                let mut converted = sums.mapv(f64::from);
                scale_rows(&mut converted, &back);
                (converted, vec![false; pending.len()])
            }
        };
        let redo = |i: usize| saturated[i] && !last;
        let still: Vec<usize> = (0..pending.len())
            .filter(|&i| redo(i))
            .map(|i| pending[i])
            .collect();
        if output.is_none() && pending.len() == batch {
            // Every vector converted in this pass: the output, its rows to redo
            // overwritten by the later passes.
            output = Some(converted);
        } else {
            let output = output.get_or_insert_with(|| Array2::zeros((batch, cols)));
            for (i, &b) in pending.iter().enumerate().filter(|&(i, _)| !redo(i)) {
                output.row_mut(b).assign(&converted.row(i));
            }
        }
        pending = still;
    }
    Ok(output.unwrap_or_else(|| Array2::zeros((batch, cols))))
}

/// Multiplies each row of `values` by its `scale`, in parallel.
fn scale_rows(values: &mut Array2<f64>, scales: &[f64]) {
    let width = values.ncols().max(1);
    if let Some(slice) = values.as_slice_mut() {
        cim_interp::kernels::for_chunks(slice, CHUNK_ROWS * width, |index, chunk| {
            for (r, row) in chunk.chunks_mut(width).enumerate() {
                let scale = scales[index * CHUNK_ROWS + r];
                row.iter_mut().for_each(|y| *y *= scale);
            }
        });
    }
}
