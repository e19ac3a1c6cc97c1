//! Links the command-line tools (`cimc`, `cim-opt`, `cim-translate`) as
//! position-dependent executables. They link LLVM and MLIR statically, whose
//! tables of pointers (3.7 MB of `.data.rel.ro`) a position-independent
//! executable relocates page by page at every start: `cimc --version` took
//! 11.4-11.9 ms so and takes 8.1-9.4 ms now (`perf stat -r 30`; the digits MLP's
//! whole ten-chip eval takes 30-40 ms). Only the binaries: the libraries, the
//! tests and the proc macros keep the default.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
    println!("cargo:rerun-if-changed=build.rs");
}
