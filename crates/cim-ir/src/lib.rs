#![warn(missing_docs)]
//! The IR layer of cim: an MLIR 22 context with every upstream dialect and the
//! IRDL-defined `cim` dialect loaded, diagnostics captured and rendered like
//! `mlir-opt`, source files split at `// -----`, and `expected-*` diagnostic checking.
//!
//! Typed views of the mapped level ([`mapped`]: arrays and MVMs) and the marks
//! passes leave ([`marks`]) live here too, so passes, backends and reports read
//! the IR one way.
//!
//! Everything here is a thin, safe layer over `melior`; the IR itself is real MLIR.

pub mod attributes;
pub mod build;
pub mod context;
pub mod diagnostics;
pub mod dialect;
pub mod expected;
pub mod mapped;
pub mod marks;
pub mod query;
pub mod source;

pub use context::{CimContext, ContextError};
pub use melior;
