//! Design-space exploration (`cimc explore`): the same space gives the same
//! results and front, a rerun skips what is done, a plan split into tasks and
//! merged gives what one machine gives (also run through a local HyperQueue),
//! the evolutionary search is deterministic and resumable, constraints and
//! failures are recorded, costs follow the converters' resolution, bad spaces are
//! refused by key.

use crate::support::{cimc, fixture, root, scratch};
use std::path::Path;

/// A small space over the digits MLP on `pcm`: 3 ADC resolutions x 2 array heights
/// x 2 mapping objectives, two chips a day after programming.
const SPACE: &str = r#"
base_target = "pcm"
objectives = ["accuracy", "energy_nj", "area_mm2"]
[target.array]
rows = { from = 64, to = 128, times = 2 }
[target.adc]
bits = { from = 4, to = 8, step = 2 }
[compile]
objective = ["area", "energy"]
[evaluate]
chips = 2
drift_times = [86400]
"#;

fn write_space(dir: &Path, text: &str) -> String {
    let path = dir.join("space.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `cimc explore` of the MLP over `space` into `run`, with `extra` arguments.
fn explore(space: &str, run: &Path, extra: &[&str]) -> (i32, String, String) {
    let (model, data, labels, calibration) = (
        fixture("digits-mlp.onnx"),
        fixture("digits-test-x.npy"),
        fixture("digits-test-y.npy"),
        fixture("digits-calib-x.npy"),
    );
    let mut arguments = vec![
        "explore",
        &model,
        "--space",
        space,
        "--data",
        &data,
        "--labels",
        &labels,
        "--calibration",
        &calibration,
        "-o",
        run.to_str().unwrap(),
    ];
    arguments.extend_from_slice(extra);
    cimc(&arguments)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows of a results CSV as maps from column to value.
fn rows(csv: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn number(row: &std::collections::BTreeMap<String, String>, column: &str) -> f64 {
    row[column].parse().unwrap()
}

/// The same space explored twice gives the same results, and a front no measured
/// point dominates; a rerun evaluates nothing again; ADC energy and area grow
/// with resolution, everything else the same.
#[test]
fn a_space_explores_to_the_same_front_twice_and_a_rerun_skips_what_is_done() {
    let dir = scratch("explore-twice");
    let space = write_space(&dir, SPACE);
    let (first, second) = (dir.join("first"), dir.join("second"));
    let (code, stdout, stderr) = explore(&space, &first, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("12 of 12 points evaluated"), "{stdout}");
    let stream = dir.join("second.jsonl");
    let (code, stdout, stderr) = explore(
        &space,
        &second,
        &["--json", "--json-out", stream.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let merged: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(merged["schema"], 1, "{stdout}");
    // A JSON line per point as it was saved, holding its result file.
    let streamed = read(&stream);
    assert_eq!(streamed.lines().count(), 12, "{streamed}");
    for line in streamed.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            (line["schema"].as_u64(), line["kind"].as_str()),
            (Some(1), Some("point"))
        );
        let index = line["data"]["index"].as_u64().unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&read(&second.join(format!("points/{index:06}.json")))).unwrap();
        assert_eq!(line["data"], saved);
    }
    let csv = read(&first.join("points.csv"));
    assert_eq!(csv, read(&second.join("points.csv")));
    assert_eq!(
        read(&first.join("front.csv")),
        read(&second.join("front.csv"))
    );
    let rows = rows(&csv);
    assert_eq!(rows.len(), 12);
    let front: Vec<_> = rows.iter().filter(|r| r["on_front"] == "true").collect();
    assert_eq!(front.len(), merged["front"].as_array().unwrap().len());
    assert!(!front.is_empty());
    let measured: Vec<_> = rows.iter().filter(|r| r["status"] == "ok").collect();
    for point in &front {
        let dominated = measured.iter().any(|other| {
            let (a, e, s) = (
                number(other, "accuracy"),
                number(other, "energy_nj"),
                number(other, "area_mm2"),
            );
            let (pa, pe, ps) = (
                number(point, "accuracy"),
                number(point, "energy_nj"),
                number(point, "area_mm2"),
            );
            a >= pa && e <= pe && s <= ps && (a > pa || e < pe || s < ps)
        });
        assert!(!dominated, "front point {} is dominated", point["index"]);
    }
    // Costs follow the ADC's resolution (energy and area double per bit).
    for low in rows.iter().filter(|r| r["target.adc.bits"] == "4") {
        let high = rows
            .iter()
            .find(|r| {
                r["target.adc.bits"] == "8"
                    && r["target.array.rows"] == low["target.array.rows"]
                    && r["compile.objective"] == low["compile.objective"]
            })
            .unwrap();
        assert!(number(high, "energy_nj") > number(low, "energy_nj"));
        assert!(number(high, "area_mm2") > number(low, "area_mm2"));
    }
    for name in ["front-energy_nj.svg", "front-area_mm2.png", "points.jsonl"] {
        assert!(first.join(name).exists(), "{name}");
    }
    let jsonl = read(&first.join("points.jsonl"));
    let line: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(line["schema"], 1);
    // A rerun keeps every result as it was (their wall times included).
    let results = read(&first.join("points/000000.json"));
    let (code, stdout, stderr) = explore(&space, &first, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(results, read(&first.join("points/000000.json")));
    assert_eq!(csv, read(&first.join("points.csv")));
    // Another space in the same run directory is refused.
    let other = write_space(&dir, &SPACE.replace("chips = 2", "chips = 3"));
    let (code, _, stderr) = explore(&other, &first, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds another exploration"), "{stderr}");
}

/// The small space with nothing pruned (so every point is measured however the
/// points are split) run on this machine into `DIR/local` and planned into
/// `DIR/cluster`: the directories, and the plan's task count (checked: 12).
fn run_here_and_plan(
    name: &str,
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    std::path::PathBuf,
    u64,
) {
    let dir = scratch(name);
    let space = write_space(
        &dir,
        &SPACE.replace("chips = 2", "chips = 2\nprune_margin = -1.0"),
    );
    let (local, cluster) = (dir.join("local"), dir.join("cluster"));
    let (code, stdout, stderr) = explore(&space, &local, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, stderr) = explore(&space, &cluster, &["--plan", "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let tasks = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["tasks"]
        .as_u64()
        .unwrap();
    assert_eq!(tasks, 12);
    (dir, local, cluster, tasks)
}

/// Planned, run as one task per point in separate processes (in reverse order,
/// as a cluster may) and merged, a space gives what one machine gives when
/// nothing is pruned.
#[test]
fn plan_tasks_and_merge_give_what_one_machine_gives() {
    let (dir, local, cluster, tasks) = run_here_and_plan("explore-tasks");
    let run = cluster.to_str().unwrap();
    for task in (0..tasks).rev() {
        let (code, stdout, stderr) = cimc(&["explore", "-o", run, "--task", &task.to_string()]);
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    let (code, stdout, stderr) = cimc(&["explore", "-o", run, "--merge"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        read(&local.join("points.csv")),
        read(&cluster.join("points.csv"))
    );
    let (code, _, stderr) = cimc(&["explore", "-o", run, "--task", "12"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("points 0 to 11"), "{stderr}");
    let missing = dir.join("missing");
    let (code, _, stderr) = cimc(&["explore", "-o", missing.to_str().unwrap(), "--merge"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("plan.json"), "{stderr}");
}

/// The Python of the venv `tools/ci-venv.sh` makes (HyperQueue), if there is one;
/// CI must have it.
fn ci_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("CIM_CI_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci-venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{}: missing; tools/ci-venv.sh makes it (tools/test.sh runs it)",
        python.display()
    );
    eprintln!(
        "skipped: {} is missing (run tools/ci-venv.sh)",
        python.display()
    );
    None
}

/// The planned space run through a local HyperQueue server and worker (its PyPI
/// package), a task per point as a job array runs them, gives what one machine
/// gives.
#[test]
fn tasks_run_through_a_local_hyperqueue() {
    let Some(python) = ci_python() else {
        return;
    };
    let (_, local, cluster, _) = run_here_and_plan("explore-hyperqueue");
    let output = std::process::Command::new(python)
        .arg(root().join("tools/explore_hyperqueue.py"))
        .args(["--cimc", env!("CARGO_BIN_EXE_cimc"), "--run"])
        .arg(&cluster)
        .args(["--cores", "2"])
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{said}");
    assert!(said.contains("12 tasks"), "{said}");
    let run = cluster.to_str().unwrap();
    let (code, stdout, stderr) = cimc(&["explore", "-o", run, "--merge"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("12 of 12 points evaluated"), "{stdout}");
    assert_eq!(
        read(&local.join("points.csv")),
        read(&cluster.join("points.csv"))
    );
}

/// An evolutionary search of a 36-point space (linked choices of cells and
/// encodings) measuring 12 of 24 points estimated: the same seed
/// evaluates the same points and finds the same front, a rerun evaluates nothing
/// new, the search log names what it evaluated, the comparison with the
/// exhaustive run is reported, and it will not be split into cluster tasks.
#[test]
fn the_evolutionary_search_is_deterministic_and_resumable() {
    let dir = scratch("explore-search");
    let exhaustive = format!(
        "{SPACE}{}",
        r#"
[linked]
cells = [
    { "target.array.devices" = "pair", "compile.encoding" = "pair" },
    { "target.array.devices" = "single", "compile.encoding" = "differential" },
    { "target.array.devices" = "single", "compile.encoding" = "offset" },
]
"#
    );
    let searched = format!(
        "{exhaustive}\n[search]\nmethod = \"evolutionary\"\nbudget = 12\npopulation = 6\nscreen = 2\nseed = 5\n"
    );
    let all_dir = dir.join("all");
    std::fs::create_dir_all(&all_dir).unwrap();
    let all_space = write_space(&all_dir, &exhaustive);
    let space = write_space(&dir, &searched);
    let (all, first, second) = (
        dir.join("exhaustive"),
        dir.join("first"),
        dir.join("second"),
    );
    let (code, stdout, stderr) = explore(&all_space, &all, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("36 of 36 points evaluated"), "{stdout}");
    let against = ["--against", all.to_str().unwrap()];
    let (code, stdout, stderr) = explore(&space, &first, &against);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("24 of 36 points evaluated"), "{stdout}");
    assert!(stdout.contains("front hypervolume"), "{stdout}");
    assert!(
        stdout.contains("generation   0:    12 points evaluated"),
        "{stdout}"
    );
    let log: serde_json::Value = serde_json::from_str(&read(&first.join("search.json"))).unwrap();
    let order: Vec<u64> = log["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(order.len(), 24);
    assert_eq!(log["measured"].as_array().unwrap().last().unwrap(), 12);
    for index in &order {
        assert!(first.join(format!("points/{index:06}.json")).exists());
    }
    let (code, stdout, stderr) = explore(&space, &second, &["--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        read(&first.join("points.csv")),
        read(&second.join("points.csv"))
    );
    assert_eq!(
        read(&first.join("search.json")),
        read(&second.join("search.json"))
    );
    // A rerun replays the search from the saved results: nothing changes.
    let before = read(&first.join("points.jsonl"));
    let (code, stdout, stderr) = explore(
        &space,
        &first,
        &["--json", "--against", all.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(before, read(&first.join("points.jsonl")));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["schema"], 1);
    let fraction = report["comparison"]["fraction"].as_f64().unwrap();
    assert!(fraction > 0.0 && fraction <= 1.0 + 1e-9, "{fraction}");
    // The exhaustive run compared with itself is whole.
    let (code, stdout, stderr) = explore(
        &all_space,
        &all,
        &["--json", "--against", all.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!((report["comparison"]["fraction"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    let (code, _, stderr) = explore(&space, &dir.join("planned"), &["--plan"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("evolutionary search"), "{stderr}");
}

/// A point outside a cost constraint is recorded infeasible before any chip runs;
/// one whose target is invalid is recorded failed with the key, and the others
/// go on.
#[test]
fn constraints_and_failures_are_recorded_per_point() {
    let dir = scratch("explore-constraints");
    let space = write_space(
        &dir,
        r#"
base_target = "pcm"
objectives = ["accuracy", "area_mm2"]
[target.array]
cell_bits = [0, 8]
[target.adc]
bits = [4, 9]
[constraints]
area_mm2 = { max = 0.05 }
[evaluate]
chips = 1
"#,
    );
    let run = dir.join("run");
    let (code, stdout, stderr) = explore(&space, &run, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let rows = rows(&read(&run.join("points.csv")));
    let status = |cell: &str, adc: &str| {
        rows.iter()
            .find(|r| r["target.array.cell_bits"] == cell && r["target.adc.bits"] == adc)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("0", "4"), "failed");
    assert_eq!(status("8", "4"), "ok");
    assert_eq!(status("8", "9"), "infeasible");
    let jsonl = read(&run.join("points.jsonl"));
    let failed: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("array.cell_bits"),
        "{failed}"
    );
}

/// Spaces that cannot be explored are refused, naming the key.
#[test]
fn bad_spaces_are_refused_by_key() {
    let dir = scratch("explore-bad");
    for (text, key) in [
        ("[compile]\nwight_bits = [4]", "compile.wight_bits"),
        ("[target.adc]\nbits = []", "target.adc.bits"),
        ("[target.adc]\nbits = 4", "target.adc.bits"),
        (
            "[target.adc]\nbits = { from = 8, to = 4 }",
            "target.adc.bits",
        ),
        (
            "[target.array]\nrows = { from = 64, to = 512, times = 1 }",
            "target.array.rows",
        ),
        ("objectives = [\"speed\"]", "objectives"),
        ("[constraints]\nspeed = { max = 1 }", "constraints.speed"),
        ("[evaluate]\nchips = 0", "evaluate.chips"),
        ("[target.adc]\nnoise = [0.01, nan]", "target.adc.noise"),
        ("[compile]\nerror_time = [inf]", "compile.error_time"),
        (
            "[target.dac]\ninput_range = [[-1.0, nan]]",
            "target.dac.input_range",
        ),
        ("[evaluate]\ndrift_times = [-1.0]", "evaluate.drift_times"),
        ("base_target = \"no-such-target\"", "base_target"),
        ("colour = 1", "colour"),
        (
            "[linked]\ncells = [{ \"compile.colour\" = 1 }]",
            "linked.cells.compile.colour",
        ),
        ("[linked]\ncells = [4, 8]", "linked.cells"),
        (
            "[target.adc]\nbits = [4]\n[linked]\nadc = [{ \"target.adc.bits\" = 6 }]",
            "linked.adc.target.adc.bits",
        ),
        ("[search]\nmethod = \"annealing\"", "search"),
        ("[search]\npopulation = 1", "search.population"),
        ("[search]\nscreen = 0", "search.screen"),
    ] {
        let space = write_space(&dir, text);
        let (code, stdout, stderr) = explore(&space, &dir.join("run"), &[]);
        assert_eq!(code, 2, "{text}: {stdout}{stderr}");
        assert!(stderr.contains(key), "{text}: {stderr}");
    }
    let (code, _, stderr) = cimc(&["explore", "-o", dir.join("run").to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--space"), "{stderr}");
    // A model that does not import is refused once, not recorded as every
    // point failing.
    let space = write_space(&dir, SPACE);
    let (data, labels) = (fixture("digits-test-x.npy"), fixture("digits-test-y.npy"));
    let run = dir.join("not-a-model");
    let (code, _, stderr) = cimc(&[
        "explore",
        &space,
        "--space",
        &space,
        "--data",
        &data,
        "--labels",
        &labels,
        "-o",
        run.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("space.toml"), "{stderr}");
    assert!(!run.join("points.jsonl").exists());
}
