//! `arith`, `cf` and `tensor` ops: constants, sums, the integer arithmetic of
//! dynamic shapes (casts, sums, products, quotients, comparisons, selects, the
//! asserts torch-mlir checks them with), shapes, slices, padding and concatenation.

use super::one;
use crate::{Backend, InterpError, Operands, RtValue, malformed, operations};
use cim_ir::{
    build::read_dense_f32,
    query::{TensorShape, attribute, float_attribute, i64_array_attribute, int_attribute, op_name},
};
use melior::ir::{OperationRef, RegionLike, operation::OperationLike};
use ndarray::{ArrayD, Axis, IxDyn, Slice, concatenate};

pub(crate) fn step(
    backend: &dyn Backend,
    operands: Operands,
    name: &str,
) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    match name {
        "arith.constant" => {
            let value = attribute(op, "value").ok_or_else(|| malformed(op, "no value"))?;
            if let Some(integer) = int_attribute(op, "value") {
                return Ok(vec![RtValue::Index(integer)]);
            }
            if let Some(scalar) = float_attribute(op, "value") {
                return Ok(vec![RtValue::Scalar(scalar)]);
            }
            let shape = cim_ir::query::attribute_shape(value)
                .ok_or_else(|| malformed(op, "unsupported constant"))?;
            // Integer tensors (torch-mlir's index buffers) are held as f64, exact below
            // 2^53.
            let values: Vec<f64> = match read_dense_f32(value) {
                Some(values) => values.into_iter().map(f64::from).collect(),
                None => cim_ir::build::read_dense_integers(value)
                    .ok_or_else(|| {
                        malformed(
                            op,
                            "only f32 and integer (i1, i32, i64) tensor constants are supported",
                        )
                    })?
                    .into_iter()
                    .map(|v| v as f64)
                    .collect(),
            };
            let dims: Vec<usize> = shape
                .dims
                .iter()
                .map(|dim| dim.unwrap_or(0) as usize)
                .collect();
            one(ArrayD::from_shape_vec(IxDyn(&dims), values)
                .map_err(|error| malformed(op, error.to_string()))?)
        }
        "arith.addf" => match (operands.runtime(0)?, operands.runtime(1)?) {
            (RtValue::Tensor(a), RtValue::Tensor(b)) if a.shape() == b.shape() => {
                match backend.scalar_unit(op, operands.env)? {
                    Some(mut unit) => {
                        let mut sum = a.clone();
                        for (x, &y) in sum.iter_mut().zip(b) {
                            *x = unit.scalar(op, &[*x, y])?;
                        }
                        one(sum)
                    }
                    None => one(a + b),
                }
            }
            (RtValue::Scalar(a), RtValue::Scalar(b)) => Ok(vec![RtValue::Scalar(a + b)]),
            _ => Err(malformed(
                op,
                "operands must be two tensors of one shape or two scalars",
            )),
        },
        "tensor.dim" => {
            let source = operands.tensor(0)?;
            let RtValue::Index(axis) = operands.runtime(1)? else {
                return Err(malformed(op, "index operand is not an index"));
            };
            let size = *source
                .shape()
                .get(*axis as usize)
                .ok_or_else(|| malformed(op, "dimension out of range"))?;
            Ok(vec![RtValue::Index(size as i64)])
        }
        "tensor.empty" => {
            let shape = operands.result_dims(Some(0))?;
            one(ArrayD::zeros(IxDyn(&shape)))
        }
        "tensor.collapse_shape" | "tensor.expand_shape" => {
            let source = operands.tensor(0)?;
            one(reshaped(
                op,
                source.view(),
                &reshape_dims(op, source.len())?,
            )?)
        }
        "tensor.pad" => pad(operands),
        "tensor.extract_slice" => {
            let source = operands.tensor(0)?;
            let offsets = i64_array_attribute(op, "static_offsets")
                .ok_or_else(|| malformed(op, "offsets"))?;
            let strides = i64_array_attribute(op, "static_strides")
                .ok_or_else(|| malformed(op, "strides"))?;
            if offsets.iter().any(|&offset| offset < 0) || strides.iter().any(|&stride| stride < 1)
            {
                return Err(malformed(
                    op,
                    "only static offsets and positive static strides are supported",
                ));
            }
            // Sizes at the source's rank (a rank-reducing slice drops unit ones after).
            let static_sizes =
                i64_array_attribute(op, "static_sizes").ok_or_else(|| malformed(op, "sizes"))?;
            let mut next_dynamic = 1;
            let sizes = static_sizes
                .iter()
                .map(|&size| {
                    if size >= 0 {
                        return Ok(size as usize);
                    }
                    let index = next_dynamic;
                    next_dynamic += 1;
                    match operands.runtime(index)? {
                        RtValue::Index(size) if *size >= 0 => Ok(*size as usize),
                        _ => Err(malformed(op, "dynamic size is not a non-negative index")),
                    }
                })
                .collect::<Result<Vec<usize>, InterpError>>()?;
            if sizes.len() != source.ndim() || offsets.len() != sizes.len() {
                return Err(malformed(
                    op,
                    "offsets, sizes and strides must cover every axis",
                ));
            }
            let mut view = source.view();
            for (axis, ((&offset, &size), &stride)) in
                offsets.iter().zip(&sizes).zip(&strides).enumerate()
            {
                // `size` elements from `offset`, every `stride`-th.
                let start = offset as usize;
                let end = start + (size.max(1) - 1) * stride as usize + usize::from(size > 0);
                if end > view.shape()[axis] {
                    return Err(malformed(op, "slice out of bounds"));
                }
                view.slice_axis_inplace(
                    Axis(axis),
                    Slice::new(start as isize, Some(end as isize), stride as isize),
                );
            }
            let result = operands.result_dims(Some(1))?;
            if result.len() == sizes.len() {
                return one(crate::kernels::standard_layout(view));
            }
            // Rank-reducing: unit dimensions the result type does not have are dropped.
            let mut to_drop = sizes.len().saturating_sub(result.len());
            let mut kept = Vec::new();
            for &size in &sizes {
                if size == 1 && to_drop > 0 && result.get(kept.len()) != Some(&1) {
                    to_drop -= 1;
                } else {
                    kept.push(size);
                }
            }
            one(reshaped(op, view.view(), &kept)?)
        }
        "tensor.from_elements" => {
            // Scalars (index, integer or float) into a tensor of the result's shape.
            let values = (0..op.operand_count())
                .map(|i| match operands.runtime(i)? {
                    RtValue::Index(v) => Ok(*v as f64),
                    RtValue::Scalar(v) => Ok(*v),
                    RtValue::Tensor(_) => Err(malformed(op, "an element is a tensor")),
                })
                .collect::<Result<Vec<f64>, _>>()?;
            let dims = operands.result_dims(None)?;
            one(ArrayD::from_shape_vec(IxDyn(&dims), values)
                .map_err(|error| malformed(op, error.to_string()))?)
        }
        "tensor.reshape" => {
            // The row-major reshape to the shape a 1-D tensor holds.
            let source = operands.tensor(0)?;
            let shape = operands.tensor(1)?;
            let dims = shape
                .iter()
                .map(|&d| {
                    (d >= 0.0 && d.fract() == 0.0)
                        .then_some(d as usize)
                        .ok_or_else(|| malformed(op, format!("shape entry {d} is not a size")))
                })
                .collect::<Result<Vec<usize>, _>>()?;
            one(reshaped(op, source.view(), &dims)?)
        }
        "tensor.concat" => {
            let dimension =
                int_attribute(op, "dim").ok_or_else(|| malformed(op, "no dim"))? as usize;
            concat(op, &operands.tensors()?, dimension)
        }
        "arith.index_cast" | "arith.index_castui" | "arith.extsi" | "arith.extui"
        | "arith.trunci" => match operands.runtime(0)? {
            RtValue::Index(value) => Ok(vec![RtValue::Index(*value)]),
            _ => Err(malformed(
                op,
                "only scalar integers are cast outside a linalg.generic body",
            )),
        },
        "arith.addi" | "arith.subi" | "arith.muli" | "arith.divsi" | "arith.divui"
        | "arith.floordivsi" | "arith.ceildivsi" | "arith.remsi" | "arith.remui"
        | "arith.maxsi" | "arith.minsi" | "arith.andi" | "arith.ori" | "arith.xori"
        | "arith.cmpi" => {
            let (RtValue::Index(a), RtValue::Index(b)) =
                (operands.runtime(0)?, operands.runtime(1)?)
            else {
                return Err(malformed(
                    op,
                    "only scalar integers are computed outside a linalg.generic body",
                ));
            };
            Ok(vec![RtValue::Index(integer_op(op, name, *a, *b)?)])
        }
        "arith.select" => {
            let RtValue::Index(condition) = operands.runtime(0)? else {
                return Err(malformed(
                    op,
                    "only a scalar condition selects outside a body",
                ));
            };
            let chosen = if *condition != 0 { 1 } else { 2 };
            Ok(vec![operands.runtime(chosen)?.clone()])
        }
        "cf.assert" => match operands.runtime(0)? {
            RtValue::Index(0) => Err(malformed(
                op,
                format!(
                    "assertion failed: {}",
                    cim_ir::query::string_attribute(op, "msg").unwrap_or_default()
                ),
            )),
            RtValue::Index(_) => Ok(Vec::new()),
            _ => Err(malformed(op, "the condition is not a scalar")),
        },
        other => Err(InterpError::Unsupported(other.to_owned())),
    }
}

