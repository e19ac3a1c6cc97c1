//! The elementwise unit's programs: each op that computes with no array behind it
//! (a `linalg.generic` body compiled by `cim_interp::body`; one step of a pooling
//! window or a convolution; a sum of tensors) as a straight-line program over
//! Q(31−F).F values.

use crate::elementwise::{self, Instruction, Op, Operand, Program};
use cim_interp::{
    InterpError,
    body::{Body, Kind, ScalarOp, Source, compile_reading},
    malformed,
};
use cim_ir::query::op_name;
use melior::ir::{OperationRef, operation::OperationLike};

/// The elementwise unit's operation for a body's scalar operation, when it has
/// one (it runs what linalg bodies compute on reals).
fn unit_op(op: ScalarOp) -> Option<Op> {
    Some(match op {
        ScalarOp::Add => Op::Add,
        ScalarOp::Sub => Op::Sub,
        ScalarOp::Mul => Op::Mul,
        ScalarOp::Div => Op::Div,
        ScalarOp::Max => Op::Max,
        ScalarOp::Min => Op::Min,
        ScalarOp::Neg => Op::Neg,
        ScalarOp::Abs => Op::Abs,
        ScalarOp::Exp => Op::Exp,
        ScalarOp::Log => Op::Log,
        ScalarOp::Tanh => Op::Tanh,
        ScalarOp::Sigmoid => Op::Sigmoid,
        ScalarOp::Erf => Op::Erf,
        ScalarOp::Sqrt => Op::Sqrt,
        ScalarOp::Rsqrt => Op::Rsqrt,
        ScalarOp::Copy => Op::Copy,
        ScalarOp::Select => Op::Select,
        ScalarOp::Compare(predicate) => Op::Compare(predicate),
        // Integer work stays exact (see `program`).
        ScalarOp::CompareInt(_)
        | ScalarOp::And
        | ScalarOp::Or
        | ScalarOp::Xor
        | ScalarOp::Trunc => return None,
    })
}

/// The elementwise program of a named digital op: one step of a pooling window
/// (`max(acc, x)`, `acc + x`) or of a convolution (`acc + x · w`), or a sum of two
/// tensors. Arguments in that order.
pub fn named_program(name: &str, fraction: u32) -> Option<Program> {
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

/// The body as an elementwise program in Q.`fraction`, when it computes anything:
/// bodies that only move values (a gather from an outer tensor, torch-mlir's
/// dynamic broadcasts), or compute on integers, stay exact. Constants
/// become operands, and what no result needs (the pieces of a fused sigmoid) is
/// dropped.
fn program(body: &Body, arguments: usize, fraction: u32) -> Option<Program> {
    let gathers = body
        .instructions
        .iter()
        .any(|instruction| matches!(instruction.kind, Kind::Extract(_)));
    if body.integer || gathers || body.instructions.is_empty() {
        return None;
    }
    let constant =
        |value: f64| Operand::Constant(elementwise::to_fixed(value, fraction).unwrap_or(0));
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
            Some(unit_op(op).map(|op| Instruction {
                op,
                operands: instruction.sources.iter().map(operand).collect(),
            }))
        })
        .collect::<Option<_>>()?;
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
    // A scalar computed at run time (a dynamic size) is only known then: a body
    // that reads one must stay exact (a gather, integer work), or it is refused.
    let runtime_scalar = std::cell::Cell::new(false);
    let body = compile_reading(
        op,
        &|value| {
            let constant =
                cim_ir::query::defining_op(value).filter(|def| op_name(def) == "arith.constant");
            let Some(constant) = constant else {
                runtime_scalar.set(true);
                return Some(f64::NAN);
            };
            cim_ir::query::float_attribute(&constant, "value")
                .or_else(|| cim_ir::query::int_attribute(&constant, "value").map(|v| v as f64))
        },
        // A gather from an outer tensor stays exact (see `program`): only its rank
        // matters here.
        &|value| {
            let rank = cim_ir::query::TensorShape::of_value(value)?.dims.len();
            Some(ndarray::ArrayD::zeros(ndarray::IxDyn(&vec![1; rank])))
        },
    )?;
    let program = program(&body, op.operand_count(), fraction);
    if program.is_some() && runtime_scalar.get() {
        return Err(malformed(
            op,
            "the body reads a scalar computed at run time, which the NMDU's programs cannot hold",
        ));
    }
    if let Some(problem) = program.as_ref().and_then(Program::problem) {
        return Err(malformed(op, problem));
    }
    Ok(program)
}
