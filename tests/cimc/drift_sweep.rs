//! `cimc eval --drift-sweep`: accuracy over drift times on PCM chips, written as CSV
//! and plotted as SVG and PNG, and streamed as JSON Lines (`--json-out`).

use crate::support::{accuracies, calibrated_mlp};

/// `--drift-sweep`: a CSV row per time with its chips' mean and spread, the
/// same points plotted as SVG and PNG (the series' colour where the points are),
/// and, with `--json-out`, a JSON line per time with the `--json` row.
#[test]
fn drift_sweep_writes_csv_svg_and_png() {
    let artifact = calibrated_mlp("sweep", "pcm");
    let prefix = artifact.parent().unwrap().join("sweep");
    let stream = artifact.parent().unwrap().join("sweep.jsonl");
    let rows = accuracies(
        &artifact,
        "digits-test-x.npy",
        &[
            "--drift-sweep",
            prefix.to_str().unwrap(),
            "--drift-times",
            "1,86400,31557600",
            "--repeats",
            "2",
            "--json-out",
            stream.to_str().unwrap(),
        ],
    );
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    let streamed = std::fs::read_to_string(&stream).unwrap();
    let streamed: Vec<serde_json::Value> = streamed
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(streamed.len(), 3);
    for (line, row) in streamed.iter().zip(rows.as_array().unwrap()) {
        assert_eq!(line["schema"], 1, "{line}");
        assert_eq!(line["kind"], "accuracy", "{line}");
        assert_eq!(&line["data"], row);
    }
    let csv = std::fs::read_to_string(prefix.with_extension("csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "drift_time_s,accuracy,std,chips");
    assert_eq!(lines.len(), 4, "{csv}");
    for (line, row) in lines[1..].iter().zip(rows.as_array().unwrap()) {
        let fields: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        // serde_json reads floats to within an ulp or so.
        assert!((fields[1] - row["accuracy"].as_f64().unwrap()).abs() < 1e-12);
        assert_eq!(fields[3], 2.0);
    }
    let svg = std::fs::read_to_string(prefix.with_extension("svg")).unwrap();
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    let png = std::fs::read(prefix.with_extension("png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((frame.width, frame.height), (640, 400));
    assert_eq!(frame.color_type, png::ColorType::Rgb);
    let series = pixels.chunks(3).filter(|p| *p == SERIES).count();
    // Three discs of radius 3 and the lines between them.
    assert!(series > 3 * 25, "{series} series pixels");
}

/// The plots' series colour (#4e79a7, `cim_driver::plot::SERIES`).
const SERIES: [u8; 3] = [0x4e, 0x79, 0xa7];
