//! The elementwise unit: generated code against the reference, bit for bit, and the
//! reference against f64.

use cim_nmdu::codegen::{CodegenError, JitCache};
use cim_nmdu::elementwise::{Evaluator, Instruction, Op, Operand, Program, from_fixed, to_fixed};
use proptest::prelude::*;

const OPS: [Op; 22] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Max,
    Op::Min,
    Op::Neg,
    Op::Abs,
    Op::Exp,
    Op::Log,
    Op::Tanh,
    Op::Sigmoid,
    Op::Sqrt,
    Op::Rsqrt,
    Op::Copy,
    Op::Compare(0),
    Op::Compare(2),
    Op::Compare(5),
    Op::Compare(9),
    Op::Compare(13),
    Op::Compare(15),
    Op::Select,
];

/// The program `results = [op(arguments...)]`.
fn single(op: Op, fraction: u32) -> Program {
    Program {
        fraction,
        arguments: op.arity(),
        instructions: vec![Instruction {
            op,
            operands: (0..op.arity()).map(Operand::Argument).collect(),
        }],
        results: vec![Operand::Temporary(0)],
    }
}

/// Values that reach every branch: the extremes, around zero, around one, and the
/// points where exp over- and underflows.
fn edges(fraction: u32) -> Vec<i32> {
    let one = 1i32 << fraction;
    let mut values = vec![
        i32::MIN,
        i32::MIN + 1,
        i32::MAX,
        i32::MAX - 1,
        0,
        1,
        -1,
        2,
        one,
        -one,
        one / 2,
        -one / 2,
        3 * one,
        -7 * one,
    ];
    for x in [10.4, 10.5, 11.0, -10.0, -12.0, -20.0, -30.0, 21.0, 22.0] {
        values.push(to_fixed(x, fraction).expect("not NaN"));
    }
    values
}

thread_local! {
    // Compiled once per program for the whole test binary.
    static CACHE: std::cell::RefCell<JitCache> = std::cell::RefCell::default();
}

fn run(program: &Program, arguments: &[i32]) -> Result<Vec<i32>, CodegenError> {
    let compiled = CACHE.with(|cache| cache.borrow_mut().elementwise(program))?;
    let mut results = vec![0; program.results.len()];
    // SAFETY: the function reads `program.arguments` values and writes as many
    // results as the program yields.
    unsafe { compiled(arguments.as_ptr(), results.as_mut_ptr()) };
    Ok(results)
}

fn reference(evaluator: &Evaluator, program: &Program, arguments: &[i32]) -> Vec<i32> {
    let mut results = vec![0; program.results.len()];
    evaluator.eval(program, arguments, &mut results, &mut Vec::new());
    results
}

