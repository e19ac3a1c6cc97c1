//! Runtime speed at full fidelity: one 512x512 layer on the `pcm` target (two
//! arrays: a differential pair, one 8-bit slice each, multi-level DAC), batch 1024,
//! against plain float GEMMs of the same shape in the same run. The bound is one
//! GEMM per array the layer's MVMs read (2 here: slices x input planes x pair), on
//! as many cores (up to 2) as the runtime uses.
//!
//! `cargo bench --bench runtime`

use cim_device::rng::DeviceRng;
use cim_driver::compile::{self, CompileOptions};
use cim_interp::{Chip, Interpreter};
use cim_ir::CimContext;
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
    let target = Target::load("pcm").map_err(|e| e.to_string())?;
    let options = CompileOptions {
        target: "pcm".into(),
        ..CompileOptions::default()
    };
    let (mut module, _) = compile::parse_model(&cim, &path).map_err(|e| e.to_string())?;
    compile::map(&cim, &mut module, &options, &target, true, |_, _| {})
        .map_err(|e| e.to_string())?;
    compile::set_full_scale_adcs(&module, target.adc.bits).map_err(|e| e.to_string())?;
    let input: Vec<f64> = (0..BATCH * N).map(|_| 2.0 * rng.uniform() - 1.0).collect();
    let input = ArrayD::from_shape_vec(IxDyn(&[BATCH, N]), input).map_err(|e| e.to_string())?;

    let chip = Chip {
        devices: &target.device,
        time: 3600.0,
        seed: 1,
        adc: target.adc.model(),
        wires: &target.wires,
    };
    let start = Instant::now();
    let interpreter = Interpreter::new(&module)
        .and_then(|i| i.program(&chip))
        .map_err(|e| e.to_string())?;
    let programming = start.elapsed().as_secs_f64();
    let arrays = module
        .as_operation()
        .to_string()
        .matches("\"cim.crossbar\"")
        .count();
    let full = best_of(15, || {
        interpreter
            .run("main", std::slice::from_ref(&input))
            .expect("runs");
    });
    let a = Array2::from_shape_fn((BATCH, N), |(i, j)| input[[i, j]]);
    let b = Array2::from_shape_fn((N, N), |(i, j)| weights[i * N + j]);
    let gemm = best_of(15, || {
        std::hint::black_box(a.dot(&b));
    });
    // The same GEMM cut in two halves of rows, one per core.
    let half = BATCH / 2;
    let gemm_two_cores = best_of(15, || {
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
    println!("{N}x{N} layer on 'pcm' ({arrays} arrays), batch {BATCH}, full fidelity at 1 h:");
    println!(
        "  programming the chip: {:.1} ms (once per chip)",
        1e3 * programming
    );
    println!("  full-fidelity run:    {:.1} ms (best of 15)", 1e3 * full);
    println!(
        "  float GEMM {BATCH}x{N}x{N}: {:.1} ms on one core, {:.1} ms on two (best of 15)",
        1e3 * gemm,
        1e3 * gemm_two_cores
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = if cores > 1 { gemm_two_cores } else { gemm } * arrays as f64;
    println!(
        "  bound ({arrays} GEMMs on {} cores): {:.1} ms; full fidelity takes {:.2}x the bound",
        cores.min(2),
        1e3 * bound,
        full / bound
    );
    Ok(())
}
