//! Bad input to `cimc` (missing files, unknown targets, inputs of the wrong shape,
//! labels that do not fit, not a `.npy` file): exit codes and clear messages.

use crate::support::{cimc, compile};

#[test]
fn bad_input_gets_clear_errors() {
    let artifact = compile("errors", &[]);
    let artifact = artifact.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["compile", "no/such/model.mlir", "-o", "/dev/null"],
            1,
            "no/such/model.mlir: No such file",
        ),
        (
            &[
                "compile",
                "tests/fixtures/digits-mlp.mlir",
                "--target",
                "nope",
                "-o",
                "/dev/null",
            ],
            2,
            "unknown target 'nope'",
        ),
        (
            &[
                "run",
                artifact,
                "--input",
                "tests/fixtures/digits-test-y.npy",
                "--output",
                "/dev/null",
            ],
            1,
            "argument 0: shape [540] does not fit tensor<?x64xf32>",
        ),
        (
            &[
                "eval",
                artifact,
                "--data",
                "tests/fixtures/digits-test-x.npy",
                "--labels",
                "tests/fixtures/digits-calib-x.npy",
            ],
            2,
            "give one integer label per input",
        ),
        (&["report", "tests/fixtures"], 1, "manifest.json"),
        (
            &[
                "run",
                artifact,
                "--input",
                "README.md",
                "--output",
                "/dev/null",
            ],
            1,
            "not a .npy file",
        ),
    ];
    for (arguments, expected_code, message) in cases {
        let (code, _, stderr) = cimc(arguments);
        assert_eq!(code, *expected_code, "{arguments:?}: {stderr}");
        assert!(
            stderr.starts_with("cimc: error: ") && stderr.contains(message),
            "{arguments:?}: {stderr}"
        );
    }
}

/// A bug still surfaces as one line and exit code 3, whichever thread panics: the
/// guard every tool installs first (`cim_driver::guard`), checked by its self-test.
#[test]
fn an_internal_error_is_one_line_and_exit_code_3() {
    for tool in [
        env!("CARGO_BIN_EXE_cimc"),
        env!("CARGO_BIN_EXE_cim-opt"),
        env!("CARGO_BIN_EXE_cim-translate"),
    ] {
        let output = std::process::Command::new(tool)
            .arg("--help")
            .env("CIM_GUARD_SELF_TEST", "1")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "{tool}: {stderr}");
        assert!(
            stderr.contains("internal error in")
                && stderr.contains("the guard's self-test")
                && stderr.contains("please report"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}
