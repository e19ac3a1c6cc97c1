//! A converter's levels (`cim_sim::levels`): uniform over [lo, hi], and the
//! managed converters' levels symmetric about 0.

use cim_sim::levels::{quantize, quantize_symmetric};

#[test]
fn symmetric_levels_round_ties_to_even_and_saturate_at_the_ends() {
    // 3 bits: 7 levels over [-3, 3], step 1.
    assert_eq!(quantize_symmetric(0.0, 3, 3.0), (0.0, false));
    assert_eq!(quantize_symmetric(1.2, 3, 3.0), (1.0, false));
    // Ties go to the even level, as aihwkit's rint: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
    assert_eq!(quantize_symmetric(0.5, 3, 3.0), (0.0, false));
    assert_eq!(quantize_symmetric(1.5, 3, 3.0), (2.0, false));
    assert_eq!(quantize_symmetric(2.5, 3, 3.0), (2.0, false));
    assert_eq!(quantize_symmetric(-2.5, 3, 3.0), (-2.0, false));
    // The top level and beyond saturate, on both sides.
    assert_eq!(quantize_symmetric(3.0, 3, 3.0), (3.0, true));
    assert_eq!(quantize_symmetric(-7.0, 3, 3.0), (-3.0, true));
    // Symmetric about 0 for any value.
    for k in 0..100 {
        let x = (k as f64 * 0.173).sin() * 1.3;
        let (up, _) = quantize_symmetric(x, 9, 12.0);
        let (down, _) = quantize_symmetric(-x, 9, 12.0);
        assert_eq!(up, -down, "{x}");
    }
}

#[test]
fn levels_span_the_range_and_clip() {
    assert_eq!(quantize(0.26, 2, 0.0, 3.0), 0.0);
    assert_eq!(quantize(1.6, 2, 0.0, 3.0), 2.0);
    assert_eq!(quantize(9.0, 2, 0.0, 3.0), 3.0);
    assert_eq!(quantize(-9.0, 2, 0.0, 3.0), 0.0);
}

#[test]
fn the_levels_saturate_at_and_beyond_saturates_at() {
    for (bits, bound) in [(3, 3.0), (9, 12.0), (7, 1.0)] {
        let levels = cim_sim::levels::Symmetric::new(bits, bound);
        let at = levels.saturates_at();
        for x in [at, -at, at * 1.5, -at * 7.0] {
            assert!(levels.quantize(x).1, "{bits} bits over ±{bound}: {x}");
        }
        // Within a hair of the top level: the bound is not loose.
        assert!(at <= bound * (1.0 + 1e-6), "{at} vs {bound}");
    }
}

/// Bound management's early passes skip the noise of rows that saturate whatever
/// is drawn: which rows saturate, and what every other row converts to, are
/// those of drawing every row (each row has its own stream).
#[test]
fn skipping_certain_saturations_changes_nothing_read() {
    use cim_device::{adc::AdcModel, rng::DeviceRng};
    use cim_sim::adc::{ChipAdcs, convert_managed};
    use std::{cell::Cell, collections::HashMap};
    let chip = || ChipAdcs {
        model: AdcModel {
            noise: 0.0025,
            ..AdcModel::default()
        },
        columns: HashMap::new(),
        stream: DeviceRng::new(11),
        conversions: Cell::new(0),
        vectors: Cell::new(0),
    };
    // 300 rows of 40 sums: far beyond the bound, just beyond, at it, inside.
    let mut rng = DeviceRng::new(4);
    let sums = ndarray::Array2::from_shape_fn((300, 40), |(r, _)| {
        let reach = [30.0, 12.3, 12.0, 8.0][r % 4];
        ((2.0 * rng.uniform() - 1.0) * reach) as f32
    });
    let scales = vec![1.0; 300];
    let convert = |redone_if_saturated| {
        convert_managed(
            sums.view(),
            Some(&chip()),
            ("a", 0),
            (9, 12.0),
            &scales,
            redone_if_saturated,
        )
    };
    let (all, all_saturated) = convert(false);
    let (skipped, saturated) = convert(true);
    assert_eq!(all_saturated, saturated);
    assert!(saturated.iter().any(|&s| s) && saturated.iter().any(|&s| !s));
    for (r, &saturated) in saturated.iter().enumerate() {
        if !saturated {
            let bits = |a: &ndarray::Array2<f64>| a.row(r).map(|x| x.to_bits());
            assert_eq!(bits(&all), bits(&skipped), "row {r}");
        }
    }
}
