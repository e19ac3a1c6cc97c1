//! The NMDU's elementwise unit: straight-line programs over 32-bit fixed-point
//! values, what the bodies of `linalg.generic` ops (recurrent cells' gates, batch
//! normalisation, softmax and layernorm pieces, GELU) become on the digital unit.
//!
//! Every value is an `i32` in Q(31−F).F, `F` = [`Program::fraction`] (14..=22;
//! 16 by default: steps of 2^-16, range ±32768). Intermediate results are exact in
//! i64 and saturate to i32 at every instruction:
//!
//! | op | integer semantics (`sat`: clamp to i32; `round(x, s)`: `(x + 2^(s−1)) >> s`) |
//! | --- | --- |
//! | add, sub, neg, abs | exact, then `sat` |
//! | mul | `sat(round(a · b, F))` |
//! | div | `sat((a << F) / b)`, truncated toward zero; `b = 0` gives the saturated sign of `a` (0 for `a = 0`) |
//! | max, min, select, copy | exact (`select c a b` is `a` where `c ≠ 0`) |
//! | compare | `2^F` (1.0) where the predicate holds, else 0 (no NaN: ordered and unordered predicates agree) |
//! | exp | `x·log2 e` in Q.F (log2 e in Q30), split into integer `k` and fraction `f`; `2^f` from a 256-segment table in Q30 with linear interpolation; `sat(round(2^f · 2^k, 30 − F))` |
//! | log | `x ≤ 0` gives `i32::MIN`; else `x = m · 2^n`, `m ∈ [1, 2)`; `log2 m` from a 256-segment table in Q30, interpolated; `round((n − F + log2 m) · ln 2, …)` to Q.F (ln 2 in Q24) |
//! | sqrt | `x ≤ 0` gives 0; else `⌊√(x << F)⌋` (exact) |
//! | rsqrt | `x ≤ 0` gives `i32::MAX`; else `sat((1 << 2F) / ⌊√(x << F)⌋)` |
//! | sigmoid, tanh | `x` rounded to Q4.11 and saturated to 16 bits, the [`Lut`] of [`crate::activation`], its Q1.14 output shifted to Q.F |
//!
//! [`Program::eval`] is the reference; the generated code
//! ([`crate::codegen::JitCache::elementwise`]) gives the same bits (`tests/elementwise.rs`).
//! Measured errors against f64 over dense input sweeps are in that test's output.

use crate::activation::{Function, INPUT_FRACTION, Lut, OUTPUT_FRACTION};
use crate::reference::round_shift;

/// Fractional bits by default.
pub const DEFAULT_FRACTION: u32 = 16;
/// Segments of the exp and log tables.
pub const SEGMENTS: usize = 256;
/// log2(e) in Q30.
pub const LOG2_E_Q30: i64 = 1_549_082_005;
/// ln(2) in Q24.
pub const LN_2_Q24: i64 = 11_629_080;

/// What an instruction computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
    /// The larger.
    Max,
    /// The smaller.
    Min,
    /// `−a`.
    Neg,
    /// `|a|`.
    Abs,
    /// `e^a`.
    Exp,
    /// `ln a`.
    Log,
    /// `tanh a`.
    Tanh,
    /// `erf a`.
    Erf,
    /// `1 / (1 + e^−a)`.
    Sigmoid,
    /// `√a`.
    Sqrt,
    /// `1 / √a`.
    Rsqrt,
    /// `a`.
    Copy,
    /// `a P b`, with `arith.cmpf`'s predicate numbering.
    Compare(u8),
    /// `c ? a : b`.
    Select,
}

impl Op {
    /// Operands it reads.
    pub fn arity(self) -> usize {
        match self {
            Self::Add | Self::Sub | Self::Mul | Self::Div | Self::Max | Self::Min => 2,
            Self::Compare(_) => 2,
            Self::Select => 3,
            _ => 1,
        }
    }
}

/// Where an instruction's operand comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The program's argument `i`.
    Argument(usize),
    /// A constant, in Q.F.
    Constant(i32),
    /// The result of instruction `i` (an earlier one).
    Temporary(usize),
}

/// One instruction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Instruction {
    /// What it computes.
    pub op: Op,
    /// Its operands, [`Op::arity`] of them.
    pub operands: Vec<Operand>,
}

/// A straight-line program: arguments in, results out, one point at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// Fractional bits of every value (14..=22).
    pub fraction: u32,
    /// Arguments it reads.
    pub arguments: usize,
    /// Its instructions, in order.
    pub instructions: Vec<Instruction>,
    /// What it yields.
    pub results: Vec<Operand>,
}

/// The integer tables of the functions: what both the reference and generated code
/// read.
pub mod tables {
    use super::SEGMENTS;

