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

/// Keeps large freed buffers in the process for reuse. The runtime allocates and
/// frees tensors of megabytes at every op; with glibc's defaults each one is
/// returned to the system and comes back as fresh pages, and those page faults
/// were a third of a full-fidelity run (`cargo bench --bench runtime`: 43 ms, 29 ms
/// with this). Buffers up to 256 MB come from the heap, and up to 1 GB of free heap
/// is kept. Call it once, at the start of a program that runs models.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before the
    // program's threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