#[test]
fn every_op_matches_the_reference_on_edge_values() {
    let evaluator = Evaluator::default();
    for fraction in [14, 16, 22] {
        let edges = edges(fraction);
        for op in OPS {
            let program = single(op, fraction);
            let mut checked = 0;
            for &a in &edges {
                for &b in &edges {
                    for c in [0, 5] {
                        let arguments = [a, b, c];
                        let arguments = &arguments[..op.arity()];
                        assert_eq!(
                            run(&program, arguments).expect("compiles"),
                            reference(&evaluator, &program, arguments),
                            "{op:?} at Q.{fraction} on {arguments:?}"
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked > 100);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_op_matches_the_reference_on_random_values(
        a in any::<i32>(),
        b in any::<i32>(),
        small in -(24i32 << 16)..(24 << 16),
        c in any::<i32>(),
        fraction in 14u32..=22,
    ) {
        let evaluator = Evaluator::default();
        for op in OPS {
            let program = single(op, fraction);
            for arguments in [[a, b, c], [small, a, b], [b, small, c]] {
                let arguments = &arguments[..op.arity()];
                prop_assert_eq!(
                    run(&program, arguments).expect("compiles"),
                    reference(&evaluator, &program, arguments),
                    "{:?} at Q.{} on {:?}", op, fraction, arguments
                );
            }
        }
    }
}

/// The largest error of `op` against `exact` over `inputs` (in real units), where
/// `exact` is finite and within range.
fn max_error(
    evaluator: &Evaluator,
    op: Op,
    fraction: u32,
    inputs: impl Iterator<Item = f64>,
    exact: impl Fn(f64) -> f64,
    relative: bool,
) -> f64 {
    let program = single(op, fraction);
    inputs
        .map(|x| {
            let q = to_fixed(x, fraction).expect("not NaN");
            let got = from_fixed(reference(evaluator, &program, &[q])[0], fraction);
            let want = exact(from_fixed(q, fraction));
            let error = (got - want).abs();
            if relative {
                error / want.abs().max(1.0)
            } else {
                error
            }
        })
        .fold(0.0, f64::max)
}

#[test]
fn functions_are_accurate_at_q16() {
    let evaluator = Evaluator::default();
    let sweep = |lo: f64, hi: f64| {
        let n = 200_000;
        (0..=n).map(move |i| lo + (hi - lo) * i as f64 / n as f64)
    };
    let step = 1.0 / 65536.0;
    // exp: relative to max(|e^x|, 1), over what softmax and GELU feed it and up to
    // the format's range (e^10.3 ≈ 29733).
    let exp = max_error(&evaluator, Op::Exp, 16, sweep(-16.0, 10.3), f64::exp, true);
    let log = max_error(
        &evaluator,
        Op::Log,
        16,
        sweep(0.001, 30000.0),
        f64::ln,
        false,
    );
    let sqrt = max_error(
        &evaluator,
        Op::Sqrt,
        16,
        sweep(0.0, 30000.0),
        f64::sqrt,
        false,
    );
    let rsqrt = max_error(
        &evaluator,
        Op::Rsqrt,
        16,
        sweep(0.01, 30000.0),
        |x| 1.0 / x.sqrt(),
        true,
    );
    let sigmoid = max_error(
        &evaluator,
        Op::Sigmoid,
        16,
        sweep(-20.0, 20.0),
        |x| 1.0 / (1.0 + (-x).exp()),
        false,
    );
    let tanh = max_error(
        &evaluator,
        Op::Tanh,
        16,
        sweep(-20.0, 20.0),
        f64::tanh,
        false,
    );
    println!(
        "Q15.16 max errors: exp {exp:.2e} (relative), log {log:.2e}, sqrt {sqrt:.2e}, \
         rsqrt {rsqrt:.2e} (relative), sigmoid {sigmoid:.2e}, tanh {tanh:.2e}"
    );
    assert!(exp < 4.0 * step, "exp {exp}");
    assert!(log < 2.0 * step, "log {log}");
    assert!(sqrt <= step, "sqrt {sqrt}");
    assert!(rsqrt < 2e-4, "rsqrt {rsqrt}");
    assert!(
        sigmoid < 4e-4 && tanh < 8e-4,
        "sigmoid {sigmoid}, tanh {tanh}"
    );
}

#[test]
fn arithmetic_rounds_and_saturates() {
    let evaluator = Evaluator::default();
    let q = |x: f64| to_fixed(x, 16).expect("not NaN");
    let apply = |op: Op, arguments: &[i32]| reference(&evaluator, &single(op, 16), arguments)[0];
    assert_eq!(apply(Op::Mul, &[q(1.5), q(-2.25)]), q(-3.375));
    // 2^-16 · 0.5 rounds half up.
    assert_eq!(apply(Op::Mul, &[1, q(0.5)]), 1);
    assert_eq!(apply(Op::Mul, &[-1, q(0.5)]), 0);
    assert_eq!(apply(Op::Add, &[i32::MAX, 1]), i32::MAX);
    assert_eq!(apply(Op::Sub, &[i32::MIN, 1]), i32::MIN);
    assert_eq!(apply(Op::Neg, &[i32::MIN]), i32::MAX);
    assert_eq!(apply(Op::Div, &[q(1.0), q(3.0)]), 21845);
    assert_eq!(apply(Op::Div, &[q(-1.0), 0]), i32::MIN);
    assert_eq!(apply(Op::Div, &[0, 0]), 0);
    assert_eq!(apply(Op::Exp, &[0]), q(1.0));
    assert_eq!(apply(Op::Exp, &[q(11.0)]), i32::MAX);
    assert_eq!(apply(Op::Exp, &[i32::MIN]), 0);
    assert_eq!(apply(Op::Log, &[q(1.0)]), 0);
    assert_eq!(apply(Op::Log, &[0]), i32::MIN);
    assert_eq!(apply(Op::Sqrt, &[q(2.25)]), q(1.5));
    assert_eq!(apply(Op::Rsqrt, &[q(4.0)]), q(0.5));
    assert_eq!(apply(Op::Compare(4), &[q(1.0), q(2.0)]), q(1.0));
    assert_eq!(apply(Op::Select, &[0, 7, 9]), 9);
}

/// An LSTM cell's elementwise work: `c' = σ(f)·c + σ(i)·tanh(g)`,
/// `h = σ(o)·tanh(c')`.
fn lstm_cell(fraction: u32) -> Program {
    use Operand::{Argument as A, Temporary as T};
    let i = |op, operands: Vec<Operand>| Instruction { op, operands };
    Program {
        fraction,
        arguments: 5,
        instructions: vec![
            i(Op::Sigmoid, vec![A(0)]),   // 0: σ(i)
            i(Op::Sigmoid, vec![A(1)]),   // 1: σ(f)
            i(Op::Tanh, vec![A(2)]),      // 2: tanh(g)
            i(Op::Sigmoid, vec![A(3)]),   // 3: σ(o)
            i(Op::Mul, vec![T(1), A(4)]), // 4: σ(f)·c
            i(Op::Mul, vec![T(0), T(2)]), // 5: σ(i)·tanh(g)
            i(Op::Add, vec![T(4), T(5)]), // 6: c'
            i(Op::Tanh, vec![T(6)]),      // 7
            i(Op::Mul, vec![T(3), T(7)]), // 8: h
        ],
        results: vec![Operand::Temporary(8), Operand::Temporary(6)],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_lstm_cell_matches_the_reference_and_f64(
        gates in proptest::array::uniform5(-6.0f64..6.0),
    ) {
        let evaluator = Evaluator::default();
        let program = lstm_cell(16);
        let arguments: Vec<i32> = gates.iter().map(|&x| to_fixed(x, 16).expect("finite")).collect();
        let generated = run(&program, &arguments).expect("compiles");
        prop_assert_eq!(&generated, &reference(&evaluator, &program, &arguments));
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        let [i, f, g, o, c] = gates;
        let cell = sigmoid(f) * c + sigmoid(i) * g.tanh();
        let h = sigmoid(o) * cell.tanh();
        prop_assert!((from_fixed(generated[1], 16) - cell).abs() < 4e-3);
        prop_assert!((from_fixed(generated[0], 16) - h).abs() < 4e-3);
    }
}

#[test]
fn malformed_programs_are_refused() {
    let mut program = single(Op::Add, 16);
    program.instructions[0].operands.pop();
    assert!(
        program
            .problem()
            .expect("refused")
            .contains("1 operands, not 2")
    );
    assert!(matches!(
        JitCache::default().elementwise(&program),
        Err(CodegenError::Kernel(_))
    ));
    let mut program = single(Op::Neg, 16);
    program.instructions[0].operands[0] = Operand::Temporary(0);
    assert!(
        program
            .problem()
            .expect("refused")
            .contains("not defined before it")
    );
    let program = single(Op::Exp, 12);
    assert!(program.problem().expect("refused").contains("14..=22"));
    let mut program = single(Op::Exp, 16);
    program.results.push(Operand::Argument(3));
    assert!(
        program
            .problem()
            .expect("refused")
            .contains("yields undefined")
    );
}

/// The optimised IR of a small program (a gate: `σ(a0) · a1`, then a LeakyReLU of it
/// with slope 0.1), its table a private constant.
#[test]
fn ir_of_a_small_program() {
    use Operand::{Argument as A, Constant as C, Temporary as T};
    let i = |op, operands: Vec<Operand>| Instruction { op, operands };
    let program = Program {
        fraction: 16,
        arguments: 2,
        instructions: vec![
            i(Op::Sigmoid, vec![A(0)]),
            i(Op::Mul, vec![T(0), A(1)]),
            i(Op::Mul, vec![T(1), C(6554)]),
            i(Op::Compare(2), vec![T(1), C(0)]),
            i(Op::Select, vec![T(3), T(1), T(2)]),
        ],
        results: vec![T(4)],
    };
    let plan = cim_nmdu::lower::Plan {
        elementwise: vec![cim_nmdu::lower::NamedProgram {
            name: "gate".to_owned(),
            program,
            layers: Vec::new(),
        }],
        ..Default::default()
    };
    let ir = cim_nmdu::codegen::program_llvm_ir(&plan, Some("x86_64")).unwrap();
    assert!(ir.contains("@nmdu_sigmoid.table = private"), "{ir}");
    insta::assert_snapshot!(ir);
}
