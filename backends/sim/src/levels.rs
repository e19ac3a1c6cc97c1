//! A converter's levels: `2^bits` evenly spaced values spanning `[lo, hi]`, what
//! the DAC drives and the ADC reads out.

/// Rounds `value` to the nearest of the 2^bits levels spanning [lo, hi], clipping.
pub fn quantize(value: f64, bits: i64, lo: f64, hi: f64) -> f64 {
    let steps = ((1u64 << bits.clamp(1, 62)) - 1) as f64;
    let step = (hi - lo) / steps;
    // Non-negative and at most 2^62: adding a half and truncating rounds half up,
    // as `round` does here, without a call into libm.
    let level = ((value.clamp(lo, hi) - lo) / step + 0.5) as i64;
    lo + level as f64 * step
}
