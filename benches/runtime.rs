//! Runtime speed at full fidelity: one 512x512 layer, batch 1024, against f32 GEMMs
//! of the same shapes through the runtime's own GEMM, timed in the same run on the
//! same threads, alternating with the runs (the bound: what the arrays' products cost at the least):
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
use cim_interp::kernels::gemm;
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

/// A `BATCH x k` by `k x n` f32 GEMM through the runtime's own GEMM
/// (`cim_interp::kernels::gemm`: matrixmultiply's sgemm, a piece of rows per
/// thread of the pool the runtime uses).
fn gemm_of(k: usize, n: usize) -> impl FnMut() {
    let a = Array2::from_shape_fn((BATCH, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 / 11.0);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f32 / 13.0 - 0.5);
    move || {
        std::hint::black_box(gemm(a.view(), b.view()));
    }
}

/// The process's peak resident memory (Linux: `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Maps the layer onto `target`, programs a chip, and times full-fidelity runs
/// against the bound: an f32 GEMM of `block` (rows, cols) for every batch of
/// vectors the chip's ADCs converted (one per array and pass of bound management,
/// one per input bit plane).
fn measure(
    cim: &CimContext,
    path: &std::path::Path,
    input: &ArrayD<f64>,
    target: &Target,
    runs: usize,
    block: (usize, usize),
) -> Result<(), String> {
    let options = CompileOptions {
        target: target.name.clone(),
        ..CompileOptions::default()
    };
    let (mut module, _) = compile::parse_model(cim, path).map_err(|e| e.to_string())?;
    compile::map(cim, &mut module, &options, target, true, |_, _| {}).map_err(|e| e.to_string())?;
    // The converters as `cimc compile` sets them without calibration data.
    converters::set_defaults(&module, target).map_err(|e| e.to_string())?;
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
    let before = interpreter.converted_vectors();
    // Runs and GEMMs alternate, so both see the same minutes of a shared machine;
    // the best of each is kept.
    let mut product = gemm_of(block.0, block.1);
    let (mut full, mut one) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs {
        full = full.min(best_of(1, || {
            interpreter
                .run("main", std::slice::from_ref(input))
                .expect("runs");
        }));
        one = one.min(best_of(3, &mut product));
    }
    let gemms = (interpreter.converted_vectors() - before) as f64 / (runs * BATCH) as f64;
    let threads = cim_interp::kernels::threads();
    let bound = one * gemms;
    let flops = 2.0 * (BATCH * block.0 * block.1) as f64;
    println!(
        "{N}x{N} layer on '{}' ({arrays} arrays), batch {BATCH}, full fidelity at 1 h, {threads} threads:",
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
        "  f32 GEMM {BATCH}x{}x{}: {:.2} ms ({:.0} GFLOP/s)",
        block.0,
        block.1,
        1e3 * one,
        flops / one / 1e9
    );
    println!(
        "  bound ({gemms:.2} GEMMs: one per batch converted): {:.1} ms; full fidelity takes {:.2}x the bound",
        1e3 * bound,
        full / bound
    );
    Ok(())
}

fn main() -> Result<(), String> {
    // As cimc does: large buffers are reused, and this thread runs kernels.
    cim_driver::configure_process();
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
    // `cargo bench --bench runtime -- pcm` (or `rram`) runs one configuration.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let pcm = Target::load("pcm").map_err(|e| e.to_string())?;
    if wanted("pcm") {
        measure(&cim, &path, &input, &pcm, 15, (N, N))?;
    }
    if wanted("rram") {
        let mut rram = Target::load("rram").map_err(|e| e.to_string())?;
        rram.adc.conversion = cim_target::Conversion::PerBitPlane;
        let block = (rram.array.rows as usize, rram.array.cols as usize);
        measure(&cim, &path, &input, &rram, 3, block)?;
    }
    if let Some(peak) = peak_rss_mib() {
        println!("peak resident memory: {peak:.0} MiB");
    }
    Ok(())
}
