//! Mapping keeps the function: the mapped IR computes what the original did, checked
//! in the interpreter. Property tests over random integer weights for each mapping
//! pass (cim-tile, cim-split-weights, cim-map (the e-graph mapper), cim-bitslice,
//! convert-linalg-to-cim), and the bundled MLP example mapped and placed on the tiny
//! target.

use crate::common::{Ints, seeded};
use cim_ir::CimContext;
use cim_passes::pipeline::Pipeline;
use proptest::prelude::*;

/// Formats a row-major matrix as an MLIR dense literal.
fn dense_literal(values: &[i32], cols: usize) -> String {
    let rows: Vec<String> = values
        .chunks(cols)
        .map(|row| {
            format!(
                "[{}]",
                row.iter()
                    .map(|v| format!("{v}.0"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    format!("[{}]", rows.join(", "))
}

/// Parses `text`, runs `pipeline` on it (verifying after each step; an empty
/// pipeline runs nothing), interprets `@function` on `input`, and returns the results
/// and the printed module.
fn interpret_after(
    function: &str,
    text: &str,
    pipeline: &str,
    input: &ndarray::ArrayD<f64>,
) -> (Vec<ndarray::ArrayD<f64>>, String) {
    use cim_interp::Interpreter;
    use cim_ir::{diagnostics::DiagnosticSink, source::parse_module};
    use cim_passes::pipeline::{RunOptions, run};

    let cim = CimContext::new().unwrap();
    let sink = DiagnosticSink::attach(cim.context());
    let mut module = parse_module(cim.context(), text, "generated.mlir")
        .unwrap_or_else(|| panic!("{text}\n{:?}", sink.take()));
    let pipeline = Pipeline::parse(pipeline).unwrap();
    run(
        cim.context(),
        &mut module,
        &pipeline,
        &RunOptions {
            verify_each: true,
            ..RunOptions::default()
        },
        |_, _| {},
    )
    .unwrap_or_else(|error| panic!("{error}: {:?}", sink.take()));
    let outputs = Interpreter::new(&module)
        .unwrap()
        .run(function, std::slice::from_ref(input))
        .unwrap_or_else(|error| panic!("{error}"));
    (outputs, module.as_operation().to_string())
}

/// `@f` of `text` before and after `pipeline`, and the module after.
fn run_before_after(
    text: &str,
    pipeline: &str,
    input: &ndarray::ArrayD<f64>,
) -> (Vec<ndarray::ArrayD<f64>>, Vec<ndarray::ArrayD<f64>>, String) {
    let (before, _) = interpret_after("f", text, "", input);
    let (after, printed) = interpret_after("f", text, pipeline, input);
    (before, after, printed)
}

proptest! {
    #![proptest_config(seeded(48))]

    /// Tiling, then splitting signs (differential or offset), preserves the product
    /// exactly: integer-valued weights and inputs make every partial sum exact in f64
    /// whatever the order of accumulation.
    #[test]
    fn tiling_and_splitting_preserve_the_product(
        (k, n) in (1usize..=13, 1usize..=13),
        batch in 1usize..=4,
        (rows, cols) in (1usize..=6, 1usize..=6),
        dynamic_batch: bool,
        split in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut ints = Ints::new(seed);
        let mut next = |span: i32| ints.next(span);
        let weights: Vec<i32> = (0..k * n).map(|_| next(8)).collect();
        let input: Vec<f64> = (0..batch * k).map(|_| next(16) as f64).collect();
        let b = if dynamic_batch { "?".to_owned() } else { batch.to_string() };
        let text = format!(
            "func.func @f(%x: tensor<{b}x{k}xf32>) -> tensor<{b}x{n}xf32> {{\n\
               %w = arith.constant dense<{}> : tensor<{k}x{n}xf32>\n\
               %y = \"cim.matmul\"(%x, %w) : (tensor<{b}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{b}x{n}xf32>\n\
               return %y : tensor<{b}x{n}xf32>\n}}\n",
            dense_literal(&weights, n)
        );
        let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[batch, k]), input).unwrap();
        let split_pass = ["", ",cim-split-weights", ",cim-split-weights{encoding=offset}"][split];
        let pipeline = format!("cim-tile{{rows={rows} cols={cols}}}{split_pass}");
        let (before, after, printed) = run_before_after(&text, &pipeline, &input);
        prop_assert_eq!(&before, &after);
        let tiles = k.div_ceil(rows) * n.div_ceil(cols);
        let arrays = printed.matches("\"cim.crossbar\"").count();
        match split {
            0 => prop_assert_eq!(arrays, tiles),
            1 => prop_assert_eq!(arrays, 2 * tiles),
            _ => prop_assert!((tiles..=2 * tiles).contains(&arrays)),
        }
        prop_assert!(!printed.contains("cim.matmul"));
        prop_assert_eq!(printed.contains("\"signed\""), split == 0);
    }
}

proptest! {
    #![proptest_config(seeded(32))]

    /// The e-graph mapper preserves the product of a chain of layers, whatever it
    /// packs (side by side, on the diagonal) and whatever the objective; minimising
    /// area it never uses more arrays than the fixed grid of cim-tile; and the later
    /// passes accept its windows (signs split afterwards, either encoding, stay exact);
    /// copies of layers that share the batch rows (duplicate-arrays) change nothing
    /// either, and spend at most their budget.
    #[test]
    fn egraph_mapping_preserves_the_product(
        dims in proptest::collection::vec(1usize..=9, 2..=4),
        batch in 1usize..=5,
        duplicate in 0usize..=6,
        (rows, cols) in (1usize..=8, 1usize..=8),
        objective in 0usize..4,
        split in 0usize..3,
        seed in any::<u64>(),
    ) {
        let mut ints = Ints::new(seed);
        let mut next = |span: i32| ints.next(span);
        let (first, last) = (dims[0], dims[dims.len() - 1]);
        let mut body = String::new();
        let mut value = "%x".to_owned();
        for (layer, pair) in dims.windows(2).enumerate() {
            let (k, n) = (pair[0], pair[1]);
            let weights: Vec<i32> = (0..k * n).map(|_| next(3)).collect();
            body += &format!(
                "  %w{layer} = arith.constant dense<{}> : tensor<{k}x{n}xf32>\n\
                   %y{layer} = \"cim.matmul\"({value}, %w{layer}) : (tensor<{batch}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{batch}x{n}xf32>\n",
                dense_literal(&weights, n)
            );
            value = format!("%y{layer}");
        }
        let text = format!(
            "func.func @f(%x: tensor<{batch}x{first}xf32>) -> tensor<{batch}x{last}xf32> {{\n{body}  return {value} : tensor<{batch}x{last}xf32>\n}}\n"
        );
        let input: Vec<f64> = (0..batch * first).map(|_| next(4) as f64).collect();
        let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[batch, first]), input).unwrap();
        let objective = ["area", "latency", "energy", "balanced"][objective];
        let split_pass = ["", ",cim-split-weights", ",cim-split-weights{encoding=offset}"][split];
        let pipeline = format!("cim-map{{rows={rows} cols={cols} objective={objective} duplicate-arrays={duplicate}}}{split_pass}");
        let (before, after, printed) = run_before_after(&text, &pipeline, &input);
        prop_assert_eq!(&before, &after);
        prop_assert!(!printed.contains("cim.matmul"));
        // Every layer takes the same rows, so the first is a slowest one: with a
        // budget for its arrays, it is copied.
        let first_layer = dims[0].div_ceil(rows) * dims[1].div_ceil(cols);
        if batch >= 2 && duplicate >= first_layer {
            prop_assert!(printed.contains("tensor.concat"), "{}", printed);
        }
        if objective == "area" && split == 0 {
            let grid: usize = dims.windows(2).map(|p| p[0].div_ceil(rows) * p[1].div_ceil(cols)).sum();
            prop_assert!(printed.matches("\"cim.crossbar\"").count() <= grid + duplicate);
        }
    }
}

proptest! {
    #![proptest_config(seeded(32))]

    /// Bit slices recombine exactly: with integer weights that fit `weight-bits` and a
    /// power-of-two scale, quantization loses nothing, so tile + split + slice gives
    /// the original product bit for bit, whatever the cell width.
    #[test]
    fn bit_slices_recombine_exactly(
        (k, n) in (1usize..=9, 1usize..=9),
        (rows, cols) in (1usize..=5, 1usize..=5),
        weight_bits in 4i64..=8,
        cell_bits in 1i64..=4,
        offset: bool,
        seed in any::<u64>(),
    ) {
        let mut ints = Ints::new(seed);
        let mut next = |span: i32| ints.next(span);
        // Offset encoding doubles the range (w + max|w|): keep it within the bits.
        let span = if offset { 3 } else { 7 };
        let weights: Vec<i32> = (0..k * n).map(|_| next(span)).collect();
        let input: Vec<f64> = (0..2 * k).map(|_| next(16) as f64).collect();
        let text = format!(
            "func.func @f(%x: tensor<2x{k}xf32>) -> tensor<2x{n}xf32> {{\n\
               %w = arith.constant dense<{}> : tensor<{k}x{n}xf32>\n\
               %y = \"cim.matmul\"(%x, %w) : (tensor<2x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<2x{n}xf32>\n\
               return %y : tensor<2x{n}xf32>\n}}\n",
            dense_literal(&weights, n)
        );
        let encoding = if offset { "offset" } else { "differential" };
        let pipeline = format!(
            "cim-tile{{rows={rows} cols={cols}}},cim-split-weights{{encoding={encoding}}},\
             cim-bitslice{{weight-bits={weight_bits} cell-bits={cell_bits} scale=pow2}}"
        );
        let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, k]), input).unwrap();
        let (before, after, printed) = run_before_after(&text, &pipeline, &input);
        prop_assert_eq!(&before, &after);
        prop_assert!(!printed.contains("cell = #cim.ideal"));
        let cell = format!("#cim.cell<{cell_bits} : i64>");
        prop_assert!(printed.contains(&cell));
    }
}

