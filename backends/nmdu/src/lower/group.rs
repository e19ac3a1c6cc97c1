//! One group: a tree of `cim.shift_add`, `cim.diff`, `cim.accumulate`,
//! `cim.affine` and `cim.concat` over MVM results, as the linear form of its MVMs'
//! ADC codes, and that form as one fixed-point [`Kernel`] with its [`Tables`].

use super::{
    Format,
    fuse::{Fused, FusedActivation},
};
use crate::{Activation, Kernel, MAX_PLANES, SLOPE_FRACTION, Tables, sum_bits};
use cim_interp::{InterpError, malformed};
use cim_ir::{
    attributes::{Converter, InputScaling, symmetric_step},
    dialect::ops,
    mapped::MvmOp,
    marks,
    query::{attribute, defining_op, i64_array_attribute, op_name, value_id},
};
use melior::ir::{OperationRef, Value, operation::OperationLike};

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
    /// The MVM's result ([`cim_ir::query::value_id`]).
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

impl Group {
    /// The name of its function in generated code: `nmdu_<order>_<layer>` (a C
    /// identifier).
    pub fn function_name(&self) -> String {
        let layer: String = self
            .layer
            .as_deref()
            .unwrap_or("group")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        format!("nmdu_{}_{layer}", self.order)
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

struct Lowering<'f> {
    sources: Vec<Source>,
    /// Each MVM's digital factors per column (by op id): a chip's drift
    /// compensation, which multiplies the MVM's result after conversion.
    factors: &'f Factors,
}

/// Digital factors per column of each MVM's result, by the MVM's op id (one value
/// for every column, or one per column).
pub type Factors = std::collections::HashMap<usize, Vec<f64>>;

impl Lowering<'_> {
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
                let dac = attribute(&op, "dac").and_then(Converter::read);
                // A managed DAC multiplies the result back by each vector's scale:
                // one scale for all (none, constant) is the codes' worth; a scale
                // per vector (abs_max) is not.
                let dac_scale = match dac {
                    Some(Converter::DacManaged {
                        scaling: InputScaling::AbsMax,
                        ..
                    }) => {
                        return Err(malformed(
                            &op,
                            "the NMDU reads ADC codes of one worth per MVM, but input scaling abs_max gives every input vector its own: run with float digital work, or a target with [dac] management = \"none\" or \"constant\"",
                        ));
                    }
                    Some(Converter::DacManaged {
                        scaling: InputScaling::Constant,
                        constant,
                        ..
                    }) => constant,
                    _ => 1.0,
                };
                let (bits, lo, hi, planes) = match attribute(&op, "adc").and_then(Converter::read) {
                    Some(Converter::Adc { bits, lo, hi }) => (bits, lo, hi, None),
                    Some(Converter::AdcManaged { passes, .. }) if passes > 1 => {
                        return Err(malformed(
                            &op,
                            "the NMDU reads ADC codes of one worth per MVM, but bound management converts a saturated vector again at another: run with float digital work, or a target with [adc] management = \"none\"",
                        ));
                    }
                    // 2^bits − 1 levels k·step, |k| <= 2^(bits-1) − 1: codes from −bound.
                    Some(Converter::AdcManaged { bits, bound, .. }) => {
                        let step = symmetric_step(bits, bound);
                        let top = (1i64 << (bits.clamp(2, 24) - 1)) - 1;
                        (
                            bits,
                            -(top as f64) * step,
                            top as f64 * step,
                            Some((0, 0.0)),
                        )
                    }
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
                    // The symmetric levels of a managed ADC.
                    Some((0, _)) => (lo, symmetric_step(bits, hi), levels - 1),
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
                let (lo, step) = (lo * dac_scale, step * dac_scale);
                if max_code >= 1 << 24 {
                    return Err(malformed(
                        &op,
                        "per-plane codes of more than 24 bits: the NMDU reads 24",
                    ));
                }
                let key = value_id(value);
                let index = match self.sources.iter().position(|s| s.value == key) {
                    Some(index) => index,
                    None => {
                        let array = MvmOp::read(op)
                            .and_then(|mvm| mvm.array())
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
                let factor = |column: usize| match self.factors.get(&cim_ir::query::op_id(&op)) {
                    Some(factors) if factors.len() == 1 => factors[0],
                    Some(factors) => factors.get(column).copied().unwrap_or(1.0),
                    None => 1.0,
                };
                Ok(Linear {
                    width,
                    terms: vec![Term {
                        source: index,
                        placement: Placement::At(0),
                        coefficients: (0..width).map(|c| source.step * factor(c)).collect(),
                    }],
                    constant: (0..width).map(|c| source.lo * factor(c)).collect(),
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
pub(crate) fn lower_group(
    op: &OperationRef,
    cols: usize,
    format: Format,
    fused: &Fused,
    factors: &Factors,
) -> Result<Group, InterpError> {
    let mut lowering = Lowering {
        factors,
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
    if planes.is_empty() || planes.len() > MAX_PLANES {
        return Err(malformed(
            op,
            format!(
                "{} MVMs in one group: the NMDU combines 1..={}",
                planes.len(),
                MAX_PLANES
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
        let sum_bits = sum_bits(&tables, planes.len(), code_bits);
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
                slope: (alpha * f64::from(1u32 << SLOPE_FRACTION)).round() as i64,
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
        layer: marks::layer(op),
        planes,
        kernel,
        tables,
        unit: f64::from(out_shift as i32 - fraction).exp2(),
        fraction,
    })
}
