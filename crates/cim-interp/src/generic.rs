//! `linalg.generic`: the iteration domain from the indexing maps and operand shapes,
//! the body compiled once into a small instruction list, then run at every point.

use crate::elementwise::Elementwise;
use crate::{InterpError, RtValue, key, malformed};
use cim_ir::query::{attribute, i64_array_attribute, op_name};
use cim_nmdu::pointwise::{self, Op, Operand, Program};
use melior::ir::{
    BlockLike, OperationRef, RegionLike, Value,
    attribute::{ArrayAttribute, IntegerAttribute},
    operation::OperationLike,
};
use ndarray::{ArrayD, IxDyn};
use std::collections::HashMap;

/// One result of an indexing map: `sum(coefficient * d_k) + constant`.
#[derive(Clone, Debug, PartialEq)]
struct MapResult {
    terms: Vec<(usize, i64)>,
    constant: i64,
}

impl MapResult {
    /// The loop dimension, when the result is exactly one (`d3`).
    fn single_dim(&self) -> Option<usize> {
        match self.terms.as_slice() {
            [(dim, 1)] if self.constant == 0 => Some(*dim),
            _ => None,
        }
    }

    fn at(&self, point: &[usize]) -> i64 {
        self.terms
            .iter()
            .map(|&(dim, c)| c * point[dim] as i64)
            .sum::<i64>()
            + self.constant
    }
}

/// Parses one term: `d3`, `d3 * 2`, `2 * d3` or `5`.
fn parse_term(term: &str) -> Option<(Option<usize>, i64)> {
    let factors: Vec<&str> = term.split('*').map(str::trim).collect();
    let mut dim = None;
    let mut coefficient = 1i64;
    for factor in factors {
        if let Some(index) = factor.strip_prefix('d') {
            if dim.replace(index.parse().ok()?).is_some() {
                return None;
            }
        } else {
            coefficient *= factor.parse::<i64>().ok()?;
        }
    }
    Some((dim, coefficient))
}

/// Parses `affine_map<(d0, d1) -> (d0 * 2 + d1, 0)>`: sums of scaled dimensions and
/// constants (what convolution and pooling windows need).
fn parse_map(text: &str) -> Option<(usize, Vec<MapResult>)> {
    let body = text.strip_prefix("affine_map<")?.strip_suffix('>')?;
    let (dims, results) = body.split_once("->")?;
    let count = dims
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .filter(|d| !d.trim().is_empty())
        .count();
    let results = results.trim().strip_prefix('(')?.strip_suffix(')')?;
    let parsed = results
        .split(',')
        .filter(|r| !r.trim().is_empty())
        .map(|result| {
            let mut parsed = MapResult {
                terms: Vec::new(),
                constant: 0,
            };
            for term in result.split('+') {
                match parse_term(term.trim())? {
                    (Some(dim), coefficient) => parsed.terms.push((dim, coefficient)),
                    (None, constant) => parsed.constant += constant,
                }
            }
            Some(parsed)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((count, parsed))
}

/// Where a body value comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// Block argument i (the operand element at the point).
    Argument(usize),
    /// A scalar defined outside the body.
    Outer(f64),
    /// The result of instruction i.
    Temporary(usize),
}

/// What a body instruction computes: an operation of the NMDU's elementwise unit
/// (the sigmoid `1 / (1 + exp(-x))` recognised in the body, see
/// [`fuse_sigmoids`]), or a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Op(Op),
    Constant(f64),
}

struct Instruction {
    kind: Kind,
    sources: Vec<Source>,
}

/// A compiled body: its instructions, what it yields, and whether it computes on
/// integers (exact in f64, so never run in fixed point).
struct Body {
    instructions: Vec<Instruction>,
    yields: Vec<Source>,
    integer: bool,
}

