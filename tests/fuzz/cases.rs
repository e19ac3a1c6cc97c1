//! The fuzzing campaign's cases, shared by its two runners: `tests/cimc/fuzz.rs`
//! runs each case's tool as a process (signals, memory and time limits, exit
//! codes), `tests/api/fuzz_in_process.rs` runs the same tools' code in the test's
//! process (a hundred times faster, for the long run of a million cases). A case is
//! a tool, its arguments and the files it reads; the mutators are structure-aware:
//! ONNX as protobuf structures (nodes, attributes, initializers, opsets), MLIR text
//! (numbers, types, lines, nesting), `.npy` files (headers, dtypes, shapes, values),
//! target TOML (values, keys, arrays) and command lines.

// Each runner uses part of this module.
#![allow(dead_code)]

use cim_device::rng::DeviceRng;
use prost::Message;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};
use tract_onnx::pb::ModelProto;

/// Wall time a case may take.
pub const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Lines a failure's message may take.
pub const MESSAGE_LINES: usize = 8;

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

/// What a case did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Exit 0.
    Accepted,
    /// Exit 1 or 2 with a short message saying `error:`.
    Refused,
    /// Exit 1 or 2, but the message is missing or long.
    Unclear,
    /// A Rust panic or the guard's internal error (exit 3).
    Panic,
    /// Killed by a signal (abort, stack overflow, out of memory).
    Crash,
    /// Over the time limit.
    Hang,
}

impl Outcome {
    pub fn failed(self) -> bool {
        matches!(self, Outcome::Panic | Outcome::Crash | Outcome::Hang)
    }
}

/// One case: a tool, its arguments, and the files it reads (written to the case's
/// directory first, where the tool runs; `{dir}` in an argument is replaced by
/// that directory, `{root}` by the repository's).
pub struct Case {
    pub family: &'static str,
    pub tool: &'static str,
    pub arguments: Vec<String>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Case {
    /// The case's arguments with `{dir}` standing for `dir` and `{root}` for the
    /// repository.
    pub fn arguments_in(&self, dir: &Path) -> Vec<String> {
        self.arguments
            .iter()
            .map(|a| {
                a.replace("{dir}", dir.to_str().unwrap())
                    .replace("{root}", root().to_str().unwrap())
            })
            .collect()
    }

    /// Writes the case's files into `dir`.
    pub fn write_files(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, bytes) in &self.files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }

    /// The set-up case of a case whose arguments start with `@compile MODEL` (the
    /// artifact the rest reads, compiled into `{dir}/artifact`), and the rest.
    pub fn split_setup(&self) -> Option<(Case, Case)> {
        if self.arguments.first().map(String::as_str) != Some("@compile") {
            return None;
        }
        let setup = Case {
            family: self.family,
            tool: "cimc",
            arguments: compile_args(&self.arguments[1], "ideal"),
            files: vec![],
        };
        let rest = Case {
            family: self.family,
            tool: self.tool,
            arguments: self.arguments[2..].to_vec(),
            files: self.files.clone(),
        };
        Some((setup, rest))
    }
}

/// The outcome of a run that ended with exit status `code` (`None`: killed by a
/// signal) and printed `stderr`.
pub fn classify(code: Option<i32>, stderr: &str) -> Outcome {
    match code {
        None => Outcome::Crash,
        Some(_) if stderr.contains("panicked at") || stderr.contains("internal error") => {
            Outcome::Panic
        }
        Some(0) => Outcome::Accepted,
        Some(1 | 2) => {
            let lines = stderr.trim().lines().count();
            if stderr.contains("error") && lines <= MESSAGE_LINES && stderr.len() <= 2000 {
                Outcome::Refused
            } else {
                Outcome::Unclear
            }
        }
        Some(3) => Outcome::Panic,
        Some(_) => Outcome::Crash,
    }
}

