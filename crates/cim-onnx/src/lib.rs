#![warn(missing_docs)]
//! The ONNX frontend: an ONNX model becomes an MLIR module in upstream dialects on
//! tensors (`linalg`, `tensor`, `arith`, `math`), which `cimc` then maps.
//!
//! Parsing is tract-onnx's (the protobuf model). Each supported node is written as
//! linalg: weight-stationary `Gemm` / `MatMul` as `linalg.matmul` with the constant
//! weight (which `convert-linalg-to-cim` makes analog), element-wise operators as
//! `linalg.generic` with NumPy broadcasting, `Softmax` as reductions. Opsets 13 to 18
//! are accepted. A node that is not supported is an error naming the node, its
//! operator, the opset and what to do.
//!
//! Supported now: Gemm, MatMul (by a constant 2-D weight, any rank: weight-stationary;
//! between computed values: the batched products of attention, digital), Conv (with
//! groups), MaxPool, AveragePool, GlobalAveragePool, BatchNormalization (folded into a
//! convolution it alone reads), LayerNormalization, Add, Sub, Mul, Div, Relu,
//! LeakyRelu, Sigmoid, Tanh, Clip, Erf, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Pow (by
//! 2, 0.5, 1), Softmax (any axis), ReduceMean, ReduceSum, ReduceMax, ReduceMin,
//! Equal, Greater, GreaterOrEqual, Less, LessOrEqual, And, Or, Xor, Not, Where, IsNaN,
//! Max, Min, Range (booleans and integers carried as f32; attention masks),
//! Flatten, Reshape (any row-major regrouping, the batch merged with other dimensions
//! included), Transpose, Squeeze, Unsqueeze, Concat, Slice (any steps), Expand,
//! Identity, Dropout, Constant, LSTM and GRU (any direction, unrolled over a static
//! sequence length), and the shape arithmetic exporters write around them (Shape,
//! Gather, Unsqueeze, Concat, Slice, Cast, Add, Sub, Mul, Div, Mod, Equal, Where, Max,
//! Min, Range on shape vectors, ConstantOfShape), folded at import; element-wise ops
//! on constants are computed at import too. Integer and bool graph inputs (token ids,
//! masks) are carried as f32, and Gather by them is an embedding lookup. Dynamic dimensions are symbols named by the
//! graph inputs' `dim_param`s (`dim`); weights may sit in external data beside the
//! model (`external`).
//!
//! The crate, by concept: `dim` holds dimension sizes (known, or a multiple of a
//! dynamic size) and the reshape plan; `emitter` writes MLIR text (SSA names, tensor types,
//! dense literals, and the generic element-wise, reduction, matmul, constant and
//! empty-tensor builders); `layout` adds the layout builders (collapse and expand,
//! squeeze and unsqueeze, concat, transpose, slices); `proto` reads node attributes
//! and tensor data from the protobuf; `graph` walks the graph (initializers, inputs,
//! the node dispatch, outputs) and finishes the function; `external` reads weights
//! stored beside the model; `fold` computes at import
//! what needs no code (batch normalization folded into a convolution, shape vectors
//! as symbolic dimensions); `ops` holds one module per operator family.

mod dim;
mod emitter;
mod external;
mod fold;
mod graph;
mod layout;
mod ops;
mod proto;

use emitter::Emitter;
use std::path::Path;
use thiserror::Error;
use tract_onnx::pb::ModelProto;
use tract_onnx::tract_core::framework::Framework;

/// Why a model could not be imported.
#[derive(Debug, Error, PartialEq)]
pub enum OnnxError {
    /// The file could not be read or parsed as ONNX.
    #[error("{file}: {message}")]
    Read {
        /// The model file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The opset is outside what the importer handles.
    #[error(
        "{file}: the model uses ONNX opset {opset}; cim imports opsets 13 to 18: re-export it with one of those (torch.onnx.export(..., opset_version=17))"
    )]
    Opset {
        /// The model file.
        file: String,
        /// Its default-domain opset.
        opset: i64,
    },
    /// A node the importer does not support.
    #[error("{file}: node '{node}' ({op}, opset {opset}): {message}")]
    Unsupported {
        /// The model file.
        file: String,
        /// The node's name (or its first output when unnamed).
        node: String,
        /// The ONNX operator.
        op: String,
        /// The model's opset.
        opset: i64,
        /// What is not supported and what to do.
        message: String,
    },
}

/// Imports an ONNX file, with weights stored beside it as external data (what
/// `torch.onnx.export(..., dynamo=True)` and models over 2 GB write).
pub fn import_file(path: &Path) -> Result<String, OnnxError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| OnnxError::Read {
        file: file.clone(),
        message: error.to_string(),
    })?;
    let mut model = parse(&bytes, &file)?;
    let directory = path.parent().unwrap_or(Path::new("."));
    external::load(&mut model, directory).map_err(|message| OnnxError::Read {
        file: file.clone(),
        message,
    })?;
    import_model(&model, &file)
}

/// Imports a serialized ONNX model; `file` names it in errors. External data cannot
/// be found without the model's directory: use [`import_file`] for such models.
pub fn import_bytes(bytes: &[u8], file: &str) -> Result<String, OnnxError> {
    import_model(&parse(bytes, file)?, file)
}

fn parse(bytes: &[u8], file: &str) -> Result<ModelProto, OnnxError> {
    tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|error| OnnxError::Read {
            file: file.to_owned(),
            message: format!("not an ONNX model: {error}"),
        })
}

/// Imports a parsed ONNX model.
pub fn import_model(model: &ModelProto, file: &str) -> Result<String, OnnxError> {
    let opset = model
        .opset_import
        .iter()
        .find(|set| set.domain.is_empty() || set.domain == "ai.onnx")
        .map_or(0, |set| set.version);
    if !(13..=18).contains(&opset) {
        return Err(OnnxError::Opset {
            file: file.to_owned(),
            opset,
        });
    }
    let graph = model.graph.as_ref().ok_or_else(|| OnnxError::Read {
        file: file.to_owned(),
        message: "the model has no graph".into(),
    })?;
    let mut emitter = Emitter {
        file: file.to_owned(),
        opset,
        ..Default::default()
    };
    emitter.graph(graph)?;
    Ok(emitter.finish())
}
