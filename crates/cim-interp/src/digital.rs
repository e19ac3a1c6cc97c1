//! The digital work after the MVMs, lowered to the near-memory digital unit.
//!
//! Each tree of `cim.shift_add`, `cim.diff`, `cim.accumulate` and `cim.affine` ops
//! over `cim.mvm` results is linear in its MVMs' ADC codes: per output column `c`,
//! `y[c] = Σ_p a_p[c] · code_p[c] + b[c]`, where a code is worth its ADC's step
//! and starts at its low end, slices are worth their shift, a differential pair's
//! negative array is subtracted, and the affine correction scales and offsets. The
//! lowering writes those coefficients as fixed-point multipliers of one common
//! fraction `F` (the largest that keeps every multiplier within the target's
//! multiplier width and every sum within its accumulator), the constant as a bias,
//! and the output as `out_bits` wide with the fewest right shifts that keep the
//! largest possible sum: one NMDU [`Kernel`] and its [`Tables`] per tree. A bias
//! add (`linalg.generic` adding a per-column constant) and an activation (ReLU,
//! clip, LeakyReLU) that follow the tree, each the only reader of what it reads,
//! join the kernel: the bias into its constant, the activation as its own. The
//! kernel runs in Rust ([`Digital::Reference`]) or as generated code
//! ([`Digital::Generated`]); either way the output is worth `out · 2^(shift − F)`.
//!
//! Every other `linalg.generic` that computes (recurrent cells' gates, batch
//! normalisation, pooling, softmax and layernorm pieces) becomes a straight-line
//! program of the NMDU's elementwise unit over Q(31−F).F values, `F` =
//! `fraction_bits` ([`cim_nmdu::pointwise`]): its inputs are rounded into that
//! format, its results are what the program yields. Identical bodies share one
//! program. Bodies that only move values, or compute on integers, stay exact.
//!
//! The rounding of the multipliers (relative error at most `2^-(multiplier_bits-1)`
//! of the largest) and of the output (one part in `2^(out_bits-1)` of the largest
//! possible sum) is the whole difference from float digital work.

use crate::{InterpError, malformed};
use cim_ir::{
    attributes::Converter,
    dialect::ops,
    query::{attribute, defining_op, i64_array_attribute, op_name},
};
use cim_nmdu::{Activation, Kernel, Tables, pointwise::Program};
use melior::ir::{
    BlockLike, BlockRef, OperationRef, RegionLike, Value, ValueLike,
    attribute::FlatSymbolRefAttribute, operation::OperationLike,
};
use std::collections::{HashMap, HashSet};

/// Where the digital ops after the MVMs run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Digital {
    /// In `f64`, as the IR states them.
    #[default]
    Float,
    /// On the NMDU's fixed-point kernels, by their Rust reference semantics.
    Reference,
    /// On the NMDU's fixed-point kernels, as LLVM-generated code run in a JIT.
    Generated,
}

/// The NMDU's number formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// Width of the signed multipliers (per plane, per column).
    pub multiplier_bits: u32,
    /// Width of the signed, saturating accumulator.
    pub accumulator_bits: u32,
    /// Width of the signed output.
    pub out_bits: u32,
    /// Fractional bits of the elementwise unit's 32-bit values (14..=22).
    pub fraction_bits: u32,
}

impl Default for Format {
    /// 16-bit multipliers, a 32-bit accumulator, 16-bit outputs.
    fn default() -> Self {
        Self {
            multiplier_bits: 16,
            accumulator_bits: 32,
            out_bits: 16,
            fraction_bits: cim_nmdu::pointwise::DEFAULT_FRACTION,
        }
    }
}

/// Where a plane's columns land among a group's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// From this column on (a column tile of a `cim.concat`; 0 otherwise).
    At(usize),
    /// One column, read by every column (the reference column `cim.diff`
    /// broadcasts).
    Everywhere,
}

/// One MVM a group reads: its result, what its codes are worth, and where its
/// columns land.
#[derive(Clone, Debug)]
pub struct Plane {
    /// The MVM's result (the interpreter's value key).
    pub value: usize,
    /// The array the MVM reads.
    pub array: String,
    /// The ADC's low end.
    pub lo: f64,
    /// One ADC step.
    pub step: f64,
    /// The highest code.
    pub max_code: i64,
    /// The MVM's columns.
    pub width: usize,
    /// Where they land.
    pub placement: Placement,
}

impl Plane {
    /// The plane's codes on the group's `cols` columns (zero where it has none),
    /// row-major, from its MVM's `values`.
    pub fn codes(&self, values: &[f64], cols: usize) -> Vec<i32> {
        let code = |y: f64| {
            ((y - self.lo) / self.step)
                .round()
                .clamp(0.0, self.max_code as f64) as i32
        };
        let width = self.width.max(1);
        let mut out = Vec::with_capacity(values.len() / width * cols);
        for row in values.chunks(width) {
            match self.placement {
                Placement::At(offset) => {
                    out.extend(std::iter::repeat_n(0, offset));
                    out.extend(row.iter().map(|&y| code(y)));
                    out.extend(std::iter::repeat_n(0, cols - offset - width));
                }
                Placement::Everywhere => out.extend(std::iter::repeat_n(code(row[0]), cols)),
            }
        }
        out
    }
}

