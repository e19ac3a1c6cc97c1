#![warn(missing_docs)]
//! The exact semantics of cim IR: runs a function of a module on concrete tensors,
//! in `f64`, with what every `cim` op and every supported upstream op means. It is
//! the oracle of the pass property tests (a pass must not change what a function
//! computes) and the ground the backends stand on: through a [`Backend`], the
//! simulated crossbar runtime (`backends/sim`) executes `cim.mvm` at its fidelity
//! and the near-memory digital unit (`backends/nmdu`) the digital work in fixed
//! point; whatever a backend declines runs here, exactly. No device, converter or
//! LLVM lives in this crate.
//!
//! Supported: `func.return`, `func.call`, `arith.constant`, `arith.addf`,
//! `tensor.dim`, `tensor.extract_slice` (unit strides), `tensor.empty`,
//! `tensor.collapse_shape`, `tensor.expand_shape`, `tensor.pad` (static),
//! `tensor.concat` ([`ops::tensor`]); `linalg.fill`, `linalg.matmul` (plain or right
//! operand transposed), `linalg.transpose`, `linalg.conv_2d_nchw_fchw`,
//! `linalg.pooling_nchw_max` / `_sum` ([`ops::linalg`]), `linalg.generic` (indexing
//! maps of dimensions and constants; arith and math bodies: [`generic`], [`body`]);
//! and every `cim` op ([`ops::cim`]; `cim.mvm` with ideal converters). Anything else
//! is an error that names the op.

pub mod backend;
pub mod body;
mod error;
pub mod gather;
pub mod generic;
pub mod kernels;
pub mod math;
pub mod ops;
mod value;

pub use backend::{Backend, Exact, ScalarUnit};
pub use error::{InterpError, malformed};
pub use value::{Env, Operands, RtValue};

use cim_ir::{
    mapped::{CrossbarOp, crossbar_ops},
    query::{TensorShape, op_name, string_attribute},
};
use melior::ir::{
    BlockLike, Module, OperationRef, RegionLike, Value, ValueLike, operation::OperationLike,
};
use ndarray::{Array2, ArrayD};
use std::collections::HashMap;

/// Called after every `cim.mvm` the exact semantics run, with the op, its input
/// and its result: calibration watches ranges through it.
pub type MvmObserver<'o> = &'o mut dyn FnMut(&OperationRef, &ArrayD<f64>, &ArrayD<f64>);

/// A module ready to run: its arrays read once.
pub struct Interpreter<'m, 'c> {
    module: &'m Module<'c>,
    arrays: HashMap<String, Array2<f64>>,
}

/// The ops of a block, in order.
pub(crate) fn operations<'c, 'a>(
    block: melior::ir::BlockRef<'c, 'a>,
) -> impl Iterator<Item = OperationRef<'c, 'a>> {
    std::iter::successors(block.first_operation(), |op| op.next_in_block())
}

/// The source of a `tensor.collapse_shape` or `tensor.expand_shape` that is its
/// only reader (a function argument too: the run holds a copy of it).
fn reshape_source_dies<'c, 'a>(op: &OperationRef<'c, 'a>) -> Option<Value<'c, 'a>> {
    let name = op_name(op);
    if name != "tensor.collapse_shape" && name != "tensor.expand_shape" {
        return None;
    }
    let source = op.operand(0).ok()?;
    let users = cim_ir::query::users(source);
    (users.len() == 1).then_some(source)
}

/// For each op of a block, the values (by [`value_id`](cim_ir::query::value_id))
/// that no later op reads, operands of ops nested in its regions included. A value
/// an op the backend skips reads stays to the end: the backend reads it when it
/// runs the op the skipped one is part of.
fn last_readers(ops: &[OperationRef], backend: &dyn Backend) -> Vec<Vec<usize>> {
    const TO_THE_END: usize = usize::MAX;
    let mut last: HashMap<usize, usize> = HashMap::new();
    for (position, op) in ops.iter().enumerate() {
        let reader = if backend.skips(op) {
            TO_THE_END
        } else {
            position
        };
        let nested = cim_ir::query::ops_in(*op);
        for reading in std::iter::once(op).chain(nested.iter()) {
            for operand in reading.operands() {
                let entry = last.entry(cim_ir::query::value_id(operand)).or_insert(0);
                *entry = (*entry).max(reader);
            }
        }
    }
    let mut dying = vec![Vec::new(); ops.len() + 1];
    for (id, reader) in last {
        if reader != TO_THE_END {
            // Freed before the op after its last reader runs.
            dying[reader + 1].push(id);
        }
    }
    dying
}