/// Compiles the body of `op`; `outer` gives the scalars it reads from outside.
fn compile(op: &OperationRef, outer: &dyn Fn(Value) -> Option<f64>) -> Result<Body, InterpError> {
    let block = op
        .region(0)
        .ok()
        .and_then(|region| region.first_block())
        .ok_or_else(|| malformed(op, "no body"))?;
    let mut slots: HashMap<usize, Source> = HashMap::new();
    for index in 0..block.argument_count() {
        let argument: Value = block
            .argument(index)
            .map_err(|_| malformed(op, "argument"))?
            .into();
        slots.insert(key(argument), Source::Argument(index));
    }
    let source = |slots: &HashMap<usize, Source>, value: Value| -> Result<Source, InterpError> {
        if let Some(source) = slots.get(&key(value)) {
            return Ok(*source);
        }
        outer(value)
            .map(Source::Outer)
            .ok_or_else(|| malformed(op, "the body reads a value that is not a scalar constant"))
    };
    let mut instructions = Vec::new();
    let mut integer = false;
    let mut body_op = block.first_operation();
    while let Some(inner) = body_op {
        let name = op_name(&inner);
        let sources = inner
            .operands()
            .map(|value| source(&slots, value))
            .collect::<Result<Vec<_>, _>>()?;
        if name == "linalg.yield" {
            fuse_sigmoids(&mut instructions);
            return Ok(Body {
                instructions,
                yields: sources,
                integer,
            });
        }
        integer |= matches!(
            name.as_str(),
            "arith.addi" | "arith.subi" | "arith.muli" | "arith.sitofp" | "arith.uitofp"
        );
        let kind = match name.as_str() {
            "arith.addf" | "arith.addi" => Kind::Op(Op::Add),
            "arith.subf" | "arith.subi" => Kind::Op(Op::Sub),
            "arith.mulf" | "arith.muli" => Kind::Op(Op::Mul),
            "arith.divf" => Kind::Op(Op::Div),
            "arith.maximumf" | "arith.maxnumf" => Kind::Op(Op::Max),
            "arith.minimumf" | "arith.minnumf" => Kind::Op(Op::Min),
            "arith.negf" => Kind::Op(Op::Neg),
            "math.absf" => Kind::Op(Op::Abs),
            "math.exp" => Kind::Op(Op::Exp),
            "math.log" => Kind::Op(Op::Log),
            "math.tanh" => Kind::Op(Op::Tanh),
            "math.sqrt" => Kind::Op(Op::Sqrt),
            "math.rsqrt" => Kind::Op(Op::Rsqrt),
            "arith.extf" | "arith.truncf" | "arith.sitofp" | "arith.uitofp" => Kind::Op(Op::Copy),
            "arith.select" => Kind::Op(Op::Select),
            "arith.cmpf" => {
                let predicate = attribute(&inner, "predicate")
                    .and_then(|attribute| IntegerAttribute::try_from(attribute).ok())
                    .map(|attribute| attribute.value())
                    .ok_or_else(|| malformed(op, "cmpf without a predicate"))?;
                Kind::Op(Op::Compare(predicate as u8))
            }
            "arith.constant" => {
                let value = cim_ir::query::float_attribute(&inner, "value")
                    .or_else(|| cim_ir::query::int_attribute(&inner, "value").map(|v| v as f64))
                    .ok_or_else(|| malformed(op, "body constant is not a scalar"))?;
                Kind::Constant(value)
            }
            other => {
                return Err(InterpError::Unsupported(format!(
                    "{other} (in a linalg.generic body)"
                )));
            }
        };
        let result: Value = inner
            .result(0)
            .map_err(|_| malformed(op, "body op without result"))?
            .into();
        slots.insert(key(result), Source::Temporary(instructions.len()));
        instructions.push(Instruction { kind, sources });
        body_op = inner.next_in_block();
    }
    Err(malformed(op, "body without linalg.yield"))
}