/// A tree of digital ops lowered to one kernel.
#[derive(Clone, Debug)]
pub struct Group {
    /// Its place among the module's groups, in program order.
    pub order: usize,
    /// Its root op and that op's layer (the location's name), for people.
    pub root: String,
    /// The layer, when the root's location names one.
    pub layer: Option<String>,
    /// The planes, in the kernel's order.
    pub planes: Vec<Plane>,
    /// The kernel.
    pub kernel: Kernel,
    /// Its multipliers and biases.
    pub tables: Tables,
    /// What one output unit is worth: `2^(out_shift − F)`.
    pub unit: f64,
    /// The common fraction `F` of the multipliers.
    pub fraction: i32,
}

/// The lowering of a module's digital ops: the groups by the op that produces
/// their result, and the ops the groups make unnecessary.
#[derive(Debug, Default)]
pub struct Plan {
    /// Groups by their root op (`mvm_key` of the op).
    pub groups: HashMap<usize, Group>,
    /// Digital ops only other digital ops read: never run on their own.
    pub skipped: HashSet<usize>,
    /// The elementwise programs, each once, in program order.
    pub pointwise: Vec<Pointwise>,
    /// Which program each `linalg.generic` (or named pooling, convolution or tensor
    /// sum) runs (by `mvm_key` of the op).
    pub programs: HashMap<usize, usize>,
    /// The fraction of the module's digital matrix products (`linalg.matmul`,
    /// `cim.adapter`), when it has any: they run [`cim_nmdu::matmul`].
    pub matmul: Option<u32>,
}

/// The elementwise program of a named digital op: one step of a pooling window
/// (`max(acc, x)`, `acc + x`) or of a convolution (`acc + x · w`), or a sum of two
/// tensors. Arguments in that order.
pub fn named_program(name: &str, fraction: u32) -> Option<Program> {
    use cim_nmdu::pointwise::{Instruction, Op, Operand};
    let (arguments, instructions) = match name {
        "linalg.pooling_nchw_max" => (2, vec![(Op::Max, vec![0, 1])]),
        "linalg.pooling_nchw_sum" | "arith.addf" => (2, vec![(Op::Add, vec![0, 1])]),
        "linalg.conv_2d_nchw_fchw" => (3, vec![(Op::Mul, vec![1, 2]), (Op::Add, vec![0, 3])]),
        _ => return None,
    };
    // Operand i < arguments is an argument, beyond it a temporary.
    let operand = |i: usize| {
        if i < arguments {
            Operand::Argument(i)
        } else {
            Operand::Temporary(i - arguments)
        }
    };
    let count = instructions.len();
    Some(Program {
        fraction,
        arguments,
        instructions: instructions
            .into_iter()
            .map(|(op, operands)| Instruction {
                op,
                operands: operands.into_iter().map(operand).collect(),
            })
            .collect(),
        results: vec![Operand::Temporary(count - 1)],
    })
}

/// An elementwise program and the ops that run it.
#[derive(Clone, Debug)]
pub struct Pointwise {
    /// Its function's name in generated code.
    pub name: String,
    /// The program.
    pub program: Program,
    /// The layers (location names) of the ops that run it, for people.
    pub layers: Vec<String>,
}

impl Plan {
    /// The groups in program order.
    pub fn ordered(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by_key(|group| group.order);
        groups
    }

    /// The groups as generated code needs them: each named `nmdu_<order>_<layer>`.
    pub fn codegen_groups(&self) -> Vec<cim_nmdu::codegen::Group> {
        self.ordered()
            .into_iter()
            .map(|group| {
                let layer: String = group
                    .layer
                    .as_deref()
                    .unwrap_or("group")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                cim_nmdu::codegen::Group {
                    name: format!("nmdu_{}_{layer}", group.order),
                    kernel: group.kernel.clone(),
                    tables: group.tables.clone(),
                }
            })
            .collect()
    }
}

fn is_digital(name: &str) -> bool {
    matches!(
        name,
        ops::SHIFT_ADD | ops::DIFF | ops::ACCUMULATE | ops::AFFINE
    )
}

fn op_key(op: &OperationRef) -> usize {
    op.to_raw().ptr as usize
}

fn value_key(value: Value) -> usize {
    value.to_raw().ptr as usize
}

