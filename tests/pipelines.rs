//! Snapshot tests of whole `cim-opt` runs: pipeline output, pass listing and the
//! rendering of diagnostics. Review changes with `cargo insta review`.

use std::process::Command;

/// Runs cim-opt from the repository root (so paths in diagnostics are relative and
/// stable) and returns (exit code, stdout, stderr).
fn cim_opt(arguments: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cim-opt"))
        .args(arguments)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cim-opt runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The README's main job: a graph-level MLP mapped onto the tiny example target
/// (tiled, sign-split, bit-sliced, placed), its digital part lowered by upstream
/// passes in the same pipeline.
#[test]
fn mlp_map_and_lower() {
    let (code, stdout, stderr) = cim_opt(&[
        "tests/examples/mlp.mlir",
        "--pass-pipeline=builtin.module(cim-tile{rows=4 cols=4},cim-split-weights,\
         cim-bitslice{weight-bits=4 cell-bits=2},cim-place{target=tests/examples/tiny-target.toml},\
         func.func(tosa-to-linalg,tosa-to-arith),canonicalize,cse)",
    ]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn mapped_mlp_verify_canonicalize_cse() {
    let (code, stdout, stderr) = cim_opt(&[
        "tests/examples/mapped-mlp.mlir",
        "--pass-pipeline=builtin.module(cim-verify,canonicalize,cse)",
        "--mlir-elide-elementsattrs-if-larger=8",
    ]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
}

#[test]
fn list_passes() {
    let (code, stdout, _) = cim_opt(&["--list-passes"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn diagnostics_are_rendered_with_source_and_caret() {
    let (code, stdout, stderr) = cim_opt(&["tests/examples/invalid-mapping.mlir"]);
    assert_eq!(code, 1);
    assert!(
        stdout.is_empty(),
        "nothing is printed for a failed input: {stdout}"
    );
    insta::assert_snapshot!(stderr);
}
