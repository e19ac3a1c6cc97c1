//! The closed-form calibration of a layer's correction (`cim_sim::adapters::fit`):
//! what it removes exactly, that it never makes the calibration rows worse, the
//! float map its targets come from (`cim_sim::adapters::float_map`), and the weight
//! held-out rows give it (`cim_sim::adapters::weight_towards`).

use cim_sim::adapters::{Correction, FitOptions, fit, float_map, loss, weight_towards};
use ndarray::Array2;
use proptest::prelude::*;

/// A deterministic pseudo-random matrix (a linear congruential stream).
fn matrix(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array2::from_shape_fn((rows, cols), |_| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    })
}

fn exact(rank: usize) -> FitOptions {
    FitOptions {
        rank,
        ridge: 0.0,
        rounds: 2,
    }
}

fn largest_difference(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .fold(0.0, |m, (x, y)| f64::max(m, (x - y).abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The float map of a layer comes back from its own rows: exactly when the
    /// inputs span every input direction, and with nothing along a direction they
    /// never take (an always-zero input).
    #[test]
    fn float_map_recovers_the_layer_from_its_rows(
        k in 2usize..24, n in 1usize..16, seed in 0u64..1000,
    ) {
        let w = matrix(k, n, seed + 1);
        let x = matrix(2 * k + 4, k, seed);
        let map = float_map(x.view(), x.dot(&w).view()).unwrap();
        prop_assert!(largest_difference(&map, &w) < 1e-6, "off by {}", largest_difference(&map, &w));
        let mut silent = x.clone();
        silent.column_mut(0).fill(0.0);
        let map = float_map(silent.view(), silent.dot(&w).view()).unwrap();
        prop_assert!(map.row(0).iter().all(|v| v.abs() < 1e-12), "{:?}", map.row(0));
        prop_assert!(largest_difference(&map.slice(ndarray::s![1.., ..]).to_owned(),
            &w.slice(ndarray::s![1.., ..]).to_owned()) < 1e-6);
    }

    /// A chip whose weights are off by a rank-r matrix, and nothing else: a
    /// rank-r adapter removes the error exactly, and the affine stays the identity.
    #[test]
    fn rank_r_adapter_removes_a_rank_r_weight_error(
        k in 4usize..24, n in 2usize..16, r in 1usize..4, seed in 0u64..1000,
    ) {
        let r = r.min(k).min(n);
        let x = matrix(3 * k + 8, k, seed);
        let w = matrix(k, n, seed + 1);
        let error = matrix(k, r, seed + 2).dot(&matrix(r, n, seed + 3));
        let (target, chip) = (x.dot(&w), x.dot(&(&w + &error)));
        let correction = fit(x.view(), chip.view(), target.view(), exact(r)).unwrap();
        let corrected = correction.apply(x.view(), chip.view());
        let scale = target.iter().fold(0.0, |m: f64, v| m.max(v.abs()));
        prop_assert!(largest_difference(&corrected, &target) < 1e-5 * scale,
            "left {}", largest_difference(&corrected, &target));
        prop_assert!(correction.scale.iter().all(|s| (s - 1.0).abs() < 1e-5));
        prop_assert!(correction.offset.iter().all(|o| o.abs() < 1e-5 * scale as f32));
    }

    /// Whatever the chip did, the fitted correction leaves the calibration rows no
    /// worse than the identity (where the alternation starts).
    #[test]
    fn correction_never_worse_than_identity_on_calibration_rows(
        k in 2usize..16, n in 1usize..10, r in 1usize..6, seed in 0u64..1000, noise in 0.0f64..2.0,
    ) {
        let x = matrix(40, k, seed);
        let target = x.dot(&matrix(k, n, seed + 1));
        let chip = &target * 0.9 + &(matrix(40, n, seed + 2) * noise);
        let options = FitOptions { rank: r, ..FitOptions::default() };
        let correction = fit(x.view(), chip.view(), target.view(), options).unwrap();
        let before = loss(chip.view(), target.view());
        let after = loss(correction.apply(x.view(), chip.view()).view(), target.view());
        prop_assert!(after <= before * (1.0 + 1e-9) + 1e-12, "{after} > {before}");
    }

    /// A correction weighted towards a goal (the held-out rows' float output) is
    /// never farther from it than the identity or the full correction, and a step
    /// straight to the goal is taken whole.
    #[test]
    fn weighted_step_is_never_farther_from_its_goal(
        rows in 1usize..30, n in 1usize..10, seed in 0u64..1000, reach in -2.0f64..3.0,
    ) {
        let base = matrix(rows, n, seed);
        let goal = matrix(rows, n, seed + 1);
        let moved = &base + &((&goal - &base) * reach) + &(matrix(rows, n, seed + 2) * 0.3);
        let w = weight_towards(base.view(), moved.view(), goal.view());
        prop_assert!((0.0..=1.0).contains(&w), "{w}");
        let weighted = &base + &((&moved - &base) * w);
        let error = loss(weighted.view(), goal.view());
        let slack = 1e-9 * loss(base.view(), goal.view()) + 1e-12;
        prop_assert!(error <= loss(base.view(), goal.view()) + slack, "worse than none");
        prop_assert!(error <= loss(moved.view(), goal.view()) + slack, "worse than the step");
        prop_assert_eq!(weight_towards(base.view(), goal.view(), goal.view()), 1.0);
    }
}

/// Per-column gain and offset errors (a column's ADC) are the affine's: removed
/// exactly whatever the adapter's rank.
#[test]
fn affine_removes_column_gain_and_offset() {
    let x = matrix(50, 6, 7);
    let target = x.dot(&matrix(6, 5, 8));
    let gains = [0.8, 1.1, 0.95, 1.3, 1.0];
    let offsets = [0.1, -0.2, 0.0, 0.05, 0.3];
    let mut chip = target.clone();
    for (j, mut column) in chip.columns_mut().into_iter().enumerate() {
        column.mapv_inplace(|v| v * gains[j] + offsets[j]);
    }
    let correction = fit(x.view(), chip.view(), target.view(), exact(1)).unwrap();
    let corrected = correction.apply(x.view(), chip.view());
    assert!(largest_difference(&corrected, &target) < 1e-4);
}

/// The identity changes nothing, and a weight of 0 is the identity.
#[test]
fn identity_and_zero_weight_change_nothing() {
    let x = matrix(10, 4, 1);
    let chip = matrix(10, 3, 2);
    let identity = Correction::identity(4, 3, 2);
    assert_eq!(identity.apply(x.view(), chip.view()), chip);
    let target = matrix(10, 3, 3);
    let fitted = fit(x.view(), chip.view(), target.view(), FitOptions::default()).unwrap();
    assert_eq!(fitted.weighted(0.0).apply(x.view(), chip.view()), chip);
    assert_eq!(identity.parameters(), 4 * 2 + 2 * 3 + 3 + 3);
}

/// Calibration data with NaN is refused with a message, not fitted.
#[test]
fn nan_calibration_rows_are_refused() {
    let x = matrix(10, 4, 1);
    let mut chip = matrix(10, 3, 2);
    chip[[3, 1]] = f64::NAN;
    let error = fit(x.view(), chip.view(), chip.view(), FitOptions::default()).unwrap_err();
    assert!(error.to_string().contains("NaN or infinity"), "{error}");
}
