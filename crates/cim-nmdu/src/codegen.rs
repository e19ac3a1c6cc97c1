//! LLVM code for a [`Kernel`]: one function
//! `void nmdu_kernel(ptr planes, ptr scale, ptr offset, ptr out, i64 n)` whose loop
//! over the columns computes what [`crate::reference::run`] does, in i64 with the
//! same rounding and saturation, optimised by LLVM's `default<O2>` pipeline (which
//! vectorises the loop). It runs in a JIT on the host ([`JitKernel`]) or is written
//! as text ([`llvm_ir`]) or as an object file for another machine ([`object`]).

use crate::{Activation, Kernel};
use inkwell::{
    AddressSpace, IntPredicate, OptimizationLevel,
    builder::Builder,
    context::Context,
    execution_engine::{ExecutionEngine, JitFunction},
    module::Module,
    passes::PassBuilderOptions,
    targets::{
        CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
    },
    values::{FunctionValue, IntValue},
};
use thiserror::Error;

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

type KernelFn = unsafe extern "C" fn(*const *const i32, *const u8, *const i8, *mut i32, u64);

fn llvm(error: impl ToString) -> CodegenError {
    CodegenError::Llvm(error.to_string())
}

/// Builds the kernel's (unoptimised) module.
fn build<'ctx>(context: &'ctx Context, kernel: &Kernel) -> Result<Module<'ctx>, CodegenError> {
    if let Some(problem) = kernel.problem() {
        return Err(CodegenError::Kernel(problem));
    }
    let module = context.create_module("nmdu");
    let (i8t, i32t, i64t) = (context.i8_type(), context.i32_type(), context.i64_type());
    let ptr = context.ptr_type(AddressSpace::default());
    let signature = context.void_type().fn_type(
        &[ptr.into(), ptr.into(), ptr.into(), ptr.into(), i64t.into()],
        false,
    );
    let function = module.add_function(FUNCTION, signature, None);
    // The buffers never overlap: that lets LLVM vectorise.
    let noalias = context.create_enum_attribute(
        inkwell::attributes::Attribute::get_named_enum_kind_id("noalias"),
        0,
    );
    for index in 0..4 {
        function.add_attribute(inkwell::attributes::AttributeLoc::Param(index), noalias);
    }
    let builder = context.create_builder();
    let entry = context.append_basic_block(function, "entry");
    let body = context.append_basic_block(function, "column");
    let exit = context.append_basic_block(function, "exit");
    builder.position_at_end(entry);
    let param = |index: u32| function.get_nth_param(index).expect("declared above");
    let (planes, scale, offset, out) = (
        param(0).into_pointer_value(),
        param(1).into_pointer_value(),
        param(2).into_pointer_value(),
        param(3).into_pointer_value(),
    );
    let n = param(4).into_int_value();
    let plane_pointers = (0..kernel.planes())
        .map(|k| {
            // SAFETY of the IR: `planes` holds `kernel.planes()` pointers.
            let at = unsafe {
                builder.build_in_bounds_gep(
                    ptr,
                    planes,
                    &[i64t.const_int(k as u64, false)],
                    "plane.at",
                )
            }
            .map_err(llvm)?;
            builder
                .build_load(ptr, at, "plane")
                .map(|value| value.into_pointer_value())
                .map_err(llvm)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let empty = builder
        .build_int_compare(IntPredicate::EQ, n, i64t.const_zero(), "empty")
        .map_err(llvm)?;
    builder
        .build_conditional_branch(empty, exit, body)
        .map_err(llvm)?;

    builder.position_at_end(body);
    let column = builder.build_phi(i64t, "c").map_err(llvm)?;
    let c = column.as_basic_value().into_int_value();
    let e = Emit {
        builder: &builder,
        i64t,
    };
    let load = |pointer,
                element: inkwell::types::IntType<'ctx>,
                signed: bool,
                name: &str|
     -> Result<IntValue<'ctx>, CodegenError> {
        // SAFETY of the IR: every buffer holds n elements and c < n.
        let at =
            unsafe { builder.build_in_bounds_gep(element, pointer, &[c], name) }.map_err(llvm)?;
        let value = builder
            .build_load(element, at, name)
            .map_err(llvm)?
            .into_int_value();
        if signed {
            builder.build_int_s_extend(value, i64t, name).map_err(llvm)
        } else {
            builder.build_int_z_extend(value, i64t, name).map_err(llvm)
        }
    };
    let mut acc = i64t.const_zero();
    for (s, &shift) in kernel.shifts.iter().enumerate() {
        let value = if kernel.differential {
            let p = load(plane_pointers[2 * s], i32t, true, "pos")?;
            let q = load(plane_pointers[2 * s + 1], i32t, true, "neg")?;
            builder.build_int_sub(p, q, "diff").map_err(llvm)?
        } else {
            load(plane_pointers[s], i32t, true, "part")?
        };
        let shifted = builder
            .build_left_shift(value, i64t.const_int(u64::from(shift), false), "shifted")
            .map_err(llvm)?;
        acc = builder.build_int_add(acc, shifted, "acc").map_err(llvm)?;
    }
    let acc = e.saturate(acc, 32)?;
    let scale_c = load(scale, i8t, false, "scale")?;
    let product = builder
        .build_int_mul(acc, scale_c, "product")
        .map_err(llvm)?;
    let aligned = e.round_shift(product, kernel.scale_frac - kernel.offset_frac)?;
    let offset_c = load(offset, i8t, true, "offset")?;
    let mut r = builder
        .build_int_add(aligned, offset_c, "affine")
        .map_err(llvm)?;
    r = match kernel.activation {
        Activation::Identity => r,
        Activation::Relu => e.max(r, 0)?,
        Activation::Clip { lo, hi } => e.min(e.max(r, lo)?, hi)?,
    };
    let q = e.saturate(e.round_shift(r, kernel.out_shift)?, kernel.out_bits)?;
    let q = builder.build_int_truncate(q, i32t, "q").map_err(llvm)?;
    // SAFETY of the IR: `out` holds n elements and c < n.
    let target = unsafe { builder.build_in_bounds_gep(i32t, out, &[c], "out.at") }.map_err(llvm)?;
    builder.build_store(target, q).map_err(llvm)?;
    let next = builder
        .build_int_add(c, i64t.const_int(1, false), "next")
        .map_err(llvm)?;
    let done = builder
        .build_int_compare(IntPredicate::EQ, next, n, "done")
        .map_err(llvm)?;
    builder
        .build_conditional_branch(done, exit, body)
        .map_err(llvm)?;
    column.add_incoming(&[(&i64t.const_zero(), entry), (&next, body)]);

    builder.position_at_end(exit);
    builder.build_return(None).map_err(llvm)?;
    verify(&module, function)?;
    Ok(module)
}