/// Turns each `1 / (1 + exp(-x))` (the form the ONNX frontend writes) into one
/// sigmoid of `x`, so an activation unit can compute it whole. The negation,
/// exponential and sum stay (another instruction may read them); in f64 the
/// sigmoid computes the same expression, so results do not change.
fn fuse_sigmoids(instructions: &mut [Instruction]) {
    let one = |instructions: &[Instruction], source: &Source| match *source {
        Source::Outer(value) => value == 1.0,
        Source::Temporary(index) => {
            matches!(instructions[index].kind, Kind::Constant(v) if v == 1.0)
        }
        Source::Argument(_) => false,
    };
    let temporary = |source: &Source| match *source {
        Source::Temporary(index) => Some(index),
        _ => None,
    };
    for k in 0..instructions.len() {
        let fused = (|| {
            let instruction = &instructions[k];
            if instruction.kind != Kind::Op(Op::Div) || !one(instructions, &instruction.sources[0])
            {
                return None;
            }
            let sum = &instructions[temporary(&instruction.sources[1])?];
            if sum.kind != Kind::Op(Op::Add) {
                return None;
            }
            let exponential = match (&sum.sources[0], &sum.sources[1]) {
                (a, b) if one(instructions, a) => temporary(b)?,
                (a, b) if one(instructions, b) => temporary(a)?,
                _ => return None,
            };
            let exponential = &instructions[exponential];
            if exponential.kind != Kind::Op(Op::Exp) {
                return None;
            }
            let negation = &instructions[temporary(&exponential.sources[0])?];
            (negation.kind == Kind::Op(Op::Neg)).then(|| negation.sources[0])
        })();
        if let Some(x) = fused {
            instructions[k] = Instruction {
                kind: Kind::Op(Op::Sigmoid),
                sources: vec![x],
            };
        }
    }
}

/// arith.cmpf predicates (MLIR's numbering); unordered ones treat NaN as true.
fn compare(predicate: u8, a: f64, b: f64) -> bool {
    let unordered = a.is_nan() || b.is_nan();
    match predicate {
        0 => false,
        1 => a == b,
        2 => a > b,
        3 => a >= b,
        4 => a < b,
        5 => a <= b,
        6 => !unordered && a != b,
        7 => !unordered,
        8 => unordered || a == b,
        9 => unordered || a > b,
        10 => unordered || a >= b,
        11 => unordered || a < b,
        12 => unordered || a <= b,
        13 => unordered || a != b,
        14 => unordered,
        _ => true,
    }
}

fn evaluate(instructions: &[Instruction], arguments: &[f64], temporaries: &mut Vec<f64>) {
    temporaries.clear();
    for instruction in instructions {
        let read = |source: &Source, temporaries: &Vec<f64>| match *source {
            Source::Argument(index) => arguments[index],
            Source::Outer(value) => value,
            Source::Temporary(index) => temporaries[index],
        };
        let arg = |index: usize| read(&instruction.sources[index], temporaries);
        let value = match instruction.kind {
            Kind::Op(Op::Add) => arg(0) + arg(1),
            Kind::Op(Op::Sub) => arg(0) - arg(1),
            Kind::Op(Op::Mul) => arg(0) * arg(1),
            Kind::Op(Op::Div) => arg(0) / arg(1),
            // maximumf/minimumf propagate NaN.
            Kind::Op(Op::Max) => {
                if arg(0).is_nan() || arg(1).is_nan() {
                    f64::NAN
                } else {
                    arg(0).max(arg(1))
                }
            }
            Kind::Op(Op::Min) => {
                if arg(0).is_nan() || arg(1).is_nan() {
                    f64::NAN
                } else {
                    arg(0).min(arg(1))
                }
            }
            Kind::Op(Op::Neg) => -arg(0),
            Kind::Op(Op::Abs) => arg(0).abs(),
            Kind::Op(Op::Exp) => arg(0).exp(),
            Kind::Op(Op::Log) => arg(0).ln(),
            Kind::Op(Op::Tanh) => arg(0).tanh(),
            Kind::Op(Op::Sigmoid) => 1.0 / (1.0 + (-arg(0)).exp()),
            Kind::Op(Op::Sqrt) => arg(0).sqrt(),
            Kind::Op(Op::Rsqrt) => 1.0 / arg(0).sqrt(),
            Kind::Op(Op::Copy) => arg(0),
            Kind::Constant(value) => value,
            Kind::Op(Op::Compare(predicate)) => {
                f64::from(u8::from(compare(predicate, arg(0), arg(1))))
            }
            Kind::Op(Op::Select) => {
                if arg(0) != 0.0 {
                    arg(1)
                } else {
                    arg(2)
                }
            }
        };
        temporaries.push(value);
    }
}

