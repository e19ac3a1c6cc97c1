//! Named `linalg` ops: fill, transpose, broadcast, matrix products (batched too), 2-D
//! convolution and pooling windows. `linalg.generic` is [`crate::generic`].

use super::one;
use crate::{Backend, InterpError, Operands, RtValue, generic, kernels::matmul, malformed};
use cim_ir::query::{attribute, i64_array_attribute, linalg_matmul_transposes_rhs};
use melior::ir::{OperationRef, operation::OperationLike};
use ndarray::{Array2, ArrayD, Axis, IxDyn};

pub(crate) fn step(
    backend: &dyn Backend,
    operands: Operands,
    name: &str,
) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    match name {
        "linalg.generic" => {
            if op.result_count() == 0 {
                return Err(malformed(
                    op,
                    "only linalg.generic on tensors (with results) is supported",
                ));
            }
            let inputs = operands.tensors()?;
            let unit = backend.scalar_unit(op, operands.env)?;
            generic::run(op, operands.env, inputs, unit)
        }
        "linalg.fill" => {
            // Integer tensors (an argmax's indices) are held in f64 too, exactly.
            let fill = match operands.runtime(0)? {
                RtValue::Scalar(fill) => *fill,
                RtValue::Index(fill) => *fill as f64,
                RtValue::Tensor(_) => {
                    return Err(malformed(op, "the fill value must be a scalar"));
                }
            };
            // The destination's shape, not its values (a `tensor.empty`'s, mostly).
            one(ArrayD::from_elem(operands.tensor(1)?.raw_dim(), fill))
        }
        "linalg.transpose" => {
            let permutation = i64_array_attribute(op, "permutation")
                .ok_or_else(|| malformed(op, "no permutation"))?;
            let axes: Vec<usize> = permutation.iter().map(|&axis| axis as usize).collect();
            let source = operands.tensor(0)?;
            if axes.len() != source.ndim() {
                return Err(malformed(op, "permutation length differs from the rank"));
            }
            one(crate::kernels::standard_layout(
                source.view().permuted_axes(IxDyn(&axes)),
            ))
        }
        "linalg.conv_2d_nchw_fchw" | "linalg.pooling_nchw_max" | "linalg.pooling_nchw_sum" => {
            window(backend, operands, name)
        }
        "linalg.matmul" => {
            let transposed = linalg_matmul_transposes_rhs(op).ok_or_else(|| {
                malformed(
                    op,
                    "only (m,k)x(k,n) and (m,k)x(n,k) indexing maps are supported",
                )
            })?;
            let (a, b, init) = (operands.tensor(0)?, operands.owned(1)?, operands.tensor(2)?);
            let b: Array2<f64> = b
                .into_dimensionality()
                .map_err(|_| malformed(op, "right operand is not 2-D"))?;
            let b = if transposed {
                b.reversed_axes().as_standard_layout().into_owned()
            } else {
                b
            };
            if let Some(product) = backend.matmul(op, a, &b, init) {
                return one(product?);
            }
            one(init + &matmul(op, a, &b)?)
        }
        "linalg.batch_matmul" => batch_matmul(backend, operands),
        "linalg.broadcast" => {
            // The output's `dimensions` are new; the others are the input's, in order.
            let added = i64_array_attribute(op, "dimensions")
                .ok_or_else(|| malformed(op, "no dimensions"))?;
            let (input, init) = (operands.tensor(0)?, operands.tensor(1)?);
            let rank = init.ndim();
            if input.ndim() + added.len() != rank
                || added.iter().any(|&d| d < 0 || d as usize >= rank)
            {
                return Err(malformed(
                    op,
                    format!(
                        "dimensions {added:?} do not take rank {} to rank {rank}",
                        input.ndim()
                    ),
                ));
            }
            let mut expanded = input.view();
            for axis in 0..rank {
                if added.contains(&(axis as i64)) {
                    expanded.insert_axis_inplace(Axis(axis));
                }
            }
            let broadcast = expanded.broadcast(init.shape()).ok_or_else(|| {
                malformed(
                    op,
                    format!(
                        "{:?} does not broadcast to {:?}",
                        input.shape(),
                        init.shape()
                    ),
                )
            })?;
            one(crate::kernels::standard_layout(broadcast))
        }
        other => Err(InterpError::Unsupported(other.to_owned())),
    }
}

