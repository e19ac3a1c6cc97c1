//! Networks as torch-mlir hands them over (its FX importer, `linalg-on-tensors`,
//! dynamic batch; `tools/fixtures/make_torch_mlir.py`): random convolutional and
//! recurrent networks. They run at every fidelity, match PyTorch's outputs, and
//! their digital work is bit-exact on the NMDU against its reference. (The digits
//! ViT of the same script is in `transformers`.)

use crate::support::{assert_matches_reference, compile_model, fixture, run_with};
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
