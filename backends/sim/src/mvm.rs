//! The `cim.mvm` executor at quantized and full fidelity: the input through its
//! DAC ([`crate::dac`]), the product with the block its array holds (a GEMM, or the
//! currents of resistive lines, [`crate::irdrop`]), and the result through its ADC
//! ([`crate::adc`]): once per MVM, or once per input bit plane.

use crate::{
    Simulator,
    adc::{self, Adc},
    dac::{self, BitPlanes, Dac},
};
use cim_interp::{InterpError, Operands, kernels::matmul, malformed, ops::cim::Mvm};
use cim_ir::{
    attributes::{Converter, DacMode},
    mapped::MvmOp,
    query::value_id,
};
use ndarray::{ArrayD, IxDyn};

/// Runs the MVM of `operands` on `sim`'s arrays.
pub fn run(sim: &Simulator, operands: Operands) -> Result<ArrayD<f64>, InterpError> {
    let op = operands.op;
    let view = MvmOp::read(*op).ok_or_else(|| malformed(op, "not a cim.mvm"))?;
    let mvm = Mvm::read(operands, |name| sim.array(name))?;
    let (rows, c0) = (mvm.block.nrows(), mvm.corner.1);
    let (dac, adc) = (view.dac(), view.adc());
    // What the DACs drive.
    let shared;
    let driven: &ArrayD<f64> = match dac {
        Some(Converter::Dac { bits, lo, hi, .. }) => {
            let value = operands.value(0)?;
            shared = sim
                .driven
                .drive(value_id(value), mvm.input, Dac { bits, lo, hi });
            &shared
        }
        _ => mvm.input,
    };
    // The block's product with what the rows are driven with (`scale` maps inputs
    // to the lines' read voltage).
    let product = |driven: &ArrayD<f64>, scale: f64| -> Result<ArrayD<f64>, InterpError> {
        let lines = sim.chip.as_ref().and_then(|chip| chip.lines.as_ref());
        let output = match (lines, sim.cells.get(&mvm.array)) {
            (Some(lines), Some(cells)) if cells.bits.is_some() => {
                let bits = cells.bits.unwrap_or(1);
                let max_level = ((1u64 << bits.clamp(1, 52)) - 1) as f64;
                let flat = driven
                    .view()
                    .into_dimensionality::<ndarray::Ix2>()
                    .map_err(|_| malformed(op, "input is not 2-D"))?;
                let leads = (c0, cells.word_lines.saturating_sub(mvm.corner.0 + rows));
                lines
                    .product(
                        flat,
                        mvm.block.view(),
                        max_level,
                        leads,
                        scale.max(f64::MIN_POSITIVE),
                    )
                    .map_err(|error| malformed(op, error.to_string()))?
                    .into_dyn()
            }
            _ => matmul(op, driven, &mvm.block)?,
        };
        // The ADC writes in place (a product is already in standard layout).
        Ok(if output.is_standard_layout() {
            output
        } else {
            output.as_standard_layout().into_owned()
        })
    };
    let dac_scale = match dac {
        Some(Converter::Dac { lo, hi, .. }) => Dac { bits: 0, lo, hi }.full_scale(),
        _ => 1.0,
    };
    let chip_adcs = sim.chip.as_ref().map(|chip| &chip.adcs);
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
                let mut sums = product(&plane, 1.0)?;
                adc::convert(
                    op,
                    &mut sums,
                    chip_adcs,
                    &mvm.array,
                    c0,
                    Adc { bits, lo, hi },
                )?;
                dac::accumulate(&mut total, planes.worth(b), &sums);
            }
            Ok(total)
        }
        Some(Converter::Adc { bits, lo, hi }) => {
            let mut output = product(driven, dac_scale)?;
            adc::convert(
                op,
                &mut output,
                chip_adcs,
                &mvm.array,
                c0,
                Adc { bits, lo, hi },
            )?;
            Ok(output)
        }
        _ => product(driven, dac_scale),
    }
}
