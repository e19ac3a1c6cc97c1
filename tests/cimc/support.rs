//! What the test modules share: the fixtures, a scratch directory per test, running
//! `cimc` (compile, run, eval) as a process, and the checks against reference outputs
//! and accuracies.

use ndarray::{ArrayD, Axis};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cimc")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs cimc; returns (exit code, stdout, stderr).
pub fn cimc(arguments: &[&str]) -> (i32, String, String) {
    cimc_on_threads(arguments, None)
}

/// Runs cimc on `threads` threads (`RAYON_NUM_THREADS` for the kernels' pool,
/// `MATMUL_NUM_THREADS` for matrixmultiply's), or as many as the machine has.
pub fn cimc_on_threads(arguments: &[&str], threads: Option<usize>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cimc"));
    if let Some(threads) = threads {
        command.env("RAYON_NUM_THREADS", threads.to_string());
        command.env("MATMUL_NUM_THREADS", threads.to_string());
    }
    let output = command
        .args(arguments)
        .current_dir(root())
        .output()
        .expect("cimc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn compile(name: &str, extra: &[&str]) -> PathBuf {
    compile_model("digits-mlp.mlir", name, extra)
}

pub fn compile_model(file: &str, name: &str, extra: &[&str]) -> PathBuf {
    let artifact = scratch(name).join("artifact");
    let model = fixture(file);
    let mut arguments = vec!["compile", model.as_str(), "-o", artifact.to_str().unwrap()];
    arguments.extend_from_slice(extra);
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stdout}{stderr}");
    artifact
}

pub fn run(artifact: &Path, fidelity: &str) -> ArrayD<f64> {
    run_on(artifact, fidelity, "digits-test-x.npy")
}

pub fn run_on(artifact: &Path, fidelity: &str, input: &str) -> ArrayD<f64> {
    run_with(artifact, input, fidelity, &["--fidelity", fidelity])
}

/// Every logit within 1e-5 (relative, or absolute below 1) of the reference, and the
/// same top-1 on every row.
pub fn assert_matches_reference(logits: &ArrayD<f64>, reference: &ArrayD<f64>, what: &str) {
    assert_eq!(logits.shape(), reference.shape(), "{what}");
    for (row, (ours, theirs)) in logits
        .axis_iter(Axis(0))
        .zip(reference.axis_iter(Axis(0)))
        .enumerate()
    {
        for (a, b) in ours.iter().zip(theirs.iter()) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{what} row {row}: {a} vs reference {b}"
            );
        }
        assert_eq!(
            argmax(ours.view()),
            argmax(theirs.view()),
            "{what} row {row}: top-1 differs"
        );
    }
}

pub fn argmax(row: ndarray::ArrayViewD<f64>) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Accuracy of a compiled fixture at each fidelity, from `cimc eval --json`
/// (`extra`: more eval arguments).
pub fn accuracies(artifact: &Path, data: &str, extra: &[&str]) -> serde_json::Value {
    let (data, labels) = (fixture(data), fixture("digits-test-y.npy"));
    let mut arguments = vec![
        "eval",
        artifact.to_str().unwrap(),
        "--data",
        data.as_str(),
        "--labels",
        labels.as_str(),
        "--json",
    ];
    arguments.extend_from_slice(extra);
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["schema"], 1, "{stdout}");
    json["rows"].clone()
}

/// The MLP compiled for `target`, converters calibrated, for test `name`.
pub fn calibrated_mlp(name: &str, target: &str) -> PathBuf {
    let calibration = fixture("digits-calib-x.npy");
    compile(name, &["--target", target, "--calibration", &calibration])
}

/// A copy of the `ideal` target, edited by `edit`, written for test `name`; its path.
pub fn ideal_variant(name: &str, edit: impl Fn(&str) -> String) -> String {
    preset_variant("ideal", name, edit)
}

/// A copy of preset `preset`, edited by `edit`, written for test `name`; its path.
pub fn preset_variant(preset: &str, name: &str, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(root().join(format!("targets/{preset}.toml"))).unwrap();
    let text = edit(&text.replace(
        &format!("name = \"{preset}\""),
        &format!("name = \"{name}\""),
    ));
    let path = scratch(&format!("{name}-target")).join("target.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// PCM cells of one device each behind plain converters: the `pcm` preset with
/// single-device cells, no input scaling and no bound management (what the NMDU
/// can read: one worth per ADC code).
pub fn single_device_pcm(name: &str) -> String {
    preset_variant("pcm", name, |text| {
        text.replace("devices = \"pair\"", "devices = \"single\"")
            .replace("management = \"abs_max\"", "management = \"none\"")
            .replace("management = \"iterative\"", "management = \"none\"")
    })
}

pub fn accuracy(rows: &serde_json::Value, name: &str) -> f64 {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["fidelity"] == name)
        .and_then(|row| row["accuracy"].as_f64())
        .unwrap()
}

/// 8-bit DACs and ADCs, 8-bit weights, ranges calibrated on 200 training images:
/// within 1% of float accuracy.
pub fn assert_quantized_within_one_percent(rows: &serde_json::Value) {
    assert!(
        accuracy(rows, "float") > 0.95,
        "the fixture is a trained model: {rows}"
    );
    assert_eq!(accuracy(rows, "exact"), accuracy(rows, "float"), "{rows}");
    assert!(
        accuracy(rows, "float") - accuracy(rows, "quantized") <= 0.01,
        "{rows}"
    );
}

/// Runs `artifact` on `input` with `arguments` after `run`'s own, writing
/// `<name>.npy`.
pub fn run_with(artifact: &Path, input: &str, name: &str, arguments: &[&str]) -> ArrayD<f64> {
    run_on_threads(artifact, input, name, arguments, None)
}

/// [`run_with`] on `threads` threads.
pub fn run_on_threads(
    artifact: &Path,
    input: &str,
    name: &str,
    arguments: &[&str],
    threads: Option<usize>,
) -> ArrayD<f64> {
    let output = artifact.parent().unwrap().join(format!("{name}.npy"));
    let input = fixture(input);
    let mut all = vec![
        "run",
        artifact.to_str().unwrap(),
        "--input",
        input.as_str(),
        "--output",
        output.to_str().unwrap(),
    ];
    all.extend_from_slice(arguments);
    let (code, stdout, stderr) = cimc_on_threads(&all, threads);
    assert_eq!(code, 0, "{stdout}{stderr}");
    cim_npy::read(&output).unwrap()
}
