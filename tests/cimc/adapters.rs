//! Digital corrections (`--adapter-rank`, `cimc calibrate`, `--adapters`,
//! `--calibrate-each-chip`): identity until fitted, fitted without retraining,
//! kept as named sets over one programmed chip, bit-exact on the NMDU.

use crate::support::{
    accuracies, accuracy, cimc, compile, compile_model, fixture, run_with, single_device_pcm,
};
use ndarray::ArrayD;
use std::path::Path;

fn calibrate(artifact: &Path, extra: &[&str]) -> String {
    let data = fixture("digits-calib-x.npy");
    let mut arguments = vec!["calibrate", artifact.to_str().unwrap(), "--data", &data];
    arguments.extend_from_slice(extra);
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stdout}{stderr}");
    stdout
}

/// The MLP compiled for `target` with converters calibrated and adapters of `rank`
/// (compile fits an across-chips set `default` on them), for test `name`.
fn compile_with_adapters(name: &str, target: &str, rank: &str) -> std::path::PathBuf {
    let calibration = fixture("digits-calib-x.npy");
    compile(
        name,
        &[
            "--target",
            target,
            "--calibration",
            &calibration,
            "--adapter-rank",
            rank,
        ],
    )
}

/// Runs `artifact` on the test inputs with `extra`, expecting a failure: its exit
/// code and what it printed on stderr.
fn run_refused(artifact: &Path, extra: &[&str]) -> (i32, String) {
    let data = fixture("digits-test-x.npy");
    let output = artifact.parent().unwrap().join("refused.npy");
    let mut arguments = vec![
        "run",
        artifact.to_str().unwrap(),
        "--input",
        &data,
        "--output",
        output.to_str().unwrap(),
    ];
    arguments.extend_from_slice(extra);
    let (code, _, stderr) = cimc(&arguments);
    (code, stderr)
}

/// The MLP's logits on the test inputs from `artifact` on chip 5 a day after
/// programming, with the adapter set `adapters` (`none`: uncorrected), run `name`.
fn chip5_a_day_on(artifact: &Path, name: &str, adapters: &str) -> ArrayD<f64> {
    run_with(
        artifact,
        "digits-test-x.npy",
        name,
        &[
            "--fidelity",
            "full",
            "--seed",
            "5",
            "--drift-time",
            "86400",
            "--adapters",
            adapters,
        ],
    )
}