    /// `2^(i/256)` in Q30, `i` = 0..=256.
    pub fn exp2() -> Vec<i64> {
        (0..=SEGMENTS)
            .map(|i| ((i as f64 / SEGMENTS as f64).exp2() * f64::from(1u32 << 30)).round() as i64)
            .collect()
    }

    /// `log2(1 + i/256)` in Q30, `i` = 0..=256.
    pub fn log2() -> Vec<i64> {
        (0..=SEGMENTS)
            .map(|i| {
                ((1.0 + i as f64 / SEGMENTS as f64).log2() * f64::from(1u32 << 30)).round() as i64
            })
            .collect()
    }
}

/// Clamps to i32.
pub fn sat(x: i64) -> i64 {
    x.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// `⌊√n⌋` for `0 <= n < 2^53`: the correctly rounded f64 root, corrected by one
/// where rounding crossed an integer.
pub fn isqrt(n: i64) -> i64 {
    let mut s = (n as f64).sqrt() as i64;
    if s * s > n {
        s -= 1;
    }
    if (s + 1) * (s + 1) <= n {
        s += 1;
    }
    s
}

/// `a + round((b − a) · f, shift)` between `table[i]` and `table[i + 1]`.
fn interpolate(table: &[i64], i: i64, f: i64, shift: u32) -> i64 {
    let (a, b) = (table[i as usize], table[i as usize + 1]);
    a + round_shift((b - a) * f, shift)
}

/// The functions' tables, built once per evaluator.
#[derive(Clone, Debug)]
pub struct Evaluator {
    exp2: Vec<i64>,
    log2: Vec<i64>,
    sigmoid: Lut,
    tanh: Lut,
    erf: Lut,
}

impl Default for Evaluator {
    fn default() -> Self {
        Self {
            exp2: tables::exp2(),
            log2: tables::log2(),
            sigmoid: Lut::new(Function::Sigmoid),
            tanh: Lut::new(Function::Tanh),
            erf: Lut::new(Function::Erf),
        }
    }
}

impl Evaluator {
    /// `e^x`, `x` in Q.F.
    pub fn exp(&self, x: i64, fraction: u32) -> i64 {
        let t = round_shift(x * LOG2_E_Q30, 30);
        let (k, f) = (t >> fraction, t & ((1i64 << fraction) - 1));
        let step = fraction - 8;
        let m = interpolate(&self.exp2, f >> step, f & ((1i64 << step) - 1), step);
        // m · 2^k in Q30, to Q.F.
        let shift = 30 - i64::from(fraction) - k;
        if shift <= 0 {
            sat(m << (-shift).min(31))
        } else if shift >= 33 {
            0
        } else {
            round_shift(m, shift as u32)
        }
    }

    /// `ln x`, `x` in Q.F.
    pub fn log(&self, x: i64, fraction: u32) -> i64 {
        if x <= 0 {
            return i64::from(i32::MIN);
        }
        let n = 63 - i64::from(x.leading_zeros());
        let u = (x << (30 - n)) - (1i64 << 30);
        let l = interpolate(&self.log2, u >> 22, u & ((1i64 << 22) - 1), 22);
        let log2 = ((n - i64::from(fraction)) << 30) + l;
        sat(round_shift(log2 * LN_2_Q24, 54 - fraction))
    }

    /// `sigmoid`, `tanh` or `erf` of `x` in Q.F, on the activation tables.
    pub fn activation(&self, function: Function, x: i64, fraction: u32) -> i64 {
        let lut = match function {
            Function::Sigmoid => &self.sigmoid,
            Function::Tanh => &self.tanh,
            Function::Erf => &self.erf,
        };
        let q = round_shift(x, fraction - INPUT_FRACTION).clamp(-(1 << 15), (1 << 15) - 1);
        i64::from(lut.eval(q as i32)) << (fraction - OUTPUT_FRACTION)
    }

    /// One instruction on `a`, `b`, `c` (those it reads).
    pub fn apply(&self, op: Op, [a, b, c]: [i64; 3], fraction: u32) -> i64 {
        let one = 1i64 << fraction;
        match op {
            Op::Add => sat(a + b),
            Op::Sub => sat(a - b),
            Op::Mul => sat(round_shift(a * b, fraction)),
            Op::Div if b == 0 => sat(a.signum() * i64::MAX),
            Op::Div => sat((a << fraction) / b),
            Op::Max => a.max(b),
            Op::Min => a.min(b),
            Op::Neg => sat(-a),
            Op::Abs => sat(a.abs()),
            Op::Exp => self.exp(a, fraction),
            Op::Log => self.log(a, fraction),
            Op::Tanh => self.activation(Function::Tanh, a, fraction),
            Op::Sigmoid => self.activation(Function::Sigmoid, a, fraction),
            Op::Erf => self.activation(Function::Erf, a, fraction),
            Op::Sqrt if a <= 0 => 0,
            Op::Sqrt => isqrt(a << fraction),
            Op::Rsqrt if a <= 0 => i64::from(i32::MAX),
            Op::Rsqrt => sat((1i64 << (2 * fraction)) / isqrt(a << fraction)),
            Op::Copy => a,
            Op::Compare(predicate) => {
                let holds = match predicate {
                    0 | 14 => false,
                    1 | 8 => a == b,
                    2 | 9 => a > b,
                    3 | 10 => a >= b,
                    4 | 11 => a < b,
                    5 | 12 => a <= b,
                    6 | 13 => a != b,
                    _ => true,
                };
                if holds { one } else { 0 }
            }
            Op::Select => {
                if a != 0 {
                    b
                } else {
                    c
                }
            }
        }
    }

    /// Runs `program` on `arguments` (Q.F), writing its results; `temporaries` is
    /// scratch space. The program must be valid ([`Program::problem`]).
    pub fn eval(
        &self,
        program: &Program,
        arguments: &[i32],
        results: &mut [i32],
        temporaries: &mut Vec<i64>,
    ) {
        temporaries.clear();
        let read = |operand: Operand, temporaries: &Vec<i64>| match operand {
            Operand::Argument(i) => i64::from(arguments[i]),
            Operand::Constant(v) => i64::from(v),
            Operand::Temporary(i) => temporaries[i],
        };
        for instruction in &program.instructions {
            let mut values = [0i64; 3];
            for (value, &operand) in values.iter_mut().zip(&instruction.operands) {
                *value = read(operand, temporaries);
            }
            let value = self.apply(instruction.op, values, program.fraction);
            temporaries.push(value);
        }
        for (result, &operand) in results.iter_mut().zip(&program.results) {
            *result = read(operand, temporaries) as i32;
        }
    }
}

impl Program {
    /// What is wrong with the program, if anything.
    pub fn problem(&self) -> Option<String> {
        if !(14..=22).contains(&self.fraction) {
            return Some(format!(
                "{} fractional bits: the elementwise unit has 14..=22",
                self.fraction
            ));
        }
        let valid = |operand: &Operand, before: usize| match *operand {
            Operand::Argument(i) => i < self.arguments,
            Operand::Constant(_) => true,
            Operand::Temporary(i) => i < before,
        };
        for (index, instruction) in self.instructions.iter().enumerate() {
            if instruction.operands.len() != instruction.op.arity() {
                return Some(format!(
                    "instruction {index} ({:?}) has {} operands, not {}",
                    instruction.op,
                    instruction.operands.len(),
                    instruction.op.arity()
                ));
            }
            if let Some(operand) = instruction.operands.iter().find(|o| !valid(o, index)) {
                return Some(format!(
                    "instruction {index} reads {operand:?}, which is not defined before it"
                ));
            }
        }
        if let Some(operand) = self
            .results
            .iter()
            .find(|o| !valid(o, self.instructions.len()))
        {
            return Some(format!("the program yields undefined {operand:?}"));
        }
        None
    }

    /// The functions with tables it uses.
    pub fn uses(&self, op: Op) -> bool {
        self.instructions.iter().any(|i| i.op == op)
    }
}

/// `x` in Q.F: rounded to nearest (halves away from zero), saturated; `None` for
/// NaN.
pub fn to_fixed(x: f64, fraction: u32) -> Option<i32> {
    if x.is_nan() {
        return None;
    }
    let scaled = (x * f64::from(1u32 << fraction)).round();
    Some(scaled.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
}

/// What a Q.F value is worth.
pub fn from_fixed(q: i32, fraction: u32) -> f64 {
    f64::from(q) / f64::from(1u32 << fraction)
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Argument(i) => write!(f, "a{i}"),
            Self::Constant(v) => write!(f, "{v}"),
            Self::Temporary(i) => write!(f, "t{i}"),
        }
    }
}

impl std::fmt::Display for Program {
    /// One line per instruction, `  t3 = mul t1, a4`, then `  yield t8, t6`;
    /// constants in Q.F units.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |operands: &[Operand]| {
            operands
                .iter()
                .map(Operand::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (index, instruction) in self.instructions.iter().enumerate() {
            let name = match instruction.op {
                Op::Compare(predicate) => format!("compare.{predicate}"),
                op => format!("{op:?}").to_lowercase(),
            };
            writeln!(f, "  t{index} = {name} {}", list(&instruction.operands))?;
        }
        writeln!(f, "  yield {}", list(&self.results))
    }
}
