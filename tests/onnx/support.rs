//! Running a model both ways: tract as the reference, `cimc` compiled and run at
//! exact fidelity (and its digital work on the NMDU), with a scratch directory per
//! test.

use proptest::prelude::*;
use std::{
    path::{Path, PathBuf},
    process::Command,
};
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

/// Compiles `model` with cimc, runs it at exact fidelity on a seeded input, and
/// compares with tract: 1e-5 relative, same top-1 (up to ties within tolerance).
pub fn check_against_tract(
    name: &str,
    model: &ModelProto,
    dims: &[usize],
    seed: u64,
) -> Result<(), TestCaseError> {
    check_input_against_tract(name, model, dims, seed, None)
}

/// [`check_against_tract`] with an int64 input of token ids in `[-vocabulary,
/// vocabulary)` (negative ones count from the end, as ONNX's Gather allows), given to
/// cim as the f32 it carries integer inputs in.
pub fn check_ids_against_tract(
    name: &str,
    model: &ModelProto,
    dims: &[usize],
    seed: u64,
    vocabulary: usize,
) -> Result<(), TestCaseError> {
    check_input_against_tract(name, model, dims, seed, Some(vocabulary))
}

fn check_input_against_tract(
    name: &str,
    model: &ModelProto,
    dims: &[usize],
    seed: u64,
    vocabulary: Option<usize>,
) -> Result<(), TestCaseError> {
    let dir = scratch(name);
    let path = dir.join("model.onnx");
    std::fs::write(&path, encode(model)).unwrap();
    let mut state = seed | 3;
    let count: usize = dims.iter().product();
    let input: Vec<f32> = (0..count)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
            match vocabulary {
                Some(v) => ((unit * 2.0 * v as f32).floor() - v as f32).min(v as f32 - 1.0),
                None => unit * 2.0 - 1.0,
            }
        })
        .collect();
    let fact = match vocabulary {
        Some(_) => i64::fact(dims),
        None => f32::fact(dims),
    };
    let runnable = tract_onnx::onnx()
        .model_for_path(&path)
        .unwrap()
        .with_input_fact(0, fact.into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let tensor = match vocabulary {
        Some(_) => tract_ndarray::ArrayD::from_shape_vec(
            dims.to_vec(),
            input.iter().map(|&v| v as i64).collect(),
        )
        .unwrap()
        .into_tensor(),
        None => tract_ndarray::ArrayD::from_shape_vec(dims.to_vec(), input.clone())
            .unwrap()
            .into_tensor(),
    };
    let reference = runnable.run(tvec!(tensor.into())).unwrap();
    let reference = reference[0]
        .to_plain_array_view::<f32>()
        .unwrap()
        .to_owned();
    let x = dir.join("x.npy");
    let array = ndarray::ArrayD::from_shape_vec(
        ndarray::IxDyn(dims),
        input.iter().map(|&v| f64::from(v)).collect(),
    )
    .unwrap();
    cim_npy::write_f32(&x, &array).unwrap();
    let artifact = dir.join("artifact");
    let (code, stderr) = cimc(&[
        "compile",
        path.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    prop_assert_eq!(code, 0, "{}", stderr);
    let y = dir.join("y.npy");
    let (code, stderr) = run(&artifact, &x, &y, &["--fidelity", "exact"]);
    prop_assert_eq!(code, 0, "{}", stderr);
    check_nmdu(&dir, &path, &x)?;
    let ours = cim_npy::read(&y).unwrap();
    prop_assert_eq!(ours.shape(), reference.shape());
    for (row, (a, b)) in ours.outer_iter().zip(reference.outer_iter()).enumerate() {
        for (x, y) in a.iter().zip(b.iter()) {
            let y = f64::from(*y);
            prop_assert!(
                (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                "row {}: {} vs tract {}",
                row,
                x,
                y
            );
        }
        let top = |v: Vec<f64>| {
            v.iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |m, (i, &x)| if x > m.1 { (i, x) } else { m },
                )
                .0
        };
        let (ta, tb) = (
            top(a.iter().copied().collect()),
            top(b.iter().map(|&v| f64::from(v)).collect()),
        );
        let gap = (f64::from(b[ta]) - f64::from(b[tb])).abs();
        prop_assert!(
            ta == tb || gap <= 1e-5,
            "row {}: top-1 {} vs tract {}",
            row,
            ta,
            tb
        );
    }
    Ok(())
}

/// The model mapped onto 16x16 arrays (so layers are cut into row and column tiles):
/// at quantized fidelity, its digital work as NMDU code gives the bits of the NMDU's
/// Rust reference.
fn check_nmdu(dir: &Path, model: &Path, x: &Path) -> Result<(), TestCaseError> {
    let ideal =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("targets/ideal.toml"))
            .unwrap();
    let target = dir.join("small.toml");
    std::fs::write(
        &target,
        ideal
            .replace("rows = 256", "rows = 16")
            .replace("cols = 256", "cols = 16"),
    )
    .unwrap();
    let artifact = dir.join("small");
    let (code, stderr) = cimc(&[
        "compile",
        model.to_str().unwrap(),
        "--target",
        target.to_str().unwrap(),
        "-o",
        artifact.to_str().unwrap(),
    ]);
    prop_assert_eq!(code, 0, "{}", stderr);
    let mut outputs = Vec::new();
    for digital in ["interp", "nmdu"] {
        let y = dir.join(format!("{digital}.npy"));
        let (code, stderr) = run(
            &artifact,
            x,
            &y,
            &["--fidelity", "quantized", "--digital", digital],
        );
        prop_assert_eq!(code, 0, "{}", stderr);
        outputs.push(cim_npy::read(&y).unwrap());
    }
    prop_assert_eq!(&outputs[0], &outputs[1]);
    Ok(())
}

/// Where test `name` writes its files.
pub fn scratch_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("onnx")
        .join(name)
}

/// [`scratch_path`], emptied.
pub fn scratch(name: &str) -> PathBuf {
    let dir = scratch_path(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn cimc(arguments: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_cimc"))
        .args(arguments)
        .output()
        .expect("cimc runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `cimc run ARTIFACT --input X --output Y ARGUMENTS`.
fn run(artifact: &Path, x: &Path, y: &Path, arguments: &[&str]) -> (i32, String) {
    let mut all = vec![
        "run",
        artifact.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--output",
        y.to_str().unwrap(),
    ];
    all.extend_from_slice(arguments);
    cimc(&all)
}

pub fn encode(model: &ModelProto) -> Vec<u8> {
    prost::Message::encode_to_vec(model)
}
