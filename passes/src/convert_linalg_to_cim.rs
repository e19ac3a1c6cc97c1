//! `convert-linalg-to-cim`: marks the weight-stationary contractions of
//! linalg-on-tensors analog, by rewriting them as `cim.matmul`.
//!
//! A `linalg.matmul` whose right operand is an inline f32 `arith.constant` (the
//! weight) becomes a `cim.matmul`. The weight may be used transposed, as torch-mlir
//! emits `nn.Linear`: through the matmul's `indexing_maps` (B indexed (n, k)) or
//! through a `linalg.transpose` of the constant; the transposition is folded into a
//! new constant. The accumulator (`outs`) is dropped when it is a `linalg.fill` of
//! 0.0, and added back with `arith.addf` otherwise. A `linalg.conv_2d_nchw_fchw` with
//! a constant filter becomes im2col (a `linalg.generic` and a reshape), one `cim.matmul`
//! by the filter as a (c, kh, kw) x f matrix, and the layout change back to NCHW; an
//! accumulator that broadcasts a constant per-channel bias becomes a bias added per
//! column of the product (which the NMDU fuses into the MVMs' kernel). This is the
//! one place convolutions become im2col: the ONNX frontend writes them as linalg.
//! Weights may be inline or `dense_resource` blobs. Everything else stays digital:
//! contractions with a non-constant right operand, other element types, other
//! indexing maps. A `linalg.batch_matmul` whose right operand broadcasts one constant
//! matrix over the batch (torch-mlir's form of a projection of a 3-D activation, such
//! as attention's Q/K/V in `nn.MultiheadAttention`) is one weight-stationary product
//! too: its batch and rows collapsed into rows of one `cim.matmul`, expanded back.
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
        TensorShape, attribute, attribute_shape, context_of, defining_op, dense_i64_values,
        float_attribute, i64_array_attribute, linalg_matmul_transposes_rhs, op_name, ops_in,
    },
};
use melior::ir::{
    BlockLike, Module, OperationRef, RegionLike, Value, ValueLike, operation::OperationLike,
};

static ID: PassId = PassId;

/// The pass definition.
pub static PASS: PassDef = PassDef {
    name: "convert-linalg-to-cim",
    summary: "Rewrite linalg.matmul and NCHW convolutions with constant weights as the analog cim.matmul",
    options: &[],
    anchor: "builtin.module",
    run,
    id: &ID,
};

fn run(module: OperationRef<'_, '_>, _options: &PassOptions) -> PassResult {
    // Only the op being converted is erased, so the others stay valid.
    for op in ops_in(module) {
        match op_name(&op).as_str() {
            "linalg.matmul" => convert(op),
            "linalg.batch_matmul" => convert_batch(op),
            "linalg.conv_2d_nchw_fchw" => convert_conv(op),
            _ => {}
        }
    }
    Ok(())
}

/// The f32 values and dimensions of a constant (dense or resource), if `value` is one.
fn constant_tensor(value: Value) -> Option<(Vec<f32>, Vec<u64>)> {
    let def = defining_op(value).filter(|def| op_name(def) == "arith.constant")?;
    let attribute = attribute(&def, "value")?;
    let dims = attribute_shape(attribute)?
        .dims
        .into_iter()
        .collect::<Option<Vec<u64>>>()?;
    Some((build::read_dense_f32(attribute)?, dims))
}

fn tensor_text(dims: &[Option<u64>]) -> String {
    let dims: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".to_owned(), |d| d.to_string()))
        .collect();
    format!("tensor<{}xf32>", dims.join("x"))
}

