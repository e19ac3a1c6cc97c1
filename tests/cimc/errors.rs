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
            // The file named once, then what is wrong with it.
            "cimc: error: README.md: not a .npy file",
        ),
        (
            &[
                "run",
                artifact,
                "--input",
                "no/such/input.npy",
                "--output",
                "/dev/null",
            ],
            1,
            "cimc: error: no/such/input.npy: No such file",
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

/// Inputs a fuzzing campaign once failed on, which must work: a target file whose
/// path holds a space (once pasted unquoted into the pass pipeline), and the float
/// fidelity of a TOSA model (once refused by the interpreter: the float program is
/// now kept after TOSA is lowered to linalg), equal to its exact fidelity on ideal
/// devices.
#[test]
fn inputs_that_once_failed_now_work() {
    let dir = crate::support::scratch("spaced target").join("a target dir");
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("my pcm.toml");
    std::fs::copy(crate::support::root().join("targets/pcm.toml"), &target).unwrap();
    compile("spaced-target", &["--target", target.to_str().unwrap()]);

    let artifact = crate::support::compile_model("../examples/mlp.mlir", "tosa-float", &[]);
    let dir = artifact.parent().unwrap();
    let input: Vec<f64> = (0..4 * 6).map(|i| f64::from(i % 7) / 7.0).collect();
    let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[4, 6]), input).unwrap();
    let x = dir.join("x.npy");
    cim_npy::write_f32(&x, &input).unwrap();
    let x = x.to_str().unwrap();
    let float = crate::support::run_with(&artifact, x, "float", &["--fidelity", "float"]);
    let exact = crate::support::run_with(&artifact, x, "exact", &["--fidelity", "exact"]);
    assert_eq!(float.shape(), &[4, 3]);
    for (a, b) in float.iter().zip(exact.iter()) {
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
    }
}

/// An artifact carries its target (`target.toml`): compiled from a target file,
/// it runs at full fidelity and reports after that file is gone, whatever its
/// manifest's options say; a carried target edited to name another target is
/// refused, not run on the other target's devices.
#[test]
fn an_artifact_carries_its_target() {
    let dir = crate::support::scratch("carried-target-file");
    let file = dir.join("my-pcm.toml");
    std::fs::copy(crate::support::root().join("targets/pcm.toml"), &file).unwrap();
    let artifact = compile("carried-target", &["--target", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    let manifest = artifact.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("my-pcm.toml", "no-such-target.toml"),
    )
    .unwrap();
    let data = crate::support::fixture("digits-test-x.npy");
    let labels = crate::support::fixture("digits-test-y.npy");
    let eval = || {
        cimc(&[
            "eval",
            artifact.to_str().unwrap(),
            "--data",
            &data,
            "--labels",
            &labels,
            "--fidelity",
            "full",
        ])
    };
    let (code, stdout, stderr) = eval();
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let carried = artifact.join("target.toml");
    let text = std::fs::read_to_string(&carried).unwrap();
    assert!(text.contains("name = \"pcm\""), "{text}");
    std::fs::write(&carried, text.replace("name = \"pcm\"", "name = \"rram\"")).unwrap();
    let (code, _, stderr) = eval();
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("compiled for target 'pcm', but its target file names 'rram'"),
        "{stderr}"
    );
}