/// The tensors joined along `dimension`.
pub(crate) fn concat(
    op: &OperationRef,
    tiles: &[&ArrayD<f64>],
    dimension: usize,
) -> Result<Vec<RtValue>, InterpError> {
    let views: Vec<_> = tiles.iter().map(|tile| tile.view()).collect();
    one(concatenate(Axis(dimension), &views).map_err(|error| malformed(op, error.to_string()))?)
}

/// `tensor.pad` with static, non-negative padding.
fn pad(operands: Operands) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    let source = operands.tensor(0)?;
    let low =
        i64_array_attribute(op, "static_low").ok_or_else(|| malformed(op, "no static_low"))?;
    let high =
        i64_array_attribute(op, "static_high").ok_or_else(|| malformed(op, "no static_high"))?;
    if low.iter().chain(&high).any(|&p| p < 0)
        || low.len() != source.ndim()
        || high.len() != source.ndim()
    {
        return Err(malformed(
            op,
            "only static, non-negative padding is supported",
        ));
    }
    let fill = pad_value(operands)?;
    let dims: Vec<usize> = source
        .shape()
        .iter()
        .zip(low.iter().zip(&high))
        .map(|(&size, (&l, &h))| size + l as usize + h as usize)
        .collect();
    let mut padded = ArrayD::from_elem(IxDyn(&dims), fill);
    let mut view = padded.view_mut();
    for (axis, &l) in low.iter().enumerate() {
        let size = source.shape()[axis];
        view.slice_axis_inplace(Axis(axis), Slice::from(l as usize..l as usize + size));
    }
    view.assign(source);
    one(padded)
}

