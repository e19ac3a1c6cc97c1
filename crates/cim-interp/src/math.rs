//! The exponential functions of the digital work (`math.exp`, `math.tanh`, and
//! the sigmoid the body compiler recognises) as straight-line f64 code that the
//! compiler vectorises over a block of points: no calls, no branches, only
//! arithmetic, rounding and selects. libm's scalar `exp`, `expm1` and `tanh` were
//! 17-28% of a recurrent or tanh network's ten-chip eval (`perf`).
//!
//! `exp(x) = 2^k · e^r` with `k = round(x / ln 2)` and `r = x − k·ln 2` (ln 2 in
//! two parts, Cody and Waite, so `k·ln 2` is exact), `|r| <= ln 2 / 2`, and
//! `e^r − 1` by its Taylor series to `r^13/13!` (the next term is below 1e-17 of
//! the result). `2^k` is built from its bits in two halves, so results down to the
//! subnormals come out of the same code. Accuracy, checked against libm in the
//! tests: within 1 unit in the last place for `exp`, 4 for `tanh` and `sigmoid`
//! (libm's are within 1).

/// ln 2 rounded to 32 significant bits (its last 21 bits zero: `k·LN2_HI` is exact
/// for every `k` an f64 exponent needs).
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// ln 2 − [`LN2_HI`].
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// 1.5·2^52: adding it to a whole number below 2^51 in magnitude leaves that
/// number in the low bits of the sum.
const INTEGER_BITS: f64 = 6_755_399_441_055_744.0;
/// exp(x) overflows beyond ln(f64::MAX) = 709.78...; inputs are clamped a little
/// above it (so that they still overflow) ...
const CLAMP_HIGH: f64 = 709.8;
/// ... and a little below the smallest subnormal's logarithm (so that they still
/// round to 0).
const CLAMP_LOW: f64 = -746.0;
/// Beyond this `2|x|`, tanh(x) is ±1 in f64 (1 − 2/(e^{2|x|} + 1) rounds to 1 from
/// 2|x| = 38.2 on).
const TANH_SATURATED: f64 = 40.0;

/// `2^k` for a whole `k` in `-1022..=1023`.
#[inline(always)]
fn power_of_two(k: f64) -> f64 {
    let k_bits = (k + INTEGER_BITS)
        .to_bits()
        .wrapping_sub(INTEGER_BITS.to_bits());
    f64::from_bits(k_bits.wrapping_add(1023) << 52)
}

/// `(k, p)` with `e^x = 2^k · (1 + p)`, for `x` in `[CLAMP_LOW, CLAMP_HIGH]` (or NaN).
#[inline(always)]
fn exp_parts(x: f64) -> (f64, f64) {
    let k = (x * std::f64::consts::LOG2_E).round_ties_even();
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // e^r − 1 = r + r²/2! + ... + r^13/13!, by Horner's rule.
    let mut p = 1.0 / 6_227_020_800.0;
    for factorial in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
    ] {
        p = p * r + 1.0 / factorial;
    }
    (k, p * r)
}

/// `e^x`.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // `clamp` keeps a NaN.
    let clamped = x.clamp(CLAMP_LOW, CLAMP_HIGH);
    let (k, p) = exp_parts(clamped);
    let half = (k * 0.5).floor();
    (1.0 + p) * power_of_two(half) * power_of_two(k - half)
}

/// `tanh(x)`: `e / (e + 2)` with `e = e^{2|x|} − 1`, the sign restored.
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let y = (2.0 * x.abs()).min(TANH_SATURATED);
    let (k, p) = exp_parts(y);
    // 2^k (1 + p) − 1, exact in its last step for the small k of y <= 40.
    let scale = power_of_two(k);
    let e = scale * p + (scale - 1.0);
    let magnitude = e / (e + 2.0);
    // NaN in, NaN out (`min` above would have dropped it).
    let magnitude = if x.is_nan() { x } else { magnitude };
    magnitude.copysign(x)
}

/// The logistic sigmoid, `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between `got` and `want` (0 for equal values, both
    /// NaN, or both infinite of one sign).
    fn ulps(got: f64, want: f64) -> u64 {
        if got == want || (got.is_nan() && want.is_nan()) {
            return 0;
        }
        if got.is_nan() || want.is_nan() || got.is_infinite() || want.is_infinite() {
            return u64::MAX;
        }
        // Ordered integers for ordered floats.
        let key = |v: f64| {
            let bits = v.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        key(got).abs_diff(key(want))
    }

    /// Deterministic points spread over `[low, high]`: an even grid and a
    /// scrambled set between its points.
    fn points(low: f64, high: f64, count: usize) -> impl Iterator<Item = f64> {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        (0..count).flat_map(move |i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let step = (high - low) / count as f64;
            [low + i as f64 * step, low + (i as f64 + u) * step]
        })
    }

    fn worst(f: fn(f64) -> f64, reference: fn(f64) -> f64, low: f64, high: f64) -> (u64, f64) {
        points(low, high, 200_000)
            .map(|x| (ulps(f(x), reference(x)), x))
            .max_by_key(|&(ulps, _)| ulps)
            .unwrap_or((0, 0.0))
    }

    #[test]
    fn exp_is_within_an_ulp_of_libm_over_its_whole_range() {
        for (low, high) in [(-745.0, 709.7), (-1.0, 1.0), (-1e-6, 1e-6), (-20.0, 20.0)] {
            let (ulps, at) = worst(exp, f64::exp, low, high);
            assert!(ulps <= 1, "exp: {ulps} ulps at {at:e} (in [{low}, {high}])");
        }
    }

    #[test]
    fn tanh_is_within_four_ulps_of_libm() {
        for (low, high) in [(-25.0, 25.0), (-1.0, 1.0), (-1e-5, 1e-5), (-1e-300, 1e-300)] {
            let (ulps, at) = worst(tanh, f64::tanh, low, high);
            assert!(
                ulps <= 4,
                "tanh: {ulps} ulps at {at:e} (in [{low}, {high}])"
            );
        }
    }

    #[test]
    fn sigmoid_is_within_four_ulps_of_its_libm_form() {
        let reference = |x: f64| 1.0 / (1.0 + (-x).exp());
        for (low, high) in [(-700.0, 700.0), (-10.0, 10.0), (-1e-3, 1e-3)] {
            let (ulps, at) = worst(sigmoid, reference, low, high);
            assert!(
                ulps <= 4,
                "sigmoid: {ulps} ulps at {at:e} (in [{low}, {high}])"
            );
        }
    }

    #[test]
    fn the_edges_are_libms() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            709.78,
            709.79,
            800.0,
            f64::MAX,
            f64::INFINITY,
            -745.1,
            -745.2,
            -800.0,
            f64::MIN,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert!(ulps(exp(x), x.exp()) <= 2, "exp({x:e}) = {:e}", exp(x));
            assert!(ulps(tanh(x), x.tanh()) <= 1, "tanh({x:e}) = {:e}", tanh(x));
            assert_eq!(
                tanh(x).is_sign_negative(),
                x.tanh().is_sign_negative(),
                "{x:e}"
            );
        }
        for x in [20.0, 30.0, 38.0, 40.0, 1e10] {
            assert_eq!(tanh(x), 1.0, "{x}");
            assert_eq!(tanh(-x), -1.0, "{x}");
        }
    }
}
