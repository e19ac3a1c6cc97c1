//! Generated kernels give the reference's bits; objects are real ELF files for each
//! machine; the IR of a small kernel is snapshotted.

use cim_nmdu::{
    Activation, Kernel, Tables,
    codegen::{self, CodegenError, JitKernel},
    reference,
};
use inkwell::context::Context;
use proptest::prelude::*;

fn kernel_strategy() -> impl Strategy<Value = Kernel> {
    (
        (1usize..=6, 1u32..=24),
        2u32..=24,
        8u32..=48,
        0usize..4,
        (-300_000i64..=300_000, 0i64..=600_000),
        0u32..=20,
        4u32..=32,
    )
        .prop_map(
            |(
                (planes, code_bits),
                multiplier_bits,
                accumulator_bits,
                activation,
                (lo, span),
                out_shift,
                out_bits,
            )| {
                Kernel {
                    planes,
                    code_bits,
                    multiplier_bits,
                    accumulator_bits,
                    sum_bits: 64,
                    activation: match activation {
                        0 => Activation::Identity,
                        1 => Activation::Relu,
                        2 => Activation::Clip { lo, hi: lo + span },
                        _ => Activation::Leaky {
                            slope: lo % (1 << 15),
                        },
                    },
                    out_shift,
                    out_bits,
                }
            },
        )
}

/// Random tables and codes for `kernel`: multipliers over their whole width, biases
/// over the accumulator's, codes over 14 signed bits (some beyond the kernel's code
/// width, some negative: both saturate).
fn inputs(kernel: &Kernel, rows: usize, cols: usize, seed: u64) -> (Tables, Vec<Vec<i32>>) {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let span = |bits: u32, draw: u64| (draw % (1u64 << bits)) as i64 - (1i64 << (bits - 1));
    let multipliers = (0..kernel.planes * cols)
        .map(|_| span(kernel.multiplier_bits, next()) as i32)
        .collect();
    let bias = (0..cols)
        .map(|_| span(kernel.accumulator_bits, next()))
        .collect();
    let planes = (0..kernel.planes)
        .map(|_| (0..rows * cols).map(|_| span(14, next()) as i32).collect())
        .collect();
    (
        Tables {
            cols,
            multipliers,
            bias,
        },
        planes,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(6), ..ProptestConfig::default() })]

    /// JIT-compiled code and the reference agree bit for bit.
    #[test]
    fn generated_code_matches_the_reference(
        kernel in kernel_strategy(),
        rows in 0usize..5,
        cols in 0usize..40,
        seed in any::<u64>(),
    ) {
        let (tables, planes) = inputs(&kernel, rows, cols, seed);
        // The tightest bound the tables keep (32 bits or less: the narrow code), or
        // a looser one.
        let kernel = Kernel {
            sum_bits: (cim_nmdu::sum_bits(&tables, kernel.planes, kernel.code_bits)
                + (seed % 3) as u32)
                .min(64),
            ..kernel
        };
        let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();
        let expected = reference::run(&kernel, &tables, &views, rows).unwrap();
        let context = Context::create();
        let jit = JitKernel::new(&context, &kernel).unwrap();
        prop_assert_eq!(jit.run(&tables, &views, rows).unwrap(), expected);
    }
}

fn example() -> Kernel {
    // Two slices (shift 0 and 4) of a differential pair, ReLU, int8 out.
    Kernel {
        planes: 4,
        code_bits: 8,
        multiplier_bits: 16,
        accumulator_bits: 32,
        sum_bits: 32,
        activation: Activation::Relu,
        out_shift: 1,
        out_bits: 8,
    }
}

/// Two columns: slice multipliers 1 and 16, negative planes subtracted.
fn example_tables() -> Tables {
    Tables {
        cols: 2,
        multipliers: vec![1, 1, -1, -1, 16, 16, -16, -16],
        bias: vec![4, 0],
    }
}

#[test]
fn objects_for_each_machine() {
    // ELF e_machine: x86-64 62, AArch64 183, RISC-V 243.
    for (machine, code) in [("x86_64", 62u16), ("aarch64", 183), ("riscv64", 243)] {
        let object = codegen::object(&example(), machine).unwrap();
        assert_eq!(&object[..4], b"\x7fELF", "{machine}");
        assert_eq!(
            u16::from_le_bytes([object[18], object[19]]),
            code,
            "{machine}"
        );
        let name = codegen::FUNCTION.as_bytes();
        assert!(
            object.windows(name.len()).any(|w| w == name),
            "{machine}: no symbol"
        );
    }
    let error = codegen::object(&example(), "nonsense-none-none").unwrap_err();
    assert!(matches!(error, CodegenError::Llvm(_)), "{error}");
}

#[test]
fn ir_of_a_small_kernel() {
    let ir = codegen::llvm_ir(&example(), Some("x86_64")).unwrap();
    // The column loop is vectorised for a generic x86-64.
    assert!(ir.contains("vector.body"), "{ir}");
    insta::assert_snapshot!(ir);
}