/// The constant a `tensor.pad` fills with: yielded by its region, defined inside it
/// or above.
fn pad_value(operands: Operands) -> Result<f64, InterpError> {
    let op = operands.op;
    let block = op
        .region(0)
        .ok()
        .and_then(|region| region.first_block())
        .ok_or_else(|| malformed(op, "no padding region"))?;
    let yielded = operations(block)
        .find(|inner| op_name(inner) == "tensor.yield")
        .and_then(|inner| inner.operand(0).ok())
        .ok_or_else(|| malformed(op, "the padding region yields nothing"))?;
    if let Some(RtValue::Scalar(value)) = operands.env.get(yielded) {
        return Ok(*value);
    }
    cim_ir::query::defining_op(yielded)
        .filter(|def| op_name(def) == "arith.constant")
        .and_then(|def| float_attribute(&def, "value"))
        .ok_or_else(|| malformed(op, "the padding value must be a float constant"))
}

/// A scalar integer operation of `arith` on `a` and `b` (64-bit, as `index` and
/// `i64` are); a comparison gives 1 or 0.
fn integer_op(op: &OperationRef, name: &str, a: i64, b: i64) -> Result<i64, InterpError> {
    let nonzero = || {
        if b == 0 {
            Err(malformed(op, "division by zero"))
        } else {
            Ok(b)
        }
    };
    Ok(match name {
        "arith.addi" => a.wrapping_add(b),
        "arith.subi" => a.wrapping_sub(b),
        "arith.muli" => a.wrapping_mul(b),
        "arith.divsi" => a.wrapping_div(nonzero()?),
        "arith.divui" => ((a as u64) / (nonzero()? as u64)) as i64,
        "arith.floordivsi" => {
            let b = nonzero()?;
            let quotient = a.wrapping_div(b);
            quotient - i64::from(a % b != 0 && ((a < 0) != (b < 0)))
        }
        "arith.ceildivsi" => {
            let b = nonzero()?;
            let quotient = a.wrapping_div(b);
            quotient + i64::from(a % b != 0 && ((a < 0) == (b < 0)))
        }
        "arith.remsi" => a.wrapping_rem(nonzero()?),
        "arith.remui" => ((a as u64) % (nonzero()? as u64)) as i64,
        "arith.maxsi" => a.max(b),
        "arith.minsi" => a.min(b),
        "arith.andi" => a & b,
        "arith.ori" => a | b,
        "arith.xori" => a ^ b,
        _ => {
            let predicate = int_attribute(op, "predicate")
                .ok_or_else(|| malformed(op, "cmpi without a predicate"))?;
            i64::from(crate::body::compare_integers(predicate as u8, a, b))
        }
    })
}

