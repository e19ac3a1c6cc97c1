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