/// Counts of outcomes per input family.
#[derive(Default)]
pub struct Table(BTreeMap<&'static str, BTreeMap<Outcome, usize>>);

impl Table {
    pub fn add(&mut self, family: &'static str, outcome: Outcome) {
        *self
            .0
            .entry(family)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: Table) {
        for (family, outcomes) in other.0 {
            for (outcome, count) in outcomes {
                *self
                    .0
                    .entry(family)
                    .or_default()
                    .entry(outcome)
                    .or_default() += count;
            }
        }
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut text = String::from(
            "| input family | cases | accepted | refused | unclear message | panic | crash | hang |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for (family, outcomes) in &self.0 {
            let count = |o: Outcome| outcomes.get(&o).copied().unwrap_or(0);
            text.push_str(&format!(
                "| {family} | {} | {} | {} | {} | {} | {} | {} |\n",
                outcomes.values().sum::<usize>(),
                count(Outcome::Accepted),
                count(Outcome::Refused),
                count(Outcome::Unclear),
                count(Outcome::Panic),
                count(Outcome::Crash),
                count(Outcome::Hang)
            ));
        }
        text
    }
}

// ---------------------------------------------------------------- mutators

/// A number a careless or hostile input would hold.
fn extreme(rng: &mut DeviceRng) -> String {
    const VALUES: [&str; 14] = [
        "0",
        "-1",
        "1",
        "2",
        "-7",
        "255",
        "65536",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "1e308",
        "nan",
        "inf",
        "-inf",
    ];
    VALUES[pick(rng, VALUES.len())].to_owned()
}

fn pick(rng: &mut DeviceRng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

fn extreme_int(rng: &mut DeviceRng) -> i64 {
    const VALUES: [i64; 10] = [0, -1, 1, 2, 3, -5, 7, 1 << 20, i64::MAX, i64::MIN];
    VALUES[pick(rng, VALUES.len())]
}

fn extreme_float(rng: &mut DeviceRng) -> f32 {
    const VALUES: [f32; 8] = [0.0, -1.0, 1e30, -1e-30, f32::NAN, f32::INFINITY, 1e-45, 3.0];
    VALUES[pick(rng, VALUES.len())]
}

/// One structural change to an ONNX model.
fn mutate_onnx(model: &mut ModelProto, rng: &mut DeviceRng) {
    let graph = model.graph.as_mut().unwrap();
    let nodes = graph.node.len();
    let node = pick(rng, nodes);
    match pick(rng, 16) {
        0 if nodes > 0 => {
            graph.node[node].input.pop();
        }
        1 if nodes > 0 => graph.node[node].output.clear(),
        2 if nodes > 0 => {
            let extra = graph.node[node].input.first().cloned().unwrap_or_default();
            graph.node[node].input.push(extra);
        }
        3 if nodes > 0 => {
            const OPS: [&str; 14] = [
                "Unsqueeze",
                "Concat",
                "Gather",
                "Reshape",
                "Squeeze",
                "Transpose",
                "Conv",
                "MaxPool",
                "Gemm",
                "LSTM",
                "GRU",
                "Softmax",
                "Slice",
                "BatchNormalization",
            ];
            graph.node[node].op_type = OPS[pick(rng, OPS.len())].into();
        }
        4 if nodes > 0 => {
            let attributes = &mut graph.node[node].attribute;
            if !attributes.is_empty() {
                let at = pick(rng, attributes.len());
                let value = extreme_int(rng);
                attributes[at].i = value;
                for v in attributes[at].ints.iter_mut() {
                    *v = extreme_int(rng);
                }
                attributes[at].f = extreme_float(rng);
            }
        }
        5 if nodes > 0 => graph.node[node].domain = "com.example".into(),
        6 if !graph.initializer.is_empty() => {
            let at = pick(rng, graph.initializer.len());
            let tensor = &mut graph.initializer[at];
            if !tensor.dims.is_empty() {
                let d = pick(rng, tensor.dims.len());
                tensor.dims[d] = extreme_int(rng);
            }
        }
        7 if !graph.initializer.is_empty() => {
            let at = pick(rng, graph.initializer.len());
            let data = &mut graph.initializer[at].raw_data;
            let keep = pick(rng, data.len() + 1);
            data.truncate(keep);
        }
        8 if !graph.initializer.is_empty() => {
            let at = pick(rng, graph.initializer.len());
            let data = &mut graph.initializer[at].raw_data;
            if data.len() >= 4 {
                let place = 4 * pick(rng, data.len() / 4);
                data[place..place + 4].copy_from_slice(&extreme_float(rng).to_le_bytes());
            }
        }
        9 if !graph.initializer.is_empty() => {
            let copy = graph.initializer[pick(rng, graph.initializer.len())].clone();
            graph.initializer.push(copy);
        }
        10 => graph.output.clear(),
        11 if nodes > 1 => {
            let other = pick(rng, nodes);
            graph.node.swap(node, other);
        }
        12 if nodes > 0 => {
            graph.node.remove(node);
        }
        13 => {
            if let Some(opset) = model.opset_import.first_mut() {
                opset.version = extreme_int(rng);
            }
        }
        14 if nodes > 0 => {
            let copy = graph.node[node].clone();
            graph.node.insert(node, copy);
        }
        _ => {
            if let Some(input) = graph.input.first_mut() {
                input.name = "renamed".into();
            }
        }
    }
}

/// One change to MLIR text.
fn mutate_mlir(text: &str, rng: &mut DeviceRng) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let line = pick(rng, lines.len());
    match pick(rng, 8) {
        0 => {
            // A number replaced by an extreme one.
            let numbers: Vec<(usize, usize)> = number_spans(text);
            if numbers.is_empty() {
                return text.to_owned();
            }
            let (start, end) = numbers[pick(rng, numbers.len())];
            format!("{}{}{}", &text[..start], extreme(rng), &text[end..])
        }
        1 => {
            let mut out = lines.clone();
            out.remove(line);
            out.join("\n")
        }
        2 => {
            let mut out = lines.clone();
            out.insert(line, lines[line]);
            out.join("\n")
        }
        3 => cut(text, rng),
        4 => {
            // A deeply nested type or region.
            let depth = [100, 1000, 100_000][pick(rng, 3)];
            if pick(rng, 2) == 0 {
                let bomb = format!("{}f32{}", "tensor<1x".repeat(depth), ">".repeat(depth));
                text.replacen("f32", &bomb, 1)
            } else {
                // Nested regions.
                let bomb = format!(
                    "{}{}",
                    "\"test.region\"() ({\n".repeat(depth),
                    "}) : () -> ()\n".repeat(depth)
                );
                text.replacen("func.func", &format!("{bomb}func.func"), 1)
            }
        }
        5 => text.replacen("tensor<", "tensor<100000x", 1),
        6 => text.replace("f32", ["f16", "i8", "index", "f64"][pick(rng, 4)]),
        _ => {
            let mut out = lines.clone();
            let other = pick(rng, lines.len());
            out.swap(line, other);
            out.join("\n")
        }
    }
}

/// `text` cut short at a random character boundary.
fn cut(text: &str, rng: &mut DeviceRng) -> String {
    let mut end = pick(rng, text.len() + 1);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Where the (decimal) numbers of `text` lie.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at].is_ascii_digit() && (at == 0 || !bytes[at - 1].is_ascii_alphanumeric()) {
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
                at += 1;
            }
            spans.push((start, at));
        }
        at += 1;
    }
    spans
}