proptest! {
    #![proptest_config(seeded(32))]

    /// From linalg to placed-ready arrays: converting the weight-stationary
    /// linalg.matmul (plain, transposed by indexing maps or by linalg.transpose, with
    /// a zero or a non-zero accumulator) and mapping it keeps the function exactly.
    #[test]
    fn linalg_to_sliced_arrays_keeps_the_function(
        (k, n) in (1usize..=8, 1usize..=8),
        (rows, cols) in (1usize..=5, 1usize..=5),
        layout in 0usize..3,
        accumulate: bool,
        seed in any::<u64>(),
    ) {
        let mut ints = Ints::new(seed);
        let mut next = |span: i32| ints.next(span);
        let weights: Vec<i32> = (0..k * n).map(|_| next(7)).collect();
        let input: Vec<f64> = (0..3 * k).map(|_| next(9) as f64).collect();
        let fill = if accumulate { "1.5" } else { "0.0" };
        let kn = |transpose: bool| -> String {
            let (r, c) = if transpose { (n, k) } else { (k, n) };
            let values: Vec<i32> = (0..r * c)
                .map(|i| if transpose { weights[(i % c) * n + i / c] } else { weights[i] })
                .collect();
            format!("arith.constant dense<{}> : tensor<{r}x{c}xf32>", dense_literal(&values, c))
        };
        let body = match layout {
            0 => format!("%w = {}\n  %y = linalg.matmul ins(%x, %w : tensor<3x{k}xf32>, tensor<{k}x{n}xf32>) outs(%acc : tensor<3x{n}xf32>) -> tensor<3x{n}xf32>", kn(false)),
            1 => format!("%w = {}\n  %y = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %w : tensor<3x{k}xf32>, tensor<{n}x{k}xf32>) outs(%acc : tensor<3x{n}xf32>) -> tensor<3x{n}xf32>", kn(true)),
            _ => format!("%wt = {}\n  %et = tensor.empty() : tensor<{k}x{n}xf32>\n  %w = linalg.transpose ins(%wt : tensor<{n}x{k}xf32>) outs(%et : tensor<{k}x{n}xf32>) permutation = [1, 0]\n  %y = linalg.matmul ins(%x, %w : tensor<3x{k}xf32>, tensor<{k}x{n}xf32>) outs(%acc : tensor<3x{n}xf32>) -> tensor<3x{n}xf32>", kn(true)),
        };
        let text = format!(
            "func.func @f(%x: tensor<3x{k}xf32>) -> tensor<3x{n}xf32> {{\n  %e = tensor.empty() : tensor<3x{n}xf32>\n  %z = arith.constant {fill} : f32\n  %acc = linalg.fill ins(%z : f32) outs(%e : tensor<3x{n}xf32>) -> tensor<3x{n}xf32>\n  {body}\n  return %y : tensor<3x{n}xf32>\n}}\n"
        );
        let pipeline = format!(
            "convert-linalg-to-cim,cim-tile{{rows={rows} cols={cols}}},cim-split-weights,cim-bitslice{{weight-bits=3 cell-bits=2 scale=pow2}}"
        );
        let input = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[3, k]), input).unwrap();
        let (before, after, printed) = run_before_after(&text, &pipeline, &input);
        prop_assert_eq!(&before, &after);
        prop_assert!(!printed.contains("linalg.matmul") && !printed.contains("cim.matmul"));
    }
}

