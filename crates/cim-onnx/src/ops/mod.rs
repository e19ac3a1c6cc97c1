//! The operator families, one module each: how each ONNX operator is imported.
//!
//! - [`constant`] holds Constant, Identity, Dropout.
//! - [`elementwise`] holds Add, Sub, Mul, Div; Relu, LeakyRelu, Sigmoid, Tanh, Clip.
//! - [`gemm`] holds Gemm and MatMul (batched MatMul of any rank by a 2-D weight).
//! - [`conv`] holds Conv (with groups), as `linalg.conv_2d_nchw_fchw` (im2col is
//!   `convert-linalg-to-cim`'s).
//! - [`pool`] holds MaxPool, AveragePool, GlobalAveragePool.
//! - [`window`] holds the 2-D window attributes, padding and output sizes Conv and the
//!   pools share.
//! - [`norm`] holds BatchNormalization (when it is not folded into a convolution).
//! - [`shape`] holds Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat, Slice,
//!   Gather, Shape, ConstantOfShape, Cast.
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
mod softmax;
mod window;
