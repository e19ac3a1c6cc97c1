//! The operator families, one module each: how each ONNX operator is imported.
//!
//! - [`constant`] holds Constant, Identity, Dropout.
//! - [`elementwise`] holds Add, Sub, Mul, Div; Relu, LeakyRelu, Sigmoid, Tanh, Clip;
//!   Sqrt, Erf, Exp, Log, Neg, Abs, Reciprocal, Pow; comparisons, logic, Where, IsNaN,
//!   Max, Min (booleans as 1 and 0); constants folded.
//! - [`gemm`] holds Gemm and MatMul (of any rank by a constant 2-D weight; between
//!   computed values, as batched products).
//! - [`conv`] holds Conv (with groups), as `linalg.conv_2d_nchw_fchw` (im2col is
//!   `convert-linalg-to-cim`'s).
//! - [`pool`] holds MaxPool, AveragePool, GlobalAveragePool.
//! - [`window`] holds the 2-D window attributes, padding and output sizes Conv and the
//!   pools share.
//! - [`norm`] holds BatchNormalization (when it is not folded into a convolution),
//!   LayerNormalization and the Reduce operators.
//! - [`shape`] holds Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Slice,
//!   Gather (one index, or an embedding lookup), Expand, ConstantOfShape, Cast, Range
//!   on computed tensors.
//! - [`shape_vector`] folds the shape arithmetic on 1-D integer vectors (Shape,
//!   Gather, Concat, Slice, Cast, Add, Sub, Mul, Div, Mod...).
//! - [`softmax`] holds Softmax.
//! - [`recurrent`] holds LSTM and GRU.

mod constant;
mod conv;
mod elementwise;
mod gemm;
mod norm;
mod pool;
mod recurrent;
mod shape;
mod shape_vector;
mod softmax;
mod window;

use crate::OnnxError;
use crate::emitter::Emitter;
use tract_onnx::pb::NodeProto;

/// `axis` of a tensor of `rank` (negative counts from the end), if it names one.
pub(crate) fn axis_in(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 {
        axis.checked_add(rank)?
    } else {
        axis
    };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// The error of an axis outside `[-rank, rank)`.
pub(crate) fn out_of_range(
    emitter: &Emitter,
    node: &NodeProto,
    axis: i64,
    rank: usize,
) -> OnnxError {
    emitter.unsupported(
        node,
        format!("axis {axis} is outside a tensor of rank {rank} (axes lie in [-{rank}, {rank}))"),
    )
}
