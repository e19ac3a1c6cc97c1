//! Creating an MLIR context that knows the upstream dialects and passes cim reads
//! and runs, and the `cim` dialect.

use crate::dialect;
use melior::{
    Context,
    dialect::DialectRegistry,
    ir::{Module, operation::OperationLike},
    utility::load_irdl_dialects,
};
use thiserror::Error;

/// Why a context could not be created. These are build or installation faults,
/// never faults of user input.
#[derive(Debug, Error)]
pub enum ContextError {
    /// The embedded IRDL source did not parse.
    #[error("the built-in cim dialect definition (dialects/cim.irdl.mlir) does not parse")]
    DialectParse,
    /// MLIR refused to load the IRDL definition.
    #[error("MLIR could not load the cim dialect from its IRDL definition")]
    DialectLoad,
}

/// The upstream dialects cim's passes, importers and rewrites create operations of.
const OWN_DIALECTS: [&str; 8] = [
    "affine", "arith", "cf", "func", "linalg", "math", "tensor", "tosa",
];

/// The upstream dialects a context knows: those of cim's inputs (torch-mlir's
/// linalg-on-tensors and TOSA contracts, IREE's and onnx-mlir's upstream output)
/// and of its own IR, and IRDL, which defines `cim`. An input using another
/// dialect gets the parser's error naming it.
///
/// Not every upstream dialect: a binary links the code of what it registers, and
/// every dialect and pass brings static initialisers that each process start runs.
/// With all of MLIR's and all of LLVM's backends (`backends/nmdu/src/codegen/targets.rs`)
/// the text was 204 MB instead of 122, and `cimc --version` took 1.3-1.7x as long
/// and a 10-chip eval of the digits MLP 1.2-1.3x (`perf stat`, alternating runs).
/// MLIR's register-everything functions, which melior names, are defined in
/// `cpp/shim.cpp` so that they link none of it (115 MB of text with them there).
const UPSTREAM_DIALECTS: [unsafe extern "C" fn() -> mlir_sys::MlirDialectHandle; 17] = [
    mlir_sys::mlirGetDialectHandle__affine__,
    mlir_sys::mlirGetDialectHandle__arith__,
    mlir_sys::mlirGetDialectHandle__bufferization__,
    mlir_sys::mlirGetDialectHandle__cf__,
    mlir_sys::mlirGetDialectHandle__complex__,
    mlir_sys::mlirGetDialectHandle__func__,
    mlir_sys::mlirGetDialectHandle__index__,
    mlir_sys::mlirGetDialectHandle__irdl__,
    mlir_sys::mlirGetDialectHandle__linalg__,
    mlir_sys::mlirGetDialectHandle__math__,
    mlir_sys::mlirGetDialectHandle__memref__,
    mlir_sys::mlirGetDialectHandle__ml_program__,
    mlir_sys::mlirGetDialectHandle__quant__,
    mlir_sys::mlirGetDialectHandle__scf__,
    mlir_sys::mlirGetDialectHandle__tensor__,
    mlir_sys::mlirGetDialectHandle__tosa__,
    mlir_sys::mlirGetDialectHandle__ub__,
];

/// The upstream passes a pipeline may name: MLIR's generic transforms
/// (`canonicalize`, `cse`, `inline`, `symbol-dce`, ...), linalg's and TOSA's own
/// passes, and TOSA's conversions to linalg, arith, tensor and scf (cim's TOSA
/// import). Chosen for the reason [`UPSTREAM_DIALECTS`] gives.
const UPSTREAM_PASSES: [unsafe extern "C" fn(); 8] = [
    mlir_sys::mlirRegisterTransformsPasses,
    mlir_sys::mlirRegisterLinalgPasses,
    mlir_sys::mlirRegisterTosaPasses,
    mlir_sys::mlirRegisterConversionTosaToArithPass,
    mlir_sys::mlirRegisterConversionTosaToLinalg,
    mlir_sys::mlirRegisterConversionTosaToLinalgNamed,
    mlir_sys::mlirRegisterConversionTosaToSCFPass,
    mlir_sys::mlirRegisterConversionTosaToTensorPass,
];

/// An MLIR context ready for cim: the [`UPSTREAM_DIALECTS`] registered (each
/// loaded when first needed), the [`UPSTREAM_PASSES`] registered, and the `cim`
/// dialect loaded from IRDL.
pub struct CimContext {
    context: Context,
}

impl CimContext {
    /// Creates the context. Multithreading is off: diagnostics then arrive in a
    /// deterministic order, which `--verify-diagnostics` and snapshots rely on.
    pub fn new() -> Result<Self, ContextError> {
        // MLIR's global registrations (dialects' type ids, IRDL's) are not meant
        // to race: contexts are made one at a time, whichever threads make them.
        static CREATION: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = CREATION.lock().unwrap_or_else(|e| e.into_inner());
        let registry = DialectRegistry::new();
        for handle in UPSTREAM_DIALECTS {
            // SAFETY: the handle functions return static descriptions; the
            // registry is alive.
            unsafe { mlir_sys::mlirDialectHandleInsertDialect(handle(), registry.to_raw()) };
        }
        let context = Context::new_with_registry(&registry, false);
        // The dialects cim's own code builds operations of (a pass must load what
        // it creates); the parser and upstream passes load the others when first
        // needed. Loading all of them took a fifth of a small 2-chip eval's
        // instructions (two contexts, 22 M instructions each).
        for dialect in OWN_DIALECTS {
            context.get_or_load_dialect(dialect);
        }
        // The pass registry is global to the process: fill it once, as a second
        // context's registration would race with another thread's pipeline parsing.
        static PASSES: std::sync::Once = std::sync::Once::new();
        PASSES.call_once(|| {
            for register in UPSTREAM_PASSES {
                // SAFETY: registration functions take no arguments; called once.
                unsafe { register() };
            }
        });

        let irdl =
            Module::parse(&context, dialect::IRDL_SOURCE).ok_or(ContextError::DialectParse)?;
        if !irdl.as_operation().verify() || !load_irdl_dialects(&irdl) {
            return Err(ContextError::DialectLoad);
        }
        // The loaded dialect keeps constraint objects built from this module's
        // attributes; keep the module alive as long as the process to be safe.
        std::mem::forget(irdl);
        let cim = Self { context };
        // A diagnostic names its source line; the failing op printed whole (with
        // `<<UNKNOWN SSA VALUE>>`s) is for cim-opt, which asks for it as mlir-opt does.
        cim.set_print_op_on_diagnostic(false);
        Ok(cim)
    }

    /// The MLIR context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Whether an error on an operation carries a "see current operation" note with
    /// the operation printed (off in a new context; `cim-opt` turns it on, as
    /// `mlir-opt` has it).
    pub fn set_print_op_on_diagnostic(&self, enable: bool) {
        // SAFETY: the context is alive.
        unsafe { cimContextSetPrintOpOnDiagnostic(self.context.to_raw(), enable) }
    }
}

unsafe extern "C" {
    /// cpp/shim.cpp: `MLIRContext::printOpOnDiagnostic`.
    fn cimContextSetPrintOpOnDiagnostic(context: mlir_sys::MlirContext, enable: bool);
}
