//! Generated kernels give the reference's bits; objects are real ELF files for each
//! machine; the IR of a small kernel is snapshotted.

use cim_nmdu::{
    Activation, Kernel,
    codegen::{self, CodegenError, JitKernel},
    reference,
};
use inkwell::context::Context;
use proptest::prelude::*;

fn kernel_strategy() -> impl Strategy<Value = Kernel> {
    (
        proptest::collection::vec(0u32..=12, 1..=4),
        any::<bool>(),
        (0u32..=8).prop_flat_map(|scale_frac| (Just(scale_frac), 0..=scale_frac)),
        0usize..3,
        (-300i64..=300, 0i64..=600),
        0u32..=12,
        4u32..=16,
    )
        .prop_map(
            |(
                shifts,
                differential,
                (scale_frac, offset_frac),
                activation,
                (lo, span),
                out_shift,
                out_bits,
            )| Kernel {
                shifts,
                differential,
                scale_frac,
                offset_frac,
                activation: match activation {
                    0 => Activation::Identity,
                    1 => Activation::Relu,
                    _ => Activation::Clip { lo, hi: lo + span },
                },
                out_shift,
                out_bits,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, rng_seed: proptest::test_runner::RngSeed::Fixed(6), ..ProptestConfig::default() })]

    /// JIT-compiled code and the reference agree bit for bit.
    #[test]
    fn generated_code_matches_the_reference(
        kernel in kernel_strategy(),
        n in 0usize..40,
        seed in any::<u64>(),
    ) {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let planes: Vec<Vec<i32>> = (0..kernel.planes())
            .map(|_| (0..n).map(|_| (next() % 131_072) as i32 - 65_536).collect())
            .collect();
        let scale: Vec<u8> = (0..n).map(|_| next() as u8).collect();
        let offset: Vec<i8> = (0..n).map(|_| next() as i8).collect();
        let views: Vec<&[i32]> = planes.iter().map(Vec::as_slice).collect();
        let expected = reference::run(&kernel, &views, &scale, &offset);
        let context = Context::create();
        let jit = JitKernel::new(&context, &kernel).unwrap();
        prop_assert_eq!(jit.run(&views, &scale, &offset).unwrap(), expected);
    }
}

fn example() -> Kernel {
    // Two 4-bit slices of a differential pair, Q1.7 scale, Q7.1 offset, ReLU, int8.
    Kernel {
        shifts: vec![0, 4],
        differential: true,
        scale_frac: 7,
        offset_frac: 1,
        activation: Activation::Relu,
        out_shift: 1,
        out_bits: 8,
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
    // The loop is vectorised for a generic x86-64.
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
    let plane = [1, 2];
    let error = jit.run(&[&plane], &[1, 1], &[0, 0]).unwrap_err();
    assert_eq!(
        error,
        CodegenError::Inputs("1 planes for a kernel of 4".into())
    );
}

#[test]
fn example_values() {
    // Column 0: (10 - 2) + (3 - 1)·16 = 40; ·128 (1.0 in Q1.7), to Q.1 → 80; + 4
    // (2.0 in Q7.1) = 84; ReLU; >> 1 → 42. Column 1 goes negative: ReLU gives 0.
    let planes: [&[i32]; 4] = [&[10, 0], &[2, 50], &[3, 0], &[1, 0]];
    let out = reference::run(&example(), &planes, &[128, 128], &[4, 0]);
    assert_eq!(out, vec![42, 0]);
    let context = Context::create();
    let jit = JitKernel::new(&context, &example()).unwrap();
    assert_eq!(jit.run(&planes, &[128, 128], &[4, 0]).unwrap(), vec![42, 0]);
}
