//! The `cim.mvm` executor at quantized and full fidelity: the input through its
//! DAC ([`crate::dac`]), the product with the block its array holds (a GEMM, or the
//! currents of resistive lines, [`crate::irdrop`]), and the result through its ADC
//! ([`crate::adc`]): once per MVM, once per input bit plane, or, with managed
//! converters, once per input vector and pass of bound management; then the
//! chip's drift compensation ([`crate::compensation`]).

use crate::{
    Simulator,
    adc::{self, Adc, ChipAdcs},
    chip::ArrayCells,
    dac::{self, BitPlanes, Dac},
    levels::quantize_symmetric,
};
use cim_interp::{InterpError, Operands, kernels::matmul, malformed, ops::cim::Mvm};
use cim_ir::{
    attributes::{Converter, DacMode, InputScaling},
    mapped::MvmOp,
    query::{op_id, value_id},
};
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD, ArrayView2, IxDyn};

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
        values: mvm.input,
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
    Ok(output)
}

/// The block an MVM reads.
pub struct Block<'a> {
    /// Its array's name.
    pub array: &'a str,
    /// The levels its cells hold, rows × cols.
    pub values: ArrayView2<'a, f64>,
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
    pub values: &'a ArrayD<f64>,
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
) -> Result<ArrayD<f64>, InterpError> {
    let (dac, adc) = converters;
    if matches!(dac, Some(Converter::DacManaged { .. }))
        || matches!(adc, Some(Converter::AdcManaged { .. }))
    {
        return managed(sim, op, block, input, converters, adcs);
    }
    let c0 = block.corner.1;
    // What the DACs drive.
    let shared;
    let driven: &ArrayD<f64> = match (dac, input.id) {
        (Some(Converter::Dac { bits, lo, hi, .. }), Some(id)) => {
            shared = sim.driven.drive(id, input.values, Dac { bits, lo, hi });
            &shared
        }
        (Some(Converter::Dac { bits, lo, hi, .. }), None) => {
            shared = dac::Driven::default().drive(0, input.values, Dac { bits, lo, hi });
            &shared
        }
        _ => input.values,
    };
    let dac_scale = match dac {
        Some(Converter::Dac { lo, hi, .. }) => Dac { bits: 0, lo, hi }.full_scale(),
        _ => 1.0,
    };
    match adc {
        Some(Converter::AdcPerPlane { bits, lo, hi }) => {
            let Some(Converter::Dac {
                bits: planes,
                mode: DacMode::BitSerial,
                lo: x_lo,
                hi: x_hi,
            }) = dac
            else {
                return Err(malformed(op, "a per-plane ADC needs a bit-serial DAC"));
            };
            // Each plane drives rows with 0 or 1 and is converted on its own.
            let planes = BitPlanes::new(driven, planes, x_lo, x_hi);
            let mut plane = ArrayD::zeros(driven.raw_dim());
            let mut total = ArrayD::zeros(IxDyn(&[0]));
            for b in 0..planes.count() {
                planes.write(b, &mut plane);
                let mut sums = product(sim, op, block, &plane, 1.0)?;
                adc::convert(op, &mut sums, adcs, block.array, c0, Adc { bits, lo, hi })?;
                dac::accumulate(&mut total, planes.worth(b), &sums);
            }
            Ok(total)
        }
        Some(Converter::Adc { bits, lo, hi }) => {
            let mut output = product(sim, op, block, driven, dac_scale)?;
            adc::convert(op, &mut output, adcs, block.array, c0, Adc { bits, lo, hi })?;
            Ok(output)
        }
        _ => product(sim, op, block, driven, dac_scale),
    }
}

/// The block's product with what the rows are driven with (`scale` maps inputs to
/// the lines' read voltage): a GEMM, or on a chip with resistive lines the
/// currents they carry. Standard layout (the ADC writes in place).
fn product(
    sim: &Simulator,
    op: &OperationRef,
    block: &Block,
    driven: &ArrayD<f64>,
    scale: f64,
) -> Result<ArrayD<f64>, InterpError> {
    let lines = sim.chip.as_ref().and_then(|chip| chip.lines.as_ref());
    let output = match (lines, block.cells) {
        (Some(lines), Some(cells)) if cells.bits.is_some() => {
            let bits = cells.bits.unwrap_or(1);
            let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
            let flat = driven
                .view()
                .into_dimensionality::<ndarray::Ix2>()
                .map_err(|_| malformed(op, "input is not 2-D"))?;
            let rows = block.values.nrows();
            let leads = (
                block.corner.1,
                cells.word_lines.saturating_sub(block.corner.0 + rows),
            );
            lines
                .product(
                    flat,
                    block.values,
                    max_level,
                    leads,
                    scale.max(f64::MIN_POSITIVE),
                )
                .map_err(|error| malformed(op, error.to_string()))?
                .into_dyn()
        }
        _ => {
            let mut sums = matmul(op, driven, &block.values)?;
            read_effects(sim, op, block, driven, scale, &mut sums)?;
            sums
        }
    };
    Ok(if output.is_standard_layout() {
        output
    } else {
        output.as_standard_layout().into_owned()
    })
}

