//! LLVM code for a [`Kernel`]: one function
//! `void nmdu_kernel(ptr planes, ptr multipliers, ptr bias, ptr out, i64 rows, i64 cols)`
//! whose loops over rows and columns compute what [`crate::reference::run`] does,
//! in i64 with the same rounding and saturation, optimised by LLVM's `default<O2>`
//! pipeline (which vectorises the column loop). It runs in a JIT on the host
//! ([`JitKernel`]) or is written as text ([`llvm_ir`]) or as an object file for
//! another machine ([`object`]).

use crate::{
    Activation, Kernel, Tables,
    activation::{Function, Lut},
    check_inputs,
    pointwise::Program,
};
use inkwell::{
    AddressSpace, IntPredicate, OptimizationLevel,
    builder::Builder,
    context::Context,
    execution_engine::{ExecutionEngine, UnsafeFunctionPointer},
    module::{Linkage, Module},
    passes::PassBuilderOptions,
    targets::{
        CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
    },
    values::{FunctionValue, IntValue, PointerValue},
};
use thiserror::Error;

mod matmul;
mod pointwise;
pub use matmul::MatmulFn;
pub use pointwise::PointwiseFn;

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
pub const POINTWISE: &str = "nmdu_pointwise";

/// The name of a JIT-compiled matrix product.
pub const MATMUL: &str = "nmdu_matmul";

/// The generated function, as the host calls it.
pub type KernelFn =
    unsafe extern "C" fn(*const *const i32, *const i32, *const i64, *mut i32, u64, u64);

fn llvm(error: impl ToString) -> CodegenError {
    CodegenError::Llvm(error.to_string())
}

/// Builds the kernel's (unoptimised) module.
fn build<'ctx>(context: &'ctx Context, kernel: &Kernel) -> Result<Module<'ctx>, CodegenError> {
    let module = context.create_module("nmdu");
    let function = define(context, &module, kernel, FUNCTION, None)?;
    verify(&module, function)?;
    Ok(module)
}

/// Adds `void name(ptr × pointers, i64 × integers)` to `module`, its pointers
/// `noalias`: the buffers a kernel gets never overlap, which lets LLVM vectorise.
fn declare<'ctx>(
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
fn define<'ctx>(
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
    builder
        .build_conditional_branch(empty, exit, row_block)
        .map_err(llvm)?;

    builder.position_at_end(row_block);
    let row = builder.build_phi(i64t, "r").map_err(llvm)?;
    let r = row.as_basic_value().into_int_value();
    let base = builder.build_int_mul(r, cols, "base").map_err(llvm)?;
    builder
        .build_unconditional_branch(column_block)
        .map_err(llvm)?;

    builder.position_at_end(column_block);
    let column = builder.build_phi(i64t, "c").map_err(llvm)?;
    let c = column.as_basic_value().into_int_value();
    let index = builder.build_int_add(base, c, "index").map_err(llvm)?;
    // Every sum fits 32 bits when the tables keep the kernel's bound there: then
    // accumulate, saturate and round in 32-bit lanes (twice as many per vector).
    let clip_fits = match kernel.activation {
        Activation::Clip { lo, hi } => lo >= i64::from(i32::MIN) && hi <= i64::from(i32::MAX),
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
    let next_c = builder
        .build_int_add(c, e.constant(1), "c.next")
        .map_err(llvm)?;
    let row_done = builder
        .build_int_compare(IntPredicate::EQ, next_c, cols, "row.done")
        .map_err(llvm)?;
    builder
        .build_conditional_branch(row_done, row_end, column_block)
        .map_err(llvm)?;
    column.add_incoming(&[(&e.constant(0), row_block), (&next_c, column_block)]);

    builder.position_at_end(row_end);
    let next_r = builder
        .build_int_add(r, e.constant(1), "r.next")
        .map_err(llvm)?;
    let done = builder
        .build_int_compare(IntPredicate::EQ, next_r, rows, "done")
        .map_err(llvm)?;
    builder
        .build_conditional_branch(done, exit, row_block)
        .map_err(llvm)?;
    row.add_incoming(&[(&e.constant(0), entry), (&next_r, row_end)]);

    builder.position_at_end(exit);
    builder.build_return(None).map_err(llvm)?;
    Ok(function)
}