/// `init[i] + a[i] · b[i]` for each batch index `i` (`a` is b × m × k, `b` is
/// b × k × n): the attention products of a transformer (QKᵀ, softmax · V) and the
/// per-token linear layers torch-mlir writes as batched products. Each batch is
/// one product of the backend's (fixed point on the NMDU) or in `f64`.
fn batch_matmul(backend: &dyn Backend, operands: Operands) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    // MLIR keeps the maps as an attribute, the default ones included.
    const DEFAULT_MAPS: &str = "[affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>]";
    if attribute(op, "indexing_maps").is_some_and(|maps| maps.to_string() != DEFAULT_MAPS) {
        return Err(malformed(
            op,
            "only the default indexing maps (b,m,k)x(b,k,n) are supported: transpose the operands with linalg.transpose",
        ));
    }
    let (a, b, init) = (
        operands.tensor(0)?,
        operands.tensor(1)?,
        operands.tensor(2)?,
    );
    let [batch, m, k] = *a.shape() else {
        return Err(malformed(op, "the left operand is not 3-D"));
    };
    let [b_batch, b_k, n] = *b.shape() else {
        return Err(malformed(op, "the right operand is not 3-D"));
    };
    if b_batch != batch || b_k != k || init.shape() != [batch, m, n] {
        return Err(malformed(
            op,
            format!(
                "shapes {:?} x {:?} into {:?} do not make a batched product",
                a.shape(),
                b.shape(),
                init.shape()
            ),
        ));
    }
    let mut out = init.clone();
    for i in 0..batch {
        let left = a.index_axis(Axis(0), i).to_owned();
        let right: Array2<f64> = b
            .index_axis(Axis(0), i)
            .to_owned()
            .into_dimensionality()
            .map_err(|_| malformed(op, "the right operand is not 3-D"))?;
        let start = init.index_axis(Axis(0), i).to_owned();
        let product = match backend.matmul(op, &left, &right, &start) {
            Some(product) => product?,
            None => start + &matmul(op, &left, &right)?,
        };
        out.index_axis_mut(Axis(0), i).assign(&product);
    }
    one(out)
}

/// A convolution or a pooling window, one step at a time: on the backend's scalar
/// unit when it has one (max, add, or multiply-add), else in `f64`.
fn window(
    backend: &dyn Backend,
    operands: Operands,
    name: &str,
) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    let pair = |attribute_name: &str| {
        attribute(op, attribute_name)
            .and_then(cim_ir::query::dense_i64_values)
            .filter(|v| v.len() == 2 && v.iter().all(|&x| x >= 1))
            .ok_or_else(|| malformed(op, format!("{attribute_name} must be two values >= 1")))
    };
    let (strides, dilations) = (pair("strides")?, pair("dilations")?);
    let (input, kernel, init) = (operands.tensor(0)?, operands.tensor(1)?, operands.owned(2)?);
    let conv = name == "linalg.conv_2d_nchw_fchw";
    let unit = backend.scalar_unit(op, operands.env)?;
    if conv && unit.is_none() {
        return one(convolution(
            op,
            input,
            kernel,
            init,
            ([strides[0], strides[1]], [dilations[0], dilations[1]]),
        )?);
    }
    let mut step: Box<dyn FnMut(f64, f64, f64) -> Result<f64, InterpError>> = match unit {
        Some(mut unit) => Box::new(move |acc, x, w| {
            let arguments = [acc, x, w];
            unit.scalar(op, &arguments[..if conv { 3 } else { 2 }])
        }),
        None if conv => Box::new(|acc, x, w| Ok(acc + x * w)),
        None if name == "linalg.pooling_nchw_max" => Box::new(|acc: f64, x, _| Ok(acc.max(x))),
        None => Box::new(|acc, x, _| Ok(acc + x)),
    };
    one(window_op(
        op,
        conv,
        input,
        kernel,
        init,
        ([strides[0], strides[1]], [dilations[0], dilations[1]]),
        &mut *step,
    )?)
}

