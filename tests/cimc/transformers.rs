//! A vision transformer trained on the digits (`tools/fixtures/make_torch_mlir.py`:
//! 2 blocks, width 16, 2 heads, exact GELU, dynamic batch) as three exporters hand it
//! over: torch-mlir's `linalg-on-tensors`, `torch.onnx.export` with TorchScript
//! (opset 17, reshapes computed by shape subgraphs, `batch * heads` included) and
//! with dynamo (opset 18, weights as external data). Each scores the reference's
//! accuracy in float and exact fidelity, stays within 1% quantized, and runs its
//! digital work (attention's products, softmax, layer norms, GELU) bit for bit on the
//! NMDU as its reference does.

use crate::support::{accuracies, accuracy, argmax, compile_model, fixture, run_with};
use cim_npy::read;

/// `model` gives `reference`'s logits (within 5e-5: two layer norms and softmaxes
/// per block in f32; 1.2e-7 measured for the ONNX exports against onnxruntime) and
/// accuracy in float and exact fidelity; calibrated converters keep it within 1%;
/// the NMDU matches its reference bit for bit.
fn assert_scores_as_reference(model: &str, name: &str, reference: &str) {
    let calibration = fixture("digits-calib-x.npy");
    let artifact = compile_model(model, name, &["--calibration", &calibration]);
    let reference = read(fixture(reference).as_ref()).unwrap();
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
                "{model}: {a} vs the reference's {b}"
            );
        }
        assert_eq!(argmax(ours.view()), argmax(theirs.view()));
    }
    let rows = accuracies(&artifact, "digits-test-x.npy", &[]);
    let labels = read(fixture("digits-test-y.npy").as_ref()).unwrap();
    let expected = reference
        .outer_iter()
        .zip(labels.iter())
        .filter(|(row, label)| argmax(row.view()) == **label as usize)
        .count() as f64
        / labels.len() as f64;
    assert_eq!(accuracy(&rows, "float"), expected, "{model}");
    assert_eq!(accuracy(&rows, "exact"), expected, "{model}");
    assert!(
        accuracy(&rows, "quantized") >= expected - 0.01,
        "{model}: quantized {} vs float {expected}",
        accuracy(&rows, "quantized")
    );
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
        "{model}: NMDU against its reference"
    );
}

#[test]
fn digits_vit_from_torch_mlir_scores_as_pytorch() {
    assert_scores_as_reference(
        "torch-mlir/digits-vit.mlir",
        "vit-torch-mlir",
        "torch-mlir/digits-vit-logits.npy",
    );
}

#[test]
fn digits_vit_from_torch_onnx_scores_as_onnxruntime() {
    assert_scores_as_reference("digits-vit.onnx", "vit-onnx", "digits-vit-ort-logits.npy");
}

#[test]
fn digits_vit_from_the_dynamo_exporter_scores_as_onnxruntime() {
    assert_scores_as_reference(
        "digits-vit-dynamo.onnx",
        "vit-onnx-dynamo",
        "digits-vit-dynamo-ort-logits.npy",
    );
}

/// Every projection (Q/K/V in one, output, both feed-forward layers of each block,
/// the patch embedding and the head) is weight-stationary on arrays, from ONNX and
/// from torch-mlir (whose Q/K/V are batched products by a broadcast weight); the
/// attention products stay digital, and the report counts them: per block and
/// head, QKᵀ and P·V are 16 x 16 x 8 multiply-accumulates each.
#[test]
fn digits_vit_projections_are_on_arrays() {
    let attention = 2 * 2 * (16 * 16 * 8 + 16 * 16 * 8);
    for (model, name) in [
        ("digits-vit.onnx", "vit-onnx-report"),
        ("torch-mlir/digits-vit.mlir", "vit-torch-mlir-report"),
    ] {
        let artifact = compile_model(model, name, &[]);
        let (code, report, error) =
            crate::support::cimc(&["report", artifact.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{error}");
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(
            report["layers"].as_array().unwrap().len(),
            10,
            "{model}: {report}"
        );
        assert_eq!(report["digital"]["macs"], attention, "{model}: {report}");
    }
}
