//! Textual pass pipelines, mixing cim and upstream MLIR passes:
//! `builtin.module(canonicalize, cim-verify, func.func(cse))`.
//!
//! The syntax is MLIR's: a comma-separated list of passes, each with optional
//! `{key=value ...}` options, and `op-name(...)` for passes nested on operations of
//! that kind. An outer `builtin.module(...)` is optional. cim passes are found in the
//! [registry](crate::registry::PASSES); any other name goes to MLIR's own pass registry.
//!
//! The pipeline runs one top-level element at a time (a *step*), each in an MLIR
//! `PassManager` with the verifier on, so IR can be printed after any step.

use crate::{
    options::OptionError,
    pass::{self, PassFailed},
    registry,
};
use melior::{
    Context, StringRef,
    ir::Module,
    pass::{OperationPassManager, PassManager},
};
use std::{ffi::c_void, fmt};
use thiserror::Error;

/// One element of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// A pass and its option text (between the braces, possibly empty).
    Pass {
        /// Command-line name.
        name: String,
        /// Options as written.
        options: String,
    },
    /// Passes run on every nested operation named `anchor`.
    Nested {
        /// Operation name (`func.func`).
        anchor: String,
        /// The nested pipeline.
        body: Vec<Element>,
    },
}

impl Element {
    /// The name a step is known by: the pass name, or the anchor of a nested group.
    pub fn name(&self) -> &str {
        match self {
            Self::Pass { name, .. } => name,
            Self::Nested { anchor, .. } => anchor,
        }
    }

    /// Whether this element is, or contains, the pass `name`.
    pub fn mentions(&self, name: &str) -> bool {
        match self {
            Self::Pass { name: own, .. } => own == name,
            Self::Nested { body, .. } => body.iter().any(|element| element.mentions(name)),
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass { name, options } if options.is_empty() => f.write_str(name),
            Self::Pass { name, options } => write!(f, "{name}{{{options}}}"),
            Self::Nested { anchor, body } => write!(f, "{anchor}({})", join(body)),
        }
    }
}

fn join(elements: &[Element]) -> String {
    elements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A pass pipeline on `builtin.module`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// Top-level elements, run in order.
    pub elements: Vec<Element>,
}

impl fmt::Display for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "builtin.module({})", join(&self.elements))
    }
}

/// A pipeline that cannot be built.
#[derive(Debug, Error)]
pub enum PipelineError {
    /// The text does not follow the syntax.
    #[error("invalid pass pipeline '{text}' at column {column}: {message}")]
    Syntax {
        /// The whole pipeline text.
        text: String,
        /// 1-based column of the problem.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A cim pass's options do not fit its declaration.
    #[error(transparent)]
    Options(#[from] OptionError),
    /// A cim pass nested under an operation it does not run on.
    #[error(
        "pass '{pass}' runs on {runs_on}, but the pipeline nests it under {nested}: write it directly inside {runs_on}(...)"
    )]
    Anchor {
        /// The pass.
        pass: String,
        /// The operation it runs on.
        runs_on: &'static str,
        /// The operation it was nested under.
        nested: String,
    },
    /// MLIR did not accept an upstream element.
    #[error("MLIR rejected '{element}': {message} (cim passes: cim-opt --list-passes)")]
    Unknown {
        /// The element as written.
        element: String,
        /// MLIR's explanation.
        message: String,
    },
}

impl Pipeline {
    /// Parses pipeline text. Checks syntax and cim options; upstream names are
    /// checked when the pipeline is built.
    pub fn parse(text: &str) -> Result<Self, PipelineError> {
        let mut parser = Parser { text, position: 0 };
        let mut elements = parser.list()?;
        parser.skip_space();
        if parser.position != text.len() {
            return Err(parser.error("unexpected text after the pipeline"));
        }
        if let [Element::Nested { anchor, body }] = elements.as_slice()
            && anchor == "builtin.module"
        {
            elements = body.clone();
        }
        let pipeline = Self { elements };
        pipeline.check()?;
        Ok(pipeline)
    }

    /// Checks each cim pass's options, and that it sits where it runs: under the
    /// operation it is anchored on (MLIR aborts the process otherwise).
    fn check(&self) -> Result<(), PipelineError> {
        fn walk(elements: &[Element], anchor: &str) -> Result<(), PipelineError> {
            for element in elements {
                match element {
                    Element::Pass { name, options } => {
                        if let Some(def) = registry::lookup(name) {
                            def.parse_options(options)?;
                            if def.anchor != anchor {
                                return Err(PipelineError::Anchor {
                                    pass: name.clone(),
                                    runs_on: def.anchor,
                                    nested: anchor.to_owned(),
                                });
                            }
                        }
                    }
                    Element::Nested { anchor, body } => walk(body, anchor)?,
                }
            }
            Ok(())
        }
        walk(&self.elements, "builtin.module")
    }

    /// Checks that every element can be built (upstream names exist, options parse)
    /// without running anything.
    pub fn validate(&self, context: &Context) -> Result<(), PipelineError> {
        let manager = PassManager::new(context);
        for element in &self.elements {
            add_element(manager.as_operation_pass_manager(), element)?;
        }
        Ok(())
    }
}

