//! A seeded fuzzing campaign over every input the tools read: ONNX models
//! (mutated as protobuf structures: nodes, attributes, initializers, opsets),
//! MLIR text (numbers, types, lines, nesting), `.npy` files (headers, dtypes,
//! shapes, values), target TOML (values, keys, arrays) and command lines. Each
//! case runs the tool as a process under a time and memory limit; the oracle:
//! it exits 0, 1 or 2 with no Rust panic, no internal error (exit 3), no signal
//! and no hang, and a failure says `error:` in at most a few lines.
//!
//! CI runs a bounded campaign (`fuzz_campaign_finds_no_crash`, `CIM_FUZZ_CASES`
//! cases, 60 by default, seed `CIM_FUZZ_SEED`) and replays every case that once
//! failed (`tests/fuzz-corpus/`, `fuzz_corpus_replays_clean`). The long run:
//!
//! ```sh
//! CIM_FUZZ_CASES=5000 CIM_FUZZ_SEED=1 cargo test --release --test cimc fuzz_campaign -- --nocapture
//! ```
//!
//! prints the outcome table per input family and writes each failing case to
//! `target/fuzz-findings/` (its files and `command.txt`), ready to be added to the
//! corpus once fixed.

use crate::support::{fixture, root, scratch};
use cim_device::rng::DeviceRng;
use prost::Message;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use tract_onnx::pb::ModelProto;

/// Wall time a case may take.
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Virtual memory a case may use, KiB (`ulimit -v`).
const MEMORY_LIMIT_KIB: u64 = 8 << 20;
/// Lines a failure's message may take.
const MESSAGE_LINES: usize = 8;

/// What a case did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
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
    fn failed(self) -> bool {
        matches!(self, Outcome::Panic | Outcome::Crash | Outcome::Hang)
    }
}

/// One case: a tool, its arguments, and the files it reads (written to the case's
/// directory first, where the tool runs; `{dir}` in an argument is replaced by
/// that directory, `{root}` by the repository's).
struct Case {
    family: &'static str,
    tool: &'static str,
    arguments: Vec<String>,
    files: Vec<(String, Vec<u8>)>,
}

fn tool_path(tool: &str) -> &'static str {
    match tool {
        "cimc" => env!("CARGO_BIN_EXE_cimc"),
        "cim-opt" => env!("CARGO_BIN_EXE_cim-opt"),
        "cim-translate" => env!("CARGO_BIN_EXE_cim-translate"),
        other => panic!("no tool {other}"),
    }
}

/// Runs `case` in `dir`: its outcome and what it printed on stderr.
fn run_case(case: &Case, dir: &Path) -> (Outcome, String) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in &case.files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let arguments: Vec<String> = case
        .arguments
        .iter()
        .map(|a| {
            a.replace("{dir}", dir.to_str().unwrap())
                .replace("{root}", root().to_str().unwrap())
        })
        .collect();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(tool_path(case.tool))
        .args(&arguments)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    let outcome = match status.map(|s| s.code()) {
        None => Outcome::Hang,
        Some(None) => Outcome::Crash,
        Some(Some(_)) if stderr.contains("panicked at") || stderr.contains("internal error") => {
            Outcome::Panic
        }
        Some(Some(0)) => Outcome::Accepted,
        Some(Some(1 | 2)) => {
            let lines = stderr.trim().lines().count();
            if stderr.contains("error") && lines <= MESSAGE_LINES && stderr.len() <= 2000 {
                Outcome::Refused
            } else {
                Outcome::Unclear
            }
        }
        Some(Some(3)) => Outcome::Panic,
        Some(Some(_)) => Outcome::Crash,
    };
    (outcome, stderr)
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
        3 => text[..pick(rng, text.len() + 1)].to_owned(),
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

// ---------------------------------------------------------------- cases

const ONNX_SEEDS: [&str; 5] = [
    "digits-mlp.onnx",
    "digits-cnn.onnx",
    "digits-lstm.onnx",
    "digits-gru.onnx",
    "aihwkit/unseen-cnn.onnx",
];
const MLIR_SEEDS: [&str; 3] = [
    "tests/fixtures/digits-mlp.mlir",
    "tests/examples/mlp.mlir",
    "tests/examples/torch-mlir-cnn.mlir",
];
const TARGETS: [&str; 4] = ["ideal", "pcm", "rram", "hermes"];

