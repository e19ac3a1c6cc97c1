//! Runtime values and the environment of a run: every SSA value computed so far,
//! and typed access to an operation's operands.

use crate::{InterpError, malformed};
use cim_ir::query::{TensorShape, value_id};
use melior::ir::{OperationRef, Value, operation::OperationLike};
use ndarray::ArrayD;
use std::collections::HashMap;

/// A runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum RtValue {
    /// A tensor of any rank (integers are held exactly up to 2^53).
    Tensor(ArrayD<f64>),
    /// An `index` or integer scalar.
    Index(i64),
    /// A float scalar.
    Scalar(f64),
}

/// The values of a run, by SSA value ([`value_id`]).
#[derive(Default)]
pub struct Env {
    values: HashMap<usize, RtValue>,
}

impl Env {
    /// The value of `value`, if computed.
    pub fn get(&self, value: Value) -> Option<&RtValue> {
        self.values.get(&value_id(value))
    }

    /// The value with identity `id` ([`value_id`]), if computed.
    pub fn get_id(&self, id: usize) -> Option<&RtValue> {
        self.values.get(&id)
    }

    /// Sets `value`.
    pub fn set(&mut self, value: Value, runtime: RtValue) {
        self.values.insert(value_id(value), runtime);
    }

    /// Takes the value of `value` out (a value no later op reads).
    pub(crate) fn take(&mut self, value: Value) -> Option<RtValue> {
        self.values.remove(&value_id(value))
    }

    /// The tensors `op` (a `func.return`) returns, moved out of the environment,
    /// which ends with them (a value returned twice is copied for its earlier
    /// places). Copied, they took 1.1% of a 1024x512 layer's full-fidelity run.
    pub(crate) fn take_returned(
        &mut self,
        op: &OperationRef,
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        let ids: Vec<usize> = op.operands().map(value_id).collect();
        (0..ids.len())
            .map(|index| {
                let id = ids[index];
                let value = if ids[index + 1..].contains(&id) {
                    self.values.get(&id).cloned()
                } else {
                    self.values.remove(&id)
                };
                match value {
                    Some(RtValue::Tensor(tensor)) => Ok(tensor),
                    Some(_) => Err(malformed(op, NOT_A_TENSOR)),
                    None => Err(malformed(op, NO_VALUE)),
                }
            })
            .collect()
    }

    /// Frees the value with identity `id` ([`value_id`]), if computed.
    pub(crate) fn remove_id(&mut self, id: usize) {
        self.values.remove(&id);
    }

    /// The scalar `value` holds, when it is one (integers as floats).
    pub fn scalar(&self, value: Value) -> Option<f64> {
        match self.get(value) {
            Some(RtValue::Scalar(scalar)) => Some(*scalar),
            Some(RtValue::Index(index)) => Some(*index as f64),
            _ => None,
        }
    }
}

/// The operands of one operation in an environment.
#[derive(Clone, Copy)]
pub struct Operands<'e, 'c, 'a> {
    /// The operation.
    pub op: &'e OperationRef<'c, 'a>,
    /// The values computed so far.
    pub env: &'e Env,
}

const NOT_A_TENSOR: &str = "expected a tensor operand, got a scalar";
const NO_VALUE: &str = "operand has no value (defined by an unsupported op?)";

impl<'e, 'c, 'a> Operands<'e, 'c, 'a> {
    /// The SSA value of operand `index`.
    pub fn value(&self, index: usize) -> Result<Value<'c, 'a>, InterpError> {
        self.op
            .operand(index)
            .map_err(|_| malformed(self.op, "missing operand"))
    }

    /// The runtime value of operand `index`.
    pub fn runtime(&self, index: usize) -> Result<&'e RtValue, InterpError> {
        let value = self.value(index)?;
        self.env
            .get(value)
            .ok_or_else(|| malformed(self.op, NO_VALUE))
    }

    /// Operand `index` as a tensor, borrowed: large tensors are read, not copied.
    pub fn tensor(&self, index: usize) -> Result<&'e ArrayD<f64>, InterpError> {
        let value = self.value(index)?;
        tensor_of(self.env, self.op, value)
    }

    /// Operand `index` as a tensor of its own.
    pub fn owned(&self, index: usize) -> Result<ArrayD<f64>, InterpError> {
        self.tensor(index).cloned()
    }

    /// Every operand as a tensor, borrowed.
    pub fn tensors(&self) -> Result<Vec<&'e ArrayD<f64>>, InterpError> {
        self.op
            .operands()
            .map(|value| tensor_of(self.env, self.op, value))
            .collect()
    }

    /// Every operand as a tensor of its own.
    pub fn owned_all(&self) -> Result<Vec<ArrayD<f64>>, InterpError> {
        Ok(self.tensors()?.into_iter().cloned().collect())
    }

    /// The result's dimensions: static ones from its type, dynamic ones from the
    /// index operands starting at `first_dynamic` (in order), as `tensor.empty` and
    /// `tensor.extract_slice` take them. With `None`, dynamic sizes are not needed
    /// and read as 0.
    pub fn result_dims(&self, first_dynamic: Option<usize>) -> Result<Vec<usize>, InterpError> {
        let op = self.op;
        let shape =
            TensorShape::of_value(op.result(0).map_err(|_| malformed(op, "no result"))?.into())
                .ok_or_else(|| malformed(op, "result is not a ranked tensor"))?;
        let mut next = first_dynamic;
        shape
            .dims
            .iter()
            .map(|dim| match (dim, next.as_mut()) {
                (Some(size), _) => Ok(*size as usize),
                (None, None) => Ok(0),
                (None, Some(next)) => {
                    let index = *next;
                    *next += 1;
                    self.value(index)
                        .map_err(|_| malformed(op, "missing dynamic size"))?;
                    match self.runtime(index)? {
                        RtValue::Index(size) if *size >= 0 => Ok(*size as usize),
                        _ => Err(malformed(op, "dynamic size is not a non-negative index")),
                    }
                }
            })
            .collect()
    }
}

fn tensor_of<'e>(
    env: &'e Env,
    op: &OperationRef,
    value: Value,
) -> Result<&'e ArrayD<f64>, InterpError> {
    match env.get(value) {
        Some(RtValue::Tensor(tensor)) => Ok(tensor),
        Some(_) => Err(malformed(op, NOT_A_TENSOR)),
        None => Err(malformed(op, NO_VALUE)),
    }
}