struct Parser<'t> {
    text: &'t str,
    position: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> PipelineError {
        PipelineError::Syntax {
            text: self.text.to_owned(),
            column: self.position + 1,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.position..].chars().next()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn list(&mut self) -> Result<Vec<Element>, PipelineError> {
        let mut elements = Vec::new();
        self.skip_space();
        if matches!(self.peek(), None | Some(')')) {
            return Ok(elements);
        }
        loop {
            elements.push(self.element()?);
            self.skip_space();
            if self.peek() == Some(',') {
                self.position += 1;
            } else {
                return Ok(elements);
            }
        }
    }

    fn element(&mut self) -> Result<Element, PipelineError> {
        self.skip_space();
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            self.position += 1;
        }
        if start == self.position {
            return Err(self.error("expected a pass or operation name"));
        }
        let name = self.text[start..self.position].to_owned();
        self.skip_space();
        match self.peek() {
            Some('(') => {
                self.position += 1;
                let body = self.list()?;
                self.skip_space();
                if self.peek() != Some(')') {
                    return Err(self.error("expected ')' to close the nested pipeline"));
                }
                self.position += 1;
                Ok(Element::Nested { anchor: name, body })
            }
            Some('{') => {
                let open = self.position;
                let mut depth = 0;
                for (offset, c) in self.text[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.position = open + offset + 1;
                                let options = self.text[open + 1..open + offset].trim().to_owned();
                                return Ok(Element::Pass { name, options });
                            }
                        }
                        _ => {}
                    }
                }
                Err(self.error("expected '}' to close the options"))
            }
            _ => Ok(Element::Pass {
                name,
                options: String::new(),
            }),
        }
    }
}

/// Adds one element to an operation pass manager.
fn add_element(manager: OperationPassManager, element: &Element) -> Result<(), PipelineError> {
    match element {
        Element::Pass { name, options } => match registry::lookup(name) {
            Some(def) => {
                manager.add_pass(pass::create(def, def.parse_options(options)?));
                Ok(())
            }
            None => add_upstream(manager, &element.to_string()),
        },
        Element::Nested { anchor, body } => {
            let nested = manager.nested_under(anchor);
            body.iter()
                .try_for_each(|element| add_element(nested, element))
        }
    }
}

fn add_upstream(manager: OperationPassManager, text: &str) -> Result<(), PipelineError> {
    unsafe extern "C" fn collect(message: mlir_sys::MlirStringRef, data: *mut c_void) {
        // SAFETY: `data` is the `String` below, alive during the call.
        let buffer = unsafe { &mut *(data as *mut String) };
        // SAFETY: MLIR passes a valid string reference.
        if let Ok(text) = unsafe { StringRef::from_raw(message) }.as_str() {
            buffer.push_str(text);
        }
    }
    let mut message = String::new();
    // SAFETY: the manager is alive; the callback only appends to `message`.
    let result = unsafe {
        mlir_sys::mlirOpPassManagerAddPipeline(
            manager.to_raw(),
            StringRef::new(text).to_raw(),
            Some(collect),
            &mut message as *mut String as *mut c_void,
        )
    };
    if result.value == 0 {
        let message = message
            .trim()
            .lines()
            .next()
            .unwrap_or("unknown pass")
            .to_owned();
        return Err(PipelineError::Unknown {
            element: text.to_owned(),
            message,
        });
    }
    Ok(())
}

/// How to run a pipeline.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Run MLIR's verifier and `cim-verify` after every step.
    pub verify_each: bool,
    /// Have MLIR print its pass statistics (the counters passes keep) to stderr
    /// after each step, as a list (`--mlir-pass-statistics`).
    pub statistics: bool,
}

/// Why a run stopped.
#[derive(Debug, Error)]
pub enum RunError {
    /// The pipeline could not be built.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// A pass or a verifier failed; the diagnostics were emitted.
    #[error("pass pipeline failed at step '{step}'")]
    Failed {
        /// The step that failed.
        step: String,
    },
}

/// Runs `pipeline` on `module`, one top-level element at a time. `after_step` is
/// called after each successful step with the element, to print IR or measure.
pub fn run(
    context: &Context,
    module: &mut Module,
    pipeline: &Pipeline,
    options: &RunOptions,
    mut after_step: impl FnMut(&Element, &Module),
) -> Result<(), RunError> {
    for element in &pipeline.elements {
        let manager = if options.statistics {
            // SAFETY: a new pass manager on a live context, owned by `manager`.
            unsafe {
                let raw = mlir_sys::mlirPassManagerCreate(context.to_raw());
                mlir_sys::mlirPassManagerEnableStatistics(
                    raw,
                    mlir_sys::MlirPassDisplayMode_MLIR_PASS_DISPLAY_MODE_LIST,
                );
                PassManager::from_raw(raw)
            }
        } else {
            PassManager::new(context)
        };
        manager.enable_verifier(options.verify_each);
        add_element(manager.as_operation_pass_manager(), element)?;
        let failed = || RunError::Failed {
            step: element.to_string(),
        };
        manager.run(module).map_err(|_| failed())?;
        if options.verify_each && crate::verify::verify(module.as_operation()).is_err() {
            return Err(failed());
        }
        after_step(element, module);
    }
    Ok(())
}

impl From<PassFailed> for RunError {
    fn from(_: PassFailed) -> Self {
        Self::Failed {
            step: "cim-verify".to_owned(),
        }
    }
}
