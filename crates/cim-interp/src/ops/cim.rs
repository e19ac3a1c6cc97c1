//! The `cim` dialect's exact semantics (`dialects/*.md`): a `cim.matmul` is a
//! matrix product, a `cim.mvm` the product of its input with the block of its array
//! (ideal converters), and the digital glue recombines, accumulates, concatenates,
//! subtracts, corrects and adapts as its page says.

use super::{one, tensor::concat};
use crate::{
    Backend, InterpError, Interpreter, MvmObserver, Operands, RtValue, kernels::matmul, malformed,
};
use cim_ir::{
    attributes::Window,
    build::read_dense_f32,
    dialect::ops,
    mapped::MvmOp,
    query::{TensorShape, attribute, float_attribute, i64_array_attribute, int_attribute},
};
use melior::ir::{OperationRef, TypeLike, operation::OperationLike};
use ndarray::{Array2, ArrayD, CowArray, Ix2, IxDyn};

pub(crate) fn step(
    interpreter: &Interpreter,
    backend: &dyn Backend,
    operands: Operands,
    name: &str,
    observer: MvmObserver,
) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    match name {
        ops::MATMUL => {
            let (input, weight) = (operands.tensor(0)?, operands.owned(1)?);
            one(matmul(
                op,
                input,
                &weight
                    .into_dimensionality::<ndarray::Ix2>()
                    .map_err(|_| malformed(op, "weight is not 2-D"))?,
            )?)
        }
        ops::MVM => {
            let mvm = Mvm::read(operands, |name| interpreter.array(name))?;
            let output = matmul(op, mvm.input, &mvm.block)?;
            observer(op, mvm.input, &output);
            one(output)
        }
        ops::ACCUMULATE => {
            let partials = operands.tensors()?;
            let (first, rest) = partials
                .split_first()
                .ok_or_else(|| malformed(op, "no operands"))?;
            let mut sum = (*first).clone();
            for partial in rest {
                sum += *partial;
            }
            one(sum)
        }
        ops::CONCAT => {
            let dimension = int_attribute(op, "dimension")
                .ok_or_else(|| malformed(op, "no dimension"))? as usize;
            concat(op, &operands.tensors()?, dimension)
        }
        // ndarray broadcasts a trailing dimension of 1, as cim.diff specifies.
        ops::DIFF => one(operands.tensor(0)? - operands.tensor(1)?),
        ops::SHIFT_ADD => {
            let shifts =
                i64_array_attribute(op, "shifts").ok_or_else(|| malformed(op, "no shifts"))?;
            let slices = operands.tensors()?;
            let first = slices.first().ok_or_else(|| malformed(op, "no operands"))?;
            if slices.iter().any(|slice| slice.shape() != first.shape()) {
                return Err(malformed(op, "slices of different shapes"));
            }
            let slices: Vec<(f64, CowArray<f64, IxDyn>)> = slices
                .iter()
                .zip(shifts)
                .map(|(slice, shift)| (2f64.powi(shift as i32), slice.as_standard_layout()))
                .collect();
            let mut sum = ArrayD::<f64>::uninit(first.raw_dim());
            let values = sum.as_slice_mut().expect("a new array is contiguous");
            // In pieces over the cores, each value summed from 0 slice by slice (a
            // power of two scales exactly: the same bits as a product and a sum);
            // the first slice writes `0 + worth · x`, so nothing is cleared first.
            let piece =
                crate::kernels::CHUNK_ROWS * first.shape().last().copied().unwrap_or(1).max(1);
            crate::kernels::for_chunks(values, piece, |index, chunk| {
                let start = index * piece;
                let mut slices = slices.iter();
                if let Some((worth, slice)) = slices.next() {
                    let slice = &slice.as_slice().expect("standard layout")[start..];
                    for (y, x) in chunk.iter_mut().zip(slice) {
                        y.write(0.0 + worth * x);
                    }
                }
                for (worth, slice) in slices {
                    let slice = &slice.as_slice().expect("standard layout")[start..];
                    for (y, x) in chunk.iter_mut().zip(slice) {
                        // SAFETY: the first slice wrote every element of the chunk.
                        unsafe { *y.assume_init_mut() += worth * x };
                    }
                }
            });
            // SAFETY: `first` has the output's shape and every slice has `first`'s
            // (checked above), so the first slice wrote every element.
            let sum = unsafe { sum.assume_init() };
            one(sum)
        }
        ops::AFFINE => {
            let input = operands.tensor(0)?;
            let width = input.shape().last().copied().unwrap_or(1).max(1);
            let column_vector = |name: &str| -> Result<Vec<f64>, InterpError> {
                let values = attribute(op, name)
                    .and_then(read_dense_f32)
                    .ok_or_else(|| malformed(op, format!("{name} must be dense f32")))?;
                match values.len() {
                    1 => Ok(vec![f64::from(values[0]); width]),
                    n if n == width => Ok(values.into_iter().map(f64::from).collect()),
                    n => Err(malformed(
                        op,
                        format!("{name} has {n} values for {width} columns"),
                    )),
                }
            };
            let (scale, offset) = (column_vector("scale")?, column_vector("offset")?);
            // y = x · scale + offset per column, in one parallel pass.
            let input = input.as_standard_layout();
            let x = input.as_slice().expect("standard layout");
            let mut output = ArrayD::zeros(input.raw_dim());
            let piece = crate::kernels::CHUNK_ROWS * width;
            crate::kernels::for_chunks(
                output.as_slice_mut().expect("a new array is contiguous"),
                piece,
                |index, chunk| {
                    let x = &x[index * piece..];
                    for (row, x) in chunk.chunks_mut(width).zip(x.chunks(width)) {
                        for (((y, x), s), o) in row.iter_mut().zip(x).zip(&scale).zip(&offset) {
                            *y = x * s + o;
                        }
                    }
                },
            );
            one(output)
        }
        ops::ADAPTER => adapter(backend, operands),
        ops::QUANTIZE => {
            let input = operands.tensor(0)?;
            let (scale, zero) = scale_and_zero(op)?;
            let bits = int_attribute(op, "bits").ok_or_else(|| malformed(op, "no bits"))?;
            let unsigned =
                TensorShape::of_value(op.result(0).map_err(|_| malformed(op, "result"))?.into())
                    .is_some_and(|shape| is_unsigned(shape.element));
            let (lo, hi) = if unsigned {
                (0.0, 2f64.powi(bits as i32) - 1.0)
            } else {
                (
                    -(2f64.powi(bits as i32 - 1)),
                    2f64.powi(bits as i32 - 1) - 1.0,
                )
            };
            one(input.mapv(|x| ((x / scale).round_ties_even() + zero).clamp(lo, hi)))
        }
        ops::DEQUANTIZE => {
            let input = operands.tensor(0)?;
            let (scale, zero) = scale_and_zero(op)?;
            one(input.mapv(|q| (q - zero) * scale))
        }
        other => Err(InterpError::Unsupported(other.to_owned())),
    }
}

