//! The digital work between MVMs, counted: what the NMDU computes that no array does
//! (a transformer's attention products, softmax, layer norms and GELU; a CNN's
//! pooling and activations), per inference. The mapped program runs once on one
//! sample of zeros (dynamic sizes 1) with a backend that counts, from the run-time
//! shapes, the multiply-accumulates of products with no array behind them
//! (`linalg.matmul` of computed operands, `linalg.batch_matmul`) and the scalar
//! operations of every other digital op (a `linalg.generic`'s points times its body's
//! arithmetic; a fill, copy or layout change moves values and counts none). Running,
//! rather than reading types, counts what dynamic sizes hide: an exporter that merges
//! the batch with the attention heads has `?` where the heads are.

use cim_interp::{Backend, InterpError, Interpreter, Operands, RtValue};
use cim_ir::query::op_name;
use melior::ir::{
    BlockLike, Module, RegionLike, operation::OperationLike, operation::OperationRef,
};
use ndarray::ArrayD;
use serde::Serialize;
use std::cell::RefCell;

/// Digital work per inference.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct DigitalWork {
    /// Multiply-accumulates of products between computed values (attention's QKᵀ
    /// and P·V), on the NMDU's matrix unit.
    pub macs: u64,
    /// Scalar operations of element-wise ops and reductions (one per arithmetic op
    /// of a body, per point of its iteration space).
    pub operations: u64,
}

#[derive(Default)]
struct Counter {
    work: RefCell<DigitalWork>,
}

/// The scalar arithmetic a `linalg.generic` body does per point (what is not an
/// index, a constant or the yield).
fn body_operations(op: &OperationRef) -> u64 {
    let Some(block) = op.region(0).ok().and_then(|r| r.first_block()) else {
        return 0;
    };
    std::iter::successors(block.first_operation(), |o| o.next_in_block())
        .filter(|o| {
            let name = op_name(o);
            !matches!(
                name.as_str(),
                "linalg.yield" | "linalg.index" | "arith.constant" | "tensor.extract"
            ) && !name.starts_with("arith.index_cast")
        })
        .count() as u64
}

impl Backend for Counter {
    fn run(&self, operands: Operands) -> Option<Result<Vec<RtValue>, InterpError>> {
        let op = operands.op;
        let name = op_name(op);
        let elements =
            |value: Result<&ArrayD<f64>, InterpError>| value.map_or(0, |a| a.len() as u64);
        let mut work = self.work.borrow_mut();
        match name.as_str() {
            "linalg.matmul" | "linalg.batch_matmul" => {
                // Output elements times the contracted size.
                if let (Ok(a), Ok(init)) = (operands.tensor(0), operands.tensor(2)) {
                    let k = a.shape().last().copied().unwrap_or(0) as u64;
                    work.macs += init.len() as u64 * k;
                }
            }
            "linalg.generic" => {
                // The iteration space holds at least as many points as its largest
                // operand (a reduction: its input; element-wise: its output).
                let points = (0..op.operand_count())
                    .map(|i| elements(operands.tensor(i)))
                    .max()
                    .unwrap_or(0);
                work.operations += points * body_operations(op);
            }
            "cim.adapter" => {
                // Its two products: rows x (K x rank + rank x N).
                let rank = cim_ir::query::attribute(op, "down")
                    .and_then(cim_ir::query::attribute_shape)
                    .and_then(|shape| shape.dims.get(1).copied().flatten())
                    .unwrap_or(0);
                if let (Ok(input), Ok(base)) = (operands.tensor(0), operands.tensor(1)) {
                    let k = input.shape().last().copied().unwrap_or(0) as u64;
                    let n = base.shape().last().copied().unwrap_or(0) as u64;
                    let rows = (input.len() as u64).checked_div(k).unwrap_or(0);
                    work.macs += rows * rank * (k + n);
                }
            }
            "linalg.softmax" => {
                work.operations += 4 * elements(operands.tensor(0));
            }
            "linalg.pooling_nchw_max"
            | "linalg.pooling_nchw_sum"
            | "linalg.pooling_nhwc_max"
            | "linalg.pooling_nhwc_sum" => {
                // One operation per output element and window element.
                if let (Ok(window), Ok(out)) = (operands.tensor(1), operands.tensor(2)) {
                    work.operations += window.len() as u64 * out.len() as u64;
                }
            }
            _ => {}
        }
        None
    }
}

/// The digital work of one inference of `module`'s public function (its dynamic
/// dimensions taken as 1), or why it could not run.
pub fn digital_work(module: &Module) -> Result<DigitalWork, String> {
    let func = crate::artifact::entry_op(module).ok_or("the module has no public function")?;
    let name = cim_ir::query::string_attribute(&func, "sym_name").unwrap_or_default();
    let shapes =
        crate::artifact::entry_argument_shapes(module).ok_or("the function has no body")?;
    let mut inputs = Vec::new();
    for shape in shapes {
        let shape = shape.ok_or("an argument is not a tensor")?;
        let dims: Vec<usize> = shape
            .dims
            .iter()
            .map(|d| d.map_or(1, |d| d as usize))
            .collect();
        inputs.push(ArrayD::zeros(dims));
    }
    let interpreter = Interpreter::new(module).map_err(|e| e.to_string())?;
    let counter = Counter::default();
    interpreter
        .run_with(&counter, &name, &inputs)
        .map_err(|e| e.to_string())?;
    Ok(counter.work.into_inner())
}