/// A `.npy` file, valid or not: its header fields and data chosen from `template`
/// (values, shape) and extremes.
fn mutate_npy(template: &Path, rng: &mut DeviceRng) -> Vec<u8> {
    let array = cim_npy::read(template).unwrap();
    let shape: Vec<usize> = array.shape().to_vec();
    let mut descr = "<f4".to_owned();
    let mut fortran = "False".to_owned();
    let mut shape_text = format!(
        "({})",
        shape
            .iter()
            .map(|d| format!("{d},"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut values: Vec<f32> = array.iter().map(|&v| v as f32).collect();
    let mut magic = b"\x93NUMPY\x01\x00".to_vec();
    match pick(rng, 9) {
        0 => descr = ["<f2", ">f4", "<c8", "|O", "<U3", "<i8", "|b1"][pick(rng, 7)].into(),
        1 => fortran = ["True", "1", "true", "None", ""][pick(rng, 5)].into(),
        2 => {
            shape_text = [
                "(0,)",
                "()",
                "(1000000000, 1000000000)",
                "(-3, 4)",
                "(18446744073709551615, 2)",
                "(3",
            ][pick(rng, 6)]
            .into()
        }
        3 => {
            let keep = pick(rng, values.len() + 1);
            values.truncate(keep);
        }
        4 if !values.is_empty() => {
            let at = pick(rng, values.len());
            values[at] = extreme_float(rng);
        }
        5 => magic[6] = [0u8, 4, 9, 255][pick(rng, 4)],
        // The first two axes swapped in the header only.
        6 if shape.len() >= 2 => shape_text = format!("({}, {},)", shape[1], shape[0]),
        7 => {
            // A reshaped copy: rank 1 or rank 3.
            shape_text = if pick(rng, 2) == 0 {
                format!("({},)", values.len())
            } else {
                format!("(1, {}, 1)", values.len())
            };
        }
        _ => {}
    }
    let header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    let mut header = header.into_bytes();
    let total = 10 + header.len() + 1;
    header.extend(std::iter::repeat_n(b' ', (64 - total % 64) % 64));
    header.push(b'\n');
    let mut bytes = magic;
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(&header);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

/// One change to a target's TOML text.
fn mutate_toml(text: &str, rng: &mut DeviceRng) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let assignments: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(" = ") && !lines[i].trim_start().starts_with('#'))
        .collect();
    if assignments.is_empty() {
        return text.to_owned();
    }
    let line = assignments[pick(rng, assignments.len())];
    let (key, value) = lines[line].split_once(" = ").unwrap();
    let new_value = match pick(rng, 7) {
        0 => extreme(rng),
        1 => format!("{}.5", extreme_int(rng)),
        2 => "\"\"".to_owned(),
        3 if value.trim_start().starts_with('[') => {
            value.replacen('[', &format!("[{}, ", extreme(rng)), 1)
        }
        4 => "[]".to_owned(),
        5 => "true".to_owned(),
        _ => {
            // The key removed.
            let mut out = lines.clone();
            out.remove(line);
            return out.join("\n");
        }
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[line] = format!("{key} = {new_value}");
    out.join("\n")
}

/// One change to JSON text: a value set to an extreme (or another type), a key
/// removed, or the text cut short.
fn mutate_json(text: &str, rng: &mut DeviceRng) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.to_owned();
    };
    let mut leaves = 0;
    count_leaves(&value, &mut leaves);
    let target = pick(rng, leaves);
    let choice = pick(rng, 9);
    if choice == 8 {
        return cut(text, rng);
    }
    let replacement: serde_json::Value = match choice {
        0 => 0.into(),
        1 => (-1).into(),
        2 => 1e308.into(),
        3 => u64::MAX.into(),
        4 => 0.5.into(),
        5 => "".into(),
        6 => serde_json::Value::Null,
        _ => serde_json::json!([]),
    };
    let mut at = 0;
    replace_leaf(&mut value, target, &mut at, &replacement, pick(rng, 4) == 0);
    value.to_string()
}

fn count_leaves(value: &serde_json::Value, count: &mut usize) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|v| count_leaves(v, count)),
        serde_json::Value::Object(map) => map.values().for_each(|v| count_leaves(v, count)),
        _ => *count += 1,
    }
}

