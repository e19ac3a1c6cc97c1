//! The NMDU (near-memory digital unit) on every fixture: `--digital nmdu` (generated
//! code) gives the bits of `--digital interp` (its fixed-point reference), and fixed
//! point costs at most 0.2% top-1 against float digital work.

use crate::support::{argmax, cimc, compile_model, fixture, run_on, run_with, single_device_pcm};
use ndarray::{ArrayD, Axis};
use std::path::Path;

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
    let pcm_target = single_device_pcm("nmdu-pcm");
    let pcm = compile_model(
        "digits-cnn.onnx",
        "nmdu-pcm",
        &[
            "--target",
            &pcm_target,
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
