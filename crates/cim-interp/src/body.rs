//! The scalar body of a `linalg.generic`, compiled once into a list of
//! instructions: what the interpreter evaluates in `f64` at every point of the
//! iteration domain, and what the NMDU lowering turns into programs of its
//! elementwise unit (`backends/nmdu`).

use crate::{InterpError, malformed};
use cim_ir::query::{int_attribute, op_name, value_id};
use melior::ir::{BlockLike, OperationRef, RegionLike, Value, operation::OperationLike};
use std::collections::HashMap;

/// The scalar operations a body computes (arith and math ops, the sigmoid
/// recognised whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarOp {
    /// `a + b` (`arith.addf`, `arith.addi`).
    Add,
    /// `a - b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
    /// `max(a, b)`, NaN propagating.
    Max,
    /// `min(a, b)`, NaN propagating.
    Min,
    /// `-a`.
    Neg,
    /// `|a|`.
    Abs,
    /// `e^a`.
    Exp,
    /// `ln a`.
    Log,
    /// `tanh a`.
    Tanh,
    /// `1 / (1 + e^-a)`.
    Sigmoid,
    /// `√a`.
    Sqrt,
    /// `1 / √a`.
    Rsqrt,
    /// `a` (casts between float widths, integers to floats).
    Copy,
    /// `c ? a : b` (`arith.select`).
    Select,
    /// `arith.cmpf` with its predicate (MLIR's numbering): 1 or 0.
    Compare(u8),
    /// `arith.cmpi` with its predicate (MLIR's numbering): 1 or 0.
    CompareInt(u8),
    /// `erf a` (GELU's exact form).
    Erf,
    /// Bitwise `a & b` of integers (`arith.andi`; on `i1`, logical and).
    And,
    /// Bitwise `a | b` of integers.
    Or,
    /// Bitwise `a ^ b` of integers.
    Xor,
    /// `a` rounded toward zero (`arith.fptosi`, `arith.fptoui`).
    Trunc,
}

/// Where a body value comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source {
    /// Block argument i (the operand element at the point).
    Argument(usize),
    /// A scalar defined outside the body.
    Outer(f64),
    /// The result of instruction i.
    Temporary(usize),
}

/// What a body instruction computes: a scalar operation (the sigmoid `1 / (1 +
/// exp(-x))` recognised in the body, see [`fuse_sigmoids`]), a constant, or an
/// element of a tensor from outside the body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// An operation on its sources.
    Op(ScalarOp),
    /// A constant.
    Constant(f64),
    /// `tensor.extract` of `Body::tensors[i]` at the indices its sources give
    /// (torch-mlir's dynamic broadcasts read operands so); NaN out of bounds.
    Extract(usize),
}

/// One instruction: what it computes, of what.
pub struct Instruction {
    /// What it computes.
    pub kind: Kind,
    /// Its operands.
    pub sources: Vec<Source>,
}

/// A compiled body: its instructions, what it yields, and whether it computes on
/// integers (exact in f64, so never run in fixed point).
pub struct Body {
    /// The instructions, in order; instruction `i` defines `Source::Temporary(i)`.
    pub instructions: Vec<Instruction>,
    /// What the body yields, one per result.
    pub yields: Vec<Source>,
    /// Whether it computes on integers.
    pub integer: bool,
    /// The loop dimensions the body reads with `linalg.index`, in order: index
    /// `j` is `Source::Argument(arguments + j)`, after the block's arguments.
    pub indices: Vec<usize>,
    /// The tensors from outside the body that it reads elements of.
    pub tensors: Vec<ndarray::ArrayD<f64>>,
}

impl Body {
    /// The input (of the first `inputs` block arguments) the body yields unchanged
    /// when that is all it does: the op is then a gather (im2col, a transpose).
    pub fn copied_input(&self, inputs: usize) -> Option<usize> {
        match (self.instructions.is_empty(), self.yields.as_slice()) {
            (true, [Source::Argument(slot)]) if *slot < inputs => Some(*slot),
            _ => None,
        }
    }

