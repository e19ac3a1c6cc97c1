//! The JIT: a kernel compiled for the host ([`JitKernel`]), the cache of compiled
//! kernels, activations, elementwise programs and matrix products by shape
//! ([`JitCache`]), and the host CPU's function attributes.

use super::{
    ActivationFn, CodegenError, ELEMENTWISE, ElementwiseFn, FUNCTION, KernelFn, MATMUL, MatmulFn,
    elementwise,
    kernel::{build, define_activation},
    llvm,
    machine::{machine, prepare},
    matmul,
};
use crate::{
    Kernel, Tables,
    activation::{Function, Lut},
    check_inputs,
    elementwise::Program,
};
use inkwell::{
    OptimizationLevel,
    context::Context,
    execution_engine::{ExecutionEngine, UnsafeFunctionPointer},
    module::Module,
    targets::{InitializationConfig, Target, TargetMachine},
};

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
    programs: std::collections::HashMap<Program, (ExecutionEngine<'static>, ElementwiseFn)>,
    matmuls: std::collections::HashMap<u32, (ExecutionEngine<'static>, MatmulFn)>,
}

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
    pub fn elementwise(&mut self, program: &Program) -> Result<ElementwiseFn, CodegenError> {
        cached(
            &mut self.programs,
            program,
            ELEMENTWISE,
            |context, module| {
                elementwise::define(context, module, program, ELEMENTWISE, None).map(drop)
            },
        )
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
