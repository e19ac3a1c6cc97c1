//! Networks as torch-mlir hands them over (its FX importer, `linalg-on-tensors`,
//! dynamic batch; `tools/fixtures/make_torch_mlir.py`): a vision transformer trained
//! on the digits, and random convolutional and recurrent networks. They run at
//! every fidelity, match PyTorch's outputs, and their digital work (attention's
//! batched products included) is bit-exact on the NMDU against its reference.

use crate::support::{
    accuracies, accuracy, argmax, assert_matches_reference, compile_model, fixture, run_with,
};
use cim_npy::read;

/// Compiled exactly, each random network gives PyTorch's outputs (float and
/// exact fidelity), and the NMDU runs its quantized digital work bit for bit as
/// the interpreter of its fixed-point semantics does.
#[test]
fn random_networks_match_pytorch() {
    for name in ["cnn", "lstm", "gru"] {
        let artifact = compile_model(
            &format!("torch-mlir/{name}.mlir"),
            &format!("torch-mlir-{name}"),
            &[],
        );
        let input = format!("torch-mlir/{name}-input.npy");
        let reference = read(fixture(&format!("torch-mlir/{name}-output.npy")).as_ref()).unwrap();
        for fidelity in ["float", "exact"] {
            let logits = run_with(&artifact, &input, fidelity, &["--fidelity", fidelity]);
            assert_matches_reference(&logits, &reference, &format!("{name} at {fidelity}"));
        }
        let on = |digital: &str| {
            run_with(
                &artifact,
                &input,
                &format!("quantized-{digital}"),
                &["--fidelity", "quantized", "--digital", digital],
            )
        };
        assert_eq!(
            on("nmdu"),
            on("interp"),
            "{name}: NMDU against its reference"
        );
    }
}

/// The digits ViT scores PyTorch's accuracy in float and exact fidelity (its logits
/// within 5e-5 of PyTorch's, which computes in f32 through two layer norms and
/// softmaxes per block; 1.1e-5 measured), and calibrated converters keep it within
/// 1%.
#[test]
fn digits_vit_scores_as_in_pytorch() {
    let calibration = fixture("digits-calib-x.npy");
    let artifact = compile_model(
        "torch-mlir/digits-vit.mlir",
        "torch-mlir-vit",
        &["--calibration", &calibration],
    );
    let reference = read(fixture("torch-mlir/digits-vit-logits.npy").as_ref()).unwrap();
    let logits = run_with(
        &artifact,
        "digits-test-x.npy",
        "exact",
        &["--fidelity", "exact"],
    );
    assert_eq!(logits.shape(), reference.shape());
    for (ours, theirs) in logits.outer_iter().zip(reference.outer_iter()) {
        for (a, b) in ours.iter().zip(theirs.iter()) {
            assert!(
                (a - b).abs() <= 5e-5 * b.abs().max(1.0),
                "{a} vs PyTorch's {b}"
            );
        }
        assert_eq!(argmax(ours.view()), argmax(theirs.view()));
    }
    let rows = accuracies(&artifact, "digits-test-x.npy", &[]);
    let labels = read(fixture("digits-test-y.npy").as_ref()).unwrap();
    let pytorch = reference
        .outer_iter()
        .zip(labels.iter())
        .filter(|(row, label)| argmax(row.view()) == **label as usize)
        .count() as f64
        / labels.len() as f64;
    assert_eq!(accuracy(&rows, "float"), pytorch);
    assert_eq!(accuracy(&rows, "exact"), pytorch);
    assert!(
        accuracy(&rows, "quantized") >= pytorch - 0.01,
        "quantized {} vs float {pytorch}",
        accuracy(&rows, "quantized")
    );
    // The digital work on the NMDU, bit for bit as its reference computes it.
    let on = |digital: &str| {
        run_with(
            &artifact,
            "digits-test-x.npy",
            &format!("quantized-{digital}"),
            &["--fidelity", "quantized", "--digital", digital],
        )
    };
    assert_eq!(
        on("nmdu"),
        on("interp"),
        "digits ViT: NMDU against its reference"
    );
}
