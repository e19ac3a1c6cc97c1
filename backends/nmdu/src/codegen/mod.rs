//! LLVM code for a [`Kernel`](crate::Kernel): one function
//! `void nmdu_kernel(ptr planes, ptr multipliers, ptr bias, ptr out, i64 rows, i64 cols)`
//! whose loops over rows and columns compute what [`crate::reference::run`] does,
//! in i64 with the same rounding and saturation, optimised by LLVM's `default<O2>`
//! pipeline (which vectorises the column loop). It runs in a JIT on the host
//! ([`JitKernel`]) or is written as text ([`llvm_ir`]) or as an object file for
//! another machine ([`object`]).
//!
//! The code is split by concept: `kernel` builds a group kernel's function,
//! `program` the module of a whole program, `elementwise` and `matmul` the elementwise
//! programs and the matrix product, `loops` every loop they emit, `emit` their
//! integer helpers, `targets` the LLVM targets linked, `machine` target machines, the optimisation pipeline and object
//! files, `jit` the host's JIT and its cache, `self_check` the RISC-V self-checking
//! executable.

use inkwell::{module::Module, values::FunctionValue};
use thiserror::Error;

mod elementwise;
mod emit;
mod jit;
mod kernel;
mod loops;
mod machine;
mod matmul;
mod program;
mod self_check;
mod targets;

pub use elementwise::ElementwiseFn;
pub use jit::{JitCache, JitKernel};
pub use kernel::{ActivationFn, KernelFn, llvm_ir, object};
pub use machine::triple;
pub use matmul::MatmulFn;
pub use program::{program_llvm_ir, program_object};
pub use self_check::riscv64_self_check;

/// Why code could not be generated or run.
#[derive(Debug, Error, PartialEq)]
pub enum CodegenError {
    /// The kernel's parameters are out of range.
    #[error("invalid kernel: {0}")]
    Kernel(String),
    /// LLVM refused (a target it does not know, a failed pass, a JIT problem).
    #[error("LLVM: {0}")]
    Llvm(String),
    /// The inputs do not fit the kernel.
    #[error("inputs: {0}")]
    Inputs(String),
}

/// The generated function's name.
pub const FUNCTION: &str = "nmdu_kernel";

/// The name of a JIT-compiled elementwise program.
pub const ELEMENTWISE: &str = "nmdu_elementwise";

/// The name of a JIT-compiled matrix product.
pub const MATMUL: &str = "nmdu_matmul";

fn llvm(error: impl ToString) -> CodegenError {
    CodegenError::Llvm(error.to_string())
}

fn verify(module: &Module, function: FunctionValue) -> Result<(), CodegenError> {
    if !function.verify(false) {
        return Err(CodegenError::Llvm(format!("{FUNCTION} does not verify")));
    }
    module.verify().map_err(llvm)
}