    /// Whether the body reads its block argument `slot`.
    pub fn reads(&self, slot: usize) -> bool {
        let is_slot = |source: &Source| matches!(*source, Source::Argument(i) if i == slot);
        self.yields.iter().any(is_slot)
            || self
                .instructions
                .iter()
                .any(|instruction| instruction.sources.iter().any(is_slot))
    }
}

/// Compiles the body of `op` as [`compile_reading`] does, for a body that reads
/// no tensor from outside.
pub fn compile(
    op: &OperationRef,
    outer: &dyn Fn(Value) -> Option<f64>,
) -> Result<Body, InterpError> {
    compile_reading(op, outer, &|_| None)
}

/// Compiles the body of `op`; `outer` gives the scalars it reads from outside,
/// `outer_tensor` the tensors it extracts elements of.
pub fn compile_reading(
    op: &OperationRef,
    outer: &dyn Fn(Value) -> Option<f64>,
    outer_tensor: &dyn Fn(Value) -> Option<ndarray::ArrayD<f64>>,
) -> Result<Body, InterpError> {
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
        slots.insert(value_id(argument), Source::Argument(index));
    }
    let source = |slots: &HashMap<usize, Source>, value: Value| -> Result<Source, InterpError> {
        if let Some(source) = slots.get(&value_id(value)) {
            return Ok(*source);
        }
        outer(value)
            .map(Source::Outer)
            .ok_or_else(|| malformed(op, "the body reads a value that is not a scalar constant"))
    };
    let mut instructions = Vec::new();
    let mut integer = false;
    let mut indices = Vec::new();
    let mut tensors = Vec::new();
    let mut body_op = block.first_operation();
    while let Some(inner) = body_op {
        let name = op_name(&inner);
        // A tensor.extract's first operand is the tensor, not a scalar.
        let skip = usize::from(name == "tensor.extract");
        let sources = std::iter::repeat_n(Source::Outer(f64::NAN), skip)
            .map(Ok)
            .chain(
                inner
                    .operands()
                    .skip(skip)
                    .map(|value| source(&slots, value)),
            )
            .collect::<Result<Vec<_>, _>>()?;
        if name == "linalg.yield" {
            fuse_sigmoids(&mut instructions);
            return Ok(Body {
                instructions,
                yields: sources,
                integer,
                indices,
                tensors,
            });
        }
        if name == "cf.assert" {
            // torch-mlir's bounds check of an index (an embedding lookup's ids): not
            // evaluated per point; an index out of range reads NaN (`extract`).
            body_op = inner.next_in_block();
            continue;
        }
        if name == "tensor.extract" {
            let tensor = inner
                .operand(0)
                .ok()
                .and_then(outer_tensor)
                .ok_or_else(|| {
                    malformed(op, "the body extracts from a tensor not defined outside it")
                })?;
            if sources.len() != 1 + tensor.ndim() {
                return Err(malformed(
                    op,
                    "tensor.extract needs one index per dimension",
                ));
            }
            let result: Value = inner
                .result(0)
                .map_err(|_| malformed(op, "tensor.extract without result"))?
                .into();
            slots.insert(value_id(result), Source::Temporary(instructions.len()));
            instructions.push(Instruction {
                kind: Kind::Extract(tensors.len()),
                sources: sources[1..].to_vec(),
            });
            tensors.push(tensor);
            body_op = inner.next_in_block();
            continue;
        }
        if name == "linalg.index" {
            // The point's coordinate along a loop dimension, read like an argument.
            let dim = int_attribute(&inner, "dim")
                .filter(|&dim| dim >= 0)
                .ok_or_else(|| malformed(op, "linalg.index without a dimension"))?;
            let result: Value = inner
                .result(0)
                .map_err(|_| malformed(op, "linalg.index without result"))?
                .into();
            let slot = Source::Argument(block.argument_count() + indices.len());
            slots.insert(value_id(result), slot);
            indices.push(dim as usize);
            integer = true;
            body_op = inner.next_in_block();
            continue;
        }
        integer |= matches!(
            name.as_str(),
            "arith.addi"
                | "arith.subi"
                | "arith.muli"
                | "arith.sitofp"
                | "arith.uitofp"
                | "arith.cmpi"
                | "arith.andi"
                | "arith.ori"
                | "arith.xori"
                | "arith.index_cast"
                | "arith.extsi"
                | "arith.extui"
                | "arith.fptosi"
                | "arith.fptoui"
        );
        let kind = match name.as_str() {
            "arith.addf" | "arith.addi" => Kind::Op(ScalarOp::Add),
            "arith.subf" | "arith.subi" => Kind::Op(ScalarOp::Sub),
            "arith.mulf" | "arith.muli" => Kind::Op(ScalarOp::Mul),
            "arith.divf" => Kind::Op(ScalarOp::Div),
            "arith.maximumf" | "arith.maxnumf" => Kind::Op(ScalarOp::Max),
            "arith.minimumf" | "arith.minnumf" => Kind::Op(ScalarOp::Min),
            "arith.negf" => Kind::Op(ScalarOp::Neg),
            "math.absf" => Kind::Op(ScalarOp::Abs),
            "math.exp" => Kind::Op(ScalarOp::Exp),
            "math.log" => Kind::Op(ScalarOp::Log),
            "math.tanh" => Kind::Op(ScalarOp::Tanh),
            "math.sqrt" => Kind::Op(ScalarOp::Sqrt),
            "math.rsqrt" => Kind::Op(ScalarOp::Rsqrt),
            "arith.extf" | "arith.truncf" | "arith.sitofp" | "arith.uitofp"
            | "arith.index_cast" | "arith.extsi" | "arith.extui" => Kind::Op(ScalarOp::Copy),
            "arith.fptosi" | "arith.fptoui" => Kind::Op(ScalarOp::Trunc),
            "math.erf" => Kind::Op(ScalarOp::Erf),
            "arith.andi" => Kind::Op(ScalarOp::And),
            "arith.ori" => Kind::Op(ScalarOp::Or),
            "arith.xori" => Kind::Op(ScalarOp::Xor),
            "arith.cmpi" => {
                let predicate = int_attribute(&inner, "predicate")
                    .ok_or_else(|| malformed(op, "cmpi without a predicate"))?;
                Kind::Op(ScalarOp::CompareInt(predicate as u8))
            }
            "arith.select" => Kind::Op(ScalarOp::Select),
            "arith.cmpf" => {
                let predicate = int_attribute(&inner, "predicate")
                    .ok_or_else(|| malformed(op, "cmpf without a predicate"))?;
                Kind::Op(ScalarOp::Compare(predicate as u8))
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
        slots.insert(value_id(result), Source::Temporary(instructions.len()));
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
            if instruction.kind != Kind::Op(ScalarOp::Div)
                || !one(instructions, &instruction.sources[0])
            {
                return None;
            }
            let sum = &instructions[temporary(&instruction.sources[1])?];
            if sum.kind != Kind::Op(ScalarOp::Add) {
                return None;
            }
            let exponential = match (&sum.sources[0], &sum.sources[1]) {
                (a, b) if one(instructions, a) => temporary(b)?,
                (a, b) if one(instructions, b) => temporary(a)?,
                _ => return None,
            };
            let exponential = &instructions[exponential];
            if exponential.kind != Kind::Op(ScalarOp::Exp) {
                return None;
            }
            let negation = &instructions[temporary(&exponential.sources[0])?];
            (negation.kind == Kind::Op(ScalarOp::Neg)).then(|| negation.sources[0])
        })();
        if let Some(x) = fused {
            instructions[k] = Instruction {
                kind: Kind::Op(ScalarOp::Sigmoid),
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

/// `arith.cmpi` with `predicate` (MLIR's numbering) on 64-bit integers; the
/// unsigned predicates read them as two's complement. The interpreter's scalar
/// integers and the integers a body holds exactly in f64 both compare here.
pub(crate) fn compare_integers(predicate: u8, a: i64, b: i64) -> bool {
    let (ua, ub) = (a as u64, b as u64);
    match predicate {
        0 => a == b,
        1 => a != b,
        2 => a < b,
        3 => a <= b,
        4 => a > b,
        5 => a >= b,
        6 => ua < ub,
        7 => ua <= ub,
        8 => ua > ub,
        _ => ua >= ub,
    }
}

/// What `kind` computes of `a`, `b` and `c` (the sources it has, in order).
#[inline(always)]
fn compute(kind: Kind, a: f64, b: f64, c: f64) -> f64 {
    match kind {
        Kind::Op(ScalarOp::Add) => a + b,
        Kind::Op(ScalarOp::Sub) => a - b,
        Kind::Op(ScalarOp::Mul) => a * b,
        Kind::Op(ScalarOp::Div) => a / b,
        // maximumf/minimumf propagate NaN.
        Kind::Op(ScalarOp::Max) => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        }
        Kind::Op(ScalarOp::Min) => {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                a.min(b)
            }
        }
        Kind::Op(ScalarOp::Neg) => -a,
        Kind::Op(ScalarOp::Abs) => a.abs(),
        Kind::Op(ScalarOp::Exp) => crate::math::exp(a),
        Kind::Op(ScalarOp::Log) => a.ln(),
        Kind::Op(ScalarOp::Tanh) => crate::math::tanh(a),
        Kind::Op(ScalarOp::Sigmoid) => crate::math::sigmoid(a),
        Kind::Op(ScalarOp::Sqrt) => a.sqrt(),
        Kind::Op(ScalarOp::Rsqrt) => 1.0 / a.sqrt(),
        Kind::Op(ScalarOp::Copy) => a,
        Kind::Constant(value) => value,
        // Read by `extract`, which sees all the indices.
        Kind::Extract(_) => f64::NAN,
        Kind::Op(ScalarOp::Compare(predicate)) => f64::from(u8::from(compare(predicate, a, b))),
        Kind::Op(ScalarOp::CompareInt(predicate)) => {
            f64::from(u8::from(compare_integers(predicate, a as i64, b as i64)))
        }
        Kind::Op(ScalarOp::Erf) => libm::erf(a),
        Kind::Op(ScalarOp::And) => ((a as i64) & (b as i64)) as f64,
        Kind::Op(ScalarOp::Or) => ((a as i64) | (b as i64)) as f64,
        Kind::Op(ScalarOp::Xor) => ((a as i64) ^ (b as i64)) as f64,
        Kind::Op(ScalarOp::Trunc) => a.trunc(),
        Kind::Op(ScalarOp::Select) => {
            if a != 0.0 {
                b
            } else {
                c
            }
        }
    }
}

/// The element of `tensor` at `index(0), index(1), ...`; NaN out of bounds.
fn extract(tensor: &ndarray::ArrayD<f64>, index: impl Fn(usize) -> f64) -> f64 {
    let mut at = Vec::with_capacity(tensor.ndim());
    for (axis, &size) in tensor.shape().iter().enumerate() {
        let i = index(axis);
        if !(i >= 0.0 && i < size as f64) {
            return f64::NAN;
        }
        at.push(i as usize);
    }
    tensor[ndarray::IxDyn(&at)]
}

/// Runs `instructions` on `arguments` in `f64`, leaving instruction `i`'s result
/// in `temporaries[i]` (`temporaries` holds one value per instruction); `tensors`
/// are the body's outer tensors.
pub fn evaluate(
    instructions: &[Instruction],
    tensors: &[ndarray::ArrayD<f64>],
    arguments: &[f64],
    temporaries: &mut [f64],
) {
    for (at, instruction) in instructions.iter().enumerate() {
        let read = |index: usize| match instruction.sources.get(index) {
            Some(Source::Argument(index)) => arguments[*index],
            Some(Source::Outer(value)) => *value,
            Some(Source::Temporary(index)) => temporaries[*index],
            None => 0.0,
        };
        temporaries[at] = match instruction.kind {
            Kind::Extract(tensor) => extract(&tensors[tensor], read),
            kind => compute(kind, read(0), read(1), read(2)),
        };
    }
}

/// One source of an instruction over a block of points.
#[derive(Clone, Copy)]
enum Lane<'a> {
    Values(&'a [f64]),
    Constant(f64),
}

impl Lane<'_> {
    #[inline(always)]
    fn at(self, k: usize) -> f64 {
        match self {
            Lane::Values(values) => values[k],
            Lane::Constant(value) => value,
        }
    }
}

