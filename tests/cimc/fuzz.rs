//! The fuzzing campaign as processes: each case ([`crate::fuzz_cases`]) runs its
//! tool as a process under a time and memory limit; the oracle: it exits 0, 1 or 2
//! with no Rust panic, no internal error (exit 3), no signal and no hang, and a
//! failure says `error:` in at most a few lines.
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
//! corpus once fixed. The million-case run is in-process
//! (`tests/api/fuzz_in_process.rs`).

use crate::fuzz_cases::{Case, Outcome, Table, classify, env_number, make_case, save_finding};
use crate::support::{root, scratch};
use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

/// Virtual memory a case may use, KiB (`ulimit -v`).
const MEMORY_LIMIT_KIB: u64 = 8 << 20;

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
    case.write_files(dir);
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_LIMIT_KIB}; exec \"$0\" \"$@\""))
        .arg(tool_path(case.tool))
        .args(case.arguments_in(dir))
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
        if start.elapsed() > crate::fuzz_cases::TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    let outcome = match status {
        None => Outcome::Hang,
        Some(status) => classify(status.code(), &stderr),
    };
    (outcome, stderr)
}

/// Runs a case, with its set-up (`@compile MODEL` first compiles the artifact the
/// rest reads).
fn run_full(case: &Case, dir: &Path) -> (Outcome, String) {
    if let Some((setup, rest)) = case.split_setup() {
        let (outcome, stderr) = run_case(&setup, dir);
        assert_eq!(outcome, Outcome::Accepted, "set-up failed: {stderr}");
        return run_case(&rest, dir);
    }
    run_case(case, dir)
}

/// The bounded campaign: no case panics, crashes or hangs.
#[test]
fn fuzz_campaign_finds_no_crash() {
    let cases = env_number("CIM_FUZZ_CASES", 60);
    let seed = env_number("CIM_FUZZ_SEED", 20261201);
    let base = scratch("fuzz");
    let mut table = Table::default();
    let mut failures = Vec::new();
    for index in 0..cases {
        let case = make_case(seed, index);
        let dir = base.join(format!("case-{seed}-{index}"));
        let (outcome, stderr) = run_full(&case, &dir);
        table.add(case.family, outcome);
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
            let saved = save_finding(&case, &format!("case-{seed}-{index}"), &stderr);
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
    print!("{}", table.markdown());
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
