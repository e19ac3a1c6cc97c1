//! End-to-end tests of `cimc` on the digits MLP fixture (trained with scikit-learn;
//! tools/fixtures/make_fixtures.py) and the other trained fixtures: compile, run, eval
//! and report, as a user runs them. This binary runs the tools as processes and links
//! no MLIR. Its modules, by concept:
//!
//! - [`adapters`]: digital corrections: identity until fitted, calibrated per chip
//!   and across chips, kept as named sets, bit-exact on the NMDU.
//! - [`aihwkit`]: the presets against aihwkit itself, on the same weights.
//! - [`exact_and_quantized_fidelity`]: exact fidelity against onnxruntime, calibrated
//!   quantized fidelity within 1% of float.
//! - [`full_fidelity`]: device models (PCM, drift, IR drop, converter errors).
//! - [`converters`]: shared ADCs and per-bit-plane conversion.
//! - [`explore`]: design-space exploration: fronts, resuming, tasks (also through a
//!   local HyperQueue), the evolutionary search, constraints.
//! - [`mapping`]: torch-mlir convolutions, e-graph vs naive mapper, automatic encoding,
//!   models larger than the board.
//! - [`reports`]: `cimc report` (JSON, text, SVG; insta snapshots).
//! - [`crossbar_program`]: the crossbar program reads back into the mapped module.
//! - [`nmdu`]: digital work on the NMDU, bit-exact against its reference.
//! - [`drift_sweep`]: accuracy over drift times as CSV, SVG and PNG.
//! - [`torch_mlir`]: torch-mlir's exports of random CNN, LSTM, GRU
//!   against PyTorch.
//! - [`transformers`]: a digits ViT from torch-mlir and both torch.onnx exporters,
//!   against PyTorch and onnxruntime, its digital work bit-exact on the NMDU.
//! - [`errors`]: bad input gets clear errors.
//! - [`linking`]: what the tools link (no GPU backend, the C++ runtime linked in).
//! - [`fuzz`]: a seeded fuzzing campaign over every input, and its corpus replayed
//!   ([`fuzz_cases`]: the cases, shared with the in-process run in `tests/api`).
//! - [`support`]: fixtures, scratch directories, running `cimc`, reference checks.
//!
//! The modules live in `tests/cimc/`: a crate root resolves `mod x;` next to itself
//! (`tests/x.rs`, where cargo would take it for a test binary of its own), hence
//! the `#[path]`s. `common` is shared with the other test binaries.

mod common;
#[path = "cimc/support.rs"]
mod support;

#[path = "cimc/adapters.rs"]
mod adapters;
#[path = "cimc/aihwkit.rs"]
mod aihwkit;
#[path = "cimc/converters.rs"]
mod converters;
#[path = "cimc/crossbar_program.rs"]
mod crossbar_program;
#[path = "cimc/drift_sweep.rs"]
mod drift_sweep;
#[path = "cimc/errors.rs"]
mod errors;
#[path = "cimc/exact_and_quantized_fidelity.rs"]
mod exact_and_quantized_fidelity;
#[path = "cimc/explore.rs"]
mod explore;
#[path = "cimc/full_fidelity.rs"]
mod full_fidelity;
#[path = "cimc/fuzz.rs"]
mod fuzz;
#[path = "fuzz/cases.rs"]
mod fuzz_cases;
#[path = "cimc/linking.rs"]
mod linking;
#[path = "cimc/mapping.rs"]
mod mapping;
#[path = "cimc/nmdu.rs"]
mod nmdu;
#[path = "cimc/reports.rs"]
mod reports;
#[path = "cimc/torch_mlir.rs"]
mod torch_mlir;
#[path = "cimc/transformers.rs"]
mod transformers;
