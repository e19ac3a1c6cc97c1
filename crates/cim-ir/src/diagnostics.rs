//! Capturing MLIR diagnostics and rendering them like `mlir-opt` does:
//! `file:line:col: error: message`, the source line, and a caret under the column.

use melior::{
    Context,
    diagnostic::{Diagnostic as MlirDiagnostic, DiagnosticHandlerId, DiagnosticSeverity},
    ir::Location,
};
use std::{cell::RefCell, ffi::CString, fmt, rc::Rc};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The operation or input is invalid.
    Error,
    /// Suspicious but accepted.
    Warning,
    /// Extra information attached to another diagnostic.
    Note,
    /// Information requested by the user.
    Remark,
}

impl Severity {
    /// The word MLIR uses for it (`error`, `warning`, `note`, `remark`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Note => "note",
            Self::Remark => "remark",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePosition {
    /// The file name as the parser was given it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One diagnostic, copied out of MLIR so it outlives the handler call.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// Where in a file it points, if its location leads to one.
    pub position: Option<SourcePosition>,
    /// The message text.
    pub message: String,
    /// Notes attached to it.
    pub notes: Vec<Diagnostic>,
}

impl Diagnostic {
    fn from_mlir(diagnostic: &MlirDiagnostic) -> Self {
        let severity = match diagnostic.severity() {
            DiagnosticSeverity::Error => Severity::Error,
            DiagnosticSeverity::Warning => Severity::Warning,
            DiagnosticSeverity::Note => Severity::Note,
            DiagnosticSeverity::Remark => Severity::Remark,
        };
        let notes = (0..diagnostic.note_count())
            .filter_map(|index| diagnostic.note(index).ok())
            .map(|note| Self::from_mlir(&note))
            .collect();
        Self {
            severity,
            position: file_position(diagnostic.location()),
            message: diagnostic.to_string(),
            notes,
        }
    }

    /// This diagnostic followed by its notes, depth first.
    pub fn flatten(&self) -> Vec<&Diagnostic> {
        let mut all = vec![self];
        for note in &self.notes {
            all.extend(note.flatten());
        }
        all
    }

    /// Renders it, its notes, and the source lines they point at.
    /// `source` maps a file name to its text, when known.
    pub fn render(&self, source: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for diagnostic in self.flatten() {
            match &diagnostic.position {
                Some(position) => {
                    out.push_str(&format!(
                        "{}:{}:{}: {}: {}\n",
                        position.file,
                        position.line,
                        position.column,
                        diagnostic.severity,
                        shortened(&diagnostic.message, MESSAGE_CHARS)
                    ));
                    let line = source(&position.file).and_then(|text| {
                        let index = position.line.checked_sub(1)?;
                        text.lines().nth(index).map(str::to_owned)
                    });
                    if let Some(line) = line {
                        let (window, caret) = around(&line, position.column.saturating_sub(1));
                        out.push_str(&window);
                        out.push('\n');
                        out.push_str(&" ".repeat(caret));
                        out.push_str("^\n");
                    }
                }
                None => out.push_str(&format!(
                    "<unknown>: {}: {}\n",
                    diagnostic.severity,
                    shortened(&diagnostic.message, MESSAGE_CHARS)
                )),
            }
        }
        out
    }
}

/// Characters of a diagnostic's message shown (the rest of an op printed whole is
/// elided).
const MESSAGE_CHARS: usize = 400;
/// Characters of a source line shown around the column a diagnostic points at.
const LINE_CHARS: usize = 160;

/// `text`, cut to `most` characters with "..." when longer.
fn shortened(text: &str, most: usize) -> String {
    match text.char_indices().nth(most) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// Up to [`LINE_CHARS`] characters of `line` around character `column`, and where
/// the column lies in them.
fn around(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= LINE_CHARS {
        return (line.to_owned(), column);
    }
    let start = column
        .saturating_sub(LINE_CHARS / 2)
        .min(chars.len() - LINE_CHARS);
    let end = start + LINE_CHARS;
    let mut window: String = chars[start..end].iter().collect();
    let mut caret = column - start.min(column);
    if start > 0 {
        window.insert_str(0, "...");
        caret += 3;
    }
    if end < chars.len() {
        window.push_str("...");
    }
    (window, caret)
}

/// The file position a location leads to: a name or call-site location is followed to
/// the location it wraps (the callee), a fused location to its first file position.
pub fn file_position(location: Location) -> Option<SourcePosition> {
    if location.is_file_line_col_range() {
        Some(SourcePosition {
            file: location
                .file_line_col_range_filename()
                .as_string_ref()
                .as_str()
                .ok()?
                .to_owned(),
            line: location.file_line_col_range_start_line(),
            column: location.file_line_col_range_start_column(),
        })
    } else if location.is_name() {
        file_position(location.name_child_location())
    } else if location.is_call_site() {
        file_position(location.call_site_callee())
    } else if location.is_fused() {
        (0..location.fused_num_locations())
            .find_map(|index| file_position(location.fused_location(index)))
    } else {
        None
    }
}

/// Collects every diagnostic of a context while it is attached, and stops MLIR from
/// printing them itself.
pub struct DiagnosticSink<'c> {
    context: &'c Context,
    handler: Option<DiagnosticHandlerId>,
    collected: Rc<RefCell<Vec<Diagnostic>>>,
}

impl<'c> DiagnosticSink<'c> {
    /// Attaches a collecting handler to `context`.
    pub fn attach(context: &'c Context) -> Self {
        let collected = Rc::new(RefCell::new(Vec::new()));
        let sink = collected.clone();
        let handler = context.attach_diagnostic_handler(move |diagnostic| {
            sink.borrow_mut().push(Diagnostic::from_mlir(&diagnostic));
            true
        });
        Self {
            context,
            handler: Some(handler),
            collected,
        }
    }

    /// Takes what was collected so far.
    pub fn take(&self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.collected.borrow_mut())
    }

    /// Whether an error was collected and not yet taken.
    pub fn has_errors(&self) -> bool {
        self.collected
            .borrow()
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error)
    }
}

impl Drop for DiagnosticSink<'_> {
    fn drop(&mut self) {
        if let Some(handler) = self.handler.take() {
            self.context.detach_diagnostic_handler(handler);
        }
    }
}

/// Emits an error at `location` through the context's diagnostic engine, so it reaches
/// whatever handler is attached (a [`DiagnosticSink`], or MLIR's default printer).
pub fn emit_error(location: Location, message: &str) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: the location is valid for its context and the string is NUL-terminated
    // and lives across the call.
    unsafe { mlir_sys::mlirEmitError(location.to_raw(), message.as_ptr()) }
}
