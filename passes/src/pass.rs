//! What a cim pass is, and how it runs inside MLIR's pass manager.
//!
//! A pass is a [`PassDef`]: a name, a summary, typed options and a function over an
//! operation. [`create`] wraps one as an MLIR external pass, so cim passes and
//! upstream passes share one `PassManager`, one verifier, and one diagnostic engine.

use crate::options::{OptionSpec, PassOptions};
use cim_ir::diagnostics::emit_error;
use melior::{
    ContextRef,
    ir::{OperationRef, operation::OperationLike, r#type::TypeId},
    pass::{ExternalPass, Pass, RunExternalPass, create_external},
};
use std::sync::Arc;

/// A pass failed; its diagnostics have been emitted at the operations concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassFailed;

/// What a pass returns.
pub type PassResult = Result<(), PassFailed>;

/// A unique address that MLIR uses as the pass's type identifier.
#[repr(align(8))]
pub struct PassId;

/// A pass definition. Every pass file exports one; `registry::PASSES` lists them.
pub struct PassDef {
    /// Command-line name (`cim-verify`), also the `--cim-verify` flag.
    pub name: &'static str,
    /// One line for `--list-passes`.
    pub summary: &'static str,
    /// Typed options, in the order `--list-passes` shows them.
    pub options: &'static [OptionSpec],
    /// The operation it runs on (`builtin.module`), or `""` for any.
    pub anchor: &'static str,
    /// The transformation.
    pub run: fn(OperationRef<'_, '_>, &PassOptions) -> PassResult,
    /// Identity for MLIR.
    pub id: &'static PassId,
}

impl PassDef {
    /// Parses this pass's options from pipeline text (`rows=256 cols=256`).
    pub fn parse_options(&self, text: &str) -> Result<PassOptions, crate::options::OptionError> {
        PassOptions::parse(self.name, self.options, text)
    }
}

#[derive(Clone)]
struct Adaptor {
    def: &'static PassDef,
    options: Arc<PassOptions>,
}

impl<'c> RunExternalPass<'c> for Adaptor {
    fn initialize(&mut self, _context: ContextRef<'c>) {}

    fn run(&mut self, operation: OperationRef<'c, '_>, pass: ExternalPass<'_>) {
        // A panic must not unwind into MLIR (C++ frames): it becomes an error at the
        // operation the pass ran on, and the pass fails.
        let run = std::panic::AssertUnwindSafe(|| (self.def.run)(operation, &self.options));
        let outcome = std::panic::catch_unwind(run).unwrap_or_else(|panic| {
            let reason = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown cause");
            emit_error(
                operation.location(),
                &format!(
                    "internal error in pass '{}': {reason} (please report it)",
                    self.def.name
                ),
            );
            Err(PassFailed)
        });
        if outcome.is_err() {
            pass.signal_failure();
        }
    }
}

/// Wraps a pass instance as an MLIR pass.
pub fn create(def: &'static PassDef, options: PassOptions) -> Pass {
    create_external(
        Adaptor {
            def,
            options: Arc::new(options),
        },
        TypeId::create(def.id),
        def.name,
        def.name,
        def.summary,
        def.anchor,
        &[],
    )
}