/// A `cim.mvm` at run time: its array's name, its input, and the block it reads
/// (cell levels of type `A`: f64 for the exact semantics, f32 on a simulated chip).
pub struct Mvm<'e, 'w, A = f64> {
    /// The array it reads.
    pub array: String,
    /// Its window's top-left corner: (row, col).
    pub corner: (usize, usize),
    /// Its input, batch × rows.
    pub input: &'e ArrayD<f64>,
    /// The block of the array it reads, rows × cols.
    pub block: CowArray<'w, A, Ix2>,
}

impl<'e, 'w, A: Copy + Default> Mvm<'e, 'w, A> {
    /// Reads the MVM of `operands`, its array's cells given by `cells` (the
    /// module's weights, or what a chip holds). The block is a view when it lies
    /// within the cells; else a copy in which cells beyond them hold zero.
    pub fn read(
        operands: Operands<'e, '_, '_>,
        cells: impl FnOnce(&str) -> Option<&'w Array2<A>>,
    ) -> Result<Self, InterpError> {
        let op = operands.op;
        let view = MvmOp::read(*op).ok_or_else(|| malformed(op, "not a cim.mvm"))?;
        let array = view.array().ok_or_else(|| malformed(op, "no array"))?;
        let weights = cells(&array).ok_or_else(|| malformed(op, format!("no array @{array}")))?;
        let Window { row, col } = view.window().ok_or_else(|| malformed(op, "no window"))?;
        let input = operands.tensor(0)?;
        let cols = operands.result_dims(None)?[1];
        let rows = input.shape()[1];
        let (r0, c0) = (row as usize, col as usize);
        let inside = r0 + rows <= weights.nrows() && c0 + cols <= weights.ncols();
        let block = if inside {
            CowArray::from(weights.slice(ndarray::s![r0..r0 + rows, c0..c0 + cols]))
        } else {
            CowArray::from(Array2::from_shape_fn((rows, cols), |(r, c)| {
                weights.get((r0 + r, c0 + c)).copied().unwrap_or_default()
            }))
        };
        Ok(Self {
            array,
            corner: (r0, c0),
            input,
            block,
        })
    }
}

/// `base + (input · down) · up`: the two products on the backend's matrix unit
/// when it has one.
fn adapter(backend: &dyn Backend, operands: Operands) -> Result<Vec<RtValue>, InterpError> {
    let op = operands.op;
    let (input, base) = (operands.tensor(0)?, operands.tensor(1)?);
    let matrix = |name: &str| -> Result<Array2<f64>, InterpError> {
        let attribute = attribute(op, name).ok_or_else(|| malformed(op, format!("no {name}")))?;
        let shape =
            cim_ir::query::attribute_shape(attribute).ok_or_else(|| malformed(op, "shape"))?;
        let values = read_dense_f32(attribute)
            .ok_or_else(|| malformed(op, format!("{name} must be dense f32")))?;
        Array2::from_shape_vec(
            (
                shape.dims[0].unwrap_or(0) as usize,
                shape.dims[1].unwrap_or(0) as usize,
            ),
            values.into_iter().map(f64::from).collect(),
        )
        .map_err(|error| malformed(op, error.to_string()))
    };
    let (down, up) = (matrix("down")?, matrix("up")?);
    let mut shape = input.shape().to_vec();
    if let Some(last) = shape.last_mut() {
        *last = down.ncols();
    }
    let zeros = ArrayD::zeros(IxDyn(&shape));
    if let Some(low) = backend.matmul(op, input, &down, &zeros) {
        let low = low?;
        if let Some(out) = backend.matmul(op, &low, &up, base) {
            return one(out?);
        }
        return one(base + &matmul(op, &low, &up)?);
    }
    let low = matmul(op, input, &down)?;
    one(base + &matmul(op, &low, &up)?)
}

/// The `scale` and `zero_point` of a quantize or dequantize.
fn scale_and_zero(op: &OperationRef) -> Result<(f64, f64), InterpError> {
    let scale = float_attribute(op, "scale").ok_or_else(|| malformed(op, "no scale"))?;
    let zero = int_attribute(op, "zero_point").ok_or_else(|| malformed(op, "no zero_point"))?;
    Ok((scale, zero as f64))
}

fn is_unsigned(r#type: melior::ir::Type) -> bool {
    // SAFETY: queries on a valid type.
    unsafe {
        mlir_sys::mlirTypeIsAInteger(r#type.to_raw())
            && mlir_sys::mlirIntegerTypeIsUnsigned(r#type.to_raw())
    }
}
