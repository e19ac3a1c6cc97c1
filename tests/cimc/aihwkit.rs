//! cim's presets against IBM's aihwkit 1.2, end to end, on the same weights.
//! `tests/fixtures/aihwkit/reference.json` holds what aihwkit predicted (written by
//! `tools/aihwkit/reference.py`, which ran it): per preset, the accuracy of every
//! network on each of its chips at each drift time, and one 512x512 layer's output
//! error. Here cim compiles the same networks for the same preset and runs as many
//! chips: every point must agree within the Monte-Carlo spread, the layer's error
//! within 5%.

use crate::support::{accuracies, cimc, compile_model, fixture, scratch};
use std::path::Path;

fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("aihwkit/reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn mean_std(values: &[f64]) -> (f64, f64) {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let variance =
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (values.len() - 1).max(1) as f64;
    (mean, variance.sqrt())
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Every network aihwkit ran, on as many cim chips at each drift time: the mean
/// accuracies agree within max(2 × pooled standard deviation, 1 point).
fn accuracy_agrees(preset: &serde_json::Value, repeats: u64, times: &[f64]) {
    let target = preset["preset"].as_str().unwrap();
    let mut disagreements = Vec::new();
    for model in preset["models"].as_array().unwrap() {
        let name = model["name"].as_str().unwrap();
        let dir = scratch(&format!("aihwkit-{target}-{name}"));
        let artifact = dir.join("artifact");
        let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join(model["onnx"].as_str().unwrap());
        let (code, stdout, stderr) = cimc(&[
            "compile",
            onnx.to_str().unwrap(),
            "--target",
            target,
            "-o",
            artifact.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let times_text: Vec<String> = times.iter().map(f64::to_string).collect();
        let (code, stdout, stderr) = cimc(&[
            "eval",
            artifact.to_str().unwrap(),
            "--data",
            &fixture(model["data"].as_str().unwrap()),
            "--labels",
            &fixture(model["labels"].as_str().unwrap()),
            "--drift-sweep",
            dir.join("sweep").to_str().unwrap(),
            "--drift-times",
            &times_text.join(","),
            "--repeats",
            &repeats.to_string(),
            "--json",
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        for (time, row) in times.iter().zip(rows["rows"].as_array().unwrap()) {
            let theirs = mean_std(&floats(&model["accuracy"][format!("{time:?}")]));
            let ours = (
                row["accuracy"].as_f64().unwrap(),
                row["std"].as_f64().unwrap(),
            );
            let pooled = ((theirs.1.powi(2) + ours.1.powi(2)) / 2.0).sqrt();
            let tolerance = (2.0 * pooled).max(0.01);
            println!(
                "{target} {name} at {time} s: aihwkit {:.4} ± {:.4}, cim {:.4} ± {:.4}",
                theirs.0, theirs.1, ours.0, ours.1
            );
            if (theirs.0 - ours.0).abs() > tolerance {
                disagreements.push(format!(
                    "{name} at {time} s: aihwkit {:.4} ± {:.4}, cim {:.4} ± {:.4} (tolerance {tolerance:.4})",
                    theirs.0, theirs.1, ours.0, ours.1
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{target}: {disagreements:#?}");
}

/// The layer of the reference: w[i, j] = 0.1 sin(0.37 i + 0.71 j) + 0.05 cos(0.013 i j)
/// (input i, output j), inputs x[b, i] = sin(0.19 b + 0.53 i) cos(0.07 b i), float32.
fn layer() -> (Vec<f32>, Vec<f32>) {
    let weights = (0..512 * 512)
        .map(|k| {
            let (i, j) = ((k / 512) as f64, (k % 512) as f64);
            (0.1 * (0.37 * i + 0.71 * j).sin() + 0.05 * (0.013 * i * j).cos()) as f32
        })
        .collect();
    let inputs = (0..256 * 512)
        .map(|k| {
            let (b, i) = ((k / 512) as f64, (k % 512) as f64);
            ((0.19 * b + 0.53 * i).sin() * (0.07 * b * i).cos()) as f32
        })
        .collect();
    (weights, inputs)
}

/// One 512x512 layer on `chips` chips at each drift time: the mean and standard
/// deviation of cim's output error (over the ideal output's root mean square)
/// agree with aihwkit's: the deviation within 5%, the mean within 5% of it.
fn layer_error_agrees(preset: &serde_json::Value, chips: u64, times: &[f64]) {
    let target = preset["preset"].as_str().unwrap();
    let dir = scratch(&format!("aihwkit-{target}-layer"));
    let (weights, inputs) = layer();
    let hex: String = weights
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02X}"))
        .collect();
    let model = dir.join("layer.mlir");
    std::fs::write(
        &model,
        format!(
            "func.func @main(%x: tensor<256x512xf32>) -> tensor<256x512xf32> {{
  %w = arith.constant dense<\"0x{hex}\"> : tensor<512x512xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<256x512xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
  %y = linalg.matmul ins(%x, %w : tensor<256x512xf32>, tensor<512x512xf32>) outs(%z : tensor<256x512xf32>) -> tensor<256x512xf32>
  return %y : tensor<256x512xf32>
}}
"
        ),
    )
    .unwrap();
    let x = dir.join("x.npy");
    let input = ndarray::ArrayD::from_shape_vec(
        ndarray::IxDyn(&[256, 512]),
        inputs.iter().map(|&v| f64::from(v)).collect(),
    )
    .unwrap();
    cim_npy::write_f32(&x, &input).unwrap();
    let ideal: Vec<f64> = (0..256 * 512)
        .map(|k| {
            let (b, j) = (k / 512, k % 512);
            (0..512)
                .map(|i| f64::from(inputs[b * 512 + i]) * f64::from(weights[i * 512 + j]))
                .sum()
        })
        .collect();
    let rms = (ideal.iter().map(|y| y * y).sum::<f64>() / ideal.len() as f64).sqrt();
    let artifact = dir.join("artifact");
    let (code, stdout, stderr) = cimc(&[
        "compile",
        model.to_str().unwrap(),
        "--target",
        target,
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for time in times {
        let mut errors = Vec::new();
        for chip in 0..chips {
            let output = dir.join(format!("y-{time}-{chip}.npy"));
            let (code, stdout, stderr) = cimc(&[
                "run",
                artifact.to_str().unwrap(),
                "--input",
                x.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
                "--fidelity",
                "full",
                "--seed",
                &chip.to_string(),
                "--drift-time",
                &time.to_string(),
            ]);
            assert_eq!(code, 0, "{stdout}{stderr}");
            let y = cim_npy::read(&output).unwrap();
            errors.extend(y.iter().zip(&ideal).map(|(y, ideal)| (y - ideal) / rms));
        }
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        let std =
            (errors.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / errors.len() as f64).sqrt();
        let theirs = &preset["layer"][format!("{time:?}")];
        let (their_mean, their_std) = (
            theirs["mean"].as_f64().unwrap(),
            theirs["std"].as_f64().unwrap(),
        );
        println!(
            "{target} layer at {time} s: error mean {mean:.5} std {std:.5}; aihwkit {their_mean:.5} {their_std:.5}"
        );
        assert!(
            (std / their_std - 1.0).abs() <= 0.05,
            "{target} layer at {time} s: error std {std:.5}, aihwkit {their_std:.5}"
        );
        assert!(
            (mean - their_mean).abs() <= 0.05 * their_std,
            "{target} layer at {time} s: error mean {mean:.5}, aihwkit {their_mean:.5}"
        );
    }
}

fn preset(name: &str) -> (serde_json::Value, u64, Vec<f64>) {
    let reference = reference();
    let repeats = reference["repeats"].as_u64().unwrap();
    let times = floats(&reference["times"]);
    let preset = reference["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|preset| preset["preset"] == name)
        .unwrap_or_else(|| panic!("no aihwkit reference for preset {name}"))
        .clone();
    (preset, repeats, times)
}

/// `pcm` is aihwkit's inference default: every network at 1 s, 1 h, 1 day and 1 year.
#[test]
fn pcm_agrees_with_aihwkit_on_every_network_and_drift_time() {
    let (preset, repeats, times) = preset("pcm");
    accuracy_agrees(&preset, repeats, &times);
}

/// `pcm`: one 512x512 layer's output error, as aihwkit's.
#[test]
fn pcm_layer_error_agrees_with_aihwkit() {
    let (preset, _, times) = preset("pcm");
    layer_error_agrees(&preset, 4, &times);
}

/// `pcm-hwa` is the forward of aihwkit's `StandardHWATrainingPreset`: every network.
#[test]
fn pcm_hwa_agrees_with_aihwkit_on_every_network_and_drift_time() {
    let (preset, repeats, times) = preset("pcm-hwa");
    accuracy_agrees(&preset, repeats, &times);
}

/// `pcm-hwa`: one 512x512 layer's output error (read noise and aihwkit's IR drop
/// dominate it), as aihwkit's.
#[test]
fn pcm_hwa_layer_error_agrees_with_aihwkit() {
    let (preset, _, times) = preset("pcm-hwa");
    layer_error_agrees(&preset, 4, &times);
}

/// `hermes` is aihwkit's `HermesNoiseModel` behind the inference defaults: every
/// network.
#[test]
fn hermes_agrees_with_aihwkit_on_every_network_and_drift_time() {
    let (preset, repeats, times) = preset("hermes");
    accuracy_agrees(&preset, repeats, &times);
}

/// `hermes`: one 512x512 layer's output error, as aihwkit's.
#[test]
fn hermes_layer_error_agrees_with_aihwkit() {
    let (preset, _, times) = preset("hermes");
    layer_error_agrees(&preset, 4, &times);
}

/// Packing layers of different ranges on one array costs no precision: the unseen
/// CNN (three layers) packed on one `pcm` array by the e-graph scores within one
/// standard deviation of a tile per layer (`--mapper naive`) a day after
/// programming, with and without calibration data.
#[test]
fn packed_layers_keep_their_precision_on_pcm() {
    let calibration = fixture("digits-calib-images.npy");
    for calibrated in [false, true] {
        let score = |mapper: &str| {
            let name = format!("aihwkit-packing-{mapper}-{calibrated}");
            let mut options = vec!["--target", "pcm", "--mapper", mapper];
            if calibrated {
                options.extend(["--calibration", calibration.as_str()]);
            }
            let artifact = compile_model("aihwkit/unseen-cnn.onnx", &name, &options);
            let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
            assert_eq!(code, 0, "{stdout}{stderr}");
            let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            let rows = accuracies(
                &artifact,
                "digits-test-images.npy",
                &[
                    "--fidelity",
                    "full",
                    "--repeats",
                    "10",
                    "--drift-time",
                    "86400",
                ],
            );
            (
                report["arrays"].as_u64().unwrap(),
                rows[0]["accuracy"].as_f64().unwrap(),
                rows[0]["std"].as_f64().unwrap(),
            )
        };
        let (packed, naive) = (score("egraph"), score("naive"));
        println!("calibrated {calibrated}: egraph {packed:?}, naive {naive:?}");
        assert!(
            packed.0 < naive.0,
            "the e-graph packs: {packed:?} {naive:?}"
        );
        assert!(
            packed.1 >= naive.1 - packed.2.max(naive.2),
            "calibrated {calibrated}: packed {packed:?} against a tile per layer {naive:?}"
        );
    }
}