/// How a body's arithmetic runs.
pub enum Mode<'a> {
    /// In f64.
    Float,
    /// On the NMDU's elementwise unit, as the body's program ([`lower`]).
    Fixed(Elementwise<'a>),
}

/// The body as an elementwise program in Q.`fraction`, when it computes anything:
/// bodies that only move values, or compute on integers, stay exact. Constants
/// become operands, and what no result needs (the pieces of a fused sigmoid) is
/// dropped.
fn program(body: &Body, arguments: usize, fraction: u32) -> Option<Program> {
    if body.integer || body.instructions.is_empty() {
        return None;
    }
    let constant =
        |value: f64| Operand::Constant(pointwise::to_fixed(value, fraction).unwrap_or(0));
    // Instructions that stay, and each one's new index.
    let mut live = vec![false; body.instructions.len()];
    let mark = |source: &Source, live: &mut Vec<bool>| {
        if let Source::Temporary(index) = *source {
            live[index] = true;
        }
    };
    for source in &body.yields {
        mark(source, &mut live);
    }
    for index in (0..body.instructions.len()).rev() {
        let instruction = &body.instructions[index];
        if live[index] && !matches!(instruction.kind, Kind::Constant(_)) {
            for source in &instruction.sources {
                mark(source, &mut live);
            }
        }
    }
    let mut renumbered = vec![0; body.instructions.len()];
    let mut kept = 0;
    for (index, instruction) in body.instructions.iter().enumerate() {
        if live[index] && !matches!(instruction.kind, Kind::Constant(_)) {
            renumbered[index] = kept;
            kept += 1;
        }
    }
    let operand = |source: &Source| match *source {
        Source::Argument(index) => Operand::Argument(index),
        Source::Outer(value) => constant(value),
        Source::Temporary(index) => match body.instructions[index].kind {
            Kind::Constant(value) => constant(value),
            _ => Operand::Temporary(renumbered[index]),
        },
    };
    let instructions = body
        .instructions
        .iter()
        .enumerate()
        .filter(|(index, _)| live[*index])
        .filter_map(|(_, instruction)| {
            // Constants are read as operands.
            let Kind::Op(op) = instruction.kind else {
                return None;
            };
            Some(pointwise::Instruction {
                op,
                operands: instruction.sources.iter().map(operand).collect(),
            })
        })
        .collect();
    Some(Program {
        fraction,
        arguments,
        instructions,
        results: body.yields.iter().map(operand).collect(),
    })
}

/// The body of `op` as a program of the NMDU's elementwise unit in Q.`fraction`,
/// when it computes anything (see [`program`]). Scalars from outside the body must
/// be constants.
pub fn lower(op: &OperationRef, fraction: u32) -> Result<Option<Program>, InterpError> {
    let body = compile(op, &|value| {
        let constant =
            cim_ir::query::defining_op(value).filter(|def| op_name(def) == "arith.constant")?;
        cim_ir::query::float_attribute(&constant, "value")
            .or_else(|| cim_ir::query::int_attribute(&constant, "value").map(|v| v as f64))
    })?;
    let program = program(&body, op.operand_count(), fraction);
    if let Some(problem) = program.as_ref().and_then(Program::problem) {
        return Err(malformed(op, problem));
    }
    Ok(program)
}