/// Every op in `block` and the regions below it, in order.
fn walk<'c, 'a>(block: BlockRef<'c, 'a>, visit: &mut dyn FnMut(OperationRef<'c, 'a>)) {
    let mut next = block.first_operation();
    while let Some(op) = next {
        visit(op);
        for index in 0..op.region_count() {
            if let Ok(region) = op.region(index) {
                let mut inner = region.first_block();
                while let Some(block) = inner {
                    walk(block, visit);
                    inner = block.next_in_region();
                }
            }
        }
        next = op.next_in_block();
    }
}

/// One term of a linear form: an MVM's codes (by index into the lowering's
/// sources), placed, with a coefficient per column of the form.
#[derive(Clone, Debug)]
struct Term {
    source: usize,
    placement: Placement,
    coefficients: Vec<f64>,
}

/// The linear form of a value of `width` columns: terms and a constant per column.
#[derive(Clone, Debug)]
struct Linear {
    width: usize,
    terms: Vec<Term>,
    constant: Vec<f64>,
}

impl Linear {
    /// A one-column form read by `width` columns.
    fn broadcast(mut self, width: usize) -> Self {
        if self.width != 1 || width == 1 {
            return self;
        }
        for term in &mut self.terms {
            term.placement = Placement::Everywhere;
            term.coefficients = vec![term.coefficients[0]; width];
        }
        self.constant = vec![self.constant[0]; width];
        self.width = width;
        self
    }

    /// `self · factor[c]` (one factor for every column, or one per column).
    fn scaled(mut self, factor: &[f64]) -> Self {
        let at = |c: usize| {
            if factor.len() == 1 {
                factor[0]
            } else {
                factor[c]
            }
        };
        for values in self
            .terms
            .iter_mut()
            .map(|term| &mut term.coefficients)
            .chain([&mut self.constant])
        {
            for (c, value) in values.iter_mut().enumerate() {
                *value *= at(c);
            }
        }
        self
    }

    fn plus(self, other: Linear) -> Self {
        let width = self.width.max(other.width);
        let (mut sum, other) = (self.broadcast(width), other.broadcast(width));
        for term in other.terms {
            match sum
                .terms
                .iter_mut()
                .find(|t| t.source == term.source && t.placement == term.placement)
            {
                Some(existing) => {
                    for (a, b) in existing.coefficients.iter_mut().zip(&term.coefficients) {
                        *a += b;
                    }
                }
                None => sum.terms.push(term),
            }
        }
        for (a, b) in sum.constant.iter_mut().zip(&other.constant) {
            *a += b;
        }
        sum
    }

    /// The forms side by side (a concatenation along columns).
    fn concatenated(parts: Vec<Linear>) -> Option<Self> {
        let width: usize = parts.iter().map(|part| part.width).sum();
        let mut whole = Linear {
            width,
            terms: Vec::new(),
            constant: Vec::with_capacity(width),
        };
        let mut base = 0;
        for part in parts {
            for term in part.terms {
                let Placement::At(offset) = term.placement else {
                    // A broadcast column inside a tile would reach only the tile.
                    return None;
                };
                let mut coefficients = vec![0.0; width];
                coefficients[base..base + part.width].copy_from_slice(&term.coefficients);
                whole.terms.push(Term {
                    source: term.source,
                    placement: Placement::At(base + offset),
                    coefficients,
                });
            }
            whole.constant.extend(&part.constant);
            base += part.width;
        }
        Some(whole)
    }
}

/// The static last dimension of a value.
fn columns(value: Value, op: &OperationRef) -> Result<usize, InterpError> {
    cim_ir::query::TensorShape::of_value(value)
        .and_then(|shape| shape.last())
        .flatten()
        .map(|cols| cols as usize)
        .ok_or_else(|| malformed(op, "the NMDU lowering needs static column counts"))
}

/// The column vector attribute `name` of a `cim.affine`.
fn column_attribute(op: &OperationRef, name: &str) -> Result<Vec<f64>, InterpError> {
    attribute(op, name)
        .and_then(cim_ir::build::read_dense_f32)
        .map(|values| values.into_iter().map(f64::from).collect())
        .ok_or_else(|| malformed(op, format!("{name} must be dense f32")))
}

/// An MVM a lowering reads: its result, array, ADC, columns.
struct Source {
    value: usize,
    array: String,
    lo: f64,
    step: f64,
    max_code: i64,
    width: usize,
}

struct Lowering {
    sources: Vec<Source>,
}