impl<'m, 'c> Interpreter<'m, 'c> {
    /// Reads the module's `cim.crossbar` arrays.
    pub fn new(module: &'m Module<'c>) -> Result<Self, InterpError> {
        let mut arrays = HashMap::new();
        for op in crossbar_ops(module.as_operation()) {
            let array = CrossbarOp::read(op)
                .ok_or_else(|| malformed(&op, "an attribute is missing (run cim-verify)"))?;
            let weights = array.weights().map_err(|message| malformed(&op, message))?;
            let [rows, cols] = weights.shape;
            let block = Array2::from_shape_vec(
                (rows as usize, cols as usize),
                weights.values.into_iter().map(f64::from).collect(),
            )
            .map_err(|error| malformed(&op, error.to_string()))?;
            arrays.insert(array.name, block);
        }
        Ok(Self { module, arrays })
    }

    /// The module it runs.
    pub fn module(&self) -> &'m Module<'c> {
        self.module
    }

    /// The weights of an array, by name.
    pub fn array(&self, name: &str) -> Option<&Array2<f64>> {
        self.arrays.get(name)
    }

    /// Runs `@function` on `inputs` with the exact semantics and returns its results.
    pub fn run(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        self.run_with(&Exact, function, inputs)
    }

    /// [`run`](Self::run), calling `observer` after every `cim.mvm`.
    pub fn run_observed(
        &self,
        function: &str,
        inputs: &[ArrayD<f64>],
        observer: MvmObserver,
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        self.call(&Exact, function, inputs, observer)
    }

    /// Runs `@function` on `inputs`, `backend` taking over what it does its way.
    pub fn run_with(
        &self,
        backend: &dyn Backend,
        function: &str,
        inputs: &[ArrayD<f64>],
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        backend.start_run();
        self.call(backend, function, inputs, &mut |_, _, _| {})
    }

    /// Runs `@function`: its arguments checked against its signature, then its ops
    /// in order until `func.return`.
    pub(crate) fn call(
        &self,
        backend: &dyn Backend,
        function: &str,
        inputs: &[ArrayD<f64>],
        observer: MvmObserver,
    ) -> Result<Vec<ArrayD<f64>>, InterpError> {
        let func = operations(self.module.body())
            .find(|op| {
                op_name(op) == "func.func"
                    && string_attribute(op, "sym_name").as_deref() == Some(function)
            })
            .ok_or_else(|| InterpError::NoFunction(function.to_owned()))?;
        let block = func
            .region(0)
            .ok()
            .and_then(|region| region.first_block())
            .ok_or_else(|| InterpError::NoFunction(function.to_owned()))?;
        if block.argument_count() != inputs.len() {
            return Err(InterpError::Arity {
                function: function.to_owned(),
                expected: block.argument_count(),
                got: inputs.len(),
            });
        }
        let mut env = Env::default();
        for (index, input) in inputs.iter().enumerate() {
            let argument: Value = block.argument(index).expect("counted above").into();
            let expected = TensorShape::of_value(argument);
            let fits = expected.as_ref().is_some_and(|shape| {
                shape.rank() == input.ndim()
                    && shape
                        .dims
                        .iter()
                        .zip(input.shape())
                        .all(|(dim, &got)| dim.is_none_or(|dim| dim as usize == got))
            });
            if !fits || kernels::any_nan(input) {
                return Err(InterpError::InputShape {
                    index,
                    expected: argument.r#type().to_string(),
                    got: input.shape().to_vec(),
                });
            }
            env.set(argument, RtValue::Tensor(input.clone()));
        }
        let ops: Vec<OperationRef> = operations(block).collect();
        let dying = last_readers(&ops, backend);
        for (position, op) in ops.into_iter().enumerate() {
            // What no later op reads is freed now: the run's memory stays at what
            // is live, and the allocator hands the freed blocks to the next ops.
            for id in &dying[position] {
                env.remove_id(*id);
            }
            if op_name(&op) == "func.return" {
                return env.take_returned(&op);
            }
            if backend.skips(&op) {
                continue;
            }
            let operands = Operands { op: &op, env: &env };
            let results = match backend.run(operands) {
                Some(results) => results?,
                None => match reshape_source_dies(&op) {
                    // Its only reader: the reshape keeps the elements in place.
                    Some(source) => match env.take(source) {
                        Some(RtValue::Tensor(source)) => {
                            ops::tensor::reshape_in_place(&op, source)?
                        }
                        _ => return Err(malformed(&op, "operand has no tensor value")),
                    },
                    None => ops::step(self, backend, operands, observer)?,
                },
            };
            for (index, result) in results.into_iter().enumerate() {
                let value: Value = op
                    .result(index)
                    .map_err(|_| malformed(&op, "result count"))?
                    .into();
                env.set(value, result);
            }
        }
        Err(InterpError::Unsupported(
            "function without func.return".into(),
        ))
    }
}