/// The bundled example, its digital part lowered by upstream tosa-to-linalg, runs in
/// the interpreter (linalg.generic bodies included) and equals the float model
/// computed here directly; mapped onto the tiny target with power-of-two weight
/// scales it still computes exactly the same (its weights are multiples of 0.25).
#[test]
fn bundled_mlp_runs_and_mapping_keeps_it_exact() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/examples/mlp.mlir"
    ))
    .unwrap();
    let x = ndarray::ArrayD::from_shape_vec(
        ndarray::IxDyn(&[3, 6]),
        (0..18).map(|i| ((i * 7 % 11) as f64 - 5.0) / 4.0).collect(),
    )
    .unwrap();
    let (lowered, _) = interpret_after("mlp", &text, "func.func(tosa-to-linalg,tosa-to-arith)", &x);
    let (mapped, printed) = interpret_after(
        "mlp",
        &text,
        "func.func(tosa-to-linalg,tosa-to-arith),cim-tile{rows=4 cols=4},cim-split-weights,\
         cim-bitslice{weight-bits=4 cell-bits=2 scale=pow2},cim-place{target=tests/examples/tiny-target.toml}",
        &x,
    );
    let w1 = [
        [0.5, -0.25, 0.0, 1.0, 0.25],
        [0.25, 0.5, -0.5, 0.0, -0.75],
        [-1.0, 0.0, 0.25, 0.5, 0.5],
        [0.0, 0.75, 0.5, -0.25, 0.0],
        [0.25, 0.0, -0.75, 0.5, 1.0],
        [0.0, -0.5, 0.25, 0.25, -0.25],
    ];
    let b1 = [
        0.1f32 as f64,
        -0.1f32 as f64,
        0.0,
        0.2f32 as f64,
        -0.2f32 as f64,
    ];
    let w2 = [
        [0.5, 0.0, 0.25],
        [0.0, 0.75, 0.0],
        [0.25, 0.0, -0.5],
        [0.0, 0.5, 1.0],
        [-0.25, 0.25, 0.0],
    ];
    for row in 0..3 {
        let hidden: Vec<f64> = (0..5)
            .map(|j| ((0..6).map(|i| x[[row, i]] * w1[i][j]).sum::<f64>() + b1[j]).max(0.0))
            .collect();
        for out in 0..3 {
            let expected: f64 = (0..5).map(|j| hidden[j] * w2[j][out]).sum();
            assert!(
                (lowered[0][[row, out]] - expected).abs() < 1e-12,
                "row {row} out {out}"
            );
        }
    }
    assert_eq!(lowered, mapped);
    assert!(
        printed.contains("#cim.place<1 : i64"),
        "the tiny target spreads over two chips"
    );
}