fn compile_args(model: &str, target: &str) -> Vec<String> {
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
fn make_case(seed: u64, index: u64) -> Case {
    let mut rng = DeviceRng::new(seed).fork(index);
    match pick(&mut rng, 5) {
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

/// Runs a case, with its set-up (`@compile MODEL` first compiles the artifact the
/// rest reads).
fn run_full(case: &Case, dir: &Path) -> (Outcome, String) {
    if case.arguments.first().map(String::as_str) == Some("@compile") {
        let model = &case.arguments[1];
        let setup = Case {
            family: case.family,
            tool: "cimc",
            arguments: compile_args(model, "ideal"),
            files: vec![],
        };
        let (outcome, stderr) = run_case(&setup, dir);
        assert_eq!(outcome, Outcome::Accepted, "set-up failed: {stderr}");
        let rest = Case {
            family: case.family,
            tool: case.tool,
            arguments: case.arguments[2..].to_vec(),
            files: case.files.clone(),
        };
        return run_case(&rest, dir);
    }
    run_case(case, dir)
}

/// Saves a failing case where a person can replay it.
fn save_finding(case: &Case, dir: &Path, stderr: &str) -> PathBuf {
    let findings = root()
        .join("target/fuzz-findings")
        .join(dir.file_name().unwrap());
    std::fs::create_dir_all(&findings).unwrap();
    for (name, bytes) in &case.files {
        std::fs::write(findings.join(name), bytes).unwrap();
    }
    std::fs::write(
        findings.join("command.txt"),
        format!("{} {}\n", case.tool, case.arguments.join(" ")),
    )
    .unwrap();
    std::fs::write(findings.join("stderr.txt"), stderr).unwrap();
    findings
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bounded campaign: no case panics, crashes or hangs.
#[test]
fn fuzz_campaign_finds_no_crash() {
    let cases = env_number("CIM_FUZZ_CASES", 60);
    let seed = env_number("CIM_FUZZ_SEED", 20261201);
    let base = scratch("fuzz");
    let mut table: BTreeMap<&str, BTreeMap<Outcome, usize>> = BTreeMap::new();
    let mut failures = Vec::new();
    for index in 0..cases {
        let case = make_case(seed, index);
        let dir = base.join(format!("case-{seed}-{index}"));
        let (outcome, stderr) = run_full(&case, &dir);
        *table
            .entry(case.family)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
        if outcome == Outcome::Unclear && std::env::var_os("CIM_FUZZ_SHOW_UNCLEAR").is_some() {
            println!(
                "unclear ({}): {} {}\n{}",
                case.family,
                case.tool,
                case.arguments.join(" "),
                stderr.chars().take(600).collect::<String>()
            );
        }
        if outcome.failed() {
            let saved = save_finding(&case, &dir, &stderr);
            failures.push(format!(
                "{:?} ({}): {} -- {}",
                outcome,
                case.family,
                saved.display(),
                stderr.lines().next().unwrap_or("")
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!("fuzz campaign, seed {seed}, {cases} cases:");
    println!(
        "| input family | cases | accepted | refused | unclear message | panic | crash | hang |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (family, outcomes) in &table {
        let count = |o: Outcome| outcomes.get(&o).copied().unwrap_or(0);
        println!(
            "| {family} | {} | {} | {} | {} | {} | {} | {} |",
            outcomes.values().sum::<usize>(),
            count(Outcome::Accepted),
            count(Outcome::Refused),
            count(Outcome::Unclear),
            count(Outcome::Panic),
            count(Outcome::Crash),
            count(Outcome::Hang)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every case that once failed (`tests/fuzz-corpus/NAME/`: its files and
/// `command.txt`, `{dir}` standing for the case's directory and `{root}` for the
/// repository; `cimc @compile MODEL
/// ARGS` compiles MODEL into `{dir}/artifact` first) now refuses or accepts
/// cleanly; with an `expect.txt`, it is refused with a message that says so.
#[test]
fn fuzz_corpus_replays_clean() {
    let corpus = root().join("tests/fuzz-corpus");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        return;
    };
    let mut names: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    names.sort();
    let base = scratch("fuzz-corpus");
    for case_dir in names.iter().filter(|p| p.is_dir()) {
        let command = std::fs::read_to_string(case_dir.join("command.txt")).unwrap();
        let mut words = command.split_whitespace().map(str::to_owned);
        let tool = match words.next().as_deref() {
            Some("cimc") => "cimc",
            Some("cim-opt") => "cim-opt",
            Some("cim-translate") => "cim-translate",
            other => panic!("{}: unknown tool {other:?}", case_dir.display()),
        };
        let files = std::fs::read_dir(case_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_str().unwrap();
                !matches!(name, "command.txt" | "stderr.txt" | "expect.txt")
            })
            .map(|p| {
                (
                    p.file_name().unwrap().to_str().unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        let case = Case {
            family: "corpus",
            tool,
            arguments: words.collect(),
            files,
        };
        let dir = base.join(case_dir.file_name().unwrap());
        let (outcome, stderr) = run_full(&case, &dir);
        assert!(
            matches!(outcome, Outcome::Accepted | Outcome::Refused),
            "{}: {outcome:?}: {stderr}",
            case_dir.display()
        );
        if let Ok(expected) = std::fs::read_to_string(case_dir.join("expect.txt")) {
            assert_eq!(
                outcome,
                Outcome::Refused,
                "{}: {stderr}",
                case_dir.display()
            );
            assert!(
                stderr.contains(expected.trim()),
                "{}: expected '{}' in {stderr}",
                case_dir.display(),
                expected.trim()
            );
        }
    }
}
