//! `cim-dce`: erases `cim` operations whose results nobody reads, then arrays no MVM
//! reads.
//!
//! IRDL operations declare no memory effects, so upstream dead-code elimination
//! (canonicalize) must assume they have some and keeps them. They have none: every
//! `cim` op computes a value from its operands (arrays are read, never written, by
//! `cim.mvm`). This pass removes the dead ones, to a fixpoint, so an unused analog
//! product does not cost arrays.
//!
//! Example. Before:
//!
//! ```mlir
//! "cim.crossbar"() {sym_name = "a", ...} : () -> ()
//! func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
//!   %unused = "cim.mvm"(%x) {array = @a, ...} : (tensor<1x4xf32>) -> tensor<1x4xf32>
//!   return %x : tensor<1x4xf32>
//! }
//! ```
//!
//! After:
//!
//! ```mlir
//! func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
//!   return %x : tensor<1x4xf32>
//! }
//! ```

use crate::options::PassOptions;
use crate::pass::{PassDef, PassId, PassResult};
use cim_ir::mapped;
use cim_ir::{
    dialect::{NAMESPACE, ops},
    query::op_name,
};
use melior::ir::{
    OperationRef, ValueLike,
    operation::{OperationLike, WalkOrder, WalkResult},
};

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "cim-dce",
    summary: "Erase cim operations whose results are unused, then arrays no MVM reads",
    options: &[],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn is_dead(op: &OperationRef) -> bool {
    let name = op_name(op);
    name.split_once('.')
        .is_some_and(|(dialect, _)| dialect == NAMESPACE)
        && name != ops::CROSSBAR
        && op.results().all(|result| {
            // SAFETY: a query on a live value.
            unsafe {
                mlir_sys::mlirOpOperandIsNull(mlir_sys::mlirValueGetFirstUse(result.to_raw()))
            }
        })
}

fn run(module: OperationRef<'_, '_>, _options: &PassOptions) -> PassResult {
    loop {
        let mut dead = Vec::new();
        module.walk(WalkOrder::PostOrder, |op| {
            if is_dead(&op) {
                dead.push(op.to_raw());
            }
            WalkResult::Advance
        });
        if dead.is_empty() {
            break;
        }
        for raw in dead {
            // SAFETY: collected just above; a dead op has no users, so erasing it
            // leaves no dangling use (its operands' producers are checked next round).
            unsafe { mlir_sys::mlirOperationDestroy(raw) };
        }
    }
    let mut arrays = mapped::Arrays::collect(module);
    for array in arrays.take_all() {
        if arrays.mvms_of(&array.name).is_empty() {
            array.erase();
        }
    }
    Ok(())
}
