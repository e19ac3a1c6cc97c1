//! Models checked against onnxruntime's saved outputs where tract cannot be the
//! reference: reverse LSTM and GRU layers, and torch exports (a CNN, bidirectional
//! LSTM and GRU).

use crate::support::{cimc, scratch};
use std::path::PathBuf;

/// Models checked against onnxruntime's outputs (tools/fixtures/make_fixtures.py):
/// reverse LSTM and GRU layers (random weights, initial states, both GRU reset
/// placements), which tract computes as forward, and models exported by torch: a
/// CNN, a 2-layer bidirectional LSTM and a bidirectional GRU.
#[test]
fn fixtures_match_onnxruntime() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (name, input) in [
        ("reverse-lstm", "reverse-input"),
        ("reverse-gru", "reverse-input"),
        ("reverse-gru-lbr", "reverse-input"),
        ("torch-cnn", "torch-cnn-input"),
        ("torch-bilstm", "torch-rnn-input"),
        ("torch-bigru", "torch-rnn-input"),
    ] {
        let dir = scratch(name);
        let model = fixtures.join(format!("{name}.onnx"));
        let artifact = dir.join("artifact");
        let (code, stderr) = cimc(&[
            "compile",
            model.to_str().unwrap(),
            "-o",
            artifact.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let output = dir.join("y.npy");
        let input = fixtures.join(format!("{input}.npy"));
        let (code, stderr) = cimc(&[
            "run",
            artifact.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let ours = cim_npy::read(&output).unwrap();
        let reference = cim_npy::read(&fixtures.join(format!("{name}-output.npy"))).unwrap();
        assert_eq!(ours.shape(), reference.shape(), "{name}");
        for (a, b) in ours.iter().zip(reference.iter()) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{name}: {a} vs onnxruntime {b}"
            );
        }
    }
}