/// What a programmed chip's reads add to an MVM's sums before conversion:
/// aihwkit's empirical IR drop ([`crate::irdrop::aihwkit_drop`]) and weight noise
/// at every read ([`crate::read_noise`]); `full_scale` is the DAC's.
fn read_effects(
    sim: &Simulator,
    op: &OperationRef,
    block: &Block,
    driven: &ArrayD<f64>,
    full_scale: f64,
    sums: &mut ArrayD<f64>,
) -> Result<(), InterpError> {
    let Some(chip) = sim.chip.as_ref() else {
        return Ok(());
    };
    let Some(bits) = block.cells.and_then(|cells| cells.bits) else {
        return Ok(());
    };
    if chip.aihwkit_drop.is_none() && chip.forward_noise == 0.0 {
        return Ok(());
    }
    let top = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
    let x = driven
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| malformed(op, "input is not 2-D"))?
        .mapv(|x| x / full_scale.max(f64::MIN_POSITIVE));
    let mut flat = std::mem::take(sums)
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| malformed(op, "output is not 2-D"))?;
    if let Some(parameters) = chip.aihwkit_drop {
        crate::irdrop::aihwkit_drop(&mut flat, x.view(), block.values, top, parameters);
    }
    if chip.forward_noise > 0.0 {
        let count = &chip.adcs.conversions;
        let mut rng = chip.adcs.stream.fork(count.get());
        count.set(count.get() + 1);
        crate::read_noise::add(
            &mut flat,
            x.view(),
            block.values,
            top,
            chip.forward_noise,
            &mut rng,
        );
    }
    *sums = flat.into_dyn();
    Ok(())
}

/// Managed converters, per input vector (aihwkit's forward): the vector divided by
/// its scale (noise management) and rounded to the DAC's symmetric levels, the
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
) -> Result<ArrayD<f64>, InterpError> {
    let x = input
        .values
        .view()
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| malformed(op, "input is not 2-D"))?;
    let (batch, cols) = (x.nrows(), block.values.ncols());
    // Each vector's scale, and how its input reaches the lines.
    let scales: Vec<f64> = match dac {
        Some(Converter::DacManaged {
            scaling, constant, ..
        }) => match scaling {
            InputScaling::AbsMax => x
                .rows()
                .into_iter()
                .map(|row| row.iter().fold(0.0f64, |m, v| m.max(v.abs())))
                .collect(),
            InputScaling::Constant => vec![constant; batch],
            InputScaling::None => vec![1.0; batch],
        },
        _ => vec![1.0; batch],
    };
    let drive = |value: f64| -> f64 {
        match dac {
            Some(Converter::DacManaged { bits, bound, .. }) => {
                quantize_symmetric(value, bits, bound).0
            }
            Some(Converter::Dac { bits, lo, hi, .. }) => {
                crate::levels::quantize(value, bits, lo, hi)
            }
            _ => value,
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
    let mut output = Array2::<f64>::zeros((batch, cols));
    // Vectors still to convert: all but those a zero scale leaves at zero.
    let mut pending: Vec<usize> = (0..batch).filter(|&b| scales[b] > 0.0).collect();
    for pass in 0..passes {
        if pending.is_empty() {
            break;
        }
        let reduction = f64::from(1u32 << pass.min(30));
        let driven = Array2::from_shape_fn((pending.len(), x.ncols()), |(i, j)| {
            drive(x[[pending[i], j]] * (1.0 / scales[pending[i]]) / reduction)
        });
        let mut sums = product(sim, op, block, &driven.into_dyn(), full_scale)?
            .into_dimensionality::<ndarray::Ix2>()
            .map_err(|_| malformed(op, "output is not 2-D"))?;
        let saturated = match adc {
            Some(Converter::AdcManaged { bits, bound, .. }) => adc::convert_managed(
                op,
                &mut sums,
                adcs,
                block.array,
                block.corner.1,
                (bits, bound),
            )?,
            Some(Converter::Adc { bits, lo, hi }) => {
                let mut sums_dyn = sums.into_dyn();
                adc::convert(
                    op,
                    &mut sums_dyn,
                    adcs,
                    block.array,
                    block.corner.1,
                    Adc { bits, lo, hi },
                )?;
                sums = sums_dyn
                    .into_dimensionality()
                    .map_err(|_| malformed(op, "output is not 2-D"))?;
                vec![false; pending.len()]
            }
            Some(Converter::AdcPerPlane { .. }) => {
                return Err(malformed(
                    op,
                    "a per-plane ADC converts the bit planes of a bit-serial DAC, not a managed one",
                ));
            }
            _ => vec![false; pending.len()],
        };
        let last = pass + 1 == passes;
        let mut still = Vec::new();
        for (i, &b) in pending.iter().enumerate() {
            if saturated[i] && !last {
                still.push(b);
                continue;
            }
            let back = scales[b] * reduction;
            output
                .row_mut(b)
                .iter_mut()
                .zip(sums.row(i))
                .for_each(|(y, &v)| *y = v * back);
        }
        pending = still;
    }
    Ok(output.into_dyn())
}
