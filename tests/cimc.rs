//! End-to-end tests of `cimc` on the digits MLP fixture (trained with scikit-learn;
//! tools/fixtures/make_fixtures.py): compile, run, eval and report, as a user runs
//! them. This binary runs the tools as processes and links no MLIR.

mod common;

use ndarray::{ArrayD, Axis};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cimc")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs cimc; returns (exit code, stdout, stderr).
fn cimc(arguments: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cimc"))
        .args(arguments)
        .current_dir(root())
        .output()
        .expect("cimc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn compile(name: &str, extra: &[&str]) -> PathBuf {
    compile_model("digits-mlp.mlir", name, extra)
}

fn compile_model(file: &str, name: &str, extra: &[&str]) -> PathBuf {
    let artifact = scratch(name).join("artifact");
    let model = fixture(file);
    let mut arguments = vec!["compile", model.as_str(), "-o", artifact.to_str().unwrap()];
    arguments.extend_from_slice(extra);
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stdout}{stderr}");
    artifact
}

fn run(artifact: &Path, fidelity: &str) -> ArrayD<f64> {
    run_on(artifact, fidelity, "digits-test-x.npy")
}

fn run_on(artifact: &Path, fidelity: &str, input: &str) -> ArrayD<f64> {
    run_with(artifact, input, fidelity, &["--fidelity", fidelity])
}

/// Every logit within 1e-5 (relative, or absolute below 1) of the reference, and the
/// same top-1 on every row.
fn assert_matches_reference(logits: &ArrayD<f64>, reference: &ArrayD<f64>, what: &str) {
    assert_eq!(logits.shape(), reference.shape(), "{what}");
    for (row, (ours, theirs)) in logits
        .axis_iter(Axis(0))
        .zip(reference.axis_iter(Axis(0)))
        .enumerate()
    {
        for (a, b) in ours.iter().zip(theirs.iter()) {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{what} row {row}: {a} vs reference {b}"
            );
        }
        assert_eq!(
            argmax(ours.view()),
            argmax(theirs.view()),
            "{what} row {row}: top-1 differs"
        );
    }
}

fn argmax(row: ndarray::ArrayViewD<f64>) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

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

