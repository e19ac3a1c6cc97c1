#![warn(missing_docs)]
//! The cim driver: what `cimc` does, as a library for embedding.
//!
//! * [`compile`]: the mapping pipeline for a target (linalg to placed, bit-sliced
//!   arrays), converter ranges (static full scale, or calibrated on data), and the
//!   artifact (a directory: `manifest.json`, `float.mlir`, `mapped.mlir`).
//! * [`program`]: the crossbar program (JSON manifest, safetensors weights, MLIR
//!   glue) that `cim-translate --to-crossbar-program` writes.
//! * [`report`]: per-layer mapping figures of an artifact.
//! * [`npy`]: NumPy files in and out (the `cim-npy` crate).

pub mod compile;
pub mod occupancy;
pub mod plot;
pub mod program;
pub mod report;

pub use cim_npy as npy;

use thiserror::Error;

/// Why a driver step failed. Each message names the file or operation and what to do.
#[derive(Debug, Error)]
pub enum DriverError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The input could not be parsed or verified; the diagnostics say where.
    #[error("{path}: invalid input:\n{diagnostics}")]
    Input {
        /// The file.
        path: String,
        /// Rendered MLIR diagnostics.
        diagnostics: String,
    },
    /// A step of the pipeline failed; the diagnostics say where.
    #[error("compilation failed at step '{step}':\n{diagnostics}")]
    Pipeline {
        /// The failing step.
        step: String,
        /// Rendered MLIR diagnostics.
        diagnostics: String,
    },
    /// The input format is not supported (yet).
    #[error("{path}: {message}")]
    Unsupported {
        /// The file.
        path: String,
        /// What is not supported and what to do.
        message: String,
    },
    /// The ONNX frontend refused the model (the message names file and node).
    #[error("{0}")]
    Import(String),
    /// Running the model failed.
    #[error("{0}")]
    Run(String),
    /// Other problems with arguments.
    #[error("{0}")]
    Usage(String),
}