/// Runs a `linalg.generic` on tensors.
pub fn run(
    op: &OperationRef,
    env: &HashMap<usize, RtValue>,
    operands: Vec<ArrayD<f64>>,
    mode: Mode,
) -> Result<Vec<RtValue>, InterpError> {
    let segments = i64_array_attribute(op, "operandSegmentSizes")
        .or_else(|| {
            // operandSegmentSizes is an i32 array.
            attribute(op, "operandSegmentSizes").and_then(|a| {
                let text = a.to_string();
                let list = text.strip_prefix("array<i32: ")?.strip_suffix('>')?;
                list.split(',').map(|v| v.trim().parse().ok()).collect()
            })
        })
        .ok_or_else(|| malformed(op, "no operandSegmentSizes"))?;
    let inputs = segments.first().copied().unwrap_or(0) as usize;
    let maps = ArrayAttribute::try_from(
        attribute(op, "indexing_maps").ok_or_else(|| malformed(op, "no indexing_maps"))?,
    )
    .map_err(|_| malformed(op, "indexing_maps is not an array"))?;
    let mut parsed = Vec::new();
    for index in 0..maps.len() {
        let text = maps
            .element(index)
            .map_err(|_| malformed(op, "map"))?
            .to_string();
        parsed.push(
            parse_map(&text)
                .ok_or_else(|| malformed(op, format!("unsupported indexing map {text}")))?,
        );
    }
    if parsed.len() != operands.len() {
        return Err(malformed(op, "one indexing map per operand expected"));
    }
    let dims = parsed.first().map_or(0, |(count, _)| *count);
    let mut bounds = vec![None; dims];
    for ((_, results), operand) in parsed.iter().zip(&operands) {
        if results.len() != operand.ndim() {
            return Err(malformed(
                op,
                "an indexing map's results differ from its operand's rank",
            ));
        }
        for (axis, result) in results.iter().enumerate() {
            if let Some(dim) = result.single_dim() {
                let size = operand.shape()[axis];
                match bounds[dim] {
                    None => bounds[dim] = Some(size),
                    Some(known) if known != size => {
                        return Err(malformed(op, format!("d{dim} is {known} and {size}")));
                    }
                    _ => {}
                }
            }
        }
    }
    let bounds: Vec<usize> = bounds.into_iter().map(|b| b.unwrap_or(1)).collect();
    let mut fixed = match mode {
        Mode::Fixed(elementwise) => Some(elementwise),
        Mode::Float => None,
    };
    let body = match &fixed {
        // The program stands for the body.
        Some(elementwise) => Body {
            instructions: Vec::new(),
            yields: (0..elementwise.result_count())
                .map(Source::Temporary)
                .collect(),
            integer: false,
        },
        None => compile(op, &|value| match env.get(&key(value)) {
            Some(RtValue::Scalar(scalar)) => Some(*scalar),
            Some(RtValue::Index(index)) => Some(*index as f64),
            _ => None,
        })?,
    };
    let mut results = vec![0.0; body.yields.len()];
    let mut outputs: Vec<ArrayD<f64>> = operands[inputs..].to_vec();
    let mut arguments = vec![0.0; operands.len()];
    let mut temporaries = Vec::with_capacity(body.instructions.len());
    let total: usize = bounds.iter().product();
    let mut point = vec![0usize; dims];
    let mut index = vec![0usize; 8];
    for _ in 0..total {
        for (slot, ((_, results), operand)) in parsed.iter().zip(&operands).enumerate() {
            index.resize(results.len(), 0);
            for (axis, result) in results.iter().enumerate() {
                let at = result.at(&point);
                if at < 0 || at as usize >= operand.shape()[axis] {
                    return Err(malformed(
                        op,
                        format!(
                            "indexing map reads position {at} of a dimension of size {}",
                            operand.shape()[axis]
                        ),
                    ));
                }
                index[axis] = at as usize;
            }
            arguments[slot] = if slot >= inputs {
                outputs[slot - inputs][IxDyn(&index)]
            } else {
                operand[IxDyn(&index)]
            };
        }
        match &mut fixed {
            None => {
                evaluate(&body.instructions, &arguments, &mut temporaries);
                for (result, source) in results.iter_mut().zip(&body.yields) {
                    *result = match *source {
                        Source::Argument(i) => arguments[i],
                        Source::Outer(value) => value,
                        Source::Temporary(i) => temporaries[i],
                    };
                }
            }
            Some(elementwise) => elementwise.apply(op, &arguments, &mut results)?,
        }
        for (output, &value) in results.iter().enumerate() {
            let (_, results) = &parsed[inputs + output];
            let index: Vec<usize> = results
                .iter()
                .map(|result| result.at(&point).max(0) as usize)
                .collect();
            outputs[output][IxDyn(&index)] = value;
        }
        // Next point, last dimension fastest.
        for dim in (0..dims).rev() {
            point[dim] += 1;
            if point[dim] < bounds[dim] {
                break;
            }
            point[dim] = 0;
        }
    }
    Ok(outputs.into_iter().map(RtValue::Tensor).collect())
}
