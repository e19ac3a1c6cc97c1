//! The module of a whole program: every group's exported function over its kernel
//! (each distinct kernel once) and its tables, the elementwise programs and the
//! matrix product, and that module's optimised text or object file.

use super::{
    CodegenError, FUNCTION, MATMUL, elementwise,
    kernel::{define, private_constant},
    llvm,
    machine::{emit_object, optimised_llvm_ir},
    matmul, verify,
};
use crate::{Kernel, lower::Plan};
use inkwell::{
    AddressSpace,
    context::Context,
    module::{Linkage, Module},
    values::{FunctionValue, IntValue},
};

/// Builds the module of a whole plan: per group, an exported function
/// `void NAME(ptr planes, ptr out, i64 rows)` (NAME its
/// [`function_name`](crate::lower::Group::function_name)) that runs its kernel with
/// its tables (private constants), each distinct kernel once, internal (and
/// inlined); per elementwise program, an exported `void NAME(ptr arguments, ptr
/// results)`; with matrix products, the matrix product in their fraction as
/// [`MATMUL`].
fn build_program<'ctx>(context: &'ctx Context, plan: &Plan) -> Result<Module<'ctx>, CodegenError> {
    let module = context.create_module("nmdu_program");
    if let Some(fraction) = plan.matmul {
        matmul::define(context, &module, fraction, MATMUL, None)?;
    }
    for named in &plan.elementwise {
        let (name, program) = (&named.name, &named.program);
        if module.get_function(name).is_some() {
            return Err(CodegenError::Inputs(format!(
                "two programs are named {name}"
            )));
        }
        elementwise::define(context, &module, program, name, None)?;
    }
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let mut kernels: Vec<(&Kernel, FunctionValue)> = Vec::new();
    let builder = context.create_builder();
    for group in plan.ordered() {
        let group_name = group.function_name();
        if let Some(problem) = group.tables.problem(&group.kernel) {
            return Err(CodegenError::Inputs(format!("{group_name}: {problem}")));
        }
        if module.get_function(&group_name).is_some() {
            return Err(CodegenError::Inputs(format!(
                "two groups are named {group_name}"
            )));
        }
        let kernel = match kernels.iter().find(|(k, _)| **k == group.kernel) {
            Some((_, function)) => *function,
            None => {
                let name = format!("{FUNCTION}_{}", kernels.len());
                let function = define(
                    context,
                    &module,
                    &group.kernel,
                    &name,
                    Some(Linkage::Internal),
                )?;
                kernels.push((&group.kernel, function));
                function
            }
        };
        let table = |suffix: &str, values| {
            private_constant(&module, &format!("{group_name}.{suffix}"), values).as_pointer_value()
        };
        let multipliers: Vec<IntValue> = group
            .tables
            .multipliers
            .iter()
            .map(|&m| i32t.const_int(m as u64, true))
            .collect();
        let bias: Vec<IntValue> = group
            .tables
            .bias
            .iter()
            .map(|&b| i64t.const_int(b as u64, true))
            .collect();
        let multipliers = table("multipliers", i32t.const_array(&multipliers));
        let bias = table("bias", i64t.const_array(&bias));
        let signature = context
            .void_type()
            .fn_type(&[ptr.into(), ptr.into(), i64t.into()], false);
        let function = module.add_function(&group_name, signature, None);
        let entry = context.append_basic_block(function, "entry");
        builder.position_at_end(entry);
        let param = |index: u32| function.get_nth_param(index).expect("declared above");
        builder
            .build_call(
                kernel,
                &[
                    param(0).into(),
                    multipliers.into(),
                    bias.into(),
                    param(1).into(),
                    param(2).into(),
                    i64t.const_int(group.tables.cols as u64, false).into(),
                ],
                "",
            )
            .map_err(llvm)?;
        builder.build_return(None).map_err(llvm)?;
        verify(&module, function)?;
    }
    Ok(module)
}

/// The optimised LLVM IR of a plan's groups, elementwise programs and matrix
/// product for `machine_name` (a short name or a triple; the host when `None`).
pub fn program_llvm_ir(plan: &Plan, machine_name: Option<&str>) -> Result<String, CodegenError> {
    let context = Context::create();
    let module = build_program(&context, plan)?;
    optimised_llvm_ir(&module, machine_name)
}

/// An object file (ELF) of a plan's groups, elementwise programs and matrix product
/// for `machine_name`.
pub fn program_object(plan: &Plan, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let context = Context::create();
    let module = build_program(&context, plan)?;
    emit_object(&module, machine_name)
}
