//! Digital matrix products: generated code against the reference, bit for bit,
//! and the reference against f64.

use cim_nmdu::codegen::{CodegenError, JitCache};
use cim_nmdu::elementwise::{from_fixed, to_fixed};
use cim_nmdu::matmul::reference;
use proptest::prelude::*;

thread_local! {
    static CACHE: std::cell::RefCell<JitCache> = std::cell::RefCell::default();
}

fn generated(
    a: &[i32],
    b: &[i32],
    init: &[i32],
    shape: [usize; 3],
    fraction: u32,
) -> Result<Vec<i32>, CodegenError> {
    CACHE.with(|cache| cache.borrow_mut().matmul(a, b, init, shape, fraction))
}

/// Shapes up to 5x8 by 8x18 and their operands: any values, extremes included (so
/// sums saturate), or moderate ones.
fn operands() -> impl Strategy<Value = ([usize; 3], Vec<i32>, Vec<i32>, Vec<i32>)> {
    (0usize..6, 0usize..9, 0usize..19).prop_flat_map(|(m, k, n)| {
        let pick = prop_oneof![
            any::<i32>(),
            -(4i32 << 16)..(4 << 16),
            Just(i32::MAX),
            Just(i32::MIN)
        ];
        let values = |len| proptest::collection::vec(pick.clone(), len);
        (Just([m, k, n]), values(m * k), values(k * n), values(m * n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_code_matches_the_reference(
        (shape, a, b, init) in operands(),
        fraction in 14u32..=22,
    ) {
        prop_assert_eq!(
            generated(&a, &b, &init, shape, fraction).unwrap(),
            reference(&a, &b, &init, shape, fraction).unwrap()
        );
    }
}

#[test]
fn products_round_once_and_saturate() {
    let q = |x: f64| to_fixed(x, 16).unwrap();
    // [1.5, -2] · [[0.25], [0.125]] + 1 = 1.125, exactly.
    let out = reference(
        &[q(1.5), q(-2.0)],
        &[q(0.25), q(0.125)],
        &[q(1.0)],
        [1, 2, 1],
        16,
    );
    assert_eq!(out.unwrap(), vec![q(1.125)]);
    // 3 products of 2^-16 · 0.5 each: one rounding of their sum (1.5 steps -> 2), not
    // three of each (0.5 -> 1 three times would give 3).
    let out = reference(&[1, 1, 1], &[q(0.5), q(0.5), q(0.5)], &[0], [1, 3, 1], 16).unwrap();
    assert_eq!(out, vec![2]);
    let big = reference(&[i32::MAX; 4], &[i32::MAX; 4], &[i32::MAX], [1, 4, 1], 16).unwrap();
    assert_eq!(big, vec![i32::MAX]);
    let error = generated(&[1, 2], &[1], &[0], [1, 2, 1], 16).unwrap_err();
    assert!(
        error.to_string().contains("b holds 1 values, not 2"),
        "{error}"
    );
    let error = generated(&[1], &[1], &[0], [1, 1, 1], 30).unwrap_err();
    assert!(error.to_string().contains("14..=22"), "{error}");
}

/// A 64x96 by 96x48 product of values in [-2, 2]: within the rounding of the
/// operands (each 2^-17) of the f64 product.
#[test]
fn products_are_close_to_f64() {
    let (m, k, n) = (64, 96, 48);
    let a: Vec<f64> = (0..m * k)
        .map(|i| ((i * 37 % 101) as f64 / 25.0) - 2.0)
        .collect();
    let b: Vec<f64> = (0..k * n)
        .map(|i| ((i * 53 % 97) as f64 / 24.0) - 2.0)
        .collect();
    let fixed = |x: &[f64]| {
        x.iter()
            .map(|&v| to_fixed(v, 16).unwrap())
            .collect::<Vec<_>>()
    };
    let out = generated(&fixed(&a), &fixed(&b), &vec![0; m * n], [m, k, n], 16).unwrap();
    let mut worst = 0f64;
    for i in 0..m {
        for j in 0..n {
            let exact: f64 = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            worst = worst.max((from_fixed(out[i * n + j], 16) - exact).abs());
        }
    }
    // k · 2 · 2 · 2^-17 from the operands, one step from the result.
    assert!(worst < 96.0 * 4.0 / 131072.0 + 1.0 / 65536.0, "{worst}");
}
