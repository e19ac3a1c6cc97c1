//! Target machines: the triple of a short machine name, a target machine for it
//! (the host's CPU or a baseline of the family), the optimisation pipeline, and a
//! module's optimised text or object file for a machine.

use super::{CodegenError, llvm};
use inkwell::{
    OptimizationLevel,
    module::Module,
    passes::PassBuilderOptions,
    targets::{CodeModel, FileType, RelocMode, Target, TargetMachine, TargetTriple},
};

/// A target machine for `triple`: the host's own CPU when `host`.
pub(super) fn machine(triple: &TargetTriple, host: bool) -> Result<TargetMachine, CodegenError> {
    super::targets::initialize();
    let target = Target::from_triple(triple).map_err(llvm)?;
    // The host's own CPU for the JIT; for other machines a baseline a near-memory
    // unit of that family has (x86-64-v3: AVX2; RV64GC), else the generic CPU.
    let (cpu, features) = if host {
        (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        )
    } else if triple.as_str().to_string_lossy().starts_with("x86_64") {
        ("x86-64-v3".to_owned(), String::new())
    } else if triple.as_str().to_string_lossy().starts_with("riscv64") {
        // RV64GC, what Linux-capable RISC-V cores implement (with M: hardware multiply).
        ("generic-rv64".to_owned(), "+m,+a,+f,+d,+c".to_owned())
    } else {
        ("generic".to_owned(), String::new())
    };
    target
        .create_target_machine(
            triple,
            &cpu,
            &features,
            OptimizationLevel::Aggressive,
            RelocMode::PIC,
            CodeModel::Default,
        )
        .ok_or_else(|| CodegenError::Llvm(format!("no target machine for {}", triple)))
}

fn optimise(module: &Module, machine: &TargetMachine) -> Result<(), CodegenError> {
    module
        .run_passes("default<O2>", machine, PassBuilderOptions::create())
        .map_err(llvm)
}

/// The full target triple for a short machine name (`x86_64`, `aarch64`,
/// `riscv64`), or the triple itself.
pub fn triple(name: &str) -> TargetTriple {
    match name {
        "x86_64" | "aarch64" | "riscv64" => {
            TargetTriple::create(&format!("{name}-unknown-linux-gnu"))
        }
        other => TargetTriple::create(other),
    }
}

/// Sets the module's machine and optimises it for that machine.
pub(super) fn prepare(
    module: &Module,
    triple: &TargetTriple,
    machine: &TargetMachine,
) -> Result<(), CodegenError> {
    module.set_triple(triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    optimise(module, machine)
}

/// The optimised object file of `module` for `machine_name`.
pub(super) fn emit_object(module: &Module, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let triple = triple(machine_name);
    let machine = machine(&triple, false)?;
    prepare(module, &triple, &machine)?;
    machine
        .write_to_memory_buffer(module, FileType::Object)
        .map(|buffer| buffer.as_slice().to_vec())
        .map_err(llvm)
}

/// The optimised LLVM IR of `module` for `machine_name` (a short name or a triple;
/// the host when `None`).
pub(super) fn optimised_llvm_ir(
    module: &Module,
    machine_name: Option<&str>,
) -> Result<String, CodegenError> {
    let host = machine_name.is_none();
    let triple = machine_name.map_or_else(TargetMachine::get_default_triple, triple);
    let machine = machine(&triple, host)?;
    prepare(module, &triple, &machine)?;
    Ok(module.print_to_string().to_string())
}
