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

/// Rounds `value` to the nearest of the 2^bits − 1 levels symmetric about 0 that
/// span [−bound, bound] (ties to even, as aihwkit's `rint`), clipping: a managed
/// converter's levels (`#cim.dac_managed`, `#cim.adc_managed`). Returns the level's
/// value and whether it is the top or bottom one (the converter saturated).
pub fn quantize_symmetric(value: f64, bits: i64, bound: f64) -> (f64, bool) {
    let top = ((1u64 << bits.clamp(2, 62)) / 2 - 1) as f64;
    let step = cim_ir::attributes::symmetric_step(bits, bound);
    let level = (value / step).round_ties_even();
    if level.abs() >= top {
        (top.copysign(level) * step, true)
    } else {
        (level * step, false)
    }
}
