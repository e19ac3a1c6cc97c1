//! Fusion: the bias add and the activation (ReLU, clip, LeakyReLU) that follow a
//! group, each the only reader of what it reads, join the group's kernel: the bias
//! into its constant, the activation as the kernel's own.

use cim_ir::query::{attribute, defining_op, int_attribute, op_id, op_name, value_id};
use melior::ir::{BlockLike, OperationRef, RegionLike, Value, operation::OperationLike};
use std::collections::HashMap;

/// An activation a kernel can apply, in the IR's units.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FusedActivation {
    Relu,
    Clip(f64, f64),
    Leaky(f64),
}

impl FusedActivation {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Relu => "relu",
            Self::Clip(..) => "clip",
            Self::Leaky(_) => "leaky_relu",
        }
    }
}

/// Elementwise work after a group that its kernel does too: a bias added per
/// column, then an activation; and the op whose result the kernel then gives.
pub(crate) struct Fused<'c, 'a> {
    pub(crate) bias: Option<Vec<f64>>,
    pub(crate) activation: Option<FusedActivation>,
    pub(crate) last: OperationRef<'c, 'a>,
    pub(crate) absorbed: Vec<usize>,
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
pub(crate) fn fusable<'c, 'a>(
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
        match readers.get(&value_id(value))?.as_slice() {
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
        fused.absorbed.push(op_id(&fused.last));
        fused.last = next;
    }
    if let Some(next) = only_reader(&fused.last)
        && next.operand_count() == 2
        && let Some(body) = generic_body(&next, IDENTITY_2D)
        && let Some(activation) = activation_of(&body)
    {
        fused.activation = Some(activation);
        fused.absorbed.push(op_id(&fused.last));
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
            let predicate = int_attribute(ops[1], "predicate")?;
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