/// [`evaluate`] on `n` points at once, one instruction over all of them before
/// the next (what makes a body cost a few instructions per point rather than a
/// dispatch per instruction and point): `arguments[slot][k]` is operand `slot` at
/// point `k`; instruction `i`'s values are left in `temporaries[i][..n]`. The same
/// arithmetic as [`evaluate`], so the same bits.
pub fn evaluate_lanes<A: AsRef<[f64]>>(
    instructions: &[Instruction],
    tensors: &[ndarray::ArrayD<f64>],
    arguments: &[A],
    temporaries: &mut [Vec<f64>],
    n: usize,
) {
    crate::kernels::wide_vectors(
        #[inline(always)]
        || evaluate_lanes_here(instructions, tensors, arguments, temporaries, n),
    )
}

/// [`evaluate_lanes`]' work, inlined into its AVX2 copy.
#[inline(always)]
fn evaluate_lanes_here<A: AsRef<[f64]>>(
    instructions: &[Instruction],
    tensors: &[ndarray::ArrayD<f64>],
    arguments: &[A],
    temporaries: &mut [Vec<f64>],
    n: usize,
) {
    for (at, instruction) in instructions.iter().enumerate() {
        let (done, rest) = temporaries.split_at_mut(at);
        let lane = |index: usize| match instruction.sources.get(index) {
            Some(Source::Argument(index)) => Lane::Values(&arguments[*index].as_ref()[..n]),
            Some(Source::Outer(value)) => Lane::Constant(*value),
            Some(Source::Temporary(index)) => Lane::Values(&done[*index][..n]),
            None => Lane::Constant(0.0),
        };
        if let Kind::Extract(tensor) = instruction.kind {
            let lanes: Vec<Lane> = (0..instruction.sources.len()).map(lane).collect();
            for (k, value) in rest[0][..n].iter_mut().enumerate() {
                *value = extract(&tensors[tensor], |axis| lanes[axis].at(k));
            }
            continue;
        }
        let (a, b, c) = (lane(0), lane(1), lane(2));
        let target = &mut rest[0][..n];
        let kind = instruction.kind;
        // One loop per kind and per shape of its sources (values or a constant),
        // so each compiles to straight-line code over slices, which the compiler
        // vectorises.
        macro_rules! each {
            ($($kind:pat),*) => {
                match kind {
                    $($kind => match (a, b, c) {
                        (Lane::Values(a), Lane::Constant(b), Lane::Constant(c)) => {
                            for (value, &a) in target.iter_mut().zip(a) {
                                *value = compute(kind, a, b, c);
                            }
                        }
                        (Lane::Values(a), Lane::Values(b), Lane::Constant(c)) => {
                            for ((value, &a), &b) in target.iter_mut().zip(a).zip(b) {
                                *value = compute(kind, a, b, c);
                            }
                        }
                        (Lane::Constant(a), Lane::Values(b), Lane::Constant(c)) => {
                            for (value, &b) in target.iter_mut().zip(b) {
                                *value = compute(kind, a, b, c);
                            }
                        }
                        _ => {
                            for (k, value) in target.iter_mut().enumerate() {
                                *value = compute(kind, a.at(k), b.at(k), c.at(k));
                            }
                        }
                    },)*
                    _ => {
                        for (k, value) in target.iter_mut().enumerate() {
                            *value = compute(kind, a.at(k), b.at(k), c.at(k));
                        }
                    }
                }
            };
        }
        each!(
            Kind::Op(ScalarOp::Add),
            Kind::Op(ScalarOp::Sub),
            Kind::Op(ScalarOp::Mul),
            Kind::Op(ScalarOp::Div),
            Kind::Op(ScalarOp::Max),
            Kind::Op(ScalarOp::Min),
            Kind::Op(ScalarOp::Neg),
            Kind::Op(ScalarOp::Copy),
            Kind::Op(ScalarOp::Tanh),
            Kind::Op(ScalarOp::Sigmoid),
            Kind::Op(ScalarOp::Exp)
        );
    }
}
