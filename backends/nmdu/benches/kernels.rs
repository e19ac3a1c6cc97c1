//! The NMDU kernel of a layer's MVM group (two slices of a differential pair: four
//! planes of 8-bit ADC codes, 16-bit multipliers, ReLU, 16-bit outputs) on 4096
//! rows of 256 columns: LLVM-generated code against the Rust reference and against
//! the memory-bandwidth bound (the kernel's bytes at the copy bandwidth measured in
//! the same run).
//!
//! Then an LSTM cell's elementwise program on 256k points (generated code called per
//! point, against the reference), and a digital matrix product of an adapter's shape
//! (1024x256 by 256x16, then 1024x16 by 16x256).
//!
//! `cargo bench -p cim-nmdu --bench kernels`

use cim_nmdu::{
    Activation, Kernel, Tables,
    codegen::{JitCache, JitKernel},
    elementwise::{Evaluator, Instruction, Op, Operand, Program},
    reference,
};
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
    elementwise(&mut next)?;
    products(&mut next)
}

/// An LSTM cell's program (`c' = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c')`).
fn elementwise(next: &mut impl FnMut() -> u64) -> Result<(), String> {
    use Operand::{Argument as A, Temporary as T};
    let i = |op, operands: Vec<Operand>| Instruction { op, operands };
    let program = Program {
        fraction: 16,
        arguments: 5,
        instructions: vec![
            i(Op::Sigmoid, vec![A(0)]),
            i(Op::Sigmoid, vec![A(1)]),
            i(Op::Tanh, vec![A(2)]),
            i(Op::Sigmoid, vec![A(3)]),
            i(Op::Mul, vec![T(1), A(4)]),
            i(Op::Mul, vec![T(0), T(2)]),
            i(Op::Add, vec![T(4), T(5)]),
            i(Op::Tanh, vec![T(6)]),
            i(Op::Mul, vec![T(3), T(7)]),
        ],
        results: vec![T(8), T(6)],
    };
    let points = 1 << 18;
    let inputs: Vec<i32> = (0..points * 5)
        .map(|_| (next() % (12 << 16)) as i32 - (6 << 16))
        .collect();
    let mut cache = JitCache::default();
    let compiled = cache.elementwise(&program).map_err(|e| e.to_string())?;
    let mut out = vec![0i32; points * 2];
    let generated = best(10, || {
        for (point, result) in inputs.chunks_exact(5).zip(out.chunks_exact_mut(2)) {
            // SAFETY: five arguments in, two results out, as the program has.
            unsafe { compiled(point.as_ptr(), result.as_mut_ptr()) };
        }
    });
    let evaluator = Evaluator::default();
    let mut expected = vec![0i32; points * 2];
    let mut temporaries = Vec::new();
    let interpreted = best(3, || {
        for (point, result) in inputs.chunks_exact(5).zip(expected.chunks_exact_mut(2)) {
            evaluator.eval(&program, point, result, &mut temporaries);
        }
    });
    if expected != out {
        return Err("generated elementwise code and reference differ".into());
    }
    println!(
        "LSTM cell program, {points} points: generated {:.2} ms ({:.1} ns/point), reference {:.2} ms ({:.1}x)",
        generated * 1e3,
        generated * 1e9 / points as f64,
        interpreted * 1e3,
        interpreted / generated
    );
    Ok(())
}

/// A low-rank adapter's two products, as the NMDU's matrix unit runs them.
fn products(next: &mut impl FnMut() -> u64) -> Result<(), String> {
    let (m, k, r) = (1024usize, 256usize, 16usize);
    let mut values = |len: usize| -> Vec<i32> {
        (0..len)
            .map(|_| (next() % (4 << 16)) as i32 - (2 << 16))
            .collect()
    };
    let (x, down, up, base) = (values(m * k), values(k * r), values(r * k), values(m * k));
    let zeros = vec![0; m * r];
    let mut cache = JitCache::default();
    let mut out = Vec::new();
    let generated = best(10, || {
        let low = cache
            .matmul(&x, &down, &zeros, [m, k, r], 16)
            .expect("shapes fit");
        out = cache
            .matmul(&low, &up, &base, [m, r, k], 16)
            .expect("shapes fit");
    });
    let mut expected = Vec::new();
    let interpreted = best(3, || {
        let low = cim_nmdu::matmul::reference(&x, &down, &zeros, [m, k, r], 16).expect("fit");
        expected = cim_nmdu::matmul::reference(&low, &up, &base, [m, r, k], 16).expect("fit");
    });
    if expected != out {
        return Err("generated matrix product and reference differ".into());
    }
    let macs = (2 * m * k * r) as f64;
    println!(
        "adapter {m}x{k} rank {r}: generated {:.2} ms ({:.2} GMAC/s), reference {:.2} ms ({:.1}x)",
        generated * 1e3,
        macs / generated / 1e9,
        interpreted * 1e3,
        interpreted / generated
    );
    Ok(())
}
