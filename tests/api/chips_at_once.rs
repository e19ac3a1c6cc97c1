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
use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The digits CNN on `pcm` (managed converters, bound management, drift
/// compensation), its converters calibrated: compiled once for this file's tests.
fn cnn_artifact() -> &'static Path {
    static ARTIFACT: OnceLock<PathBuf> = OnceLock::new();
    ARTIFACT.get_or_init(|| {
        let output = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("api")
            .join("chips-at-once");
        let _ = std::fs::remove_dir_all(&output);
        let options = CompileOptions {
            target: "pcm".into(),
            ..CompileOptions::default()
        };
        compile(
            &CimContext::new().unwrap(),
            &fixture("digits-cnn.onnx"),
            &options,
            Some(&fixture("digits-calib-images.npy")),
            None,
            &output,
        )
        .expect("the CNN compiles");
        output
    })
}

/// A chip seeded `seed`, read `drift_time` seconds after programming.
fn chip(seed: u64, drift_time: f64) -> RunSettings {
    RunSettings {
        drift_time,
        seed,
        digital: Digital::Float,
    }
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
            |prepared, seed| Ok(prepared.run(inputs, &chip(seed, 86400.0))?.remove(0)),
        )
        .expect("the chips run")
}

#[test]
fn chips_at_once_give_the_bits_of_chips_one_after_another() {
    let cim = CimContext::new().unwrap();
    let artifact = read_artifact(&cim, cnn_artifact()).unwrap();
    let inputs = images();
    let mut prepared = Prepared::new(&artifact, Some(Fidelity::Full), Digital::Float).unwrap();
    let one = outputs(&mut prepared, &inputs, 1);
    assert_eq!(one, outputs(&mut prepared, &inputs, 2));
    assert_eq!(one, outputs(&mut prepared, &inputs, 4));
    // Each chip is its own: seeds 11..16, in order.
    for (index, output) in one.iter().enumerate() {
        let alone = Prepared::new(&artifact, Some(Fidelity::Full), Digital::Float)
            .unwrap()
            .run(&inputs, &chip(11 + index as u64, 86400.0))
            .unwrap()
            .remove(0);
        assert_eq!(output, &alone, "chip {index}");
    }
    assert_ne!(one[0], one[1]);
}

#[test]
fn the_first_failing_chip_is_the_error_whichever_thread_ran_it() {
    let cim = CimContext::new().unwrap();
    let artifact = read_artifact(&cim, cnn_artifact()).unwrap();
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
                    prepared.run(&inputs, &chip(seed, 1.0))
                },
            )
            .unwrap_err();
        assert_eq!(error.to_string(), "chip 2 failed", "{jobs} jobs");
        // No chip starts once one failed: at most one per thread beyond it.
        assert!(heard.len() <= 2 + jobs, "{jobs} jobs: {heard:?}");
    }
}
