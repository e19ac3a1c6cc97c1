//! Test-file handling shared with the lit-style drivers: `// -----` splitting keeps
//! the whole file's line numbers, and `expected-*` comments are read with upstream
//! MLIR's designators (`@+N`, `@-N`, `@above`, `@unknown`).

use cim_ir::{
    diagnostics::Severity,
    expected::{Expected, parse_expectations},
    source::{is_split_marker, split_input},
};

#[test]
fn split_keeps_whole_file_line_numbers() {
    let chunks = split_input("a\nb\n// -----\nc\n//-----\nd\n", true);
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        (
            chunks[0].first_line,
            chunks[1].first_line,
            chunks[2].first_line
        ),
        (1, 4, 6)
    );
    assert_eq!(chunks[2].padded_text(), "\n\n\n\n\nd\n");
    assert_eq!(split_input("a\n// -----\nb\n", false).len(), 1);
    assert!(is_split_marker("  // ----- tail"));
    assert!(!is_split_marker("// ---- four"));
}

#[test]
fn expectations_follow_upstream_designators() {
    let text = "x // expected-error {{same}}\n// expected-warning @+2 {{plus}}\n\n// expected-note @above {{above}}\n// expected-remark @unknown {{nowhere}}\n// prose about expected-* comments\n";
    let found = parse_expectations(text, 10).expect("well formed");
    let lines: Vec<_> = found
        .iter()
        .map(|e: &Expected| (e.severity, e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (Severity::Error, Some(10), "same"),
            (Severity::Warning, Some(13), "plus"),
            (Severity::Note, Some(12), "above"),
            (Severity::Remark, None, "nowhere"),
        ]
    );
    assert!(parse_expectations("// expected-error @+x {{m}}", 1).is_err());
    assert!(parse_expectations("// expected-error no braces", 1).is_err());
    assert!(parse_expectations("// expected-error @-3 {{m}}", 1).is_err());
}
