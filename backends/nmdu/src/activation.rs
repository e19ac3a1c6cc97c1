//! Nonlinear activations on the NMDU: a table of the function at evenly spaced
//! inputs with linear interpolation between them, in integers.
//!
//! | stage | integer semantics |
//! | --- | --- |
//! | input | `q`: the value in Q4.11 (16 bits: 2^-11 steps, ±16), as the NMDU holds activations |
//! | segment | `t = clamp(q − lo, 0, span)`; `i = t >> shift`, `f = t & (2^shift − 1)` |
//! | interpolate | `y = table[i] + round((table[i+1] − table[i]) · f, shift)` |
//! | output | `y` in Q1.14 (16 bits: 2^-14 steps) |
//!
//! The tables have [`SEGMENTS`] segments over [`Function::domain`]; beyond it the
//! functions are flat to within their error: sigmoid over [-8, 8] (σ(8) = 1 −
//! 3.4e-4), tanh over [-4, 4] (tanh 4 = 1 − 6.7e-4), erf over [-4, 4] (erf 4 = 1 −
//! 1.5e-8). [`Lut::max_error`] measures the
//! whole error against f64 (`tests/kernels.rs` bounds it).

/// Fractional bits of the input.
pub const INPUT_FRACTION: u32 = 11;
/// Fractional bits of the output.
pub const OUTPUT_FRACTION: u32 = 14;
/// Segments of a table.
pub const SEGMENTS: usize = 256;

/// The functions with tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// The error function (GELU's exact form, `x · (1 + erf(x / √2)) / 2`).
    Erf,
}

impl Function {
    /// The function in f64.
    pub fn exact(self, x: f64) -> f64 {
        match self {
            Self::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Self::Tanh => x.tanh(),
            Self::Erf => libm::erf(x),
        }
    }

    /// The interval the table spans (powers of two, so segments are whole steps).
    pub fn domain(self) -> (f64, f64) {
        match self {
            Self::Sigmoid => (-8.0, 8.0),
            Self::Tanh => (-4.0, 4.0),
            Self::Erf => (-4.0, 4.0),
        }
    }

    /// The name of its generated function.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Sigmoid => "nmdu_sigmoid",
            Self::Tanh => "nmdu_tanh",
            Self::Erf => "nmdu_erf",
        }
    }
}

/// A function's table and how inputs index it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lut {
    /// The function.
    pub function: Function,
    /// The domain's low end, in input steps.
    pub lo: i32,
    /// Input steps per segment, as a shift.
    pub shift: u32,
    /// `SEGMENTS + 1` values at the segments' ends, in Q1.14.
    pub table: Vec<i32>,
}

impl Lut {
    /// The table of `function`.
    pub fn new(function: Function) -> Self {
        let (lo, hi) = function.domain();
        let step = (hi - lo) / SEGMENTS as f64;
        let shift = (step * f64::from(1u32 << INPUT_FRACTION)).log2().round() as u32;
        let table = (0..=SEGMENTS)
            .map(|i| {
                let x = lo + i as f64 * step;
                (function.exact(x) * f64::from(1u32 << OUTPUT_FRACTION)).round() as i32
            })
            .collect();
        Self {
            function,
            lo: (lo * f64::from(1u32 << INPUT_FRACTION)) as i32,
            shift,
            table,
        }
    }

    /// The function of the Q4.11 input `q`, in Q1.14.
    pub fn eval(&self, q: i32) -> i32 {
        let span = ((SEGMENTS as i64) << self.shift) - 1;
        let t = (i64::from(q) - i64::from(self.lo)).clamp(0, span);
        let (i, f) = ((t >> self.shift) as usize, t & ((1i64 << self.shift) - 1));
        let (a, b) = (i64::from(self.table[i]), i64::from(self.table[i + 1]));
        (a + crate::reference::round_shift((b - a) * f, self.shift)) as i32
    }

    /// `x` in the input format: rounded to its steps, saturated to 16 bits.
    pub fn input(x: f64) -> i32 {
        let scaled = (x * f64::from(1u32 << INPUT_FRACTION)).round();
        scaled.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i32
    }

    /// What an output is worth.
    pub fn output(y: i32) -> f64 {
        f64::from(y) / f64::from(1u32 << OUTPUT_FRACTION)
    }

    /// The largest error against f64 over every input of the format.
    pub fn max_error(&self) -> f64 {
        (i32::from(i16::MIN)..=i32::from(i16::MAX))
            .map(|q| {
                let x = f64::from(q) / f64::from(1u32 << INPUT_FRACTION);
                (Self::output(self.eval(q)) - self.function.exact(x)).abs()
            })
            .fold(0.0, f64::max)
    }
}