/// A function computing an NCHW x FCHW convolution by im2col and one
/// weight-stationary `cim.matmul` (the filter as a (c, kh, kw) x f matrix), NCHW out;
/// with a `bias`, added per column of the product (where the NMDU fuses it).
#[allow(clippy::too_many_arguments)]
fn conv_helper(
    name: &str,
    input: &[Option<u64>],
    output: &[Option<u64>],
    filter: &[f32],
    fdims: &[u64],
    strides: &[i64],
    dilations: &[i64],
    bias: Option<&[f32]>,
) -> String {
    let (f, c, kh, kw) = (fdims[0], fdims[1], fdims[2], fdims[3]);
    let (oh, ow) = (output[2].unwrap_or(0), output[3].unwrap_or(0));
    let k = c * kh * kw;
    let matrix: Vec<f32> = (0..k * f)
        .map(|i| filter[((i % f) * k + i / f) as usize])
        .collect();
    let hex = |values: &[f32]| -> String {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .map(|b| format!("{b:02X}"))
            .collect()
    };
    let batch = input[0];
    let (dim_line, sizes, batch_size) = match batch {
        Some(n) => (String::new(), String::new(), n.to_string()),
        None => (
            "  %c0 = arith.constant 0 : index\n  %n = tensor.dim %x, %c0 : IN\n"
                .replace("IN", &tensor_text(input)),
            "%n".to_owned(),
            "%n".to_owned(),
        ),
    };
    let columns = tensor_text(&[batch, Some(oh), Some(ow), Some(c), Some(kh), Some(kw)]);
    let flat = tensor_text(&[batch.map(|n| n * oh * ow), Some(k)]);
    let product = tensor_text(&[batch.map(|n| n * oh * ow), Some(f)]);
    let nhwc = tensor_text(&[batch, Some(oh), Some(ow), Some(f)]);
    let (input_t, output_t) = (tensor_text(input), tensor_text(output));
    let weights = hex(&matrix);
    let summed = if bias.is_some() { "%sum" } else { "%p" };
    let biased = match bias {
        None => String::new(),
        Some(bias) => {
            let rows = match batch.map(|n| n * oh * ow) {
                Some(_) => String::new(),
                None => "%rows".into(),
            };
            let rows_line = if rows.is_empty() {
                String::new()
            } else {
                format!(
                    "  %c0p = arith.constant 0 : index\n  %rows = tensor.dim %flat, %c0p : {flat}\n"
                )
            };
            format!(
                "  %b = arith.constant dense<\"0x{}\"> : tensor<{f}xf32>\n{rows_line}  %pe = tensor.empty({rows}) : {product}\n  %sum = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = [\"parallel\", \"parallel\"]}} ins(%p, %b : {product}, tensor<{f}xf32>) outs(%pe : {product}) {{\n  ^bb0(%a: f32, %c: f32, %o: f32):\n    %s = arith.addf %a, %c : f32\n    linalg.yield %s : f32\n  }} -> {product}\n",
                hex(bias)
            )
        }
    };
    format!(
        "func.func private @{name}(%x: {input_t}) -> {output_t} {{\n{dim_line}\
  %e = tensor.empty({sizes}) : {columns}\n\
  %cols = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * {} + d4 * {}, d2 * {} + d5 * {})>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\", \"parallel\", \"parallel\"]}} ins(%x : {input_t}) outs(%e : {columns}) {{\n\
  ^bb0(%in: f32, %out: f32):\n\
    linalg.yield %in : f32\n\
  }} -> {columns}\n\
  %flat = tensor.collapse_shape %cols [[0, 1, 2], [3, 4, 5]] : {columns} into {flat}\n\
  %w = arith.constant dense<\"0x{weights}\"> : tensor<{k}x{f}xf32>\n\
  %p = \"cim.matmul\"(%flat, %w) : ({flat}, tensor<{k}x{f}xf32>) -> {product}\n\
{biased}\
  %nhwc = tensor.expand_shape {summed} [[0, 1, 2], [3]] output_shape [{batch_size}, {oh}, {ow}, {f}] : {product} into {nhwc}\n\
  %e2 = tensor.empty({sizes}) : {output_t}\n\
  %y = linalg.transpose ins(%nhwc : {nhwc}) outs(%e2 : {output_t}) permutation = [0, 3, 1, 2]\n\
  return %y : {output_t}\n}}\n",
        strides[0], dilations[0], strides[1], dilations[1]
    )
}

