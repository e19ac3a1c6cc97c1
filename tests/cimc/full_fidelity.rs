//! Full fidelity (`--fidelity full`), device models on a programmed chip: PCM cells
//! with seeds and drift, IR drop on resistive lines, converter offsets and S-curves.

use crate::support::{
    accuracies, accuracy, calibrated_mlp, cimc, compile_model, fixture, ideal_variant,
    preset_variant, run, run_on, run_on_threads, run_with,
};
use std::path::Path;

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

/// Same seed, same bits, whatever the thread count: a PCM chip (managed converters,
/// bound management, drift compensation; the CNN's im2col, pooling and activations
/// cut across the cores) and an RRAM chip converting every input bit plane (planes
/// stacked into one product), each run on 1, 2 and 3 threads.
#[test]
fn full_fidelity_bits_do_not_depend_on_the_thread_count() {
    let pcm = compile_model("digits-cnn.onnx", "threads-pcm", &["--target", "pcm"]);
    let planes = preset_variant("rram", "threads-rram-planes", |text| {
        text.replace(
            "[adc]\nbits = 8\n",
            "[adc]\nbits = 8\nconversion = \"per_bit_plane\"\n",
        )
    });
    let rram = compile_model(
        "digits-mlp.mlir",
        "threads-rram",
        &["--target", &planes, "--mapper", "naive"],
    );
    let mapped = std::fs::read_to_string(rram.join("mapped.mlir")).unwrap();
    assert!(mapped.contains("#cim.adc_per_plane"), "{mapped}");
    for (artifact, input) in [
        (&pcm, "digits-test-images.npy"),
        (&rram, "digits-test-x.npy"),
    ] {
        let on = |threads: usize| {
            run_on_threads(
                artifact,
                input,
                &format!("threads-{threads}"),
                &["--fidelity", "full", "--seed", "3", "--drift-time", "86400"],
                Some(threads),
            )
        };
        let one = on(1);
        assert_eq!(one, on(2), "{}", artifact.display());
        assert_eq!(one, on(3), "{}", artifact.display());
        assert_ne!(one, run_on(artifact, "quantized", input));
    }
}

/// `cimc eval --jobs`: the chips of `--repeats` measured one, two or four at a
/// time give the same rows (each chip's accuracy, in chip order), with per-chip
/// calibration too.
#[test]
fn eval_rows_do_not_depend_on_the_jobs() {
    let calibration = fixture("digits-calib-x.npy");
    let artifact = compile_model(
        "digits-mlp.mlir",
        "eval-jobs",
        &[
            "--target",
            "pcm",
            "--calibration",
            &calibration,
            "--adapter-rank",
            "2",
        ],
    );
    let rows = |jobs: &str, extra: &[&str]| {
        let mut arguments = vec!["--fidelity", "full", "--repeats", "5", "--seed", "4"];
        arguments.extend_from_slice(&["--drift-time", "86400", "--jobs", jobs]);
        arguments.extend_from_slice(extra);
        accuracies(&artifact, "digits-test-x.npy", &arguments)
    };
    let one = rows("1", &[]);
    assert_eq!(one[0]["chips"].as_array().unwrap().len(), 5, "{one}");
    assert_eq!(one, rows("2", &[]));
    assert_eq!(one, rows("4", &[]));
    let each = ["--calibrate-each-chip", calibration.as_str()];
    assert_eq!(rows("1", &each), rows("3", &each));
    // Each job holds a copy of the program: a count past any machine is refused.
    let data = fixture("digits-test-x.npy");
    let labels = fixture("digits-test-y.npy");
    let arguments = ["--data", &data, "--labels", &labels, "--jobs", "100000"];
    let (code, _, stderr) = cimc(&[&["eval", artifact.to_str().unwrap()], &arguments[..]].concat());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("100000 is not in 0..=256"), "{stderr}");
}