impl Lowering {
    /// The linear form of `value` in the MVMs' codes.
    fn linear(&mut self, value: Value, user: &OperationRef) -> Result<Linear, InterpError> {
        let Some(op) = defining_op(value) else {
            return Err(malformed(
                user,
                "the NMDU lowering reads MVM results, but an operand is a block argument",
            ));
        };
        let name = op_name(&op);
        let operands: Vec<Value> = op.operands().collect();
        let terms = |this: &mut Self, weights: &[f64]| -> Result<Linear, InterpError> {
            let mut sum: Option<Linear> = None;
            for (operand, &weight) in operands.iter().zip(weights) {
                let term = this.linear(*operand, &op)?.scaled(&[weight]);
                sum = Some(match sum {
                    Some(sum) => sum.plus(term),
                    None => term,
                });
            }
            sum.ok_or_else(|| malformed(&op, "no operands"))
        };
        match name.as_str() {
            ops::MVM => {
                // An MVM's result is `lo + step · code`, `code` in 0..=max_code.
                let (bits, lo, hi, planes) = match attribute(&op, "adc").and_then(Converter::read) {
                    Some(Converter::Adc { bits, lo, hi }) => (bits, lo, hi, None),
                    // Per-plane conversion: the result is Σ_b 2^b·step_x·(lo + δ·c_b),
                    // one code of (2^B − 1)(2^A − 1) steps when the DAC starts at 0.
                    Some(Converter::AdcPerPlane { bits, lo, hi }) => {
                        match attribute(&op, "dac").and_then(Converter::read) {
                            Some(Converter::Dac {
                                bits: planes,
                                lo: 0.0,
                                hi: x_hi,
                                ..
                            }) if (1..=16).contains(&planes) => {
                                (bits, lo, hi, Some((planes, x_hi)))
                            }
                            _ => {
                                return Err(malformed(
                                    &op,
                                    "the NMDU lowering reads per-plane conversions of a bit-serial DAC over [0, hi] only (signed inputs add an all-ones plane)",
                                ));
                            }
                        }
                    }
                    _ => {
                        return Err(malformed(
                            &op,
                            "the NMDU reads ADC codes, but this MVM has no ADC (an exact artifact?): run the mapped program",
                        ));
                    }
                };
                if !((1..=24).contains(&bits) && lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(malformed(
                        &op,
                        format!("ADC of {bits} bits over [{lo}, {hi}]"),
                    ));
                }
                let width = columns(value, &op)?;
                let levels = (1i64 << bits) - 1;
                let (lo, step, max_code) = match planes {
                    None => (lo, (hi - lo) / levels as f64, levels),
                    Some((planes, x_hi)) => {
                        let inputs = (1i64 << planes) - 1;
                        let x_step = x_hi / inputs as f64;
                        (
                            x_step * lo * inputs as f64,
                            x_step * (hi - lo) / levels as f64,
                            inputs * levels,
                        )
                    }
                };
                if max_code >= 1 << 24 {
                    return Err(malformed(
                        &op,
                        "per-plane codes of more than 24 bits: the NMDU reads 24",
                    ));
                }
                let key = value_key(value);
                let index = match self.sources.iter().position(|s| s.value == key) {
                    Some(index) => index,
                    None => {
                        let array = attribute(&op, "array")
                            .and_then(|a| FlatSymbolRefAttribute::try_from(a).ok())
                            .map(|symbol| symbol.value().to_owned())
                            .unwrap_or_default();
                        self.sources.push(Source {
                            value: key,
                            array,
                            lo,
                            step,
                            max_code,
                            width,
                        });
                        self.sources.len() - 1
                    }
                };
                let source = &self.sources[index];
                Ok(Linear {
                    width,
                    terms: vec![Term {
                        source: index,
                        placement: Placement::At(0),
                        coefficients: vec![source.step; width],
                    }],
                    constant: vec![source.lo; width],
                })
            }
            ops::SHIFT_ADD => {
                let shifts = i64_array_attribute(&op, "shifts")
                    .ok_or_else(|| malformed(&op, "no shifts"))?;
                if shifts.len() != operands.len() || shifts.iter().any(|s| !(0..=62).contains(s)) {
                    return Err(malformed(&op, "one shift in 0..=62 per operand"));
                }
                let weights: Vec<f64> = shifts.iter().map(|&s| (s as f64).exp2()).collect();
                terms(self, &weights)
            }
            ops::DIFF => terms(self, &[1.0, -1.0]),
            ops::ACCUMULATE => terms(self, &vec![1.0; operands.len()]),
            ops::AFFINE => {
                let (scale, offset) = (
                    column_attribute(&op, "scale")?,
                    column_attribute(&op, "offset")?,
                );
                let input = self.linear(operands[0], &op)?;
                if scale.len() != input.width || offset.len() != input.width {
                    return Err(malformed(&op, "scale and offset need one value per column"));
                }
                let width = input.width;
                Ok(input.scaled(&scale).plus(Linear {
                    width,
                    terms: Vec::new(),
                    constant: offset,
                }))
            }
            ops::CONCAT => {
                let dimension = cim_ir::query::int_attribute(&op, "dimension")
                    .ok_or_else(|| malformed(&op, "no dimension"))?;
                let rank = cim_ir::query::TensorShape::of_value(value).map_or(0, |s| s.rank());
                if dimension != rank as i64 - 1 {
                    return Err(malformed(
                        &op,
                        "the NMDU lowering concatenates along columns (the last dimension) only",
                    ));
                }
                let parts = operands
                    .iter()
                    .map(|operand| self.linear(*operand, &op))
                    .collect::<Result<Vec<_>, _>>()?;
                Linear::concatenated(parts).ok_or_else(|| {
                    malformed(&op, "a broadcast reference column inside a column tile")
                })
            }
            other => Err(malformed(
                user,
                format!(
                    "the NMDU lowering reads MVM results through shift_add, diff, accumulate, affine and concat, but an operand comes from '{other}'"
                ),
            )),
        }
    }
}