/// The result shape of a `tensor.collapse_shape` or `tensor.expand_shape` of a
/// source of `len` elements (both keep the row-major order of the elements: a
/// reshape).
fn reshape_dims(op: &OperationRef, len: usize) -> Result<Vec<usize>, InterpError> {
    let shape = TensorShape::of_value(op.result(0).map_err(|_| malformed(op, "no result"))?.into())
        .ok_or_else(|| malformed(op, "result is not a ranked tensor"))?;
    let known: usize = shape.dims.iter().flatten().map(|&d| d as usize).product();
    Ok(shape
        .dims
        .iter()
        .map(|dim| dim.map_or(len / known.max(1), |d| d as usize))
        .collect())
}

/// A `tensor.collapse_shape` or `tensor.expand_shape` of a source no other op
/// reads: its elements are given the result's shape where they lie (no copy), when
/// they are in row-major order.
pub(crate) fn reshape_in_place(
    op: &OperationRef,
    source: ArrayD<f64>,
) -> Result<Vec<RtValue>, InterpError> {
    let dims = reshape_dims(op, source.len())?;
    if source.is_standard_layout() {
        one(source
            .into_shape_with_order(IxDyn(&dims))
            .map_err(|error| malformed(op, error.to_string()))?)
    } else {
        one(reshaped(op, source.view(), &dims)?)
    }
}

/// `source` in row-major order with shape `dims` (what every reshape computes).
fn reshaped(
    op: &OperationRef,
    source: ndarray::ArrayViewD<f64>,
    dims: &[usize],
) -> Result<ArrayD<f64>, InterpError> {
    crate::kernels::standard_layout(source)
        .into_shape_with_order(IxDyn(dims))
        .map_err(|error| malformed(op, error.to_string()))
}