/// `linalg.conv_2d_nchw_fchw` with a constant filter becomes im2col and a
/// `cim.matmul` (written as a helper function, see [`conv_helper`], then inlined in
/// place). torch-mlir pads with `tensor.pad` before the convolution, which stays
/// digital.
fn convert_conv(op: OperationRef) {
    let (Ok(input), Ok(filter), Ok(init), Ok(result)) =
        (op.operand(0), op.operand(1), op.operand(2), op.result(0))
    else {
        return;
    };
    let Some((filter_data, fdims)) = constant_tensor(filter) else {
        return;
    };
    let (Some(input_shape), Some(output_shape)) = (
        TensorShape::of_value(input),
        TensorShape::of_value(result.into()),
    ) else {
        return;
    };
    let window = |name: &str| {
        attribute(&op, name)
            .and_then(dense_i64_values)
            .filter(|v| v.len() == 2)
    };
    let (Some(strides), Some(dilations)) = (window("strides"), window("dilations")) else {
        return;
    };
    let static_after_batch =
        |dims: &[Option<u64>]| dims.len() == 4 && dims[1..].iter().all(Option::is_some);
    if fdims.len() != 4
        || !static_after_batch(&input_shape.dims)
        || !static_after_batch(&output_shape.dims)
    {
        return;
    }
    let context = context_of(&op);
    let bias = channel_bias(init, fdims[0]);
    let text = conv_helper(
        "im2col",
        &input_shape.dims,
        &output_shape.dims,
        &filter_data,
        &fdims,
        &strides,
        &dilations,
        bias.as_deref(),
    );
    let Some(helper) = Module::parse(context, &text) else {
        return;
    };
    let Some(function) = helper.body().first_operation() else {
        return;
    };
    let Some(body) = function
        .region(0)
        .ok()
        .and_then(|region| region.first_block())
    else {
        return;
    };
    let Ok(argument) = body.argument(0) else {
        return;
    };
    // Inline by hand (the MLIR inliner refuses IRDL ops): the helper reads the
    // convolution's input, its operations move before the convolution in order, and
    // what it returns replaces the convolution.
    // SAFETY: each op is detached from the helper and inserted in our block right
    // away; values keep their uses across the move; the helper is then destroyed with
    // only its terminator left.
    let called = unsafe {
        mlir_sys::mlirValueReplaceAllUsesOfWith(argument.to_raw(), input.to_raw());
        let block = op.block().expect("a convolution lives in a block");
        let mut returned = None;
        let mut next = body.first_operation();
        while let Some(inner) = next {
            next = inner.next_in_block();
            if op_name(&inner) == "func.return" {
                returned = inner.operand(0).ok().map(|value| value.to_raw());
                break;
            }
            mlir_sys::mlirOperationRemoveFromParent(inner.to_raw());
            block.insert_operation_before(op, melior::ir::Operation::from_raw(inner.to_raw()));
        }
        match returned {
            Some(raw) => Value::from_raw(raw),
            None => return,
        }
    };
    // A bias in the accumulator is already in the product.
    replace_contraction(op, result.into(), (bias.is_none()).then_some(init), called);
}

/// The bias of a convolution whose accumulator starts as `init`: when `init` is a
/// constant vector of `channels` values broadcast over N, H and W (as a biased
/// convolution is written: torch-mlir, the ONNX frontend), its values.
fn channel_bias(init: Value, channels: u64) -> Option<Vec<f32>> {
    const BROADCAST: &str =
        "[affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>]";
    copied_input(init, BROADCAST, |source| {
        let (values, dims) = constant_tensor(source)?;
        (dims == [channels]).then_some(values)
    })
}

/// `read` of the input of the `linalg.generic` defining `value` when that generic
/// only copies its one input through `maps` (a broadcast), yielding it as it is.
fn copied_input<T>(value: Value, maps: &str, read: impl FnOnce(Value) -> Option<T>) -> Option<T> {
    let generic = defining_op(value).filter(|op| op_name(op) == "linalg.generic")?;
    if generic.operand_count() != 2
        || attribute(&generic, "indexing_maps")
            .map(|m| m.to_string())
            .as_deref()
            != Some(maps)
    {
        return None;
    }
    let body = generic.region(0).ok()?.first_block()?;
    let yielded = body
        .first_operation()
        .filter(|op| op_name(op) == "linalg.yield")?
        .operand(0)
        .ok()?;
    let argument = melior::ir::block::BlockArgument::try_from(yielded).ok()?;
    if argument.argument_number() != 0 {
        return None;
    }
    read(generic.operand(0).ok()?)
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
    replace_contraction(op, result.into(), Some(init), product);
}