/// `floor(log2(x))` for a positive finite `x`.
fn floor_log2(x: f64) -> i32 {
    x.log2().floor() as i32
}

/// Lowers the tree whose root is `op` (a digital op with `cols` result columns).
fn lower_group(
    op: &OperationRef,
    cols: usize,
    format: Format,
    fused: &Fused,
) -> Result<Group, InterpError> {
    let mut lowering = Lowering {
        sources: Vec::new(),
    };
    let result: Value = op.result(0).map_err(|_| malformed(op, "no result"))?.into();
    let mut linear = lowering.linear(result, op)?.broadcast(cols);
    if let Some(bias) = &fused.bias {
        for (constant, b) in linear.constant.iter_mut().zip(bias) {
            *constant += b;
        }
    }
    if linear.width != cols {
        return Err(malformed(
            op,
            "the group's columns differ from its result's",
        ));
    }
    // One kernel plane per placed MVM.
    let planes: Vec<Plane> = linear
        .terms
        .iter()
        .map(|term| {
            let source = &lowering.sources[term.source];
            Plane {
                value: source.value,
                array: source.array.clone(),
                lo: source.lo,
                step: source.step,
                max_code: source.max_code,
                width: source.width,
                placement: term.placement,
            }
        })
        .collect();
    if planes.is_empty() || planes.len() > cim_nmdu::MAX_PLANES {
        return Err(malformed(
            op,
            format!(
                "{} MVMs in one group: the NMDU combines 1..={}",
                planes.len(),
                cim_nmdu::MAX_PLANES
            ),
        ));
    }
    let coefficient = |p: usize, c: usize| -> f64 { linear.terms[p].coefficients[c] };
    let constant = |c: usize| linear.constant[c];
    // The kernel reads every plane's codes as `code_bits` wide (clamped to `top`):
    // its bounds, and the tables' check of them, count that width.
    let code_bits = planes
        .iter()
        .map(|plane| 64 - (plane.max_code as u64).leading_zeros())
        .max()
        .unwrap_or(1);
    let top = ((1u64 << code_bits) - 1) as f64;
    let (mut largest, mut bound) = (0f64, 0f64);
    for c in 0..cols {
        let mut sum = constant(c).abs();
        for p in 0..planes.len() {
            let a = coefficient(p, c);
            largest = largest.max(a.abs());
            sum += a.abs() * top;
        }
        bound = bound.max(sum);
    }
    if !largest.is_finite() || !bound.is_finite() || largest == 0.0 {
        return Err(malformed(
            op,
            "the group's coefficients are zero or not finite: nothing to lower",
        ));
    }
    // The largest F with every multiplier and every possible sum within its width.
    let multiplier_max = ((1i64 << (format.multiplier_bits - 1)) - 1) as f64;
    let accumulator_max = ((1i64 << (format.accumulator_bits - 1)) - 1) as f64;
    let mut fraction = floor_log2(multiplier_max / largest)
        .min(floor_log2(accumulator_max / (bound + cols as f64 + 1.0)));
    // Rounding may carry a multiplier or the sum one step past its width.
    let (tables, sum_bits) = loop {
        let unit = f64::from(fraction).exp2();
        let multipliers: Vec<i64> = (0..planes.len())
            .flat_map(|p| (0..cols).map(move |c| (p, c)))
            .map(|(p, c)| (coefficient(p, c) * unit).round() as i64)
            .collect();
        let tables = Tables {
            cols,
            multipliers: multipliers
                .iter()
                .map(|&m| m.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
                .collect(),
            bias: (0..cols)
                .map(|c| (constant(c) * unit).round() as i64)
                .collect(),
        };
        let sum_bits = cim_nmdu::sum_bits(&tables, planes.len(), code_bits);
        if sum_bits <= format.accumulator_bits
            && multipliers
                .iter()
                .all(|m| m.unsigned_abs() as f64 <= multiplier_max)
        {
            break (tables, sum_bits);
        }
        fraction -= 1;
    };
    // Bits the largest sum needs beyond the sign, and the shift that fits them.
    let out_shift = (sum_bits - 1).saturating_sub(format.out_bits - 1);
    let kernel = Kernel {
        planes: planes.len(),
        code_bits,
        multiplier_bits: format.multiplier_bits,
        accumulator_bits: format.accumulator_bits,
        sum_bits,
        activation: match fused.activation {
            None => Activation::Identity,
            Some(FusedActivation::Relu) => Activation::Relu,
            Some(FusedActivation::Clip(lo, hi)) => {
                // In accumulator units; beyond i64 the bound never binds.
                let at =
                    |x: f64| (x * f64::from(fraction).exp2()).round().clamp(-4e18, 4e18) as i64;
                Activation::Clip {
                    lo: at(lo),
                    hi: at(hi),
                }
            }
            Some(FusedActivation::Leaky(alpha)) => Activation::Leaky {
                slope: (alpha * f64::from(1u32 << cim_nmdu::SLOPE_FRACTION)).round() as i64,
            },
        },
        out_shift,
        out_bits: format.out_bits,
    };
    if let Some(problem) = kernel.problem().or_else(|| tables.problem(&kernel)) {
        return Err(malformed(op, format!("NMDU lowering: {problem}")));
    }
    Ok(Group {
        order: 0,
        root: [op_name(op)]
            .into_iter()
            .chain(fused.bias.as_ref().map(|_| "bias".to_owned()))
            .chain(fused.activation.map(|a| a.name().to_owned()))
            .collect::<Vec<_>>()
            .join(" + "),
        layer: cim_ir::query::location_name(op.location()),
        planes,
        kernel,
        tables,
        unit: f64::from(out_shift as i32 - fraction).exp2(),
        fraction,
    })
}

/// An activation a kernel can apply, in the IR's units.
#[derive(Clone, Copy, Debug)]
enum FusedActivation {
    Relu,
    Clip(f64, f64),
    Leaky(f64),
}

impl FusedActivation {
    fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Clip(..) => "clip",
            Self::Leaky(_) => "leaky_relu",
        }
    }
}