fn verify(module: &Module, function: FunctionValue) -> Result<(), CodegenError> {
    if !function.verify(false) {
        return Err(CodegenError::Llvm(format!("{FUNCTION} does not verify")));
    }
    module.verify().map_err(llvm)
}

/// The integer helpers, on i64 values.
struct Emit<'a, 'ctx> {
    builder: &'a Builder<'ctx>,
    i64t: inkwell::types::IntType<'ctx>,
}

impl<'ctx> Emit<'_, 'ctx> {
    fn constant(&self, value: i64) -> IntValue<'ctx> {
        self.i64t.const_int(value as u64, true)
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

    fn round_shift(&self, x: IntValue<'ctx>, shift: u32) -> Result<IntValue<'ctx>, CodegenError> {
        if shift == 0 {
            return Ok(x);
        }
        let half = self
            .builder
            .build_int_add(x, self.constant(1i64 << (shift - 1)), "half")
            .map_err(llvm)?;
        self.builder
            .build_right_shift(half, self.constant(i64::from(shift)), true, "rounded")
            .map_err(llvm)
    }
}

/// A target machine for `triple`: the host's own CPU when `host`.
fn machine(triple: &TargetTriple, host: bool) -> Result<TargetMachine, CodegenError> {
    Target::initialize_all(&InitializationConfig::default());
    let target = Target::from_triple(triple).map_err(llvm)?;
    // The host's own CPU for the JIT; for other machines a baseline a near-memory
    // unit of that family has (x86-64-v3: AVX2), else the generic CPU.
    let (cpu, features) = if host {
        (
            TargetMachine::get_host_cpu_name().to_string(),
            TargetMachine::get_host_cpu_features().to_string(),
        )
    } else if triple.as_str().to_string_lossy().starts_with("x86_64") {
        ("x86-64-v3".to_owned(), String::new())
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
    module.set_triple(&triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    optimise(&module, &machine)?;
    Ok(module.print_to_string().to_string())
}

/// An object file (ELF) of `kernel` for `machine_name` (`x86_64`, `aarch64`,
/// `riscv64`, or a triple).
pub fn object(kernel: &Kernel, machine_name: &str) -> Result<Vec<u8>, CodegenError> {
    let context = Context::create();
    let module = build(&context, kernel)?;
    let triple = triple(machine_name);
    let machine = machine(&triple, false)?;
    module.set_triple(&triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    optimise(&module, &machine)?;
    machine
        .write_to_memory_buffer(&module, FileType::Object)
        .map(|buffer| buffer.as_slice().to_vec())
        .map_err(llvm)
}

/// A kernel compiled for the host and ready to run.
pub struct JitKernel<'ctx> {
    kernel: Kernel,
    // The engine owns the module the function lives in.
    _engine: ExecutionEngine<'ctx>,
    function: JitFunction<'ctx, KernelFn>,
}

impl<'ctx> JitKernel<'ctx> {
    /// Generates, optimises and JIT-compiles `kernel` in `context`.
    pub fn new(context: &'ctx Context, kernel: &Kernel) -> Result<Self, CodegenError> {
        Target::initialize_native(&InitializationConfig::default()).map_err(llvm)?;
        let module = build(context, kernel)?;
        let triple = TargetMachine::get_default_triple();
        let host = machine(&triple, true)?;
        module.set_triple(&triple);
        module.set_data_layout(&host.get_target_data().get_data_layout());
        optimise(&module, &host)?;
        let engine = module
            .create_jit_execution_engine(OptimizationLevel::Aggressive)
            .map_err(llvm)?;
        // SAFETY: the function was built with exactly this signature.
        let function = unsafe { engine.get_function::<KernelFn>(FUNCTION) }.map_err(llvm)?;
        Ok(Self {
            kernel: kernel.clone(),
            _engine: engine,
            function,
        })
    }

    /// Runs the kernel on `planes` (each as long as `scale`), per-column `scale`
    /// and `offset`.
    pub fn run(
        &self,
        planes: &[&[i32]],
        scale: &[u8],
        offset: &[i8],
    ) -> Result<Vec<i32>, CodegenError> {
        let n = scale.len();
        if planes.len() != self.kernel.planes() {
            return Err(CodegenError::Inputs(format!(
                "{} planes for a kernel of {}",
                planes.len(),
                self.kernel.planes()
            )));
        }
        if offset.len() != n || planes.iter().any(|p| p.len() != n) {
            return Err(CodegenError::Inputs(format!(
                "every plane and the offsets must have {n} values, as the scales"
            )));
        }
        let pointers: Vec<*const i32> = planes.iter().map(|p| p.as_ptr()).collect();
        let mut out = vec![0i32; n];
        // SAFETY: every buffer holds n elements (checked above), `out` is writable,
        // and the function reads and writes nothing else.
        unsafe {
            self.function.call(
                pointers.as_ptr(),
                scale.as_ptr(),
                offset.as_ptr(),
                out.as_mut_ptr(),
                n as u64,
            );
        }
        Ok(out)
    }
}