/// The constant matrix (as [`constant_matrix`] reads it) a `linalg.generic` or
/// `linalg.broadcast` repeats over a new leading (batch) dimension: `(d0, d1, d2) ->
/// (d1, d2)` in, identity out, the input yielded as it is.
fn broadcast_over_batch(value: Value) -> Option<(Vec<f32>, [u64; 2], bool)> {
    const MAPS: &str =
        "[affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]";
    let def = defining_op(value)?;
    match op_name(&def).as_str() {
        "linalg.broadcast" if i64_array_attribute(&def, "dimensions")? == [0] => {
            constant_matrix(def.operand(0).ok()?)
        }
        "linalg.generic" => copied_input(value, MAPS, constant_matrix),
        _ => None,
    }
}

/// `linalg.batch_matmul` of `a` (b, m, k) by a constant (k, n) matrix broadcast over
/// the batch: `a` collapsed to (b·m, k), one `cim.matmul`, expanded to (b, m, n).
fn convert_batch(op: OperationRef) {
    const DEFAULT_MAPS: &str = "[affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]";
    if attribute(&op, "indexing_maps").is_some_and(|maps| maps.to_string() != DEFAULT_MAPS) {
        // Transposed operands (other maps) stay digital.
        return;
    }
    let (Ok(a), Ok(broadcast), Ok(init), Ok(result)) =
        (op.operand(0), op.operand(1), op.operand(2), op.result(0))
    else {
        return;
    };
    let Some((values, shape, transposed)) = broadcast_over_batch(broadcast) else {
        return;
    };
    let (Some(a_shape), Some(out_shape)) = (
        TensorShape::of_value(a),
        TensorShape::of_value(result.into()),
    ) else {
        return;
    };
    let ([b, m, k], [_, _, n]) = (a_shape.dims.as_slice(), out_shape.dims.as_slice()) else {
        return;
    };
    let (values, shape) = if transposed {
        (transpose(&values, shape), [shape[1], shape[0]])
    } else {
        (values, shape)
    };
    if Some(shape[0]) != *k || Some(shape[1]) != *n {
        return;
    }
    let context = context_of(&op);
    let location = op.location();
    let insert = |new| build::insert_before(op, new);
    let f32 = melior::ir::Type::float32(context);
    let rows = b.zip(*m).map(|(b, m)| b * m);
    let groups = [vec![0, 1], vec![2]];
    let flat = insert(build::collapse_shape(
        context,
        location,
        a,
        &groups,
        build::tensor_type(&[rows, *k], f32),
    ));
    let weight = insert(build::f32_constant(context, location, &shape, &values));
    let product = insert(build::matmul(
        location,
        flat,
        weight,
        build::tensor_type(&[rows, *n], f32),
    ));
    let mut sizes = Vec::new();
    for (axis, dim) in [*b, *m].into_iter().enumerate() {
        if dim.is_none() {
            let index = insert(build::index_constant(context, location, axis as i64));
            sizes.push(insert(build::tensor_dim(context, location, a, index)));
        }
    }
    let expanded = insert(build::expand_shape(
        context,
        location,
        product,
        &groups,
        &out_shape.dims,
        &sizes,
    ));
    replace_contraction(op, result.into(), Some(init), expanded);
}

/// Replaces the contraction `op` (its `result`) by `product` plus the accumulator
/// it started from, `init` (none when `product` already holds it; nothing added when
/// it is a fill of zeros), and erases it.
fn replace_contraction(op: OperationRef, result: Value, init: Option<Value>, product: Value) {
    let output = match init.filter(|&init| !is_zero_fill(init)) {
        Some(init) => build::insert_before(op, build::addf(op.location(), init, product)),
        None => product,
    };
    // SAFETY: every use of the contraction now reads `output`; it is then erased.
    unsafe {
        mlir_sys::mlirValueReplaceAllUsesOfWith(result.to_raw(), output.to_raw());
        mlir_sys::mlirOperationDestroy(op.to_raw());
    }
}
