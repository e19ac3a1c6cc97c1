//! A converter's levels: `2^bits` evenly spaced values spanning `[lo, hi]`
//! ([`Uniform`]), or, for a managed converter, `2^bits − 1` values symmetric about 0
//! spanning `[−bound, bound]` ([`Symmetric`]): what a DAC drives and an ADC reads
//! out. Each is set up once per conversion and applied to every value.

/// Uniform levels over [lo, hi].
#[derive(Clone, Copy, Debug)]
pub struct Uniform {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Uniform {
    /// The 2^bits levels spanning [lo, hi].
    pub fn new(bits: i64, lo: f64, hi: f64) -> Self {
        let steps = ((1u64 << bits.clamp(1, 62)) - 1) as f64;
        Self {
            lo,
            hi,
            step: (hi - lo) / steps,
        }
    }

    /// The level nearest `value` (halves up), clipping.
    #[inline]
    pub fn quantize(&self, value: f64) -> f64 {
        // Non-negative and at most 2^62: adding a half and taking the floor rounds
        // half up, as `round` does here, in one instruction a loop of them
        // vectorises (a cast to an integer would not; nor would `clamp`, which
        // checks its bounds at every call).
        let level = ((value.max(self.lo).min(self.hi) - self.lo) / self.step + 0.5).floor();
        self.lo + level * self.step
    }
}

/// Levels symmetric about 0 over [−bound, bound] (a managed converter's).
#[derive(Clone, Copy, Debug)]
pub struct Symmetric {
    step: f64,
    top: f64,
}

impl Symmetric {
    /// The 2^bits − 1 levels spanning [−bound, bound].
    pub fn new(bits: i64, bound: f64) -> Self {
        Self {
            step: cim_ir::attributes::symmetric_step(bits, bound),
            top: ((1u64 << bits.clamp(2, 62)) / 2 - 1) as f64,
        }
    }

    /// The level nearest `value` (ties to even, as aihwkit's `rint`), clipping, and
    /// whether it is the top or bottom one (the converter saturated).
    #[inline]
    pub fn quantize(&self, value: f64) -> (f64, bool) {
        // No branch on the value: a loop over a row runs without mispredictions.
        let level = (value / self.step).round_ties_even();
        let saturated = level.abs() >= self.top;
        // `clamp` without its check of the bounds at every call (a loop of these
        // then vectorises); a NaN stays NaN, as with `clamp`.
        let low = if level < -self.top { -self.top } else { level };
        let clipped = if low > self.top { self.top } else { low };
        (clipped * self.step, saturated)
    }

    /// A magnitude at and beyond which [`Self::quantize`] surely reports
    /// saturation: the top level, with room for the division's rounding.
    pub fn saturates_at(&self) -> f64 {
        self.top * self.step * (1.0 + 1e-9)
    }
}

/// Rounds `value` to the nearest of the 2^bits levels spanning [lo, hi], clipping.
pub fn quantize(value: f64, bits: i64, lo: f64, hi: f64) -> f64 {
    Uniform::new(bits, lo, hi).quantize(value)
}

/// Rounds `value` to the nearest of the 2^bits − 1 levels symmetric about 0 that
/// span [−bound, bound] (ties to even), clipping: a managed converter's levels
/// (`#cim.dac_managed`, `#cim.adc_managed`). Returns the level's value and whether
/// it is the top or bottom one (the converter saturated).
pub fn quantize_symmetric(value: f64, bits: i64, bound: f64) -> (f64, bool) {
    Symmetric::new(bits, bound).quantize(value)
}