/// Replaces leaf `target` (in walk order) by `replacement`, or removes the key that
/// holds it (`remove`, in an object).
fn replace_leaf(
    value: &mut serde_json::Value,
    target: usize,
    at: &mut usize,
    replacement: &serde_json::Value,
    remove: bool,
) -> bool {
    match value {
        serde_json::Value::Array(items) => items
            .iter_mut()
            .any(|v| replace_leaf(v, target, at, replacement, remove)),
        serde_json::Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child = map.get_mut(&key).unwrap();
                let is_leaf = !child.is_array() && !child.is_object();
                if is_leaf && *at == target && remove {
                    map.remove(&key);
                    return true;
                }
                if replace_leaf(map.get_mut(&key).unwrap(), target, at, replacement, remove) {
                    return true;
                }
            }
            false
        }
        _ => {
            *at += 1;
            if *at - 1 == target {
                *value = replacement.clone();
                return true;
            }
            false
        }
    }
}

/// One change to a safetensors file: its header (as JSON), its header's length,
/// a value set to an extreme, or the file cut short.
fn mutate_safetensors(bytes: &[u8], rng: &mut DeviceRng) -> Vec<u8> {
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + length]).unwrap();
    let data = &bytes[8 + length..];
    match pick(rng, 4) {
        0 => {
            let header = mutate_json(header, rng);
            let mut out = (header.len() as u64).to_le_bytes().to_vec();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(data);
            out
        }
        1 => {
            let mut out = bytes.to_vec();
            let length = [0u64, 1, u64::MAX, (length + 4) as u64][pick(rng, 4)];
            out[..8].copy_from_slice(&length.to_le_bytes());
            out
        }
        2 => {
            let mut out = bytes.to_vec();
            let values = data.len() / 4;
            if values > 0 {
                let place = 8 + length + 4 * pick(rng, values);
                out[place..place + 4].copy_from_slice(&extreme_float(rng).to_le_bytes());
            }
            out
        }
        _ => bytes[..pick(rng, bytes.len() + 1)].to_vec(),
    }
}

