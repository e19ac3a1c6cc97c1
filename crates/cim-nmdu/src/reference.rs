//! The exact integer semantics of a [`Kernel`], in plain Rust: what generated code
//! must reproduce bit for bit.

use crate::{Activation, Kernel};

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

/// Runs `kernel` on `planes` (each `n` values), per-column `scale` and `offset`.
pub fn run(kernel: &Kernel, planes: &[&[i32]], scale: &[u8], offset: &[i8]) -> Vec<i32> {
    let n = scale.len();
    (0..n)
        .map(|c| {
            let mut acc = 0i64;
            for (s, &shift) in kernel.shifts.iter().enumerate() {
                let value = if kernel.differential {
                    i64::from(planes[2 * s][c]) - i64::from(planes[2 * s + 1][c])
                } else {
                    i64::from(planes[s][c])
                };
                acc += value << shift;
            }
            let acc = saturate(acc, 32);
            let product = acc * i64::from(scale[c]);
            let mut r =
                round_shift(product, kernel.scale_frac - kernel.offset_frac) + i64::from(offset[c]);
            r = match kernel.activation {
                Activation::Identity => r,
                Activation::Relu => r.max(0),
                Activation::Clip { lo, hi } => r.clamp(lo, hi),
            };
            saturate(round_shift(r, kernel.out_shift), kernel.out_bits) as i32
        })
        .collect()
}
