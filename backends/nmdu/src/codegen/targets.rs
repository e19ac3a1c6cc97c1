//! The LLVM targets the NMDU generates code for: x86-64, AArch64, 32-bit ARM and
//! RISC-V, the families near-memory digital units are built from (an application
//! core or a microcontroller beside the arrays).
//!
//! Only these backends are linked. Every other LLVM backend (AMDGPU, NVPTX,
//! Hexagon, ...) would add its code and its static initialisers to each binary that
//! links the NMDU, and every process start pays for those initialisers (the page
//! faults of touching them): `cimc --version` and a 10-chip eval of a small model
//! are mostly start-up. Two things would pull them in: inkwell's `target-all`
//! feature (off in the workspace's `Cargo.toml`) and llvm-sys's C wrappers that
//! initialise all targets or the native one, which live in one object file that
//! names every backend. That object is left out (llvm-sys's
//! `disable-alltargets-init`), so the native-target wrappers inkwell's JIT calls
//! are defined here, for the host's family.

use inkwell::targets::{InitializationConfig, Target};

/// Registers the four families' targets with LLVM (each once; LLVM ignores a
/// repeated registration).
pub(super) fn initialize() {
    let config = InitializationConfig::default();
    Target::initialize_x86(&config);
    Target::initialize_aarch64(&config);
    Target::initialize_arm(&config);
    Target::initialize_riscv(&config);
}

/// The native-target wrappers llvm-sys would define (`wrappers/target.c`), for
/// the host's family; each returns 0 for success as LLVM's C API does. inkwell's
/// `Target::initialize_native` (called by its execution engines) links to these.
mod native {
    use llvm_sys::target as llvm;

    #[cfg(target_arch = "x86_64")]
    use llvm::{
        LLVMInitializeX86AsmParser as asm_parser, LLVMInitializeX86AsmPrinter as asm_printer,
        LLVMInitializeX86Disassembler as disassembler, LLVMInitializeX86Target as target,
        LLVMInitializeX86TargetInfo as target_info, LLVMInitializeX86TargetMC as target_mc,
    };

    #[cfg(target_arch = "aarch64")]
    use llvm::{
        LLVMInitializeAArch64AsmParser as asm_parser,
        LLVMInitializeAArch64AsmPrinter as asm_printer,
        LLVMInitializeAArch64Disassembler as disassembler, LLVMInitializeAArch64Target as target,
        LLVMInitializeAArch64TargetInfo as target_info, LLVMInitializeAArch64TargetMC as target_mc,
    };

    #[cfg(target_arch = "riscv64")]
    use llvm::{
        LLVMInitializeRISCVAsmParser as asm_parser, LLVMInitializeRISCVAsmPrinter as asm_printer,
        LLVMInitializeRISCVDisassembler as disassembler, LLVMInitializeRISCVTarget as target,
        LLVMInitializeRISCVTargetInfo as target_info, LLVMInitializeRISCVTargetMC as target_mc,
    };

    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )))]
    compile_error!("the NMDU's JIT runs on x86-64, AArch64 or RISC-V hosts");

    /// `LLVMInitializeNativeTarget`: the host's target, its description and its
    /// machine-code layer.
    #[unsafe(no_mangle)]
    extern "C" fn LLVM_InitializeNativeTarget() -> i32 {
        // SAFETY: LLVM's registration functions take no arguments and may be
        // called more than once.
        unsafe {
            target_info();
            target();
            target_mc();
        }
        0
    }

    /// `LLVMInitializeNativeAsmPrinter`.
    #[unsafe(no_mangle)]
    extern "C" fn LLVM_InitializeNativeAsmPrinter() -> i32 {
        // SAFETY: as above.
        unsafe { asm_printer() };
        0
    }

    /// `LLVMInitializeNativeAsmParser`.
    #[unsafe(no_mangle)]
    extern "C" fn LLVM_InitializeNativeAsmParser() -> i32 {
        // SAFETY: as above.
        unsafe { asm_parser() };
        0
    }

    /// `LLVMInitializeNativeDisassembler`.
    #[unsafe(no_mangle)]
    extern "C" fn LLVM_InitializeNativeDisassembler() -> i32 {
        // SAFETY: as above.
        unsafe { disassembler() };
        0
    }
}
