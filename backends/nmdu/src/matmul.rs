//! Digital matrix products on the NMDU: what no crossbar holds (low-rank adapters,
//! products of two activations). Operands and results are Q(31−F).F values (as
//! the elementwise unit's, [`crate::elementwise`]); products are exact, sums are
//! kept in a saturating 64-bit accumulator that starts from the addend:
//!
//! `out[i, j] = sat32(round((init[i, j] << F) ⊕ a[i, 0]·b[0, j] ⊕ … ⊕ a[i, k−1]·b[k−1, j], F))`
//!
//! where `⊕` saturates to i64, in order of `l`. The generated code
//! ([`crate::codegen::JitCache::matmul`]) gives the same bits (`tests/matmul.rs`).

use crate::elementwise::sat;

/// Checks the lengths of `a` (m×k), `b` (k×n), `init` and `out` (m×n).
pub fn check(
    a: usize,
    b: usize,
    init: usize,
    out: usize,
    [m, k, n]: [usize; 3],
) -> Result<(), String> {
    let expected = [
        ("a", a, m * k),
        ("b", b, k * n),
        ("init", init, m * n),
        ("out", out, m * n),
    ];
    for (name, len, want) in expected {
        if len != want {
            return Err(format!(
                "{name} holds {len} values, not {want} for {m}x{k} by {k}x{n}"
            ));
        }
    }
    Ok(())
}

/// The reference: `init + a · b` in Q.`fraction`, row-major operands.
pub fn reference(
    a: &[i32],
    b: &[i32],
    init: &[i32],
    [m, k, n]: [usize; 3],
    fraction: u32,
) -> Result<Vec<i32>, String> {
    check(a.len(), b.len(), init.len(), m * n, [m, k, n])?;
    let mut out = vec![0; m * n];
    let mut acc = vec![0i64; n];
    for i in 0..m {
        for (j, acc) in acc.iter_mut().enumerate() {
            *acc = i64::from(init[i * n + j]) << fraction;
        }
        for l in 0..k {
            let x = i64::from(a[i * k + l]);
            for (j, acc) in acc.iter_mut().enumerate() {
                *acc = acc.saturating_add(x * i64::from(b[l * n + j]));
            }
        }
        for (j, &acc) in acc.iter().enumerate() {
            out[i * n + j] = sat(round_shift_saturating(acc, fraction)) as i32;
        }
    }
    Ok(out)
}

/// `round(x, shift)` (`shift >= 1`) as `(x >> s) + ((x >> (s − 1)) & 1)`: the
/// same value as `(x + 2^(s−1)) >> s`, without an addition that could overflow
/// next to `i64::MAX`.
fn round_shift_saturating(x: i64, shift: u32) -> i64 {
    (x >> shift) + ((x >> (shift - 1)) & 1)
}
