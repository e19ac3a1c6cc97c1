//! A group kernel's function: `void name(ptr planes, ptr multipliers, ptr bias,
//! ptr out, i64 rows, i64 cols)` looping over rows and columns, the declaration it
//! shares with the other generators, the activations' table lookups, private
//! constants, and a kernel's optimised text or object file.

use super::{
    CodegenError, FUNCTION,
    elementwise::Lowering,
    emit::Emit,
    llvm,
    loops::{self, Entry, Loop},
    machine::{emit_object, optimised_llvm_ir},
    verify,
};
use crate::{Activation, Kernel, activation::Lut};
use inkwell::{
    AddressSpace, IntPredicate,
    context::Context,
    module::{Linkage, Module},
    values::{FunctionValue, IntValue, PointerValue},
};

/// The generated function, as the host calls it.
pub type KernelFn =
    unsafe extern "C" fn(*const *const i32, *const i32, *const i64, *mut i32, u64, u64);

/// A generated activation function, as the host calls it.
pub type ActivationFn = unsafe extern "C" fn(i32) -> i32;

/// Builds the kernel's (unoptimised) module.
pub(super) fn build<'ctx>(
    context: &'ctx Context,
    kernel: &Kernel,
) -> Result<Module<'ctx>, CodegenError> {
    let module = context.create_module("nmdu");
    let function = define(context, &module, kernel, FUNCTION, None)?;
    verify(&module, function)?;
    Ok(module)
}

/// Adds `void name(ptr × pointers, i64 × integers)` to `module`, its pointers
/// `noalias`: the buffers a kernel gets never overlap, which lets LLVM vectorise.
pub(super) fn declare<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
    name: &str,
    pointers: usize,
    integers: usize,
    linkage: Option<Linkage>,
) -> FunctionValue<'ctx> {
    let ptr = context.ptr_type(AddressSpace::default());
    let parameters: Vec<inkwell::types::BasicMetadataTypeEnum> =
        std::iter::repeat_n(ptr.into(), pointers)
            .chain(std::iter::repeat_n(context.i64_type().into(), integers))
            .collect();
    let function = module.add_function(
        name,
        context.void_type().fn_type(&parameters, false),
        linkage,
    );
    let noalias = context.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("noalias"),
        0,
    );
    for index in 0..pointers as u32 {
        function.add_attribute(inkwell::attributes::AttributeLoc::Param(index), noalias);
    }
    function
}

