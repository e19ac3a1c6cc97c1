//! The mapping benchmark: the naive tiler against the e-graph mapper (area and
//! latency objectives, and, where the batch is static, area plus copies of the
//! slowest layers within the arrays naive tiling uses) on the bundled
//! fixtures and on standard CNN layer shapes (`benchmarks/*.mlir`: ResNet-18 and
//! VGG-11 as linalg; there also first-fit against dataflow placement). For each:
//! arrays, mean utilisation, the cores each layer spans (summed), the report's
//! estimated latency (layer by layer), pipeline interval and energy per inference
//! on the `ideal` target, and the time the mapping pipeline took.
//!
//! `cargo bench --bench mapping` (release; about two minutes on 2 cores).
//! Optional arguments filter the models by name.

use cim_driver::{
    pipeline::{self as compile, CompileOptions, Mapper},
    report,
};
use cim_ir::CimContext;
use cim_target::Target;
use std::{path::Path, time::Instant};

const MODELS: &[&str] = &[
    "tests/fixtures/digits-mlp.mlir",
    "tests/fixtures/digits-cnn.onnx",
    "tests/fixtures/digits-lstm.onnx",
    "tests/fixtures/digits-gru.onnx",
    "benchmarks/vgg11.mlir",
    "benchmarks/resnet18.mlir",
];

struct Row {
    mapping: String,
    report: report::Report,
    seconds: f64,
}

fn run(
    cim: &CimContext,
    model: &Path,
    target: &Target,
    options: &CompileOptions,
) -> Result<Row, String> {
    let (mut module, _) = compile::parse_model(cim, model).map_err(|e| e.to_string())?;
    let start = Instant::now();
    compile::map(cim, &mut module, options, target, true, |_, _| {}).map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let mut mapping = match (options.mapper, options.duplicate_arrays) {
        (Mapper::Naive, _) => "naive".to_owned(),
        (_, 0) => format!("egraph {}", options.objective),
        (_, copies) => format!("egraph {} +{copies} copies", options.objective),
    };
    if options.placement != Default::default() {
        mapping += &format!(", {}", options.placement);
    }
    Ok(Row {
        mapping,
        report: report::report(&module, target),
        seconds,
    })
}

fn main() -> Result<(), String> {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cim = CimContext::new().map_err(|e| e.to_string())?;
    let target = Target::load("ideal").map_err(|e| e.to_string())?;
    println!(
        "{:<22} {:<30} {:>7} {:>7} {:>7} {:>12} {:>12} {:>10} {:>6}",
        "model",
        "mapping",
        "arrays",
        "util.",
        "spans",
        "latency us",
        "interval us",
        "energy uJ",
        "map s"
    );
    for model in MODELS {
        if !filters.is_empty() && !filters.iter().any(|f| model.contains(f.as_str())) {
            continue;
        }
        let path = root.join(model);
        let naive = CompileOptions {
            mapper: Mapper::Naive,
            ..CompileOptions::default()
        };
        let area = CompileOptions::default();
        let latency = CompileOptions {
            objective: cim_egraph::cost::Objective::Latency,
            ..CompileOptions::default()
        };
        let mut rows = vec![
            run(&cim, &path, &target, &naive)?,
            run(&cim, &path, &target, &area)?,
            run(&cim, &path, &target, &latency)?,
        ];
        // The arrays naive tiling uses beyond the e-graph's, spent on copies: cim-map
        // counts arrays before signs are split and bits sliced, which multiply
        // each by 2 (differential pairs) times the slices of a weight.
        // Only a static batch has rows to share out: the fixtures' batch is dynamic.
        let slices = area.weight_bits.div_ceil(target.array.cell_bits) as usize;
        let spare = rows[0].report.arrays.saturating_sub(rows[1].report.arrays) / (2 * slices);
        if spare > 0 && model.starts_with("benchmarks/") {
            let copies = CompileOptions {
                duplicate_arrays: spare as u64,
                ..CompileOptions::default()
            };
            rows.push(run(&cim, &path, &target, &copies)?);
            let first_fit = CompileOptions {
                placement: cim_passes::place::Strategy::FirstFit,
                ..CompileOptions::default()
            };
            rows.push(run(&cim, &path, &target, &first_fit)?);
        }
        for row in rows {
            let r = &row.report;
            // Cores per layer, summed: partial sums of a layer spread over more
            // cores travel further.
            let spans: usize = r.layers.iter().map(|layer| layer.cores).sum();
            println!(
                "{:<22} {:<30} {:>7} {:>6.1}% {:>7} {:>12.1} {:>12.1} {:>10.3} {:>6.2}",
                model.rsplit('/').next().unwrap_or(model),
                row.mapping,
                r.arrays,
                100.0 * r.utilisation,
                spans,
                r.latency_ns / 1e3,
                r.interval_ns / 1e3,
                r.energy_nj / 1e3,
                row.seconds
            );
        }
    }
    Ok(())
}