/// Elementwise work after a group that its kernel does too: a bias added per
/// column, then an activation; and the op whose result the kernel then gives.
struct Fused<'c, 'a> {
    bias: Option<Vec<f64>>,
    activation: Option<FusedActivation>,
    last: OperationRef<'c, 'a>,
    absorbed: Vec<usize>,
}

/// The ops of a `linalg.generic`'s body, when it is a plain elementwise generic on
/// 2-D tensors with `maps` (as printed).
fn generic_body<'c, 'a>(
    op: &OperationRef<'c, 'a>,
    maps: &str,
) -> Option<Vec<OperationRef<'c, 'a>>> {
    if op_name(op) != "linalg.generic"
        || attribute(op, "indexing_maps")
            .map(|a| a.to_string())
            .as_deref()
            != Some(maps)
    {
        return None;
    }
    let block = op.region(0).ok()?.first_block()?;
    let mut ops = Vec::new();
    let mut next = block.first_operation();
    while let Some(inner) = next {
        ops.push(inner);
        next = inner.next_in_block();
    }
    Some(ops)
}

/// Whether `value` is argument `index` of its block.
fn is_argument(value: Value, index: usize) -> bool {
    melior::ir::block::BlockArgument::try_from(value).is_ok_and(|a| a.argument_number() == index)
}

/// `op` when it computes `f(arg0, x)` (either order) and yields it, with `x`.
fn binary_of_argument<'c, 'a>(body: &[OperationRef<'c, 'a>], name: &str) -> Option<Value<'c, 'a>> {
    let [compute, yielded] = body else {
        return None;
    };
    if op_name(compute) != name || op_name(yielded) != "linalg.yield" {
        return None;
    }
    let result: Value = compute.result(0).ok()?.into();
    if yielded.operand(0).ok()? != result {
        return None;
    }
    other_operand(compute)
}

/// The other operand of a binary `op` when one is the body's input.
fn other_operand<'c, 'a>(op: &OperationRef<'c, 'a>) -> Option<Value<'c, 'a>> {
    let (a, b) = (op.operand(0).ok()?, op.operand(1).ok()?);
    if is_argument(a, 0) {
        Some(b)
    } else if is_argument(b, 0) {
        Some(a)
    } else {
        None
    }
}

const IDENTITY_2D: &str = "[affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>]";
const BIAS_2D: &str = "[affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>]";

