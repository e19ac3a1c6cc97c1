//! The ONNX frontend on models it has never seen: random MLP-like graphs (layer
//! sizes, Gemm flags, activations, broadcast constants, flatten, softmax), CNNs,
//! sequence and recurrent models are built here, run by tract as the reference,
//! compiled with `cimc`, and run at exact fidelity: outputs must agree to 1e-5 with
//! the same top-1. Links tract, not MLIR. Its modules:
//!
//! - [`builder`]: building ONNX graphs by hand (nodes, initializers, attributes).
//! - [`networks`]: random MLPs, CNNs, recurrent and sequence models from a seed.
//! - [`support`]: the check against tract (and the NMDU), running `cimc`.
//! - [`random_models`]: the property tests, random models against tract.
//! - [`onnxruntime_fixtures`]: reverse and bidirectional recurrent layers and torch
//!   exports against onnxruntime's outputs.
//! - [`batch_norm_folding`]: BatchNormalization folded into the convolution.
//! - [`errors`]: unsupported nodes, opsets and files are named.
//!
//! The modules live in `tests/onnx/`: a crate root resolves `mod x;` next to itself
//! (`tests/x.rs`, where cargo would take it for a test binary of its own), hence
//! the `#[path]`s. `common` is shared with the other test binaries.

mod common;

#[path = "onnx/builder.rs"]
mod builder;
#[path = "onnx/networks.rs"]
mod networks;
#[path = "onnx/support.rs"]
mod support;

#[path = "onnx/batch_norm_folding.rs"]
mod batch_norm_folding;
#[path = "onnx/errors.rs"]
mod errors;
#[path = "onnx/onnxruntime_fixtures.rs"]
mod onnxruntime_fixtures;
#[path = "onnx/random_models.rs"]
mod random_models;