/// Adds the function of `kernel` to `module` as `name`.
pub(super) fn define<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
    kernel: &Kernel,
    name: &str,
    linkage: Option<Linkage>,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    if let Some(problem) = kernel.problem() {
        return Err(CodegenError::Kernel(problem));
    }
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let function = declare(context, module, name, 4, 2, linkage);
    let builder = context.create_builder();
    let entry = context.append_basic_block(function, "entry");
    let row_block = context.append_basic_block(function, "row");
    let column_block = context.append_basic_block(function, "column");
    let row_end = context.append_basic_block(function, "row.end");
    let exit = context.append_basic_block(function, "exit");
    builder.position_at_end(entry);
    let param = |index: u32| function.get_nth_param(index).expect("declared above");
    let (planes, multipliers, bias, out) = (
        param(0).into_pointer_value(),
        param(1).into_pointer_value(),
        param(2).into_pointer_value(),
        param(3).into_pointer_value(),
    );
    let (rows, cols) = (param(4).into_int_value(), param(5).into_int_value());
    let e = Emit {
        builder: &builder,
        ty: i64t,
    };
    // SAFETY of the IR (every GEP below): `planes` holds `kernel.planes` pointers to
    // rows·cols codes, `multipliers` planes·cols values, `bias` cols, `out` rows·cols;
    // indices stay below those bounds.
    let gep = |element: inkwell::types::BasicTypeEnum<'ctx>,
               base: PointerValue<'ctx>,
               index: IntValue<'ctx>,
               name: &str|
     -> Result<PointerValue<'ctx>, CodegenError> {
        unsafe { builder.build_in_bounds_gep(element, base, &[index], name) }.map_err(llvm)
    };
    let mut sources = Vec::with_capacity(kernel.planes);
    for p in 0..kernel.planes {
        let at = gep(ptr.into(), planes, e.constant(p as i64), "plane.at")?;
        let plane = builder
            .build_load(ptr, at, "plane")
            .map_err(llvm)?
            .into_pointer_value();
        let offset = builder
            .build_int_mul(cols, e.constant(p as i64), "mult.offset")
            .map_err(llvm)?;
        let factors = gep(i32t.into(), multipliers, offset, "mult.plane")?;
        sources.push((plane, factors));
    }
    let empty_rows = builder
        .build_int_compare(IntPredicate::EQ, rows, e.constant(0), "no.rows")
        .map_err(llvm)?;
    let empty_cols = builder
        .build_int_compare(IntPredicate::EQ, cols, e.constant(0), "no.cols")
        .map_err(llvm)?;
    let empty = builder
        .build_or(empty_rows, empty_cols, "empty")
        .map_err(llvm)?;
    let row_loop = Loop {
        count: rows,
        header: row_block,
        exit,
        entry: Entry::SkipIf(empty),
        index: "r",
        next: "r.next",
        done: "done",
    };
    // The row loop's body ends in `row.end`, its latch, where the column loop leaves.
    loops::counted(&builder, &row_loop, |r| {
        let base = builder.build_int_mul(r.value, cols, "base").map_err(llvm)?;
        let column_loop = Loop {
            count: cols,
            header: column_block,
            exit: row_end,
            entry: Entry::Always,
            index: "c",
            next: "c.next",
            done: "row.done",
        };
        loops::counted(&builder, &column_loop, |c| {
            let c = c.value;
            let index = builder.build_int_add(base, c, "index").map_err(llvm)?;
            // Every sum fits 32 bits when the tables keep the kernel's bound there: then
            // accumulate, saturate and round in 32-bit lanes (twice as many per vector).
            let clip_fits = match kernel.activation {
                Activation::Clip { lo, hi } => {
                    lo >= i64::from(i32::MIN) && hi <= i64::from(i32::MAX)
                }
                _ => true,
            };
            let narrow_sum = kernel.sum_bits <= 32
                && kernel.accumulator_bits <= 32
                && kernel.out_shift <= 31
                && clip_fits;
            let w = Emit {
                builder: &builder,
                ty: if narrow_sum { i32t } else { i64t },
            };
            let bias_at = gep(i64t.into(), bias, c, "bias.at")?;
            let mut acc = builder
                .build_load(i64t, bias_at, "bias")
                .map_err(llvm)?
                .into_int_value();
            if narrow_sum {
                acc = builder
                    .build_int_truncate(acc, i32t, "bias.narrow")
                    .map_err(llvm)?;
            }
            // Products fit 32 bits when the clamped codes and the multipliers together do:
            // multiply there (vector ISAs multiply 32-bit lanes natively).
            let narrow_products = narrow_sum || kernel.code_bits + kernel.multiplier_bits <= 32;
            let top = i32t.const_int((1u64 << kernel.code_bits) - 1, false);
            for (plane, factors) in &sources {
                let code_at = gep(i32t.into(), *plane, index, "code.at")?;
                let code = builder
                    .build_load(i32t, code_at, "code")
                    .map_err(llvm)?
                    .into_int_value();
                let below = builder
                    .build_int_compare(IntPredicate::SLT, code, i32t.const_zero(), "code.neg")
                    .map_err(llvm)?;
                let code = builder
                    .build_select(below, i32t.const_zero(), code, "code.lo")
                    .map_err(llvm)?
                    .into_int_value();
                let above = builder
                    .build_int_compare(IntPredicate::SGT, code, top, "code.big")
                    .map_err(llvm)?;
                let code = builder
                    .build_select(above, top, code, "code.clamped")
                    .map_err(llvm)?
                    .into_int_value();
                let factor_at = gep(i32t.into(), *factors, c, "mult.at")?;
                let factor = builder
                    .build_load(i32t, factor_at, "mult")
                    .map_err(llvm)?
                    .into_int_value();
                let product = if narrow_products {
                    let product = builder
                        .build_int_nsw_mul(code, factor, "product")
                        .map_err(llvm)?;
                    if narrow_sum {
                        product
                    } else {
                        builder
                            .build_int_s_extend(product, i64t, "product.wide")
                            .map_err(llvm)?
                    }
                } else {
                    let code = builder
                        .build_int_s_extend(code, i64t, "code.wide")
                        .map_err(llvm)?;
                    let factor = builder
                        .build_int_s_extend(factor, i64t, "mult.wide")
                        .map_err(llvm)?;
                    builder
                        .build_int_mul(code, factor, "product")
                        .map_err(llvm)?
                };
                acc = builder
                    .build_int_nsw_add(acc, product, "acc")
                    .map_err(llvm)?;
            }
            let acc = w.saturate(acc, kernel.accumulator_bits)?;
            let acc = match kernel.activation {
                Activation::Identity => acc,
                Activation::Relu => w.max(acc, 0)?,
                Activation::Clip { lo, hi } => w.min(w.max(acc, lo)?, hi)?,
                Activation::Leaky { slope } => {
                    // The product needs 64 bits; its rounded value fits the accumulator.
                    let wide = if narrow_sum {
                        builder
                            .build_int_s_extend(acc, i64t, "acc.wide")
                            .map_err(llvm)?
                    } else {
                        acc
                    };
                    let scaled = builder
                        .build_int_mul(wide, e.constant(slope), "leak")
                        .map_err(llvm)?;
                    let mut scaled = e.round_shift(scaled, crate::SLOPE_FRACTION)?;
                    if narrow_sum {
                        scaled = builder
                            .build_int_truncate(scaled, i32t, "leak.narrow")
                            .map_err(llvm)?;
                    }
                    let positive = builder
                        .build_int_compare(IntPredicate::SGT, acc, w.constant(0), "positive")
                        .map_err(llvm)?;
                    builder
                        .build_select(positive, acc, scaled, "leaky")
                        .map_err(llvm)?
                        .into_int_value()
                }
            };
            let mut q = w.saturate(w.round_shift(acc, kernel.out_shift)?, kernel.out_bits)?;
            if !narrow_sum {
                q = builder.build_int_truncate(q, i32t, "q").map_err(llvm)?;
            }
            let out_at = gep(i32t.into(), out, index, "out.at")?;
            builder.build_store(out_at, q).map_err(llvm)?;
            Ok(())
        })
    })?;
    builder.build_return(None).map_err(llvm)?;
    Ok(function)
}

