//! `cimc report`: the mapping's arrays, layers, time, area and energy as JSON and
//! text, and the occupancy picture (SVG). JSON and SVG are insta snapshots (in
//! `tests/cimc/snapshots/`).

use crate::support::{cimc, compile};

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
