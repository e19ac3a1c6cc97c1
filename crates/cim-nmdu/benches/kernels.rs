//! The NMDU kernel of a layer's MVM group (two slices of a differential pair: four
//! planes of 8-bit ADC codes, 16-bit multipliers, ReLU, 16-bit outputs) on 4096
//! rows of 256 columns: LLVM-generated code against the Rust reference and against
//! the memory-bandwidth bound (the kernel's bytes at the copy bandwidth measured in
//! the same run).
//!
//! `cargo bench -p cim-nmdu --bench kernels`

use cim_nmdu::{Activation, Kernel, Tables, codegen::JitKernel, reference};
use inkwell::context::Context;
use std::time::Instant;

/// Best of `runs` timings of `work`, in seconds.
fn best(runs: usize, mut work: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), String> {
    let (rows, cols) = (4096usize, 256usize);
    let kernel = Kernel {
        planes: 4,
        code_bits: 8,
        multiplier_bits: 16,
        accumulator_bits: 32,
        // 4 planes · 255 · 2^15 + 2^11 < 2^28.
        sum_bits: 29,
        activation: Activation::Relu,
        out_shift: 9,
        out_bits: 16,
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tables = Tables {
        cols,
        multipliers: (0..4 * cols)
            .map(|i| {
                let m = (next() % 32_768) as i32;
                if i / cols >= 2 { -m } else { m }
            })
            .collect(),
        bias: (0..cols).map(|_| (next() % 4096) as i64 - 2048).collect(),
    };
    let planes: Vec<Vec<i32>> = (0..4)
        .map(|_| (0..rows * cols).map(|_| (next() % 256) as i32).collect())
        .collect();
    let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();

    let context = Context::create();
    let start = Instant::now();
    let jit = JitKernel::new(&context, &kernel).map_err(|e| e.to_string())?;
    let compile = start.elapsed().as_secs_f64();
    let mut out = vec![0i32; rows * cols];
    let generated = best(20, || {
        jit.run_into(&tables, &views, rows, &mut out)
            .expect("inputs fit");
    });
    let mut expected = Vec::new();
    let interpreted = best(5, || {
        expected = reference::run(&kernel, &tables, &views, rows).expect("inputs fit");
    });
    if expected != out {
        return Err("generated code and reference differ".into());
    }
    // The kernel reads four planes and writes one output, all i32.
    let bytes = (5 * rows * cols * 4) as f64;
    // Copy bandwidth: a buffer as large as the kernel's traffic, read and written.
    let source = vec![1u8; bytes as usize / 2];
    let mut target = vec![0u8; bytes as usize / 2];
    let copy = best(20, || target.copy_from_slice(&source));
    std::hint::black_box(&target);
    let bandwidth = bytes / copy;
    println!(
        "{rows}x{cols}, 4 planes, ReLU, 16-bit out; {:.1} MB moved",
        bytes / 1e6
    );
    println!("compile (generate, O2, JIT)   {:>9.2} ms", compile * 1e3);
    println!(
        "generated code               {:>9.3} ms  {:>6.1} GB/s",
        generated * 1e3,
        bytes / generated / 1e9
    );
    println!(
        "Rust reference               {:>9.3} ms  {:>6.1} GB/s  ({:.1}x the generated code)",
        interpreted * 1e3,
        bytes / interpreted / 1e9,
        interpreted / generated
    );
    println!(
        "memory bound (copy at {:.1} GB/s) {:>6.3} ms  generated code at {:.2}x the bound",
        bandwidth / 1e9,
        copy * 1e3,
        generated / copy
    );
    Ok(())
}
