//! Runs the lit test suite (`lit-tests/`) with the freshly built `cim-opt`, so
//! `cargo test` covers the FileCheck tests too. Needs Debian's `lit`, `FileCheck`,
//! `not` and `mlir-opt` (tools/install-deps.sh); `LLVM_BIN` overrides where they are.

use std::{path::Path, process::Command};

/// The suite must not shrink silently: the foundation promises at least this many.
const MIN_LIT_TESTS: usize = 30;

#[test]
fn lit_suite_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let llvm_bin = std::env::var("LLVM_BIN").unwrap_or_else(|_| "/usr/lib/llvm-22/bin".into());
    let cim_opt = Path::new(env!("CARGO_BIN_EXE_cim-opt"));
    let cim_bin = cim_opt.parent().expect("cim-opt has a directory");
    let exec_root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lit");
    let output = Command::new(Path::new(&llvm_bin).join("lit"))
        .arg("-v")
        .arg(root.join("lit-tests"))
        .arg(format!("--param=cim_bin={}", cim_bin.display()))
        .arg(format!("--param=llvm_bin={llvm_bin}"))
        .arg(format!("--param=exec_root={}", exec_root.display()))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run {llvm_bin}/lit ({error}): run tools/install-deps.sh")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(output.status.success(), "lit failed (see the output above)");
    let passed = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Passed:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse::<usize>().ok())
        .expect("lit printed a 'Passed: N' line");
    assert!(
        passed >= MIN_LIT_TESTS,
        "only {passed} lit tests passed; the suite must hold at least {MIN_LIT_TESTS}"
    );
}