/// A private constant global of `module` holding `values`.
fn private_constant<'ctx>(
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
fn define_activation<'ctx>(
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
    let lowering = pointwise::Lowering {
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

/// One lowered group of a program: the name of its function, its kernel and its
/// tables.
#[derive(Clone, Debug)]
pub struct Group {
    /// The function's name (a C identifier).
    pub name: String,
    /// The kernel.
    pub kernel: Kernel,
    /// Its tables, written into the module as constants.
    pub tables: Tables,
}

/// Builds the module of a whole program: per group, an exported function
/// `void NAME(ptr planes, ptr out, i64 rows)` that runs its kernel with its tables
/// (private constants), each distinct kernel once, internal (and inlined); per
/// elementwise program, an exported `void NAME(ptr arguments, ptr results)`; with
/// `matmul`, the matrix product in that fraction as [`MATMUL`].
fn build_program<'ctx>(
    context: &'ctx Context,
    groups: &[Group],
    elementwise: &[(String, Program)],
    matmul: Option<u32>,
) -> Result<Module<'ctx>, CodegenError> {
    let module = context.create_module("nmdu_program");
    if let Some(fraction) = matmul {
        matmul::define(context, &module, fraction, MATMUL, None)?;
    }
    for (name, program) in elementwise {
        if module.get_function(name).is_some() {
            return Err(CodegenError::Inputs(format!(
                "two programs are named {name}"
            )));
        }
        pointwise::define(context, &module, program, name, None)?;
    }
    let (i32t, i64t) = (context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let mut kernels: Vec<(&Kernel, FunctionValue)> = Vec::new();
    let builder = context.create_builder();
    for group in groups {
        if let Some(problem) = group.tables.problem(&group.kernel) {
            return Err(CodegenError::Inputs(format!("{}: {problem}", group.name)));
        }
        if module.get_function(&group.name).is_some() {
            return Err(CodegenError::Inputs(format!(
                "two groups are named {}",
                group.name
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
            private_constant(&module, &format!("{}.{suffix}", group.name), values)
                .as_pointer_value()
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
        let function = module.add_function(&group.name, signature, None);
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

/// The optimised LLVM IR of a program's groups, elementwise programs (by name)
/// and matrix product (in its fraction, when it has one) for `machine_name` (a short name or a triple; the host when `None`).
pub fn program_llvm_ir(
    groups: &[Group],
    elementwise: &[(String, Program)],
    matmul: Option<u32>,
    machine_name: Option<&str>,
) -> Result<String, CodegenError> {
    let context = Context::create();
    let module = build_program(&context, groups, elementwise, matmul)?;
    let host = machine_name.is_none();
    let triple = machine_name.map_or_else(TargetMachine::get_default_triple, triple);
    let machine = machine(&triple, host)?;
    prepare(&module, &triple, &machine)?;
    Ok(module.print_to_string().to_string())
}

/// An object file (ELF) of a program's groups, elementwise programs and matrix
/// product for `machine_name`.
pub fn program_object(
    groups: &[Group],
    elementwise: &[(String, Program)],
    matmul: Option<u32>,
    machine_name: &str,
) -> Result<Vec<u8>, CodegenError> {
    let context = Context::create();
    let module = build_program(&context, groups, elementwise, matmul)?;
    emit_object(&module, machine_name)
}

fn verify(module: &Module, function: FunctionValue) -> Result<(), CodegenError> {
    if !function.verify(false) {
        return Err(CodegenError::Llvm(format!("{FUNCTION} does not verify")));
    }
    module.verify().map_err(llvm)
}

/// The integer helpers, on values of one integer type.
struct Emit<'a, 'ctx> {
    builder: &'a Builder<'ctx>,
    ty: inkwell::types::IntType<'ctx>,
}

impl<'ctx> Emit<'_, 'ctx> {
    fn constant(&self, value: i64) -> IntValue<'ctx> {
        self.ty.const_int(value as u64, true)
    }

    fn max(&self, x: IntValue<'ctx>, bound: i64) -> Result<IntValue<'ctx>, CodegenError> {
        let b = self.constant(bound);
        let less = self
            .builder
            .build_int_compare(IntPredicate::SLT, x, b, "lt")
            .map_err(llvm)?;
        self.builder
            .build_select(less, b, x, "max")
            .map(|v| v.into_int_value())
            .map_err(llvm)
    }

    fn min(&self, x: IntValue<'ctx>, bound: i64) -> Result<IntValue<'ctx>, CodegenError> {
        let b = self.constant(bound);
        let more = self
            .builder
            .build_int_compare(IntPredicate::SGT, x, b, "gt")
            .map_err(llvm)?;
        self.builder
            .build_select(more, b, x, "min")
            .map(|v| v.into_int_value())
            .map_err(llvm)
    }

    fn saturate(&self, x: IntValue<'ctx>, bits: u32) -> Result<IntValue<'ctx>, CodegenError> {
        let high = (1i64 << (bits - 1)) - 1;
        self.min(self.max(x, -high - 1)?, high)
    }

    /// `round(x, shift)` as `(x >> s) + ((x >> (s − 1)) & 1)`: the reference's
    /// `(x + 2^(s−1)) >> s` without its addition, which could overflow a narrow type.
    fn round_shift(&self, x: IntValue<'ctx>, shift: u32) -> Result<IntValue<'ctx>, CodegenError> {
        if shift == 0 {
            return Ok(x);
        }
        let b = self.builder;
        let whole = b
            .build_right_shift(x, self.constant(i64::from(shift)), true, "whole")
            .map_err(llvm)?;
        let half = b
            .build_right_shift(x, self.constant(i64::from(shift - 1)), true, "half")
            .map_err(llvm)?;
        let half = b
            .build_and(half, self.constant(1), "half.bit")
            .map_err(llvm)?;
        b.build_int_add(whole, half, "rounded").map_err(llvm)
    }
}

/// A target machine for `triple`: the host's own CPU when `host`.
fn machine(triple: &TargetTriple, host: bool) -> Result<TargetMachine, CodegenError> {
    Target::initialize_all(&InitializationConfig::default());
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

/// The optimised LLVM IR of `kernel` for `machine` (a short name or a triple; the
/// host when `None`).
pub fn llvm_ir(kernel: &Kernel, machine_name: Option<&str>) -> Result<String, CodegenError> {
    let context = Context::create();
    let module = build(&context, kernel)?;
    let host = machine_name.is_none();
    let triple = machine_name.map_or_else(TargetMachine::get_default_triple, triple);
    let machine = machine(&triple, host)?;
    prepare(&module, &triple, &machine)?;
    Ok(module.print_to_string().to_string())
}

/// An object file (ELF) of `kernel` for `machine_name` (`x86_64`, `aarch64`,
/// `riscv64`, or a triple).
pub fn object(kernel: &Kernel, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let context = Context::create();
    let module = build(&context, kernel)?;
    emit_object(&module, machine_name)
}

/// Sets the module's machine and optimises it for that machine.
fn prepare(
    module: &Module,
    triple: &TargetTriple,
    machine: &TargetMachine,
) -> Result<(), CodegenError> {
    module.set_triple(triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    optimise(module, machine)
}

/// The optimised object file of `module` for `machine_name`.
fn emit_object(module: &Module, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let triple = triple(machine_name);
    let machine = machine(&triple, false)?;
    prepare(module, &triple, &machine)?;
    machine
        .write_to_memory_buffer(module, FileType::Object)
        .map(|buffer| buffer.as_slice().to_vec())
        .map_err(llvm)
}

/// A kernel compiled for the host and ready to run.
pub struct JitKernel<'ctx> {
    kernel: Kernel,
    // The engine owns the module the function lives in.
    _engine: ExecutionEngine<'ctx>,
    function: KernelFn,
}

impl<'ctx> JitKernel<'ctx> {
    /// Generates, optimises and JIT-compiles `kernel` in `context`.
    pub fn new(context: &'ctx Context, kernel: &Kernel) -> Result<Self, CodegenError> {
        let module = build(context, kernel)?;
        let engine = jit(context, &module)?;
        // SAFETY: the function was built with exactly this signature.
        let function = unsafe { engine.get_function::<KernelFn>(FUNCTION) }.map_err(llvm)?;
        // SAFETY: the raw pointer stays valid while the engine (kept in `self`) lives.
        let function = unsafe { function.into_raw() };
        Ok(Self {
            kernel: kernel.clone(),
            _engine: engine,
            function,
        })
    }

    /// The kernel this code computes.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Runs the kernel with `tables` on `planes` of `rows × tables.cols` codes
    /// (row-major), writing `out` (as long as a plane).
    pub fn run_into(
        &self,
        tables: &Tables,
        planes: &[&[i32]],
        rows: usize,
        out: &mut [i32],
    ) -> Result<(), CodegenError> {
        check_inputs(&self.kernel, tables, planes, rows).map_err(CodegenError::Inputs)?;
        if out.len() != rows * tables.cols {
            return Err(CodegenError::Inputs(format!(
                "an output of {} values for {rows} rows of {} columns",
                out.len(),
                tables.cols
            )));
        }
        let pointers: Vec<*const i32> = planes.iter().map(|p| p.as_ptr()).collect();
        // SAFETY: every buffer has the length the function reads or writes (checked
        // above), `out` is writable and overlaps nothing else, and the function
        // touches nothing else.
        unsafe {
            (self.function)(
                pointers.as_ptr(),
                tables.multipliers.as_ptr(),
                tables.bias.as_ptr(),
                out.as_mut_ptr(),
                rows as u64,
                tables.cols as u64,
            );
        }
        Ok(())
    }

    /// [`Self::run_into`] a new vector.
    pub fn run(
        &self,
        tables: &Tables,
        planes: &[&[i32]],
        rows: usize,
    ) -> Result<Vec<i32>, CodegenError> {
        let mut out = vec![0; rows * tables.cols];
        self.run_into(tables, planes, rows, &mut out)?;
        Ok(out)
    }
}

// SAFETY: the generated function is pure (it reads its inputs and writes its own
// output only), so any thread may call it while the engine lives.
unsafe impl Sync for JitKernel<'_> {}

thread_local! {
    // One LLVM context per thread that JIT-compiles, for the life of the program:
    // compiled kernels borrow it, and caches come and go.
    static CONTEXT: &'static Context = Box::leak(Box::new(Context::create()));
}

/// Compiled kernels by shape: each distinct [`Kernel`] is generated once, however
/// many groups of that shape a program has.
#[derive(Default)]
pub struct JitCache {
    kernels: std::collections::HashMap<Kernel, JitKernel<'static>>,
    activations: std::collections::HashMap<Function, (ExecutionEngine<'static>, ActivationFn)>,
    programs: std::collections::HashMap<Program, (ExecutionEngine<'static>, PointwiseFn)>,
    matmuls: std::collections::HashMap<u32, (ExecutionEngine<'static>, MatmulFn)>,
}

/// A generated activation function, as the host calls it.
pub type ActivationFn = unsafe extern "C" fn(i32) -> i32;

/// Names the host CPU on every function of `module`: the JIT compiles for a generic
/// CPU otherwise.
fn for_host(context: &Context, module: &Module) {
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    let mut function = module.get_first_function();
    while let Some(f) = function {
        for (key, value) in [("target-cpu", &cpu), ("target-features", &features)] {
            f.add_attribute(
                inkwell::attributes::AttributeLoc::Function,
                context.create_string_attribute(key, value),
            );
        }
        function = f.get_next_function();
    }
}

/// JIT-compiles `module` for the host.
fn jit<'ctx>(
    context: &'ctx Context,
    module: &Module<'ctx>,
) -> Result<ExecutionEngine<'ctx>, CodegenError> {
    Target::initialize_native(&InitializationConfig::default()).map_err(llvm)?;
    for_host(context, module);
    let triple = TargetMachine::get_default_triple();
    let host = machine(&triple, true)?;
    prepare(module, &triple, &host)?;
    module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(llvm)
}

/// The function `symbol` that `define` adds to a fresh module, JIT-compiled on the
/// first request for `key` and kept with its engine in `cache`; `F` must be the
/// signature `define` gives it.
fn cached<K: std::hash::Hash + Eq + Clone, F: UnsafeFunctionPointer + Copy>(
    cache: &mut std::collections::HashMap<K, (ExecutionEngine<'static>, F)>,
    key: &K,
    symbol: &str,
    define: impl FnOnce(&'static Context, &Module<'static>) -> Result<(), CodegenError>,
) -> Result<F, CodegenError> {
    if let Some((_, compiled)) = cache.get(key) {
        return Ok(*compiled);
    }
    let (engine, compiled) = CONTEXT.with(|context| {
        let context: &'static Context = context;
        let module = context.create_module(symbol);
        define(context, &module)?;
        let engine = jit(context, &module)?;
        // SAFETY: `define` built `symbol` with signature `F` (the caller's
        // contract); the engine that owns the code is kept with the pointer.
        let compiled = unsafe { engine.get_function::<F>(symbol) }.map_err(llvm)?;
        Ok::<_, CodegenError>((engine, unsafe { compiled.into_raw() }))
    })?;
    cache.insert(key.clone(), (engine, compiled));
    Ok(compiled)
}

impl JitCache {
    /// The compiled code of `kernel`, generated on first use.
    pub fn get(&mut self, kernel: &Kernel) -> Result<&JitKernel<'static>, CodegenError> {
        if !self.kernels.contains_key(kernel) {
            let compiled = CONTEXT.with(|context| JitKernel::new(context, kernel))?;
            self.kernels.insert(kernel.clone(), compiled);
        }
        Ok(&self.kernels[kernel])
    }

    /// The generated code of `function`'s table lookup, on first use.
    pub fn activation(&mut self, function: Function) -> Result<ActivationFn, CodegenError> {
        cached(
            &mut self.activations,
            &function,
            function.symbol(),
            |context, module| define_activation(context, module, &Lut::new(function)).map(drop),
        )
    }

    /// The generated code of an elementwise `program`, on first use.
    pub fn pointwise(&mut self, program: &Program) -> Result<PointwiseFn, CodegenError> {
        cached(&mut self.programs, program, POINTWISE, |context, module| {
            pointwise::define(context, module, program, POINTWISE, None).map(drop)
        })
    }

    /// Generated code of the matrix product in Q.`fraction` ([`crate::matmul`]), on
    /// first use, run on row-major `a` (m×k), `b` (k×n) and `init` (m×n).
    pub fn matmul(
        &mut self,
        a: &[i32],
        b: &[i32],
        init: &[i32],
        [m, k, n]: [usize; 3],
        fraction: u32,
    ) -> Result<Vec<i32>, CodegenError> {
        crate::matmul::check(a.len(), b.len(), init.len(), m * n, [m, k, n])
            .map_err(CodegenError::Inputs)?;
        let compiled: MatmulFn =
            cached(&mut self.matmuls, &fraction, MATMUL, |context, module| {
                matmul::define(context, module, fraction, MATMUL, None).map(drop)
            })?;
        let mut out = vec![0; m * n];
        let mut acc = vec![0i64; n];
        // SAFETY: the buffers have the lengths checked above; `out` and `acc` are
        // this call's own.
        unsafe {
            compiled(
                a.as_ptr(),
                b.as_ptr(),
                init.as_ptr(),
                out.as_mut_ptr(),
                acc.as_mut_ptr(),
                m as u64,
                k as u64,
                n as u64,
            );
        }
        Ok(out)
    }
}

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
    let none = builder
        .build_int_compare(
            IntPredicate::EQ,
            i64t.const_int(n as u64, false),
            i64t.const_zero(),
            "none",
        )
        .map_err(llvm)?;
    builder
        .build_conditional_branch(none, exit, compare)
        .map_err(llvm)?;
    builder.position_at_end(compare);
    let index = builder.build_phi(i64t, "i").map_err(llvm)?;
    let i = index.as_basic_value().into_int_value();
    // SAFETY of the IR: i < n, the arrays' length.
    let load = |global: inkwell::values::GlobalValue<'ctx>, name: &str| {
        element(&builder, out_type, global, i, name)
    };
    let (got, want) = (load(out, "got")?, load(wanted, "want")?);
    let same = builder
        .build_int_compare(IntPredicate::EQ, got, want, "same")
        .map_err(llvm)?;
    let after = builder
        .build_int_add(i, i64t.const_int(1, false), "i.next")
        .map_err(llvm)?;
    builder
        .build_conditional_branch(same, next, exit)
        .map_err(llvm)?;
    builder.position_at_end(next);
    let done = builder
        .build_int_compare(
            IntPredicate::EQ,
            after,
            i64t.const_int(n as u64, false),
            "done",
        )
        .map_err(llvm)?;
    builder
        .build_conditional_branch(done, exit, compare)
        .map_err(llvm)?;
    index.add_incoming(&[(&i64t.const_zero(), entry), (&after, next)]);
    builder.position_at_end(exit);
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
