//! The exact semantics of each supported op, one file per dialect: [`tensor`]
//! (`tensor`, `arith` and `cf.assert`), [`affine`] (`affine.apply`), [`linalg`] (named ops; `linalg.generic` is
//! [`crate::generic`]), [`cim`] (the `cim` dialect), and `func.call` here.

pub mod affine;
pub mod cim;
pub mod linalg;
pub mod tensor;

use crate::{Backend, InterpError, Interpreter, MvmObserver, Operands, RtValue, malformed};
use cim_ir::query::{op_name, symbol_attribute};
use ndarray::ArrayD;

/// One result, a tensor.
pub(crate) fn one(value: ArrayD<f64>) -> Result<Vec<RtValue>, InterpError> {
    Ok(vec![RtValue::Tensor(value)])
}

/// Runs one op with its exact semantics (the backend may still do its scalar
/// arithmetic and digital matrix products, [`Backend::scalar_unit`],
/// [`Backend::matmul`]).
pub(crate) fn step(
    interpreter: &Interpreter,
    backend: &dyn Backend,
    operands: Operands,
    observer: MvmObserver,
) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    let name = op_name(op);
    if name == "func.call" {
        let callee = symbol_attribute(op, "callee").ok_or_else(|| malformed(op, "no callee"))?;
        let arguments = operands.owned_all()?;
        return Ok(interpreter
            .call(backend, &callee, &arguments, observer)?
            .into_iter()
            .map(RtValue::Tensor)
            .collect());
    }
    match name.split_once('.').map(|(dialect, _)| dialect) {
        Some("arith" | "cf" | "tensor") => tensor::step(backend, operands, &name),
        Some("affine") => affine::step(operands, &name),
        Some("linalg") => linalg::step(backend, operands, &name),
        Some("cim") => cim::step(interpreter, backend, operands, &name, observer),
        _ => Err(InterpError::Unsupported(name)),
    }
}