// ---------------------------------------------------------------- cases

/// The files of an artifact (and its crossbar program) that the artifact cases
/// mutate.
const ARTIFACT_FILES: [&str; 8] = [
    "manifest.json",
    "target.toml",
    "float.mlir",
    "exact.mlir",
    "mapped.mlir",
    "program/program.json",
    "program/program.mlir",
    "program/weights.safetensors",
];

/// The artifact the artifact cases start from: the digits MLP compiled for `pcm`,
/// once per process.
fn artifact_template() -> &'static [Vec<u8>] {
    static TEMPLATE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fuzz-template-{}", std::process::id()));
        let status = Command::new(env!("CARGO_BIN_EXE_cimc"))
            .args([
                "compile",
                &fixture("digits-mlp.onnx"),
                "--target",
                "pcm",
                "-o",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the artifact template compiles");
        let files = ARTIFACT_FILES
            .iter()
            .map(|name| std::fs::read(dir.join(name)).unwrap())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        files
    })
}

/// An artifact with one file mutated, read back by `cim-translate
/// --from-crossbar-program` (its program) or run by `cimc run`.
fn artifact_case(rng: &mut DeviceRng) -> Case {
    let template = artifact_template();
    let at = pick(rng, ARTIFACT_FILES.len());
    let name = ARTIFACT_FILES[at];
    let original = &template[at];
    let mutated = if name.ends_with(".json") {
        mutate_json(std::str::from_utf8(original).unwrap(), rng).into_bytes()
    } else if name.ends_with(".mlir") {
        mutate_mlir(std::str::from_utf8(original).unwrap(), rng).into_bytes()
    } else if name.ends_with(".toml") {
        mutate_toml(std::str::from_utf8(original).unwrap(), rng).into_bytes()
    } else {
        mutate_safetensors(original, rng)
    };
    let files = ARTIFACT_FILES
        .iter()
        .zip(template)
        .map(|(file, bytes)| {
            let bytes = if *file == name { &mutated } else { bytes };
            (format!("artifact/{file}"), bytes.clone())
        })
        .collect();
    let (tool, arguments) = if name.starts_with("program/") {
        (
            "cim-translate",
            vec![
                "{dir}/artifact/program".into(),
                "--from-crossbar-program".into(),
                "-o".into(),
                "{dir}/out.mlir".into(),
            ],
        )
    } else {
        let fidelity = ["float", "exact", "quantized", "full"][pick(rng, 4)];
        (
            "cimc",
            vec![
                "run".into(),
                "{dir}/artifact".into(),
                "--input".into(),
                fixture("digits-test-x.npy"),
                "--output".into(),
                "{dir}/out.npy".into(),
                "--fidelity".into(),
                fidelity.into(),
            ],
        )
    };
    Case {
        family: "artifact",
        tool,
        arguments,
        files,
    }
}