/// The bias add and ReLU that follow `root` (each the only reader of what it
/// reads), as `linalg.generic`s on its 2-D result.
fn fusable<'c, 'a>(
    root: OperationRef<'c, 'a>,
    cols: usize,
    readers: &HashMap<usize, Vec<OperationRef<'c, 'a>>>,
) -> Fused<'c, 'a> {
    let mut fused = Fused {
        bias: None,
        activation: None,
        last: root,
        absorbed: Vec::new(),
    };
    let only_reader = |op: &OperationRef<'c, 'a>| -> Option<OperationRef<'c, 'a>> {
        let value: Value = op.result(0).ok()?.into();
        match readers.get(&value_key(value))?.as_slice() {
            [only] if only.operand(0).ok()? == value => Some(*only),
            _ => None,
        }
    };
    if let Some(next) = only_reader(&fused.last)
        && let Some(body) = generic_body(&next, BIAS_2D)
        && next.operand_count() == 3
        && let Some(other) = binary_of_argument(&body, "arith.addf")
        && is_argument(other, 1)
        && let Some(constant) = next.operand(1).ok().and_then(defining_op)
        && op_name(&constant) == "arith.constant"
        && let Some(values) = attribute(&constant, "value").and_then(cim_ir::build::read_dense_f32)
        && values.len() == cols
    {
        fused.bias = Some(values.into_iter().map(f64::from).collect());
        fused.absorbed.push(op_key(&fused.last));
        fused.last = next;
    }
    if let Some(next) = only_reader(&fused.last)
        && next.operand_count() == 2
        && let Some(body) = generic_body(&next, IDENTITY_2D)
        && let Some(activation) = activation_of(&body)
    {
        fused.activation = Some(activation);
        fused.absorbed.push(op_key(&fused.last));
        fused.last = next;
    }
    fused
}

/// The scalar a value holds when an `arith.constant` defines it.
fn constant_of(value: Value) -> Option<f64> {
    let op = defining_op(value)?;
    (op_name(&op) == "arith.constant")
        .then(|| cim_ir::query::float_attribute(&op, "value"))
        .flatten()
}

/// The activation an elementwise body computes of its input: ReLU `max(x, 0)`,
/// clip `min(max(x, lo), hi)`, or LeakyReLU `x > 0 ? x : x·a` (|a| <= 1), as the
/// frontends write them (constants anywhere).
fn activation_of<'c, 'a>(body: &[OperationRef<'c, 'a>]) -> Option<FusedActivation> {
    fn result<'c, 'a>(op: &OperationRef<'c, 'a>) -> Option<Value<'c, 'a>> {
        Some(op.result(0).ok()?.into())
    }
    let other = other_operand;
    let yields = |op: &OperationRef<'c, 'a>, value: Option<Value<'c, 'a>>| {
        value.is_some() && op.operand(0).ok() == value
    };
    let ops: Vec<&OperationRef<'c, 'a>> = body
        .iter()
        .filter(|op| op_name(op) != "arith.constant")
        .collect();
    let names: Vec<String> = ops.iter().map(|op| op_name(op)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["arith.maximumf" | "arith.maxnumf", "linalg.yield"]
            if yields(ops[1], result(ops[0])) && constant_of(other(ops[0])?) == Some(0.0) =>
        {
            Some(FusedActivation::Relu)
        }
        [
            "arith.maximumf" | "arith.maxnumf",
            "arith.minimumf" | "arith.minnumf",
            "linalg.yield",
        ] if yields(ops[2], result(ops[1])) => {
            let lo = constant_of(other(ops[0])?)?;
            let (a, b) = (ops[1].operand(0).ok()?, ops[1].operand(1).ok()?);
            let hi = if Some(a) == result(ops[0]) {
                constant_of(b)?
            } else if Some(b) == result(ops[0]) {
                constant_of(a)?
            } else {
                return None;
            };
            (lo <= hi).then_some(FusedActivation::Clip(lo, hi))
        }
        ["arith.mulf", "arith.cmpf", "arith.select", "linalg.yield"]
            if yields(ops[3], result(ops[2])) =>
        {
            let alpha = constant_of(other(ops[0])?)?;
            // x > 0 (ogt: 2) selects x, else the product.
            let predicate = attribute(ops[1], "predicate")
                .and_then(|a| melior::ir::attribute::IntegerAttribute::try_from(a).ok())
                .map(|a| a.value())?;
            let compares_input = is_argument(ops[1].operand(0).ok()?, 0)
                && constant_of(ops[1].operand(1).ok()?) == Some(0.0);
            let selects = ops[2].operand(0).ok() == result(ops[1])
                && is_argument(ops[2].operand(1).ok()?, 0)
                && ops[2].operand(2).ok() == result(ops[0]);
            (predicate == 2 && compares_input && selects && alpha.abs() <= 1.0)
                .then_some(FusedActivation::Leaky(alpha))
        }
        _ => None,
    }
}

