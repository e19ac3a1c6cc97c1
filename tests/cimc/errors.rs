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