#[test]
fn bad_kernels_and_inputs_are_refused() {
    let kernel = Kernel {
        out_bits: 1,
        ..example()
    };
    assert_eq!(
        codegen::llvm_ir(&kernel, None).unwrap_err(),
        CodegenError::Kernel("output width 1 is not in 2..=32".into())
    );
    let context = Context::create();
    let jit = JitKernel::new(&context, &example()).unwrap();
    let plane: &[i32] = &[1, 2];
    let error = jit.run(&example_tables(), &[plane], 1).unwrap_err();
    assert_eq!(
        error,
        CodegenError::Inputs("1 planes for a kernel of 4".into())
    );
    let wide = Tables {
        multipliers: vec![1 << 15; 8],
        ..example_tables()
    };
    let error = jit.run(&wide, &[plane; 4], 1).unwrap_err();
    assert_eq!(
        error,
        CodegenError::Inputs("multiplier 32768 does not fit 16 bits".into())
    );
    let error = jit.run(&example_tables(), &[plane; 4], 2).unwrap_err();
    assert_eq!(
        error,
        CodegenError::Inputs("a plane of 2 codes for 2 rows of 2 columns".into())
    );
}

#[test]
fn example_values() {
    // Column 0: 4 + (10 - 2) + (3 - 1)·16 = 44; ReLU; >> 1 (rounding) → 22.
    // Column 1 goes negative: ReLU gives 0. The second row doubles the first.
    let planes: [&[i32]; 4] = [
        &[10, 0, 20, 0],
        &[2, 50, 4, 100],
        &[3, 0, 6, 0],
        &[1, 0, 2, 0],
    ];
    let out = reference::run(&example(), &example_tables(), &planes, 2).unwrap();
    assert_eq!(out, vec![22, 0, 42, 0]);
    let context = Context::create();
    let jit = JitKernel::new(&context, &example()).unwrap();
    assert_eq!(jit.run(&example_tables(), &planes, 2).unwrap(), out);
}

/// Every 16-bit input: the generated table lookup gives the reference's bits, and
/// the lookup stays within its documented error of f64.
#[test]
fn activations_are_bit_exact_and_within_their_error() {
    use cim_nmdu::activation::{Function, Lut};
    let mut cache = codegen::JitCache::default();
    for (function, bound) in [
        (Function::Sigmoid, 4e-4),
        (Function::Tanh, 7e-4),
        (Function::Erf, 7e-4),
    ] {
        let lut = Lut::new(function);
        let generated = cache.activation(function).unwrap();
        for q in i32::from(i16::MIN)..=i32::from(i16::MAX) {
            // SAFETY: the generated function takes and returns an i32, nothing else.
            let ours = unsafe { generated(q) };
            assert_eq!(ours, lut.eval(q), "{function:?} at {q}");
        }
        let error = lut.max_error();
        assert!(error <= bound, "{function:?}: {error}");
        println!("{function:?}: max error {error:.2e}");
    }
}

/// Generated RISC-V code runs: a static executable built around the kernel (random
/// tables and codes, a 32-bit and a 64-bit accumulation) checks its outputs against
/// the reference's under `qemu-riscv64`, and a wrong expectation makes it fail.
/// `tools/install-deps.sh` installs qemu-user and lld.
#[test]
fn riscv64_code_runs_under_qemu() {
    let dir = std::env::temp_dir().join(format!("cim-nmdu-riscv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |name: &str,
               kernel: &Kernel,
               tables: &Tables,
               planes: &[&[i32]],
               rows: usize,
               expected: &[i32]| {
        let object = codegen::riscv64_self_check(kernel, tables, planes, rows, expected).unwrap();
        let (o, exe) = (dir.join(format!("{name}.o")), dir.join(name));
        std::fs::write(&o, object).unwrap();
        let linked = std::process::Command::new("/usr/lib/llvm-22/bin/ld.lld")
            .args(["-static", "-e", "_start", "-o"])
            .arg(&exe)
            .arg(&o)
            .output()
            .expect("ld.lld runs (tools/install-deps.sh installs lld-22)");
        assert!(
            linked.status.success(),
            "{}",
            String::from_utf8_lossy(&linked.stderr)
        );
        std::process::Command::new("qemu-riscv64")
            .arg(&exe)
            .status()
            .expect("qemu-riscv64 runs (tools/install-deps.sh installs qemu-user)")
            .code()
    };
    // A 24-bit accumulator keeps every sum within 32 bits (the narrow code); a
    // 32-bit one with a loose bound takes 64-bit lanes.
    for (seed, accumulator_bits, loose) in [(3u64, 24, false), (4, 32, true)] {
        let kernel = Kernel {
            accumulator_bits,
            ..example()
        };
        let (tables, planes) = inputs(&kernel, 5, 37, seed);
        let tight = cim_nmdu::sum_bits(&tables, kernel.planes, kernel.code_bits);
        assert!(loose || tight <= 32, "{tight}");
        let kernel = Kernel {
            sum_bits: if loose { 64 } else { tight },
            ..kernel
        };
        let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();
        let expected = reference::run(&kernel, &tables, &views, 5).unwrap();
        assert_eq!(
            run(
                &format!("check{seed}"),
                &kernel,
                &tables,
                &views,
                5,
                &expected
            ),
            Some(0)
        );
        let mut wrong = expected.clone();
        wrong[36] += 1;
        assert_eq!(
            run(&format!("wrong{seed}"), &kernel, &tables, &views, 5, &wrong),
            Some(1)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