/// The NCHW x FCHW convolution `init + conv(input, kernel)` in f64, as im2col and
/// one matrix product: rows (n, oh, ow), columns (c, kh, kw), the filter as a
/// (c, kh, kw) x f matrix; the same product a mapped convolution computes.
fn convolution(
    op: &OperationRef,
    input: &ArrayD<f64>,
    kernel: &ArrayD<f64>,
    mut init: ArrayD<f64>,
    (strides, dilations): ([i64; 2], [i64; 2]),
) -> Result<ArrayD<f64>, InterpError> {
    if input.ndim() != 4
        || init.ndim() != 4
        || kernel.ndim() != 4
        || kernel.shape()[1] != input.shape()[1]
        || kernel.shape()[0] != init.shape()[1]
        || input.shape()[0] != init.shape()[0]
    {
        return Err(malformed(op, "operands do not fit NCHW / FCHW"));
    }
    let (n, c, h, w) = (
        input.shape()[0],
        input.shape()[1],
        input.shape()[2],
        input.shape()[3],
    );
    let (f, kh, kw) = (kernel.shape()[0], kernel.shape()[2], kernel.shape()[3]);
    let (oh, ow) = (init.shape()[2], init.shape()[3]);
    let (sh, sw) = (strides[0] as usize, strides[1] as usize);
    let (dh, dw) = (dilations[0] as usize, dilations[1] as usize);
    if oh > 0 && (oh - 1) * sh + (kh.max(1) - 1) * dh >= h
        || ow > 0 && (ow - 1) * sw + (kw.max(1) - 1) * dw >= w
    {
        return Err(malformed(op, "the window reads outside the input"));
    }
    let k = c * kh * kw;
    let columns = ArrayD::from_shape_fn(IxDyn(&[n * oh * ow, k]), |index| {
        let (row, column) = (index[0], index[1]);
        let (b, y, x) = (row / (oh * ow), row / ow % oh, row % ow);
        let (ch, i, j) = (column / (kh * kw), column / kw % kh, column % kw);
        input[[b, ch, y * sh + i * dh, x * sw + j * dw]]
    });
    let filter = Array2::from_shape_fn((k, f), |(column, o)| {
        kernel[[o, column / (kh * kw), column / kw % kh, column % kw]]
    });
    let product = matmul(op, &columns, &filter)?;
    for ((b, o, y, x), value) in init
        .indexed_iter_mut()
        .map(|(index, value)| ((index[0], index[1], index[2], index[3]), value))
    {
        *value += product[[(b * oh + y) * ow + x, o]];
    }
    Ok(init)
}

/// A 2-D window operation on NCHW values, accumulated into `init` by `step(acc,
/// x, w)`: the NCHW x FCHW convolution (`conv`), or max / sum pooling (the kernel
/// operand only gives the window; `w` is 0).
fn window_op(
    op: &OperationRef,
    conv: bool,
    input: &ArrayD<f64>,
    kernel: &ArrayD<f64>,
    mut init: ArrayD<f64>,
    (strides, dilations): ([i64; 2], [i64; 2]),
    step: &mut dyn FnMut(f64, f64, f64) -> Result<f64, InterpError>,
) -> Result<ArrayD<f64>, InterpError> {
    let (kh, kw) = (
        kernel.shape()[kernel.ndim() - 2],
        kernel.shape()[kernel.ndim() - 1],
    );
    if input.ndim() != 4
        || init.ndim() != 4
        || (conv && (kernel.ndim() != 4 || kernel.shape()[1] != input.shape()[1]))
    {
        return Err(malformed(op, "operands do not fit NCHW / FCHW"));
    }
    let [n, outs, oh, ow] = [
        init.shape()[0],
        init.shape()[1],
        init.shape()[2],
        init.shape()[3],
    ];
    let channels = input.shape()[1];
    for b in 0..n {
        for o in 0..outs {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = init[[b, o, y, x]];
                    for i in 0..kh {
                        for j in 0..kw {
                            let (r, c) = (
                                y * strides[0] as usize + i * dilations[0] as usize,
                                x * strides[1] as usize + j * dilations[1] as usize,
                            );
                            if r >= input.shape()[2] || c >= input.shape()[3] {
                                return Err(malformed(op, "the window reads outside the input"));
                            }
                            if conv {
                                for ch in 0..channels {
                                    acc = step(acc, input[[b, ch, r, c]], kernel[[o, ch, i, j]])?;
                                }
                            } else {
                                acc = step(acc, input[[b, o, r, c]], 0.0)?;
                            }
                        }
                    }
                    init[[b, o, y, x]] = acc;
                }
            }
        }
    }
    Ok(init)
}
