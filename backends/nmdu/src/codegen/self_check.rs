//! The RISC-V self-checking executable: a kernel, its inputs and the reference's
//! outputs as constants, and a `_start` that runs the kernel, compares, and exits
//! with the verdict.

use super::{
    CodegenError, FUNCTION,
    kernel::{define, private_constant},
    llvm,
    loops::{self, Entry, Loop},
    machine::emit_object,
    verify,
};
use crate::{Kernel, Tables, check_inputs};
use inkwell::{
    AddressSpace, IntPredicate,
    builder::Builder,
    context::Context,
    module::{Linkage, Module},
    values::IntValue,
};

/// A RISC-V (rv64gc, Linux) object that checks `kernel` on a real core: its
/// `_start` runs the kernel on `planes` of `rows` rows with `tables`, compares
/// every output with `expected` (the reference's), and exits with status 0 when
/// all agree, else 1. Linked statically (`ld.lld -e _start`) it runs under
/// `qemu-riscv64`; it needs no C library.
pub fn riscv64_self_check(
    kernel: &Kernel,
    tables: &Tables,
    planes: &[&[i32]],
    rows: usize,
    expected: &[i32],
) -> Result<Vec<u8>, CodegenError> {
    check_inputs(kernel, tables, planes, rows).map_err(CodegenError::Inputs)?;
    if expected.len() != rows * tables.cols {
        return Err(CodegenError::Inputs(format!(
            "{} expected values for {} outputs",
            expected.len(),
            rows * tables.cols
        )));
    }
    let context = Context::create();
    let module = build_self_check(&context, kernel, tables, planes, rows, expected)?;
    emit_object(&module, "riscv64")
}

/// The element `index` of the global array `global` of `array` type.
fn element<'ctx>(
    builder: &Builder<'ctx>,
    array: inkwell::types::ArrayType<'ctx>,
    global: inkwell::values::GlobalValue<'ctx>,
    index: IntValue<'ctx>,
    name: &str,
) -> Result<IntValue<'ctx>, CodegenError> {
    let i64t = index.get_type();
    // SAFETY of the IR: callers keep `index` below the array's length.
    let at = unsafe {
        builder.build_in_bounds_gep(
            array,
            global.as_pointer_value(),
            &[i64t.const_zero(), index],
            name,
        )
    }
    .map_err(llvm)?;
    builder
        .build_load(array.get_element_type().into_int_type(), at, name)
        .map(|v| v.into_int_value())
        .map_err(llvm)
}

/// The module of [`riscv64_self_check`].
fn build_self_check<'ctx>(
    context: &'ctx Context,
    kernel: &Kernel,
    tables: &Tables,
    planes: &[&[i32]],
    rows: usize,
    expected: &[i32],
) -> Result<Module<'ctx>, CodegenError> {
    let n = rows * tables.cols;
    let module = context.create_module("nmdu_self_check");
    let kernel_fn = define(context, &module, kernel, FUNCTION, Some(Linkage::Internal))?;
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let constant = |name: &str, values| private_constant(&module, name, values);
    let i32s = |values: &[i32]| {
        let values: Vec<IntValue> = values
            .iter()
            .map(|&v| i32t.const_int(v as u64, true))
            .collect();
        i32t.const_array(&values)
    };
    let plane_globals: Vec<_> = planes
        .iter()
        .enumerate()
        .map(|(p, plane)| constant(&format!("plane{p}"), i32s(plane)).as_pointer_value())
        .collect();
    let plane_table = constant("planes", ptr.const_array(&plane_globals));
    let multipliers = constant("multipliers", i32s(&tables.multipliers));
    let bias_values: Vec<IntValue> = tables
        .bias
        .iter()
        .map(|&b| i64t.const_int(b as u64, true))
        .collect();
    let bias = constant("bias", i64t.const_array(&bias_values));
    let wanted = constant("expected", i32s(expected));
    let out_type = i32t.array_type(n as u32);
    let out = module.add_global(out_type, None, "out");
    out.set_initializer(&out_type.const_zero());
    out.set_linkage(Linkage::Private);

    let start = module.add_function("_start", context.void_type().fn_type(&[], false), None);
    let builder = context.create_builder();
    let entry = context.append_basic_block(start, "entry");
    let compare = context.append_basic_block(start, "compare");
    let next = context.append_basic_block(start, "next");
    let exit = context.append_basic_block(start, "exit");
    builder.position_at_end(entry);
    builder
        .build_call(
            kernel_fn,
            &[
                plane_table.as_pointer_value().into(),
                multipliers.as_pointer_value().into(),
                bias.as_pointer_value().into(),
                out.as_pointer_value().into(),
                i64t.const_int(rows as u64, false).into(),
                i64t.const_int(tables.cols as u64, false).into(),
            ],
            "",
        )
        .map_err(llvm)?;
    // Every output in turn, leaving at the first that differs: the body branches
    // to `next` (the latch) or straight to `exit`.
    let check = Loop {
        count: i64t.const_int(n as u64, false),
        header: compare,
        exit,
        entry: Entry::UnlessEmpty("none"),
        index: "i",
        next: "i.next",
        done: "done",
    };
    loops::counted(&builder, &check, |i| {
        // SAFETY of the IR: i < n, the arrays' length.
        let load = |global: inkwell::values::GlobalValue<'ctx>, name: &str| {
            element(&builder, out_type, global, i.value, name)
        };
        let (got, want) = (load(out, "got")?, load(wanted, "want")?);
        let same = builder
            .build_int_compare(IntPredicate::EQ, got, want, "same")
            .map_err(llvm)?;
        i.next()?;
        builder
            .build_conditional_branch(same, next, exit)
            .map_err(llvm)?;
        builder.position_at_end(next);
        Ok(())
    })?;
    let status = builder.build_phi(i64t, "status").map_err(llvm)?;
    status.add_incoming(&[
        (&i64t.const_zero(), entry),
        (&i64t.const_zero(), next),
        (&i64t.const_int(1, false), compare),
    ]);
    // exit(status): the Linux system call 93, by `ecall`.
    let exit_type = context
        .void_type()
        .fn_type(&[i64t.into(), i64t.into()], false);
    let ecall = context.create_inline_asm(
        exit_type,
        "ecall".to_owned(),
        "{x10},{x17}".to_owned(),
        true,
        false,
        None,
        false,
    );
    builder
        .build_indirect_call(
            exit_type,
            ecall,
            &[
                status.as_basic_value().into_int_value().into(),
                i64t.const_int(93, false).into(),
            ],
            "",
        )
        .map_err(llvm)?;
    builder.build_unreachable().map_err(llvm)?;
    verify(&module, start)?;
    Ok(module)
}
