//! ADC options of a target at quantized fidelity and in the report: ADCs shared by
//! several columns (time), and per-bit-plane conversion of bit-serial inputs.

use crate::common;
use crate::support::{
    accuracies, assert_quantized_within_one_percent, calibrated_mlp, cimc, compile, ideal_variant,
    run_with, scratch,
};
use std::path::Path;

/// ADCs shared by several columns convert in turn: the report's time grows by one
/// conversion per further column an ADC serves; energy does not change.
#[test]
fn shared_adcs_take_longer() {
    let target = ideal_variant("shared-adc", |text| {
        let edited = text
            .replace("[adc]\nbits = 8", "[adc]\nbits = 8\ncolumns_per_adc = 8")
            .replace("digital_pj = 0.05", "digital_pj = 0.05\nadc_ns = 10.0");
        assert!(edited.contains("columns_per_adc") && edited.contains("adc_ns"));
        edited
    });
    let report = |artifact: &Path| -> serde_json::Value {
        let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
        assert_eq!(code, 0, "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    };
    let own = report(&compile("own-adc", &["--weight-bits", "4"]));
    let shared = report(&compile(
        "shared-adc",
        &["--weight-bits", "4", "--target", &target],
    ));
    for (a, b) in own["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(shared["layers"].as_array().unwrap())
    {
        // Every MVM here reads at least 8 columns: 7 more conversions of 10 ns per
        // plane, for 8 planes of 100 ns: 1.7x.
        let ratio = b["latency_ns"].as_f64().unwrap() / a["latency_ns"].as_f64().unwrap();
        assert!((ratio - 1.7).abs() < 1e-9, "{ratio}");
        assert_eq!(a["energy_nj"], b["energy_nj"]);
    }
}

/// `[adc] conversion = "per_bit_plane"`: every bit plane of the bit-serial inputs is
/// converted on its own. With fine ADCs the planes recombine to what one conversion
/// per MVM gives (to 1e-4 of the largest output); with 8-bit ADCs the trained MLP stays within 1% of float, and the
/// NMDU reads the recombined codes bit-exactly.
#[test]
fn per_bit_plane_conversion_recombines_the_planes() {
    let variant = |name: &str, bits: u32, conversion: &str| {
        ideal_variant(name, |text| {
            text.replace(
                "[adc]\nbits = 8\n",
                &format!("[adc]\nbits = {bits}\nconversion = \"{conversion}\"\n"),
            )
        })
    };
    // One layer (32x12 weights in eighths), full-scale converters (no calibration):
    // neither mode clips; the DAC spans [-1, 1], so the planes include the all-ones
    // one.
    let mut ints = common::Ints::new(11);
    let weights: Vec<String> = (0..32)
        .map(|_| {
            let row: Vec<String> = (0..12)
                .map(|_| format!("{:.3}", f64::from(ints.next(8)) / 8.0))
                .collect();
            format!("[{}]", row.join(", "))
        })
        .collect();
    let dir = scratch("planes-layer");
    let model = dir.join("layer.mlir");
    std::fs::write(
        &model,
        format!(
            "func.func @main(%x: tensor<?x32xf32>) -> tensor<?x12xf32> {{\n\
               %w = arith.constant dense<[{}]> : tensor<32x12xf32>\n\
               %c0 = arith.constant 0 : index\n\
               %n = tensor.dim %x, %c0 : tensor<?x32xf32>\n\
               %e = tensor.empty(%n) : tensor<?x12xf32>\n\
               %z = arith.constant 0.0 : f32\n\
               %i = linalg.fill ins(%z : f32) outs(%e : tensor<?x12xf32>) -> tensor<?x12xf32>\n\
               %y = linalg.matmul ins(%x, %w : tensor<?x32xf32>, tensor<32x12xf32>) outs(%i : tensor<?x12xf32>) -> tensor<?x12xf32>\n\
               return %y : tensor<?x12xf32>\n}}\n",
            weights.join(", ")
        ),
    )
    .unwrap();
    let input: Vec<f64> = (0..64 * 32)
        .map(|_| f64::from(ints.next(100)) / 100.0)
        .collect();
    let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[64, 32]), input).unwrap();
    let x = dir.join("x.npy");
    cim_npy::write_f32(&x, &input).unwrap();
    let layer = |name: &str, conversion: &str| {
        let artifact = dir.join(name);
        let target = variant(name, 20, conversion);
        let (code, _, stderr) = cimc(&[
            "compile",
            model.to_str().unwrap(),
            "--target",
            &target,
            "-o",
            artifact.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        let mapped = std::fs::read_to_string(artifact.join("mapped.mlir")).unwrap();
        assert_eq!(
            mapped.contains("#cim.adc_per_plane<20 : i64"),
            conversion == "per_bit_plane"
        );
        run_with(
            &artifact,
            x.to_str().unwrap(),
            name,
            &["--fidelity", "quantized"],
        )
    };
    let (planes, whole) = (layer("planes", "per_bit_plane"), layer("whole", "per_mvm"));
    let scale = whole.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(scale > 1.0);
    for (a, b) in planes.iter().zip(whole.iter()) {
        assert!(
            (a - b).abs() <= 1e-4 * scale,
            "{a} per plane vs {b} per MVM"
        );
    }

    let coarse = calibrated_mlp("planes-8", &variant("planes-8", 8, "per_bit_plane"));
    assert_quantized_within_one_percent(&accuracies(&coarse, "digits-test-x.npy", &[]));
    let on = |digital: &str| {
        run_with(
            &coarse,
            "digits-test-x.npy",
            digital,
            &["--fidelity", "quantized", "--digital", digital],
        )
    };
    assert_eq!(on("interp"), on("nmdu"));
}