/// A private constant global of `module` holding `values`.
pub(super) fn private_constant<'ctx>(
    module: &Module<'ctx>,
    name: &str,
    values: inkwell::values::ArrayValue<'ctx>,
) -> inkwell::values::GlobalValue<'ctx> {
    let global = module.add_global(values.get_type(), None, name);
    global.set_initializer(&values);
    global.set_constant(true);
    global.set_linkage(Linkage::Private);
    global
}

/// Adds `i32 SYMBOL(i32 q)`, the table lookup of [`Lut::eval`], to `module`.
pub(super) fn define_activation<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
    lut: &Lut,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let function = module.add_function(
        lut.function.symbol(),
        i32t.fn_type(&[i32t.into()], false),
        None,
    );
    let builder = context.create_builder();
    builder.position_at_end(context.append_basic_block(function, "entry"));
    let q = function
        .get_nth_param(0)
        .expect("declared above")
        .into_int_value();
    let q = builder.build_int_s_extend(q, i64t, "q").map_err(llvm)?;
    let lowering = Lowering {
        context,
        module,
        builder: &builder,
    };
    let y = lowering.lut(lut, q)?;
    let y = builder.build_int_truncate(y, i32t, "y.out").map_err(llvm)?;
    builder.build_return(Some(&y)).map_err(llvm)?;
    verify(module, function)?;
    Ok(function)
}

/// The optimised LLVM IR of `kernel` for `machine` (a short name or a triple; the
/// host when `None`).
pub fn llvm_ir(kernel: &Kernel, machine_name: Option<&str>) -> Result<String, CodegenError> {
    let context = Context::create();
    let module = build(&context, kernel)?;
    optimised_llvm_ir(&module, machine_name)
}

/// An object file (ELF) of `kernel` for `machine_name` (`x86_64`, `aarch64`,
/// `riscv64`, or a triple).
pub fn object(kernel: &Kernel, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let context = Context::create();
    let module = build(&context, kernel)?;
    emit_object(&module, machine_name)
}
