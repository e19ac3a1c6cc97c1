//! Library-level tests of cim-ir, cim-passes, the interpreter and the NMDU. This is
//! the one test binary that links MLIR (each such binary is large): add MLIR-facing
//! tests here, in the module of their concept (or a new one):
//!
//! - [`dialect`]: operations registered from IRDL, attribute views and their reader.
//! - [`source_and_expectations`]: `// -----` splitting and `expected-*` comments.
//! - [`pass_library`]: pass options, pipeline text and the pass registry.
//! - [`mapping_exactness`]: mapping passes keep the function (property tests) and the
//!   bundled MLP, mapped and placed, stays exact.
//! - [`interpreter_errors`]: what the interpreter refuses to run, and how it says so.
//! - [`interpreter_kernels`]: gathers, row-major copies and `linalg.generic`s run by
//!   blocks of output elements, against element-by-element references.
//! - [`nmdu_digital`]: digital work (softmax, GELU, products, pooling) on the NMDU.
//! - [`adapter_fit`]: the closed-form calibration of a layer's correction.
//! - [`chips_at_once`]: the chips of a Monte Carlo run on several threads at once.
//! - [`converter_levels`]: the simulator's converter levels, uniform and symmetric.
//! - [`explore_front`]: the Pareto front and hypervolume of design-space search.
//! - [`explore_search`]: the evolutionary search on synthetic spaces.
//! - [`torch_mlir_ops`]: what torch-mlir's exports hold beyond products and
//!   convolutions (dynamic sizes, broadcasts, batched products, index and gather
//!   bodies).
//! - [`fuzz_in_process`]: the fuzzing campaign's cases ([`fuzz_cases`]) run through
//!   the tools' code ([`cimc_tool`], [`cim_opt_tool`], [`cim_translate_tool`]: their
//!   `main.rs`) in-process.
//!
//! The modules live in `tests/api/`: a crate root resolves `mod x;` next to itself
//! (`tests/x.rs`, where cargo would take it for a test binary of its own), hence
//! the `#[path]`s. `common` is shared with the other test binaries.

#[allow(dead_code)]
#[path = "../tools/cim-opt/main.rs"]
mod cim_opt_tool;
#[allow(dead_code)]
#[path = "../tools/cim-translate/main.rs"]
mod cim_translate_tool;
#[allow(dead_code)]
#[path = "../tools/cimc/main.rs"]
mod cimc_tool;
mod common;
#[path = "fuzz/cases.rs"]
mod fuzz_cases;

#[path = "api/adapter_fit.rs"]
mod adapter_fit;
#[path = "api/chips_at_once.rs"]
mod chips_at_once;
#[path = "api/converter_levels.rs"]
mod converter_levels;
#[path = "api/dialect.rs"]
mod dialect;
#[path = "api/explore_front.rs"]
mod explore_front;
#[path = "api/explore_search.rs"]
mod explore_search;
#[path = "api/fuzz_in_process.rs"]
mod fuzz_in_process;
#[path = "api/interpreter_errors.rs"]
mod interpreter_errors;
#[path = "api/interpreter_kernels.rs"]
mod interpreter_kernels;
#[path = "api/mapping_exactness.rs"]
mod mapping_exactness;
#[path = "api/nmdu_digital.rs"]
mod nmdu_digital;
#[path = "api/pass_library.rs"]
mod pass_library;
#[path = "api/source_and_expectations.rs"]
mod source_and_expectations;
#[path = "api/torch_mlir_ops.rs"]
mod torch_mlir_ops;
