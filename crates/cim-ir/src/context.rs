//! Creating an MLIR context that knows every upstream dialect and pass and the `cim`
//! dialect.

use crate::dialect;
use melior::{
    Context,
    dialect::DialectRegistry,
    ir::{Module, operation::OperationLike},
    utility::{load_irdl_dialects, register_all_dialects, register_all_passes},
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

/// An MLIR context ready for cim: all upstream dialects registered (each loaded
/// when first needed), all upstream passes registered, and the `cim` dialect
/// loaded from IRDL.
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
        register_all_dialects(&registry);
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
        PASSES.call_once(register_all_passes);

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
