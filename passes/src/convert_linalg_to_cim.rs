//! `convert-linalg-to-cim`: marks the weight-stationary contractions of
//! linalg-on-tensors analog, by rewriting them as `cim.matmul`.
//!
//! A `linalg.matmul` whose right operand is an inline f32 `arith.constant` (the
//! weight) becomes a `cim.matmul`. The weight may be used transposed, as torch-mlir
//! emits `nn.Linear`: through the matmul's `indexing_maps` (B indexed (n, k)) or
//! through a `linalg.transpose` of the constant; the transposition is folded into a
//! new constant. The accumulator (`outs`) is dropped when it is a `linalg.fill` of
//! 0.0, and added back with `arith.addf` otherwise. Everything else stays digital:
//! contractions with a non-constant right operand, other element types, other
//! indexing maps.
//!
//! Example. Before:
//!
//! ```mlir
//! %w = arith.constant dense<...> : tensor<64x10xf32>
//! %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x10xf32>) -> tensor<?x10xf32>
//! %y = linalg.matmul ins(%x, %w : tensor<?x64xf32>, tensor<64x10xf32>)
//!                    outs(%z : tensor<?x10xf32>) -> tensor<?x10xf32>
//! ```
//!
//! After:
//!
//! ```mlir
//! %w = arith.constant dense<...> : tensor<64x10xf32>
//! %y = "cim.matmul"(%x, %w) : (tensor<?x64xf32>, tensor<64x10xf32>) -> tensor<?x10xf32>
//! ```

use crate::options::PassOptions;
use crate::pass::{PassDef, PassId, PassResult};
use cim_ir::{
    build,
    query::{
        attribute, attribute_shape, context_of, defining_op, float_attribute, i64_array_attribute,
        linalg_matmul_transposes_rhs, op_name,
    },
};
use melior::ir::{
    OperationRef, Value, ValueLike,
    operation::{OperationLike, WalkOrder, WalkResult},
};

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "convert-linalg-to-cim",
    summary: "Rewrite linalg.matmul with a constant weight as the analog cim.matmul",
    options: &[],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, _options: &PassOptions) -> PassResult {
    let mut matmuls = Vec::new();
    module.walk(WalkOrder::PreOrder, |op| {
        if op_name(&op) == "linalg.matmul" {
            matmuls.push(op.to_raw());
        }
        WalkResult::Advance
    });
    for raw in matmuls {
        // SAFETY: collected from this module; only the op being converted is erased.
        let op = unsafe { OperationRef::from_raw(raw) };
        convert(op);
    }
    Ok(())
}

/// The f32 values and [rows, cols] of a 2-D constant, looking through one
/// `linalg.transpose` with permutation [1, 0] (which flips `transposed`).
fn constant_matrix(value: Value) -> Option<(Vec<f32>, [u64; 2], bool)> {
    let def = defining_op(value)?;
    match op_name(&def).as_str() {
        "arith.constant" => {
            let attribute = attribute(&def, "value")?;
            let shape = attribute_shape(attribute)?;
            let values = build::read_dense_f32(attribute)?;
            match shape.dims.as_slice() {
                [Some(rows), Some(cols)] => Some((values, [*rows, *cols], false)),
                _ => None,
            }
        }
        "linalg.transpose" if i64_array_attribute(&def, "permutation")? == [1, 0] => {
            let (values, shape, transposed) = constant_matrix(def.operand(0).ok()?)?;
            Some((values, shape, !transposed))
        }
        _ => None,
    }
}

fn transpose(values: &[f32], [rows, cols]: [u64; 2]) -> Vec<f32> {
    let (rows, cols) = (rows as usize, cols as usize);
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| values[r * cols + c]))
        .collect()
}

/// Whether the accumulator is a `linalg.fill` of 0.0.
fn is_zero_fill(value: Value) -> bool {
    defining_op(value).is_some_and(|fill| {
        op_name(&fill) == "linalg.fill"
            && fill
                .operand(0)
                .ok()
                .and_then(defining_op)
                .is_some_and(|constant| {
                    op_name(&constant) == "arith.constant"
                        && float_attribute(&constant, "value") == Some(0.0)
                })
    })
}

fn convert(op: OperationRef) {
    let Some(rhs_transposed) = linalg_matmul_transposes_rhs(&op) else {
        return;
    };
    let (Ok(input), Ok(weight), Ok(init), Ok(result)) =
        (op.operand(0), op.operand(1), op.operand(2), op.result(0))
    else {
        return;
    };
    let Some((values, shape, transposed)) = constant_matrix(weight) else {
        return;
    };
    // The weight as the (k, n) matrix the analog op multiplies by.
    let flip = transposed != rhs_transposed;
    let (values, shape) = if flip {
        (transpose(&values, shape), [shape[1], shape[0]])
    } else {
        (values, shape)
    };
    let context = context_of(&op);
    let location = op.location();
    let insert = |new| build::insert_before(op, new);
    let weight = if flip || transposed {
        insert(build::f32_constant(context, location, &shape, &values))
    } else {
        weight
    };
    let product = insert(build::matmul(location, input, weight, result.r#type()));
    let output = if is_zero_fill(init) {
        product
    } else {
        insert(build::addf(location, init, product))
    };
    // SAFETY: every use of the matmul now reads `output`; the matmul is then erased.
    unsafe {
        mlir_sys::mlirValueReplaceAllUsesOfWith(result.to_raw(), output.to_raw());
        mlir_sys::mlirOperationDestroy(op.to_raw());
    }
}
