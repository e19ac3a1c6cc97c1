//! The exact integer semantics of a [`Kernel`], in plain Rust: what generated code
//! must reproduce bit for bit.

use crate::{Activation, Kernel, Tables, check_inputs};

/// Adds half of `2^shift` and shifts right arithmetically (round half up).
pub fn round_shift(x: i64, shift: u32) -> i64 {
    if shift == 0 {
        x
    } else {
        (x + (1i64 << (shift - 1))) >> shift
    }
}

/// Clamps to the signed range of `bits`.
pub fn saturate(x: i64, bits: u32) -> i64 {
    let high = (1i64 << (bits - 1)) - 1;
    x.clamp(-high - 1, high)
}

/// Runs `kernel` with `tables` on `planes` of `rows × tables.cols` codes
/// (row-major); the output is row-major too.
pub fn run(
    kernel: &Kernel,
    tables: &Tables,
    planes: &[&[i32]],
    rows: usize,
) -> Result<Vec<i32>, String> {
    check_inputs(kernel, tables, planes, rows)?;
    let cols = tables.cols;
    let mut out = vec![0i32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let top = (1i64 << kernel.code_bits) - 1;
            let mut acc = tables.bias[c];
            for (p, plane) in planes.iter().enumerate() {
                let code = i64::from(plane[r * cols + c]).clamp(0, top);
                acc += code * i64::from(tables.multipliers[p * cols + c]);
            }
            let acc = saturate(acc, kernel.accumulator_bits);
            let acc = match kernel.activation {
                Activation::Identity => acc,
                Activation::Relu => acc.max(0),
                Activation::Clip { lo, hi } => acc.clamp(lo, hi),
                Activation::Leaky { slope } if acc <= 0 => {
                    round_shift(acc * slope, crate::SLOPE_FRACTION)
                }
                Activation::Leaky { .. } => acc,
            };
            out[r * cols + c] =
                saturate(round_shift(acc, kernel.out_shift), kernel.out_bits) as i32;
        }
    }
    Ok(out)
}
