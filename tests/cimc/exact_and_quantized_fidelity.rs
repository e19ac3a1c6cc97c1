//! The trained fixtures (MLP, CNN, LSTM, GRU) compiled and run: exact fidelity
//! reproduces onnxruntime's logits, and calibrated quantized fidelity (8-bit
//! converters and weights) stays within 1% of float accuracy.

use crate::support::{
    accuracies, assert_matches_reference, assert_quantized_within_one_percent, compile,
    compile_model, fixture, run, run_on,
};

/// The same network given as MLIR (linalg, as torch-mlir writes it) and as ONNX.
#[test]
fn exact_fidelity_reproduces_onnxruntime() {
    let reference = cim_npy::read(fixture("digits-mlp-logits.npy").as_ref()).unwrap();
    for (model, fidelity) in [
        ("digits-mlp.mlir", "float"),
        ("digits-mlp.mlir", "exact"),
        ("digits-mlp.onnx", "float"),
        ("digits-mlp.onnx", "exact"),
    ] {
        let artifact = compile_model(model, &format!("{model}-{fidelity}"), &[]);
        let logits = run(&artifact, fidelity);
        assert_matches_reference(&logits, &reference, &format!("{model} {fidelity}"));
    }
}

#[test]
fn calibrated_quantized_fidelity_stays_within_one_percent() {
    let artifact = compile(
        "quantized",
        &["--calibration", &fixture("digits-calib-x.npy")],
    );
    assert_quantized_within_one_percent(&accuracies(&artifact, "digits-test-x.npy", &[]));
}

/// A trained network given as ONNX: exact fidelity matches onnxruntime, calibrated
/// quantized fidelity stays within 1% of float accuracy.
fn check_network(model: &str, calibration: &str, test: &str, logits: &str) {
    let reference = cim_npy::read(fixture(logits).as_ref()).unwrap();
    let artifact = compile_model(model, model, &["--calibration", &fixture(calibration)]);
    let ours = run_on(&artifact, "exact", test);
    assert_matches_reference(&ours, &reference, &format!("{model} exact"));
    assert_quantized_within_one_percent(&accuracies(&artifact, test, &[]));
}

/// Conv, ReLU, max pooling, batch normalization, dense (trained with NumPy).
#[test]
fn cnn_reproduces_onnxruntime_and_quantizes_within_one_percent() {
    check_network(
        "digits-cnn.onnx",
        "digits-calib-images.npy",
        "digits-test-images.npy",
        "digits-cnn-logits.npy",
    );
}

/// LSTM over the image rows, as torch exports it (shape subgraph, Gather of h[-1]).
#[test]
fn lstm_reproduces_onnxruntime_and_quantizes_within_one_percent() {
    check_network(
        "digits-lstm.onnx",
        "digits-calib-rows.npy",
        "digits-test-rows.npy",
        "digits-lstm-logits.npy",
    );
}

/// GRU over the image rows (linear_before_reset, Squeeze and Gather of y[-1]).
#[test]
fn gru_reproduces_onnxruntime_and_quantizes_within_one_percent() {
    check_network(
        "digits-gru.onnx",
        "digits-calib-rows.npy",
        "digits-test-rows.npy",
        "digits-gru-logits.npy",
    );
}
