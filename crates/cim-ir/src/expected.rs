//! `--verify-diagnostics`: the `expected-error` / `expected-warning` / `expected-note`
//! / `expected-remark` comments of upstream MLIR tests, checked against what was
//! emitted.
//!
//! Syntax, as upstream: `// expected-error @+1 {{substring of the message}}`; the
//! designator is `@+N`, `@-N`, `@above`, `@below` or `@unknown` (a diagnostic without a
//! file location); without one, the comment's own line.

use crate::diagnostics::{Diagnostic, Severity};

/// One expectation read from a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// Which severity is expected.
    pub severity: Severity,
    /// The line the diagnostic must point at; `None` for `@unknown`.
    pub line: Option<usize>,
    /// A substring the message must contain.
    pub message: String,
    /// Line of the comment itself.
    pub comment_line: usize,
    /// Column of `expected-` in that line.
    pub comment_column: usize,
}

/// A comment that looks like an expectation but cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedExpectation {
    /// Line of the comment.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Reads the expectations of `text`, whose first line is line `first_line` of the file.
pub fn parse_expectations(
    text: &str,
    first_line: usize,
) -> Result<Vec<Expected>, MalformedExpectation> {
    let mut all = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_number = first_line + index;
        let Some(start) = line.find("expected-") else {
            continue;
        };
        if !line[..start].contains("//") {
            continue;
        }
        let rest = &line[start + "expected-".len()..];
        let malformed = |reason: String| MalformedExpectation {
            line: line_number,
            reason,
        };
        // Like upstream, only `expected-<severity>` starts an expectation; other
        // mentions of "expected-" in comments are prose.
        let Some((severity, rest)) = [
            (Severity::Error, "error"),
            (Severity::Warning, "warning"),
            (Severity::Note, "note"),
            (Severity::Remark, "remark"),
        ]
        .into_iter()
        .find_map(|(severity, word)| rest.strip_prefix(word).map(|rest| (severity, rest))) else {
            continue;
        };
        if rest.starts_with("-re") {
            return Err(malformed(
                "regular-expression expectations (-re) are not supported".into(),
            ));
        }
        let rest = rest.trim_start();
        let (target, rest) = match rest.strip_prefix('@') {
            Some(designator) => {
                let end = designator
                    .find(|c: char| c.is_whitespace() || c == '{')
                    .unwrap_or(designator.len());
                let target = match &designator[..end] {
                    "above" => Some(line_number - 1),
                    "below" => Some(line_number + 1),
                    "unknown" => None,
                    offset => {
                        let delta: i64 = offset.parse().map_err(|_| {
                            malformed(format!("bad designator '@{offset}': use @+N, @-N, @above, @below or @unknown"))
                        })?;
                        let target = line_number as i64 + delta;
                        if target < 1 {
                            return Err(malformed(format!(
                                "'@{offset}' points before the first line"
                            )));
                        }
                        Some(target as usize)
                    }
                };
                (target, designator[end..].trim_start())
            }
            None => (Some(line_number), rest),
        };
        let message = rest
            .strip_prefix("{{")
            .and_then(|body| body.rfind("}}").map(|end| &body[..end]))
            .ok_or_else(|| {
                malformed("the expected message must be written {{like this}}".into())
            })?;
        all.push(Expected {
            severity,
            line: target,
            message: message.to_owned(),
            comment_line: line_number,
            comment_column: start + 1,
        });
    }
    Ok(all)
}

/// Checks emitted diagnostics (and their notes) against expectations. Returns one
/// line per mismatch, in the form `mlir-opt` uses; empty means all matched.
pub fn check(file: &str, expected: &[Expected], emitted: &[Diagnostic]) -> Vec<String> {
    let mut matched = vec![false; expected.len()];
    let mut problems = Vec::new();
    for diagnostic in emitted.iter().flat_map(Diagnostic::flatten) {
        let line = diagnostic
            .position
            .as_ref()
            .filter(|position| position.file == file)
            .map(|position| position.line);
        let hit = expected
            .iter()
            .enumerate()
            .position(|(index, expectation)| {
                !matched[index]
                    && expectation.severity == diagnostic.severity
                    && expectation.line == line
                    && diagnostic.message.contains(&expectation.message)
            });
        // An expectation matched once may match again (as upstream does), but only
        // when no unmatched one fits.
        let hit = hit.or_else(|| {
            expected.iter().position(|expectation| {
                expectation.severity == diagnostic.severity
                    && expectation.line == line
                    && diagnostic.message.contains(&expectation.message)
            })
        });
        match hit {
            Some(index) => matched[index] = true,
            None => {
                let place = match &diagnostic.position {
                    Some(position) => {
                        format!("{}:{}:{}", position.file, position.line, position.column)
                    }
                    None => format!("{file}:<unknown>"),
                };
                problems.push(format!(
                    "{place}: error: unexpected {}: {}",
                    diagnostic.severity, diagnostic.message
                ));
            }
        }
    }
    for (expectation, matched) in expected.iter().zip(matched) {
        if !matched {
            problems.push(format!(
                "{file}:{}:{}: error: expected {} \"{}\" was not produced",
                expectation.comment_line,
                expectation.comment_column,
                expectation.severity,
                expectation.message
            ));
        }
    }
    problems
}
