//! The chips of a Monte Carlo run measured at once (`Prepared::over_chips`): each
//! helper thread prepares the program again in an MLIR context of its own, and a
//! chip's outputs are the same bits whichever thread ran it and however many ran.

use cim_driver::{
    DriverError,
    artifact::{compile, read_artifact},
    pipeline::CompileOptions,
    run::{Prepared, RunSettings},
};
use cim_ir::CimContext;
use cim_sim::{Digital, Fidelity};
use ndarray::ArrayD;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The digits CNN on `pcm` (managed converters, bound management, drift
/// compensation), its converters calibrated, in a directory of its own.
fn cnn_artifact(cim: &CimContext, name: &str) -> PathBuf {
    let output = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("api")
        .join(name);
    let _ = std::fs::remove_dir_all(&output);
    let options = CompileOptions {
        target: "pcm".into(),
        ..CompileOptions::default()
    };
    compile(
        cim,
        &fixture("digits-cnn.onnx"),
        &options,
        Some(&fixture("digits-calib-images.npy")),
        None,
        &output,
    )
    .expect("the CNN compiles");
    output
}

fn images() -> Vec<ArrayD<f64>> {
    let x = cim_npy::read(&fixture("digits-test-images.npy")).expect("the fixture reads");
    // A few images keep the test short; every layer still runs.
    vec![
        x.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..24))
            .to_owned(),
    ]
}

/// Five chips' outputs a day after programming, `jobs` at once.
fn outputs(prepared: &mut Prepared, inputs: &[ArrayD<f64>], jobs: usize) -> Vec<ArrayD<f64>> {
    prepared
        .over_chips(
            (11, 5),
            jobs,
            |_, _| {},
            |prepared, seed| {
                let settings = RunSettings {
                    drift_time: 86400.0,
                    seed,
                    digital: Digital::Float,
                };
                Ok(prepared.run(inputs, &settings)?.remove(0))
            },
        )
        .expect("the chips run")
}

#[test]
fn chips_at_once_give_the_bits_of_chips_one_after_another() {
    let cim = CimContext::new().unwrap();
    let artifact = read_artifact(&cim, &cnn_artifact(&cim, "chips-at-once")).unwrap();
    let inputs = images();
    let mut prepared = Prepared::new(&artifact, Some(Fidelity::Full), Digital::Float).unwrap();
    let one = outputs(&mut prepared, &inputs, 1);
    assert_eq!(one, outputs(&mut prepared, &inputs, 2));
    assert_eq!(one, outputs(&mut prepared, &inputs, 4));
    // Each chip is its own: seeds 11..16, in order.
    for (chip, output) in one.iter().enumerate() {
        let alone = Prepared::new(&artifact, Some(Fidelity::Full), Digital::Float)
            .unwrap()
            .run(
                &inputs,
                &RunSettings {
                    drift_time: 86400.0,
                    seed: 11 + chip as u64,
                    digital: Digital::Float,
                },
            )
            .unwrap()
            .remove(0);
        assert_eq!(output, &alone, "chip {chip}");
    }
    assert_ne!(one[0], one[1]);
}

#[test]
fn the_first_failing_chip_is_the_error_whichever_thread_ran_it() {
    let cim = CimContext::new().unwrap();
    let artifact = read_artifact(&cim, &cnn_artifact(&cim, "chips-at-once-failing")).unwrap();
    let inputs = images();
    let mut prepared = Prepared::new(&artifact, Some(Fidelity::Full), Digital::Float).unwrap();
    for jobs in [1, 3] {
        let mut heard = Vec::new();
        let error = prepared
            .over_chips(
                (0, 6),
                jobs,
                |chip, _| heard.push(chip),
                |prepared, seed| {
                    if seed >= 2 {
                        return Err(DriverError::Run(format!("chip {seed} failed")));
                    }
                    let settings = RunSettings {
                        drift_time: 1.0,
                        seed,
                        digital: Digital::Float,
                    };
                    prepared.run(&inputs, &settings)
                },
            )
            .unwrap_err();
        assert_eq!(error.to_string(), "chip 2 failed", "{jobs} jobs");
        // No chip starts once one failed: at most one per thread beyond it.
        assert!(heard.len() <= 2 + jobs, "{jobs} jobs: {heard:?}");
    }
}