fn squared_error(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Compiled with adapters, a program computes what it computed without them (the
/// corrections are the identity); fitted on a chip, a per-chip set brings that
/// chip's logits closer to the float model's; a second set over the same arrays is
/// chosen by name, and the latest is the default.
#[test]
fn adapters_are_identity_until_fitted_and_fitted_sets_correct_their_chip() {
    let calibration = fixture("digits-calib-x.npy");
    let plain = compile(
        "adapters-plain",
        &["--target", "pcm", "--calibration", &calibration],
    );
    let corrected = compile_with_adapters("adapters-identity", "pcm", "4");
    let input = "digits-test-x.npy";
    for fidelity in ["exact", "quantized"] {
        assert_eq!(
            run_with(&plain, input, fidelity, &["--fidelity", fidelity]),
            run_with(
                &corrected,
                input,
                fidelity,
                &["--fidelity", fidelity, "--adapters", "none"]
            ),
            "{fidelity}"
        );
    }
    let float = run_with(&plain, input, "float", &["--fidelity", "float"]);
    let uncorrected = chip5_a_day_on(&plain, "plain", "none");
    assert_eq!(uncorrected, chip5_a_day_on(&corrected, "none", "none"));

    let printed = calibrate(
        &corrected,
        &["--chip", "5", "--drift-time", "86400", "--name", "chip5"],
    );
    assert!(printed.contains("per-chip"), "{printed}");
    let fitted = chip5_a_day_on(&corrected, "chip5", "chip5");
    let (before, after) = (
        squared_error(&uncorrected, &float),
        squared_error(&fitted, &float),
    );
    assert!(after < 0.5 * before, "{after} vs {before}");
    // The latest set is the default: `--adapters` left out is chip5.
    let latest = run_with(
        &corrected,
        input,
        "latest",
        &["--fidelity", "full", "--seed", "5", "--drift-time", "86400"],
    );
    assert_eq!(latest, fitted);
    // The across-chips set compile fitted is still there, and differs.
    assert_ne!(chip5_a_day_on(&corrected, "default", "default"), fitted);
}

/// A set is checked on the network's results on calibration inputs held out of
/// its fit: a chip's own set a day after programming brings them nearer float and
/// is kept; a set across `pcm` chips (whose errors are each chip's own) does not,
/// so its corrections are the identity and running with it is running without.
#[test]
fn sets_that_leave_the_network_no_nearer_float_are_the_identity() {
    let artifact = compile_with_adapters("adapters-network-check", "pcm", "4");
    let network = |name: &str| -> serde_json::Value {
        let path = artifact.join("adapters").join(format!("{name}.json"));
        let set: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        set["network"].clone()
    };
    let own = calibrate(
        &artifact,
        &["--chip", "5", "--drift-time", "86400", "--name", "own"],
    );
    assert!(!own.contains("are the identity"), "{own}");
    let kept = network("own");
    assert_eq!(kept["kept"], true, "{kept}");
    assert!(kept["after"].as_f64() < kept["before"].as_f64(), "{kept}");

    let across = calibrate(
        &artifact,
        &["--chips", "2", "--drift-time", "86400", "--name", "across"],
    );
    assert!(
        across.contains("the set's corrections are the identity"),
        "{across}"
    );
    assert_eq!(network("across")["kept"], false);
    let chip = |adapters: &str| chip5_a_day_on(&artifact, adapters, adapters);
    assert_eq!(chip("across"), chip("none"));
    assert_ne!(chip("own"), chip("none"));
}

/// The accuracy of `artifact` on `data` over 4 chips a year after programming:
/// uncorrected (global drift compensation only), then with each chip calibrated
/// on its own on `calibration`.
fn uncorrected_and_each_chip(artifact: &Path, data: &str, calibration: &str) -> (f64, f64) {
    let common = [
        "--fidelity",
        "full",
        "--repeats",
        "4",
        "--drift-time",
        "31536000",
    ];
    let mut plain = common.to_vec();
    plain.extend_from_slice(&["--adapters", "none"]);
    let mut each = common.to_vec();
    each.extend_from_slice(&["--calibrate-each-chip", calibration]);
    (
        accuracy(&accuracies(artifact, data, &plain), "full"),
        accuracy(&accuracies(artifact, data, &each), "full"),
    )
}

/// Monte Carlo with each chip calibrated on its own: over the same chips, never
/// less accurate than global drift compensation alone, on inputs the fit never saw.
#[test]
fn calibrating_each_chip_recovers_accuracy_lost_to_drift() {
    let calibration = fixture("digits-calib-x.npy");
    let artifact = compile_with_adapters("adapters-each-chip", "pcm", "4");
    let (none, fitted) = uncorrected_and_each_chip(&artifact, "digits-test-x.npy", &calibration);
    assert!(fitted >= none, "{fitted} < {none}");
}

/// A recurrent layer's correction, fitted towards what the float layer makes of
/// the state the chip gives it, recovers most of what a year of drift took from
/// the GRU (4 chips: 78%). Fitted to the float model's own states instead, the
/// corrections shrank towards none and kept about half the loss.
#[test]
fn calibrating_each_chip_recovers_most_of_a_recurrent_networks_loss() {
    let calibration = fixture("digits-calib-rows.npy");
    let artifact = compile_model(
        "digits-gru.onnx",
        "adapters-each-chip-gru",
        &[
            "--target",
            "pcm",
            "--calibration",
            &calibration,
            "--adapter-rank",
            "4",
        ],
    );
    let data = "digits-test-rows.npy";
    let float = accuracy(
        &accuracies(&artifact, data, &["--fidelity", "float"]),
        "float",
    );
    let (none, fitted) = uncorrected_and_each_chip(&artifact, data, &calibration);
    let recovered = (fitted - none) / (float - none);
    assert!(
        float - none > 0.01 && recovered >= 0.65,
        "float {float}, uncorrected {none}, corrected {fitted}: {recovered} of the loss"
    );
}

/// With a set applied, the digital work (affines and adapters included) runs
/// bit-exact on the NMDU's generated code and on its reference semantics.
#[test]
fn fitted_adapters_run_bit_exact_on_the_nmdu() {
    let target = single_device_pcm("adapters-nmdu-pcm");
    let artifact = compile_with_adapters("adapters-nmdu", &target, "2");
    calibrate(
        &artifact,
        &["--chip", "1", "--drift-time", "3600", "--name", "one"],
    );
    let on = |digital: &str| {
        run_with(
            &artifact,
            "digits-test-x.npy",
            digital,
            &[
                "--fidelity",
                "full",
                "--seed",
                "1",
                "--drift-time",
                "3600",
                "--digital",
                digital,
                "--adapters",
                "one",
            ],
        )
    };
    let (reference, generated) = (on("interp"), on("nmdu"));
    assert_eq!(reference, generated);
    let none = run_with(
        &artifact,
        "digits-test-x.npy",
        "none",
        &[
            "--fidelity",
            "full",
            "--seed",
            "1",
            "--drift-time",
            "3600",
            "--digital",
            "nmdu",
            "--adapters",
            "none",
        ],
    );
    assert_ne!(none, generated);
}

/// Sets belong to the program they were fitted for: compiling again into the same
/// directory removes them (says so), so the new program runs uncorrected rather
/// than with another program's corrections.
#[test]
fn compiling_again_removes_the_previous_programs_sets() {
    let artifact = compile_with_adapters("adapters-recompiled", "pcm", "2");
    calibrate(&artifact, &["--chip", "3", "--name", "chip3"]);
    let calibrated = run_with(
        &artifact,
        "digits-test-x.npy",
        "chip3",
        &["--fidelity", "quantized"],
    );
    let model = fixture("digits-mlp.mlir");
    let arguments = [
        "compile",
        model.as_str(),
        "-o",
        artifact.to_str().unwrap(),
        "--target",
        "pcm",
        "--adapter-rank",
        "2",
    ];
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stderr}");
    // The set of compile's own calibration and chip3's.
    assert!(stdout.contains("removed 2 adapter sets"), "{stdout}");
    assert!(!artifact.join("adapters").exists());
    let (code, stderr) = run_refused(
        &artifact,
        &["--fidelity", "quantized", "--adapters", "chip3"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no adapter set 'chip3'"), "{stderr}");
    let fresh = run_with(
        &artifact,
        "digits-test-x.npy",
        "fresh",
        &["--fidelity", "quantized"],
    );
    let none = run_with(
        &artifact,
        "digits-test-x.npy",
        "none",
        &["--fidelity", "quantized", "--adapters", "none"],
    );
    assert_eq!(fresh, none);
    assert_ne!(fresh, calibrated);
}

/// What cannot be calibrated or applied says so and what to do.
#[test]
fn adapter_errors_name_what_to_do() {
    let calibration = fixture("digits-calib-x.npy");
    let plain = compile("adapters-errors", &["--target", "pcm"]);
    let (code, _, stderr) = cimc(&["calibrate", plain.to_str().unwrap(), "--data", &calibration]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("compile with --adapter-rank"), "{stderr}");

    let (code, stderr) = run_refused(&plain, &["--fidelity", "quantized", "--adapters", "task7"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no adapter set 'task7'"), "{stderr}");

    // A set edited by hand into sizes that disagree is refused, naming the layer.
    let corrected = compile(
        "adapters-errors-set",
        &["--target", "pcm", "--adapter-rank", "2"],
    );
    calibrate(&corrected, &["--chip", "0", "--name", "edited"]);
    let set = corrected.join("adapters").join("edited.json");
    let text = std::fs::read_to_string(&set).unwrap();
    std::fs::write(&set, text.replacen("\"down\":[", "\"down\":[1.0,", 1)).unwrap();
    let (code, stderr) = run_refused(&corrected, &["--fidelity", "quantized"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("layer 'main_mm0': down holds") && stderr.contains("edited.json"),
        "{stderr}"
    );

    let model = fixture("digits-mlp.mlir");
    for (layers, expected) in [
        ("sensitive:0", "write sensitive:N with N >= 1"),
        ("main_mm9", "no analog layer 'main_mm9'"),
        ("a;b", "give all, sensitive:N, or layer names"),
    ] {
        let out = plain.parent().unwrap().join("bad");
        let (code, _, stderr) = cimc(&[
            "compile",
            &model,
            "-o",
            out.to_str().unwrap(),
            "--adapter-rank",
            "2",
            "--adapter-layers",
            layers,
        ]);
        assert_ne!(code, 0, "{layers}");
        assert!(stderr.contains(expected), "{layers}: {stderr}");
    }
}

/// Retargeting: the same programmed arrays behind coarser ADCs get a set of their
/// own, which brings the chip back towards float; a set is used only with the
/// converters it was fitted for.
#[test]
fn adapters_refit_for_a_changed_periphery_without_reprogramming() {
    let artifact = compile_with_adapters("adapters-periphery", "pcm", "4");
    calibrate(
        &artifact,
        &[
            "--chip",
            "2",
            "--drift-time",
            "3600",
            "--adc-bits",
            "5",
            "--name",
            "adc5",
        ],
    );
    let input = "digits-test-x.npy";
    let chip = |name: &str, adapters: &str| {
        run_with(
            &artifact,
            input,
            name,
            &[
                "--fidelity",
                "full",
                "--seed",
                "2",
                "--drift-time",
                "3600",
                "--adc-bits",
                "5",
                "--adapters",
                adapters,
            ],
        )
    };
    let float = run_with(&artifact, input, "float", &["--fidelity", "float"]);
    let (before, after) = (chip("none5", "none"), chip("adc5", "adc5"));
    assert!(
        squared_error(&after, &float) < 0.5 * squared_error(&before, &float),
        "{} vs {}",
        squared_error(&after, &float),
        squared_error(&before, &float)
    );
    // The 5-bit set on the compiled 9-bit converters is refused.
    let (code, stderr) = run_refused(&artifact, &["--fidelity", "full", "--adapters", "adc5"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("was fitted for ADC bits 5"), "{stderr}");
    // An evaluation says which converters it changed, beside the compiled ones.
    let (code, stdout, stderr) = cimc(&[
        "eval",
        artifact.to_str().unwrap(),
        "--data",
        &fixture(input),
        "--labels",
        &fixture("digits-test-y.npy"),
        "--fidelity",
        "quantized",
        "--adc-bits",
        "5",
        "--adapters",
        "none",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("converters changed for this run: ADC bits 5, DAC bits as compiled"),
        "{stdout}"
    );
}
