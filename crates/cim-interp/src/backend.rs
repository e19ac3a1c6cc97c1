//! The hook through which a backend executes what the exact semantics leave to
//! hardware: the simulated crossbar runtime (`backends/sim`) runs `cim.mvm` at its
//! fidelity, and the near-memory digital unit (`backends/nmdu`) runs the digital
//! work in fixed point. The interpreter asks the backend first at every op and
//! runs the exact semantics of whatever it declines.

use crate::{Env, InterpError, Operands, RtValue};
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD};

/// What a backend may take over from the exact semantics. Every method declines by
/// default, so [`Exact`] is the exact semantics.
pub trait Backend {
    /// A run starts: drop what was kept of the last one.
    fn start_run(&self) {}

    /// Whether `op` is computed as part of another op the backend runs, and so
    /// never on its own.
    fn skips(&self, _op: &OperationRef) -> bool {
        false
    }

    /// Runs `op` the backend's way (its results, in order), or `None` to leave it
    /// to the exact semantics.
    fn run(&self, _operands: Operands) -> Option<Result<Vec<RtValue>, InterpError>> {
        None
    }

    /// The unit that computes the scalar arithmetic of `op` (a `linalg.generic`
    /// body, one step of a pooling window or a convolution, a sum of two tensors),
    /// or `None` for `f64`.
    fn scalar_unit(
        &self,
        _op: &OperationRef,
        _env: &Env,
    ) -> Result<Option<Box<dyn ScalarUnit + '_>>, InterpError> {
        Ok(None)
    }

    /// `init + a · b` of a matrix product with no array behind it (`linalg.matmul`,
    /// the two products of `cim.adapter`; `a` is `[..., k]`, `b` is `k × n`,
    /// `init` has `a`'s shape with `n` last), or `None` for `f64`.
    fn matmul(
        &self,
        _op: &OperationRef,
        _a: &ArrayD<f64>,
        _b: &Array2<f64>,
        _init: &ArrayD<f64>,
    ) -> Option<Result<ArrayD<f64>, InterpError>> {
        None
    }
}

/// Computes the scalar body of an op at one point: `arguments` in the op's operand
/// order, one result per value the body yields.
pub trait ScalarUnit {
    /// Results the body yields.
    fn result_count(&self) -> usize;

    /// Runs the body on `arguments`, writing `results`.
    fn apply(
        &mut self,
        op: &OperationRef,
        arguments: &[f64],
        results: &mut [f64],
    ) -> Result<(), InterpError>;

    /// The body of a one-result op on `arguments`.
    fn scalar(&mut self, op: &OperationRef, arguments: &[f64]) -> Result<f64, InterpError> {
        let mut result = [0.0];
        self.apply(op, arguments, &mut result)?;
        Ok(result[0])
    }
}

/// The exact semantics: no op is taken over.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exact;

impl Backend for Exact {}