const ONNX_SEEDS: [&str; 6] = [
    "digits-mlp.onnx",
    "digits-cnn.onnx",
    "digits-lstm.onnx",
    "digits-gru.onnx",
    "aihwkit/unseen-cnn.onnx",
    // Shape subgraphs, attention, layer norms, the batch merged with the heads.
    "digits-vit.onnx",
];
const MLIR_SEEDS: [&str; 3] = [
    "tests/fixtures/digits-mlp.mlir",
    "tests/examples/mlp.mlir",
    "tests/examples/torch-mlir-cnn.mlir",
];
const TARGETS: [&str; 4] = ["ideal", "pcm", "rram", "hermes"];

pub fn compile_args(model: &str, target: &str) -> Vec<String> {
    vec![
        "compile".into(),
        model.into(),
        "--target".into(),
        target.into(),
        "-o".into(),
        "{dir}/artifact".into(),
    ]
}

/// Case `index` of the campaign of `seed`.
pub fn make_case(seed: u64, index: u64) -> Case {
    let mut rng = DeviceRng::new(seed).fork(index);
    match pick(&mut rng, 6) {
        5 => artifact_case(&mut rng),
        0 => {
            let source = ONNX_SEEDS[pick(&mut rng, ONNX_SEEDS.len())];
            let bytes = std::fs::read(fixture(source)).unwrap();
            let mut model = ModelProto::decode(bytes.as_slice()).unwrap();
            for _ in 0..1 + pick(&mut rng, 3) {
                mutate_onnx(&mut model, &mut rng);
            }
            let mut bytes = model.encode_to_vec();
            if pick(&mut rng, 8) == 0 && !bytes.is_empty() {
                let at = pick(&mut rng, bytes.len());
                bytes[at] ^= 1 << pick(&mut rng, 8);
            }
            Case {
                family: "ONNX",
                tool: "cimc",
                arguments: compile_args("{dir}/model.onnx", "ideal"),
                files: vec![("model.onnx".into(), bytes)],
            }
        }
        1 => {
            let source = MLIR_SEEDS[pick(&mut rng, MLIR_SEEDS.len())];
            let text = std::fs::read_to_string(root().join(source)).unwrap();
            let text = mutate_mlir(&text, &mut rng);
            const PIPELINES: [&str; 8] = [
                "builtin.module(convert-linalg-to-cim,cim-tile)",
                "cim-tile",
                "func.func(cim-tile)",
                "builtin.module(func.func(cim-tile))",
                "builtin.module(no-such-pass)",
                "builtin.module(convert-linalg-to-cim,cim-tile{rows=0})",
                "builtin.module(convert-linalg-to-cim,cim-tile{rows=99999999999 cols=-3})",
                "builtin.module(cim-map{node-limit=0},cim-verify)",
            ];
            let (tool, arguments) = if pick(&mut rng, 2) == 0 {
                ("cimc", compile_args("{dir}/model.mlir", "ideal"))
            } else {
                (
                    "cim-opt",
                    vec![
                        "{dir}/model.mlir".into(),
                        "--pass-pipeline".into(),
                        PIPELINES[pick(&mut rng, PIPELINES.len())].into(),
                    ],
                )
            };
            Case {
                family: "MLIR",
                tool,
                arguments,
                files: vec![("model.mlir".into(), text.into_bytes())],
            }
        }
        2 => {
            let (data, npy_flag) = match pick(&mut rng, 3) {
                0 => ("digits-test-x.npy", "--data"),
                1 => ("digits-test-y.npy", "--labels"),
                _ => ("digits-calib-x.npy", "--calibration"),
            };
            let bytes = mutate_npy(Path::new(&fixture(data)), &mut rng);
            let mlp = fixture("digits-mlp.onnx");
            if npy_flag == "--calibration" {
                let mut arguments = compile_args(&mlp, "pcm");
                arguments.extend(["--calibration".into(), "{dir}/data.npy".into()]);
                return Case {
                    family: ".npy",
                    tool: "cimc",
                    arguments,
                    files: vec![("data.npy".into(), bytes)],
                };
            }
            let mut arguments = vec![
                "eval".into(),
                "{dir}/artifact".into(),
                "--data".into(),
                fixture("digits-test-x.npy"),
                "--labels".into(),
                fixture("digits-test-y.npy"),
                "--fidelity".into(),
                "float".into(),
            ];
            let place = arguments.iter().position(|a| a == npy_flag).unwrap() + 1;
            arguments[place] = "{dir}/data.npy".into();
            // The artifact is compiled first (by the same case's set-up).
            Case {
                family: ".npy",
                tool: "cimc",
                arguments: [vec!["@compile".into(), mlp], arguments].concat(),
                files: vec![("data.npy".into(), bytes)],
            }
        }
        3 => {
            let preset = TARGETS[pick(&mut rng, TARGETS.len())];
            let text =
                std::fs::read_to_string(root().join(format!("targets/{preset}.toml"))).unwrap();
            let mut text = text;
            for _ in 0..1 + pick(&mut rng, 2) {
                text = mutate_toml(&text, &mut rng);
            }
            Case {
                family: "target TOML",
                tool: "cimc",
                arguments: compile_args(&fixture("digits-mlp.onnx"), "{dir}/target.toml"),
                files: vec![("target.toml".into(), text.into_bytes())],
            }
        }
        _ => {
            // A command line: a subcommand with options of extreme values.
            const OPTIONS: [&str; 12] = [
                "--weight-bits",
                "--input-bits",
                "--duplicate-arrays",
                "--calibration-percentile",
                "--error-time",
                "--encoding",
                "--mapper",
                "--objective",
                "--placement",
                "--target",
                "--calibration",
                "--emit-mlir-after-each-pass",
            ];
            let mut arguments = compile_args(&fixture("digits-mlp.onnx"), "ideal");
            for _ in 0..1 + pick(&mut rng, 3) {
                arguments.push(OPTIONS[pick(&mut rng, OPTIONS.len())].into());
                let value = match pick(&mut rng, 4) {
                    0 => extreme(&mut rng),
                    1 => "a b".into(),
                    2 => "{dir}/missing.npy".into(),
                    _ => "auto".into(),
                };
                arguments.push(value);
            }
            Case {
                family: "command line",
                tool: "cimc",
                arguments,
                files: vec![],
            }
        }
    }
}

/// Saves failing `case` as `target/fuzz-findings/NAME/`, where a person can
/// replay it.
pub fn save_finding(case: &Case, name: &str, stderr: &str) -> PathBuf {
    let findings = root().join("target/fuzz-findings").join(name);
    case.write_files(&findings);
    std::fs::write(
        findings.join("command.txt"),
        format!("{} {}\n", case.tool, case.arguments.join(" ")),
    )
    .unwrap();
    std::fs::write(findings.join("stderr.txt"), stderr).unwrap();
    findings
}

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
