//! BatchNormalization after a convolution is folded into the filters at import.

use crate::builder::{Builder, float, int, model};
use crate::support::{check_against_tract, scratch_path};

/// A BatchNormalization right after a convolution is folded into its filters and
/// bias at import: no normalization arithmetic is left, and the outputs still match
/// tract's.
#[test]
fn batch_normalization_after_a_convolution_is_folded() {
    let mut b = Builder::new(7);
    let filter = b.constant(&[4, 1, 3, 3]);
    let conv = b.node("Conv", vec!["input".into(), filter], vec![]);
    let (scale, shift, mean) = (b.constant(&[4]), b.constant(&[4]), b.constant(&[4]));
    let var = b.constant(&[4]);
    // Variances must be positive.
    let last = b.initializers.len() - 1;
    b.initializers[last].raw_data = b.initializers[last]
        .raw_data
        .chunks(4)
        .flat_map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]).abs() + 0.1).to_le_bytes())
        .collect();
    let normalized = b.node(
        "BatchNormalization",
        vec![conv, scale, shift, mean, var],
        vec![float("epsilon", 1e-5)],
    );
    let flat = b.node("Flatten", vec![normalized], vec![int("axis", 1)]);
    let model = model("conv_bn", b, &[None, Some(1), Some(6), Some(6)], &flat, 64);
    check_against_tract("conv-bn", &model, &[3, 1, 6, 6], 5).unwrap();
    let float =
        std::fs::read_to_string(scratch_path("conv-bn").join("artifact/float.mlir")).unwrap();
    assert!(!float.contains("arith.mulf"), "{float}");
}