/// Accuracy of a compiled fixture at each fidelity, from `cimc eval --json`
/// (`extra`: more eval arguments).
fn accuracies(artifact: &Path, data: &str, extra: &[&str]) -> serde_json::Value {
    let (data, labels) = (fixture(data), fixture("digits-test-y.npy"));
    let mut arguments = vec![
        "eval",
        artifact.to_str().unwrap(),
        "--data",
        data.as_str(),
        "--labels",
        labels.as_str(),
        "--json",
    ];
    arguments.extend_from_slice(extra);
    let (code, stdout, stderr) = cimc(&arguments);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The MLP compiled for `target`, converters calibrated, for test `name`.
fn calibrated_mlp(name: &str, target: &str) -> PathBuf {
    let calibration = fixture("digits-calib-x.npy");
    compile(name, &["--target", target, "--calibration", &calibration])
}

/// A copy of the `ideal` target, edited by `edit`, written for test `name`; its path.
fn ideal_variant(name: &str, edit: impl Fn(&str) -> String) -> String {
    let ideal = std::fs::read_to_string(root().join("targets/ideal.toml")).unwrap();
    let text = edit(&ideal.replace("name = \"ideal\"", &format!("name = \"{name}\"")));
    let path = scratch(&format!("{name}-target")).join("target.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn accuracy(rows: &serde_json::Value, name: &str) -> f64 {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|row| row["fidelity"] == name)
        .and_then(|row| row["accuracy"].as_f64())
        .unwrap()
}

/// 8-bit DACs and ADCs, 8-bit weights, ranges calibrated on 200 training images:
/// within 1% of float accuracy.
fn assert_quantized_within_one_percent(rows: &serde_json::Value) {
    assert!(
        accuracy(rows, "float") > 0.95,
        "the fixture is a trained model: {rows}"
    );
    assert_eq!(accuracy(rows, "exact"), accuracy(rows, "float"), "{rows}");
    assert!(
        accuracy(rows, "float") - accuracy(rows, "quantized") <= 0.01,
        "{rows}"
    );
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

/// The crossbar program `cimc compile` writes reads back (cim-translate) into exactly
/// the mapped module.
#[test]
fn crossbar_program_round_trips() {
    let artifact = compile_model("digits-cnn.onnx", "program", &[]);
    let tool = |binary: &str, arguments: &[&str]| {
        let output = Command::new(binary)
            .args(arguments)
            .output()
            .expect("the tool runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let program = artifact.join("program");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(program.join("program.json")).unwrap())
            .unwrap();
    let mapped_text = std::fs::read_to_string(artifact.join("mapped.mlir")).unwrap();
    assert_eq!(
        json["arrays"].as_array().unwrap().len(),
        mapped_text.matches("\"cim.crossbar\"").count()
    );
    let back = tool(
        env!("CARGO_BIN_EXE_cim-translate"),
        &[program.to_str().unwrap(), "--from-crossbar-program"],
    );
    let mapped = tool(
        env!("CARGO_BIN_EXE_cim-opt"),
        &[artifact.join("mapped.mlir").to_str().unwrap()],
    );
    assert_eq!(back, mapped);
}

/// The e-graph mapper (the default) needs fewer arrays than the naive tiler on the
/// CNN and the GRU, and their exact-fidelity outputs agree.
/// The arrays `cimc report --json` counts for `artifact`.
fn arrays(artifact: &Path) -> u64 {
    let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    report["arrays"].as_u64().unwrap()
}

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

/// `--encoding auto`: on PCM cells, the accuracy objective takes differential pairs
/// of 1-bit cells (8 slices, 8 times the arrays of 8-bit cells), the area objective
/// the default's arrays; the exact program computes the same as the default's; the
/// naive tiler cannot choose.
#[test]
fn automatic_encoding_trades_arrays_for_accuracy() {
    let fixed = compile("encoding-fixed", &["--target", "pcm"]);
    let accurate = compile(
        "encoding-accuracy",
        &[
            "--target",
            "pcm",
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
            "pcm",
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

#[test]
fn report_shows_the_mapping() {
    // The naive tiler keeps one layer per array: a row per layer.
    let artifact = compile("report", &["--weight-bits", "4", "--mapper", "naive"]);
    let (code, stdout, stderr) = cimc(&["report", artifact.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!(stdout);
    let naive: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // The e-graph mapper packs both layers on shared arrays; each layer still has
    // its own row (the cells its MVMs read), and the time model sees the sharing.
    let packed = compile("report-egraph", &["--weight-bits", "4"]);
    let (code, stdout, stderr) = cimc(&["report", packed.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    insta::assert_snapshot!("report_of_packed_arrays", stdout);
    let shared: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let figure = |report: &serde_json::Value, key: &str| report[key].as_f64().unwrap();
    let layer_times: Vec<f64> = naive["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| figure(layer, "latency_ns"))
        .collect();
    let sum: f64 = layer_times.iter().sum();
    let longest = layer_times.iter().copied().fold(0.0, f64::max);
    // On separate arrays the layers pipeline (one sample per slowest layer); on
    // shared arrays they take turns (one sample per both layers).
    assert_eq!(figure(&naive, "latency_ns"), sum);
    assert_eq!(figure(&naive, "interval_ns"), longest);
    // Area: each array (10000 µm² by default) with one ADC per column (256 on the
    // ideal target's arrays, 1500 µm² each).
    for report in [&naive, &shared] {
        let arrays = report["arrays"].as_f64().unwrap();
        let area = figure(report, "area_mm2");
        assert!(
            (area - arrays * (10000.0 + 256.0 * 1500.0) / 1e6).abs() < 1e-9,
            "{area}"
        );
    }
    assert_eq!(figure(&shared, "interval_ns"), sum);
    for key in ["cells_used", "mvms", "adc_conversions", "energy_nj"] {
        let per_layer = |report: &serde_json::Value| -> Vec<f64> {
            report["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|layer| figure(layer, key))
                .collect()
        };
        assert_eq!(per_layer(&naive), per_layer(&shared), "{key}");
    }
    // The occupancy picture: one outline per array, the blocks its MVMs read filled.
    let picture = packed.parent().unwrap().join("occupancy.svg");
    let (code, _, stderr) = cimc(&[
        "report",
        packed.to_str().unwrap(),
        "--svg",
        picture.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let svg = std::fs::read_to_string(&picture).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        svg.matches("stroke=\"#333\"").count() as u64,
        report["arrays"].as_u64().unwrap()
    );
    insta::assert_snapshot!("occupancy_of_packed_arrays", svg);
    let (code, text, _) = cimc(&["report", artifact.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        text.contains("main_mm0") && text.contains("total: "),
        "{text}"
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let artifact = compile("errors", &[]);
    let artifact = artifact.to_str().unwrap();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["compile", "no/such/model.mlir", "-o", "/dev/null"],
            1,
            "no/such/model.mlir: No such file",
        ),
        (
            &[
                "compile",
                "tests/fixtures/digits-mlp.mlir",
                "--target",
                "nope",
                "-o",
                "/dev/null",
            ],
            2,
            "unknown target 'nope'",
        ),
        (
            &[
                "run",
                artifact,
                "--input",
                "tests/fixtures/digits-test-y.npy",
                "--output",
                "/dev/null",
            ],
            1,
            "argument 0: shape [540] does not fit tensor<?x64xf32>",
        ),
        (
            &[
                "eval",
                artifact,
                "--data",
                "tests/fixtures/digits-test-x.npy",
                "--labels",
                "tests/fixtures/digits-calib-x.npy",
            ],
            2,
            "give one integer label per input",
        ),
        (&["report", "tests/fixtures"], 1, "manifest.json"),
        (
            &[
                "run",
                artifact,
                "--input",
                "README.md",
                "--output",
                "/dev/null",
            ],
            1,
            "not a .npy file",
        ),
    ];
    for (arguments, expected_code, message) in cases {
        let (code, _, stderr) = cimc(arguments);
        assert_eq!(code, *expected_code, "{arguments:?}: {stderr}");
        assert!(
            stderr.starts_with("cimc: error: ") && stderr.contains(message),
            "{arguments:?}: {stderr}"
        );
    }
}

/// Runs `artifact` on `input` with `arguments` after `run`'s own, writing
/// `<name>.npy`.
fn run_with(artifact: &Path, input: &str, name: &str, arguments: &[&str]) -> ArrayD<f64> {
    let output = artifact.parent().unwrap().join(format!("{name}.npy"));
    let input = fixture(input);
    let mut all = vec![
        "run",
        artifact.to_str().unwrap(),
        "--input",
        input.as_str(),
        "--output",
        output.to_str().unwrap(),
    ];
    all.extend_from_slice(arguments);
    let (code, stdout, stderr) = cimc(&all);
    assert_eq!(code, 0, "{stdout}{stderr}");
    cim_npy::read(&output).unwrap()
}

/// Full fidelity: ideal devices reproduce quantized fidelity bit for bit; a PCM chip
/// is the same for the same seed and differs for another; and the trained CNN keeps
/// its accuracy an hour after programming (drift compensated), over two chips.
#[test]
fn full_fidelity_programs_a_chip() {
    let calibration = fixture("digits-calib-images.npy");
    let ideal = compile_model(
        "digits-cnn.onnx",
        "full-ideal",
        &["--calibration", &calibration],
    );
    let quantized = run_on(&ideal, "quantized", "digits-test-images.npy");
    let full = run_with(
        &ideal,
        "digits-test-images.npy",
        "full",
        &["--fidelity", "full", "--drift-time", "1e6"],
    );
    assert_eq!(quantized, full);

    let pcm = compile_model(
        "digits-cnn.onnx",
        "full-pcm",
        &["--target", "pcm", "--calibration", &calibration],
    );
    let chip = |name: &str, seed: &str| {
        run_with(
            &pcm,
            "digits-test-images.npy",
            name,
            &["--fidelity", "full", "--seed", seed, "--drift-time", "3600"],
        )
    };
    let (first, again, other) = (chip("a", "1"), chip("b", "1"), chip("c", "2"));
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_ne!(first, run_on(&pcm, "quantized", "digits-test-images.npy"));

    let rows = accuracies(
        &pcm,
        "digits-test-images.npy",
        &[
            "--fidelity",
            "full",
            "--repeats",
            "2",
            "--drift-time",
            "3600",
        ],
    );
    let chips = rows[0]["chips"].as_array().unwrap();
    assert_eq!(chips.len(), 2);
    let mean = rows[0]["accuracy"].as_f64().unwrap();
    assert!(mean > 0.9, "{rows}");
    assert!(rows[0]["std"].as_f64().unwrap() >= 0.0);
}

/// IR drop in the runtime: a target with resistive lines costs accuracy as the
/// resistance grows, and the approximate model follows the exact nodal solve where
/// the drop is moderate.
#[test]
fn full_fidelity_sees_ir_drop() {
    let with_wires = |name: &str, ohms: f64, model: &str| {
        let target = ideal_variant(name, |text| {
            format!(
                "{text}\n[wires]\nword_ohms = {ohms}\nbit_ohms = {ohms}\nread_volts = 0.2\nir_drop = \"{model}\"\n"
            )
        });
        calibrated_mlp(name, &target)
    };
    let approximate = with_wires("wires-approximate", 1.0, "approximate");
    let exact = with_wires("wires-exact", 1.0, "exact");
    let quantized = run(&exact, "quantized");
    let (a, e) = (run(&approximate, "full"), run(&exact, "full"));
    assert_ne!(e, quantized, "resistive lines change the outputs");
    let scale = e.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let gap = a
        .iter()
        .zip(e.iter())
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(gap < 0.05 * scale, "approximate vs exact: {gap} of {scale}");
    let full = |artifact: &Path| {
        accuracy(
            &accuracies(artifact, "digits-test-x.npy", &["--fidelity", "full"]),
            "full",
        )
    };
    let (mild, severe) = (
        full(&approximate),
        full(&with_wires("wires-severe", 1000.0, "exact")),
    );
    assert!(mild > 0.95, "{mild}");
    assert!(
        severe < mild - 0.1,
        "1 kΩ segments: {severe} against {mild}"
    );
}

/// Converter errors at full fidelity: a column offset spread of 5% of the range, or
/// a strong S-curve (k = 4), cost accuracy that quantization alone keeps.
#[test]
fn full_fidelity_sees_converter_errors() {
    let accuracy_of = |name: &str, adc: &str| {
        let target = ideal_variant(name, |text| {
            let edited = text.replace("[adc]\nbits = 8", &format!("[adc]\nbits = 8\n{adc}"));
            assert!(edited.contains(adc), "the preset's [adc] section moved");
            edited
        });
        let artifact = calibrated_mlp(name, &target);
        let rows = accuracies(
            &artifact,
            "digits-test-x.npy",
            &["--fidelity", "quantized,full"],
        );
        (accuracy(&rows, "quantized"), accuracy(&rows, "full"))
    };
    // Seed 0 (the default): 9 images of 540 lost.
    let (quantized, offsets) = accuracy_of("adc-offsets", "offset_std = 0.05");
    assert!(offsets < quantized - 0.01, "{offsets} vs {quantized}");
    let (quantized, curved) = accuracy_of("adc-s-curve", "s_curve = 4.0");
    assert!(curved < quantized - 0.01, "{curved} vs {quantized}");
}

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

/// The NMDU: on every fixture, the digital work as LLVM-generated code gives the
/// bits of its Rust fixed-point reference, on ideal converters and on a PCM chip;
/// and fixed-point digital work loses at most 0.2% top-1 against float digital work.
#[test]
fn nmdu_digital_work_is_bit_exact_and_within_two_tenths_of_a_percent() {
    let fixtures = [
        ("digits-mlp.mlir", "digits-calib-x.npy", "digits-test-x.npy"),
        (
            "digits-cnn.onnx",
            "digits-calib-images.npy",
            "digits-test-images.npy",
        ),
        (
            "digits-lstm.onnx",
            "digits-calib-rows.npy",
            "digits-test-rows.npy",
        ),
        (
            "digits-gru.onnx",
            "digits-calib-rows.npy",
            "digits-test-rows.npy",
        ),
    ];
    let labels = cim_npy::read(fixture("digits-test-y.npy").as_ref()).unwrap();
    let on_nmdu = |artifact: &Path, test: &str, fidelity: &str, extra: &[&str]| {
        let outputs: Vec<ArrayD<f64>> = ["interp", "nmdu"]
            .iter()
            .map(|digital| {
                let mut arguments = vec!["--fidelity", fidelity, "--digital", digital];
                arguments.extend_from_slice(extra);
                run_with(artifact, test, &format!("{fidelity}-{digital}"), &arguments)
            })
            .collect();
        assert_eq!(outputs[0], outputs[1], "{}", artifact.display());
        outputs[1].clone()
    };
    for (model, calibration, test) in fixtures {
        let artifact = compile_model(
            model,
            &format!("nmdu-{model}"),
            &["--calibration", &fixture(calibration)],
        );
        let fixed = on_nmdu(&artifact, test, "quantized", &[]);
        let float = run_on(&artifact, "quantized", test);
        // Fixed point is not float: the bits differ, the answers hardly.
        assert_ne!(fixed, float, "{model}");
        let top1 = |logits: &ArrayD<f64>| {
            let right = logits
                .axis_iter(Axis(0))
                .zip(labels.iter())
                .filter(|(row, label)| argmax(row.view()) as f64 == **label)
                .count();
            right as f64 / labels.len() as f64
        };
        let (float, nmdu) = (top1(&float), top1(&fixed));
        assert!(float - nmdu <= 0.002, "{model}: {float} float, {nmdu} NMDU");
    }
    let pcm = compile_model(
        "digits-cnn.onnx",
        "nmdu-pcm",
        &[
            "--target",
            "pcm",
            "--calibration",
            &fixture("digits-calib-images.npy"),
        ],
    );
    on_nmdu(
        &pcm,
        "digits-test-images.npy",
        "full",
        &["--drift-time", "3600", "--seed", "3"],
    );
    let (code, _, stderr) = cimc(&[
        "run",
        pcm.to_str().unwrap(),
        "--input",
        &fixture("digits-test-images.npy"),
        "--output",
        "unused.npy",
        "--digital",
        "nmdu",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--digital interp|nmdu needs --fidelity quantized or full"),
        "{stderr}"
    );
}

/// `--drift-sweep`: a CSV row per time with its chips' mean and spread, and the
/// same points plotted as SVG and PNG (the series' colour where the points are).
#[test]
fn drift_sweep_writes_csv_svg_and_png() {
    let artifact = calibrated_mlp("sweep", "pcm");
    let prefix = artifact.parent().unwrap().join("sweep");
    let rows = accuracies(
        &artifact,
        "digits-test-x.npy",
        &[
            "--drift-sweep",
            prefix.to_str().unwrap(),
            "--drift-times",
            "1,86400,31557600",
            "--repeats",
            "2",
        ],
    );
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    let csv = std::fs::read_to_string(prefix.with_extension("csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "drift_time_s,accuracy,std,chips");
    assert_eq!(lines.len(), 4, "{csv}");
    for (line, row) in lines[1..].iter().zip(rows.as_array().unwrap()) {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        // serde_json reads floats to within an ulp or so.
        assert!((fields[1] - row["accuracy"].as_f64().unwrap()).abs() < 1e-12);
        assert_eq!(fields[3], 2.0);
    }
    let svg = std::fs::read_to_string(prefix.with_extension("svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    let png = std::fs::read(prefix.with_extension("png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (640, 400));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let series = pixels.chunks(3).filter(|p| *p == SERIES).count();
    // Three discs of radius 3 and the lines between them.
    assert!(series > 3 * 25, "{series} series pixels");
}

/// The plots' series colour (#4e79a7, `cim_driver::plot::SERIES`).
const SERIES: [u8; 3] = [0x4e, 0x79, 0xa7];

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
