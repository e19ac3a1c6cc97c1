#![warn(missing_docs)]
//! The cim driver: what `cimc` does, as a library for embedding.
//!
//! * [`pipeline`]: parsing a model (MLIR, or ONNX through `cim-onnx`), the choices
//!   of a compilation ([`pipeline::CompileOptions`]) and the pass pipeline that maps
//!   it onto a target (linalg to placed, bit-sliced arrays).
//! * [`converters`]: the DAC and ADC ranges (full scale, or calibrated on data).
//! * [`artifact`]: the artifact directory (`manifest.json`, `float.mlir`,
//!   `exact.mlir`, `mapped.mlir`, `program/`) and [`artifact::compile`], the whole
//!   recipe `cimc compile` runs.
//! * [`run`]: running an artifact at a fidelity on the simulated runtime
//!   (`cim-sim`), with its digital work in f64 or on the NMDU.
//! * [`evaluate`]: accuracy on labelled data, over chips, against drift time.
//! * [`report`], [`occupancy`], [`plot`]: per-layer mapping figures, the arrays'
//!   occupancy as SVG, accuracy plots.
//! * [`npy`]: NumPy files in and out (the `cim-npy` crate).

pub mod artifact;
pub mod calibrate;
pub mod converters;
pub mod digital_work;
pub mod evaluate;
pub mod explore;
pub mod guard;
pub mod json_lines;
pub mod occupancy;
pub mod pipeline;
pub mod plot;
pub mod report;
pub mod run;

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

impl From<cim_sim::program::ProgramError> for DriverError {
    fn from(error: cim_sim::program::ProgramError) -> Self {
        use cim_sim::program::ProgramError;
        match error {
            ProgramError::File { path, message } => Self::File { path, message },
            ProgramError::Input { path, diagnostics } => Self::Input { path, diagnostics },
            ProgramError::Invalid(message) => Self::Run(message),
        }
    }
}

impl From<cim_npy::NpyError> for DriverError {
    /// The file and the cause, the file named once.
    fn from(error: cim_npy::NpyError) -> Self {
        use cim_npy::NpyError;
        match error {
            NpyError::Io { path, source } => Self::File {
                path,
                message: source.to_string(),
            },
            NpyError::Format { path, message } => Self::File { path, message },
        }
    }
}

/// What a program that runs models does first, before any other thread starts:
/// [`keep_freed_buffers`], and its thread joins the kernels' pool
/// ([`cim_interp::kernels::run_kernels_on_this_thread`]).
pub fn configure_process() {
    keep_freed_buffers();
    cim_interp::kernels::run_kernels_on_this_thread();
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

/// Runs `work`, turning a panic (a bug, never an input error) into an error that
/// says where, so the tools exit with a message instead of a crash.
pub fn guarded<T>(what: &str, work: impl FnOnce() -> T) -> Result<T, DriverError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown cause");
        DriverError::Run(format!(
            "internal error in {what}: {reason} (please report it)"
        ))
    })
}
