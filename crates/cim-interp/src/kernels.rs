//! The numeric kernels the semantics and the backends share: work spread over the
//! cores in pieces cut the same way on every machine, and the matrix product.

use crate::{InterpError, malformed};
use melior::ir::OperationRef;
use ndarray::{Array2, ArrayD, IxDyn};

/// Rows per piece of work spread over the cores. Work is cut the same way on every
/// machine, so results never depend on how many cores there are.
pub const CHUNK_ROWS: usize = 128;

/// Rows per piece of a matrix product: larger, as each piece packs the whole
/// weight block again.
const GEMM_ROWS: usize = 512;

/// Runs `work(index, chunk)` on the consecutive `chunk`-element pieces of `values`,
/// spread over the machine's cores (rayon's pool: no thread is started per call,
/// which small blocks would pay for).
pub fn for_chunks(values: &mut [f64], chunk: usize, work: impl Fn(usize, &mut [f64]) + Sync) {
    use rayon::prelude::*;
    let chunk = chunk.max(1);
    if values.len() <= chunk {
        if !values.is_empty() {
            work(0, values);
        }
        return;
    }
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(index, piece)| work(index, piece));
}

/// `input . weight` over the last axis of `input`.
pub fn matmul<S: ndarray::Data<Elem = f64>>(
    op: &OperationRef,
    input: &ArrayD<f64>,
    weight: &ndarray::ArrayBase<S, ndarray::Ix2>,
) -> Result<ArrayD<f64>, InterpError> {
    let shape = input.shape().to_vec();
    let k = *shape
        .last()
        .ok_or_else(|| malformed(op, "input has rank 0"))?;
    if k != weight.nrows() {
        return Err(malformed(
            op,
            format!(
                "input inner dimension {k} vs weight rows {}",
                weight.nrows()
            ),
        ));
    }
    let rows = input.len() / k.max(1);
    let flat = input
        .to_shape((rows, k))
        .map_err(|error| malformed(op, error.to_string()))?;
    let n = weight.ncols();
    let mut product = Array2::<f64>::zeros((rows, n));
    let weight = weight.view();
    let values = product.as_slice_mut().expect("a new array is contiguous");
    for_chunks(values, GEMM_ROWS * n.max(1), |index, chunk| {
        let start = index * GEMM_ROWS;
        let count = chunk.len() / n.max(1);
        let mut target =
            ndarray::ArrayViewMut2::from_shape((count, n), chunk).expect("chunks hold whole rows");
        ndarray::linalg::general_mat_mul(
            1.0,
            &flat.slice(ndarray::s![start..start + count, ..]),
            &weight,
            0.0,
            &mut target,
        );
    });
    let mut out_shape = shape;
    *out_shape.last_mut().expect("rank >= 1") = weight.ncols();
    product
        .into_shape_with_order(IxDyn(&out_shape))
        .map_err(|error| malformed(op, error.to_string()))
}