/// Lowers every tree of digital ops in `block` (a function body), with the bias
/// add and the activation (ReLU, clip, LeakyReLU) that follow it where they do.
pub fn plan(block: BlockRef, format: Format) -> Result<Plan, InterpError> {
    let mut readers: HashMap<usize, Vec<OperationRef>> = HashMap::new();
    let mut roots = Vec::new();
    let mut generics = Vec::new();
    let mut matmul = false;
    walk(block, &mut |op| {
        for operand in op.operands() {
            readers.entry(value_key(operand)).or_default().push(op);
        }
        let name = op_name(&op);
        if is_digital(&name) {
            roots.push(op);
        }
        matmul |= name == "linalg.matmul" || name == ops::ADAPTER;
        // Named ops on tensors (an `arith.addf` of scalars, in a body or not, is
        // the body's business).
        let on_tensors = op
            .result(0)
            .is_ok_and(|result| cim_ir::query::TensorShape::of_value(result.into()).is_some());
        if name == "linalg.generic"
            || (on_tensors && named_program(&name, format.fraction_bits).is_some())
        {
            generics.push(op);
        }
    });
    let mut plan = Plan {
        matmul: matmul.then_some(format.fraction_bits),
        ..Plan::default()
    };
    for op in roots {
        let result: Value = op
            .result(0)
            .map_err(|_| malformed(&op, "no result"))?
            .into();
        let users = readers
            .get(&value_key(result))
            .map_or(&[][..], Vec::as_slice);
        if !users.is_empty() && users.iter().all(|user| is_digital(&op_name(user))) {
            plan.skipped.insert(op_key(&op));
            continue;
        }
        let cols = cim_ir::query::TensorShape::of_value(result)
            .and_then(|shape| shape.last())
            .flatten()
            .ok_or_else(|| malformed(&op, "the result needs a static last dimension"))?
            as usize;
        let fused = fusable(op, cols, &readers);
        let mut group = lower_group(&op, cols, format, &fused)?;
        group.order = plan.groups.len();
        plan.skipped.extend(&fused.absorbed);
        plan.groups.insert(op_key(&fused.last), group);
    }
    for op in generics {
        if plan.skipped.contains(&op_key(&op)) || plan.groups.contains_key(&op_key(&op)) {
            continue;
        }
        let name = op_name(&op);
        let program = match named_program(&name, format.fraction_bits) {
            Some(program) => program,
            None => match crate::generic::lower(&op, format.fraction_bits)? {
                Some(program) => program,
                None => continue,
            },
        };
        let index = match plan.pointwise.iter().position(|p| p.program == program) {
            Some(index) => index,
            None => {
                plan.pointwise.push(Pointwise {
                    name: format!("nmdu_pointwise_{}", plan.pointwise.len()),
                    program,
                    layers: Vec::new(),
                });
                plan.pointwise.len() - 1
            }
        };
        if let Some(layer) = cim_ir::query::location_name(op.location()) {
            let layers = &mut plan.pointwise[index].layers;
            if !layers.contains(&layer) {
                layers.push(layer);
            }
        }
        plan.programs.insert(op_key(&op), index);
    }
    Ok(plan)
}

fn list<T: std::fmt::Display>(values: &[T]) -> String {
    const SHOWN: usize = 8;
    let mut text: Vec<String> = values.iter().take(SHOWN).map(T::to_string).collect();
    if values.len() > SHOWN {
        text.push(format!("... ({} more)", values.len() - SHOWN));
    }
    format!("[{}]", text.join(", "))
}

impl std::fmt::Display for Plan {
    /// The lowering as text: per group its root, kernel, planes and tables (the
    /// first values of each), as `cim-translate --to-nmdu` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for group in self.ordered() {
            let kernel = &group.kernel;
            let cols = group.tables.cols;
            writeln!(
                f,
                "group {} '{}' ({}): {} planes x {cols} columns, fraction {}, accumulator {} bits, out_shift {}, out {} bits, unit {}, activation {:?}",
                group.order,
                group.layer.as_deref().unwrap_or("?"),
                group.root,
                kernel.planes,
                group.fraction,
                kernel.accumulator_bits,
                kernel.out_shift,
                kernel.out_bits,
                group.unit,
                kernel.activation
            )?;
            for (p, plane) in group.planes.iter().enumerate() {
                writeln!(
                    f,
                    "  plane {p} @{}: codes 0..={} step {} from {}, multipliers {}",
                    plane.array,
                    plane.max_code,
                    plane.step,
                    plane.lo,
                    list(&group.tables.multipliers[p * cols..(p + 1) * cols])
                )?;
            }
            writeln!(f, "  bias {}", list(&group.tables.bias))?;
        }
        for pointwise in &self.pointwise {
            let program = &pointwise.program;
            let layers = if pointwise.layers.is_empty() {
                String::new()
            } else {
                format!(" ({})", pointwise.layers.join(", "))
            };
            writeln!(
                f,
                "pointwise {}{layers}: Q{}.{}, {} arguments, {} results",
                pointwise.name,
                31 - program.fraction,
                program.fraction,
                program.arguments,
                program.results.len()
            )?;
            write!(f, "{program}")?;
        }
        if let Some(fraction) = self.matmul {
            writeln!(
                f,
                "matmul nmdu_matmul: Q{}.{fraction} digital matrix products (linalg.matmul, cim.adapter)",
                31 - fraction
            )?;
        }
        Ok(())
    }
}
