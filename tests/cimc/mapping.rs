//! Mapping onto arrays as `cimc compile` does it: torch-mlir convolutions, the e-graph
//! mapper against the naive tiler, automatic weight encoding, and a model larger than
//! the board (an error, or rounds of reprogramming).

use crate::support::{
    assert_matches_reference, cimc, compile, compile_model, fixture, ideal_variant, run, run_on,
    scratch, single_device_pcm,
};
use std::path::Path;

/// A CNN in torch-mlir's linalg form (tensor.pad, linalg.conv_2d_nchw_fchw,
/// linalg.pooling_nchw_max, nn.Linear through transposed maps): its convolution and
/// dense layer map onto arrays, and the mapped model computes what the linalg one does.
#[test]
fn torch_mlir_cnn_maps_its_convolution() {
    let artifact = scratch("torch-mlir-cnn").join("artifact");
    let (code, stdout, stderr) = cimc(&[
        "compile",
        "tests/examples/torch-mlir-cnn.mlir",
        "-o",
        artifact.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let mapped = std::fs::read_to_string(artifact.join("mapped.mlir")).unwrap();
    assert!(
        !mapped.contains("linalg.conv_2d") && !mapped.contains("linalg.matmul"),
        "{mapped}"
    );
    let float = run_on(&artifact, "float", "digits-test-images.npy");
    let exact = run_on(&artifact, "exact", "digits-test-images.npy");
    assert_matches_reference(&exact, &float, "torch-mlir CNN exact vs float");
}

/// The arrays `cimc report --json` counts for `artifact`.
fn arrays(artifact: &Path) -> u64 {
    let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    report["arrays"].as_u64().unwrap()
}

/// The e-graph mapper (the default) needs fewer arrays than the naive tiler on the
/// CNN and the GRU, and their exact-fidelity outputs agree.
#[test]
fn egraph_mapper_uses_fewer_arrays_than_naive_tiling() {
    for (model, input) in [
        ("digits-cnn.onnx", "digits-test-images.npy"),
        ("digits-gru.onnx", "digits-test-rows.npy"),
    ] {
        let egraph = compile_model(model, &format!("{model}-egraph"), &["--mapper", "egraph"]);
        let naive = compile_model(model, &format!("{model}-naive"), &["--mapper", "naive"]);
        let (packed, tiled) = (arrays(&egraph), arrays(&naive));
        assert!(
            packed < tiled,
            "{model}: egraph {packed} arrays, naive {tiled}"
        );
        let reference = run_on(&naive, "exact", input);
        assert_matches_reference(&run_on(&egraph, "exact", input), &reference, model);
    }
}

/// `--encoding auto`: on PCM cells of one device each, the accuracy objective takes differential pairs
/// of 1-bit cells (8 slices, 8 times the arrays of 8-bit cells), the area objective
/// the default's arrays; the exact program computes the same as the default's; the
/// naive tiler cannot choose.
#[test]
fn automatic_encoding_trades_arrays_for_accuracy() {
    let pcm = single_device_pcm("encoding-pcm");
    let fixed = compile("encoding-fixed", &["--target", &pcm]);
    let accurate = compile(
        "encoding-accuracy",
        &[
            "--target",
            &pcm,
            "--encoding",
            "auto",
            "--objective",
            "accuracy",
        ],
    );
    let small = compile(
        "encoding-area",
        &[
            "--target",
            &pcm,
            "--encoding",
            "auto",
            "--objective",
            "area",
        ],
    );
    assert_eq!(arrays(&accurate), 8 * arrays(&fixed));
    assert_eq!(arrays(&small), arrays(&fixed));
    let mapped = std::fs::read_to_string(accurate.join("mapped.mlir")).unwrap();
    assert!(mapped.contains("cell = #cim.cell<1 : i64>"), "{mapped}");
    assert!(!mapped.contains("cell = #cim.cell<8 : i64>"), "{mapped}");
    assert!(mapped.contains("sign = \"negative\""), "{mapped}");
    assert_matches_reference(&run(&accurate, "exact"), &run(&fixed, "exact"), "auto");
    let model = fixture("digits-mlp.mlir");
    let (code, _, stderr) = cimc(&[
        "compile",
        &model,
        "-o",
        scratch("encoding-naive").join("a").to_str().unwrap(),
        "--encoding",
        "auto",
        "--mapper",
        "naive",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--encoding auto is chosen by the e-graph mapper"),
        "{stderr}"
    );
}

/// A model larger than the board: an error naming the way out, or, on a target
/// reprogrammed between layers, rounds the report counts and prices; either way the
/// program computes the same.
#[test]
fn a_model_larger_than_the_board_runs_in_rounds_where_arrays_reprogram() {
    let tiny = |reprogrammable: bool| {
        move |text: &str| {
            text.replace(
                "chips = 16\ncores_per_chip = 64\narrays_per_core = 16",
                &format!(
                    "chips = 1\ncores_per_chip = 1\narrays_per_core = 2\nreprogrammable = {reprogrammable}"
                ),
            )
        }
    };
    let fixed = ideal_variant("board-fixed", tiny(false));
    let model = fixture("digits-mlp.mlir");
    let (code, _, stderr) = cimc(&[
        "compile",
        &model,
        "--mapper",
        "naive",
        "--target",
        &fixed,
        "-o",
        scratch("board-fixed").join("a").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("[hierarchy] reprogrammable = true"),
        "{stderr}"
    );
    let rounds = ideal_variant("board-rounds", tiny(true));
    let artifact = compile("board-rounds", &["--mapper", "naive", "--target", &rounds]);
    let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let arrays = report["arrays"].as_u64().unwrap();
    // Two arrays a round on the one core: rounds of 2, each costing 2 arrays'
    // programming (the default 1000 µs each) but a last one of what is left.
    let expected = arrays.div_ceil(2);
    assert!(expected > 1, "{arrays} arrays");
    assert_eq!(report["rounds"].as_u64(), Some(expected), "{stdout}");
    let reprogram = report["reprogram_us"].as_f64().unwrap();
    assert_eq!(reprogram, (arrays as f64) * 1000.0, "{stdout}");
    // The board's two slots, counted once.
    let one_board = compile("board-one", &["--mapper", "naive"]);
    let (_, single, _) = cimc(&["report", one_board.to_str().unwrap(), "--json"]);
    let single: serde_json::Value = serde_json::from_str(&single).unwrap();
    assert!(
        report["area_mm2"].as_f64() < single["area_mm2"].as_f64(),
        "{stdout}"
    );
    let (code, text, _) = cimc(&["report", artifact.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(text.contains(&format!("in {expected} rounds")), "{text}");
    assert_matches_reference(
        &run(&artifact, "exact"),
        &run(&one_board, "exact"),
        "rounds",
    );
}
