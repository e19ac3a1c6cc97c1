#![warn(missing_docs)]
//! The cim pass library.
//!
//! One pass = one file (`verify.rs` is `--cim-verify`), a [`PassDef`](pass::PassDef)
//! with a command-line name, typed [options], a doc comment with IR before
//! and after, and a lit test `lit-tests/Transforms/<name>.mlir`. The
//! [registry] lists them; [pipelines](pipeline) mix them with upstream MLIR
//! passes in one `PassManager`.

pub mod adapters;
pub mod bitslice;
pub mod convert_linalg_to_cim;
pub mod dce;
pub mod map;
pub mod options;
pub mod pass;
pub mod pipeline;
pub mod place;
pub mod registry;
pub mod split_weights;
pub mod tile;
pub mod verify;
