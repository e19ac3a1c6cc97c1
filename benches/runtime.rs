//! Runtime speed at full fidelity: one 512x512 layer, batch 1024, against plain
//! float GEMMs in the same run, on as many cores (up to 2) as the runtime uses:
//!
//! - on the `pcm` target (one 512x512 array of device pairs, one 8-bit slice,
//!   7-bit DAC with abs-max input scaling, 9-bit ADC with bound management); the
//!   bound is one 1024x512x512 GEMM per array;
//! - on the `rram` target converting every input bit plane (`per_bit_plane`:
//!   128x128 arrays, four 2-bit slices, a differential pair, 8-bit bit-serial DAC
//!   over [-1, 1], so 8 planes and the all-ones one); the bound is one GEMM of the
//!   block's shape per MVM and plane (slices x input planes GEMMs).
//!
//! `cargo bench --bench runtime`

use cim_device::rng::DeviceRng;
use cim_driver::{
    converters,
    pipeline::{self as compile, CompileOptions},
};
use cim_ir::CimContext;
use cim_sim::{Chip, Simulator};
use cim_target::Target;
use ndarray::{Array2, ArrayD, IxDyn};
use std::time::Instant;

const N: usize = 512;
const BATCH: usize = 1024;

fn best_of(runs: usize, mut work: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// The time of a `BATCH x k` by `k x n` float GEMM: on one core, and cut in two
/// halves of rows on two.
fn gemm_times(k: usize, n: usize, runs: usize) -> (f64, f64) {
    let a = Array2::from_shape_fn((BATCH, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 / 11.0);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 / 13.0 - 0.5);
    let one = best_of(runs, || {
        std::hint::black_box(a.dot(&b));
    });
    let half = BATCH / 2;
    let two = best_of(runs, || {
        std::thread::scope(|scope| {
            let (top, bottom) = (
                a.slice(ndarray::s![..half, ..]),
                a.slice(ndarray::s![half.., ..]),
            );
            let (b1, b2) = (&b, &b);
            let first = scope.spawn(move || top.dot(b1));
            let second = scope.spawn(move || bottom.dot(b2));
            std::hint::black_box((first.join().ok(), second.join().ok()));
        });
    });
    (one, two)
}

/// Maps the layer onto `target`, programs a chip, and times full-fidelity runs
/// against the bound: `gemms(module)` GEMMs of `block` (rows, cols) per run.
fn measure(
    cim: &CimContext,
    path: &std::path::Path,
    input: &ArrayD<f64>,
    target: &Target,
    runs: usize,
    gemms: impl Fn(&str) -> usize,
    block: (usize, usize),
) -> Result<(), String> {
    let options = CompileOptions {
        target: target.name.clone(),
        ..CompileOptions::default()
    };
    let (mut module, _) = compile::parse_model(cim, path).map_err(|e| e.to_string())?;
    compile::map(cim, &mut module, &options, target, true, |_, _| {}).map_err(|e| e.to_string())?;
    converters::set_full_scale_adcs(&module, target.adc.bits).map_err(|e| e.to_string())?;
    converters::set_per_plane_adcs(&module, target).map_err(|e| e.to_string())?;
    let chip = Chip {
        devices: &target.device,
        time: 3600.0,
        seed: 1,
        adc: target.adc.model(),
        wires: &target.wires,
    };
    let start = Instant::now();
    let interpreter = Simulator::new(&module)
        .and_then(|i| i.program(&chip))
        .map_err(|e| e.to_string())?;
    let programming = start.elapsed().as_secs_f64();
    let text = module.as_operation().to_string();
    let arrays = text.matches("\"cim.crossbar\"").count();
    let full = best_of(runs, || {
        interpreter
            .run("main", std::slice::from_ref(input))
            .expect("runs");
    });
    let (one, two) = gemm_times(block.0, block.1, runs.max(5));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let count = gemms(&text);
    let bound = if cores > 1 { two } else { one } * count as f64;
    println!(
        "{N}x{N} layer on '{}' ({arrays} arrays), batch {BATCH}, full fidelity at 1 h:",
        target.name
    );
    println!(
        "  programming the chip: {:.1} ms (once per chip)",
        1e3 * programming
    );
    println!(
        "  full-fidelity run:    {:.1} ms (best of {runs})",
        1e3 * full
    );
    println!(
        "  float GEMM {BATCH}x{}x{}: {:.2} ms on one core, {:.2} ms on two",
        block.0,
        block.1,
        1e3 * one,
        1e3 * two
    );
    println!(
        "  bound ({count} GEMMs on {} cores): {:.1} ms; full fidelity takes {:.2}x the bound",
        cores.min(2),
        1e3 * bound,
        full / bound
    );
    Ok(())
}

fn main() -> Result<(), String> {
    // As cimc does: large buffers are reused, not returned to the system.
    cim_driver::keep_freed_buffers();
    let mut rng = DeviceRng::new(9);
    let weights: Vec<f64> = (0..N * N).map(|_| 2.0 * rng.uniform() - 1.0).collect();
    let rows: Vec<String> = weights
        .chunks(N)
        .map(|row| {
            let values: Vec<String> = row.iter().map(|w| format!("{w:.6}")).collect();
            format!("[{}]", values.join(", "))
        })
        .collect();
    let text = format!(
        "func.func @main(%x: tensor<{BATCH}x{N}xf32>) -> tensor<{BATCH}x{N}xf32> {{\n\
           %w = arith.constant dense<[{}]> : tensor<{N}x{N}xf32>\n\
           %e = tensor.empty() : tensor<{BATCH}x{N}xf32>\n\
           %z = arith.constant 0.0 : f32\n\
           %i = linalg.fill ins(%z : f32) outs(%e : tensor<{BATCH}x{N}xf32>) -> tensor<{BATCH}x{N}xf32>\n\
           %y = linalg.matmul ins(%x, %w : tensor<{BATCH}x{N}xf32>, tensor<{N}x{N}xf32>) outs(%i : tensor<{BATCH}x{N}xf32>) -> tensor<{BATCH}x{N}xf32>\n\
           return %y : tensor<{BATCH}x{N}xf32>\n}}\n",
        rows.join(", ")
    );
    let path = std::env::temp_dir().join("cim-runtime-bench.mlir");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let cim = CimContext::new().map_err(|e| e.to_string())?;
    let input: Vec<f64> = (0..BATCH * N).map(|_| 2.0 * rng.uniform() - 1.0).collect();
    let input = ArrayD::from_shape_vec(IxDyn(&[BATCH, N]), input).map_err(|e| e.to_string())?;
    let pcm = Target::load("pcm").map_err(|e| e.to_string())?;
    // One GEMM per array.
    measure(
        &cim,
        &path,
        &input,
        &pcm,
        15,
        |text| text.matches("\"cim.crossbar\"").count(),
        (N, N),
    )?;
    let mut rram = Target::load("rram").map_err(|e| e.to_string())?;
    rram.adc.conversion = cim_target::Conversion::PerBitPlane;
    let planes = rram.dac.bits as usize + 1;
    // One GEMM per MVM and input plane (the DAC's bits and the all-ones plane).
    let block = (rram.array.rows as usize, rram.array.cols as usize);
    measure(
        &cim,
        &path,
        &input,
        &rram,
        3,
        |text| text.matches("\"cim.mvm\"").count() * planes,
        block,
    )?;
    Ok(())
}
