//! Library-level tests of cim-ir and cim-passes. This is the one test binary that
//! links MLIR (each such binary is large): add MLIR-facing tests here.

use cim_ir::{
    CimContext,
    attributes::{
        Cell, Converter, DacMode, DialectAttribute, Geometry, Param, Place, Slice, Window,
    },
    diagnostics::Severity,
    dialect::ops,
    expected::{Expected, parse_expectations},
    source::{is_split_marker, split_input},
};
use cim_passes::{
    options::{OptionKind, OptionSpec, OptionValue, PassOptions},
    pipeline::{Element, Pipeline, PipelineError},
    registry,
};
mod common;

use common::{Ints, seeded};
use proptest::prelude::*;

#[test]
fn every_dialect_operation_is_registered_from_irdl() {
    let cim = CimContext::new().expect("context");
    for name in ops::ALL {
        assert!(
            cim.context().is_registered_operation(name),
            "{name} is not registered"
        );
    }
    assert!(!cim.context().is_registered_operation("cim.bogus"));
}

#[test]
fn split_keeps_whole_file_line_numbers() {
    let chunks = split_input("a\nb\n// -----\nc\n//-----\nd\n", true);
    assert_eq!(chunks.len(), 3);
    assert_eq!(
        (
            chunks[0].first_line,
            chunks[1].first_line,
            chunks[2].first_line
        ),
        (1, 4, 6)
    );
    assert_eq!(chunks[2].padded_text(), "\n\n\n\n\nd\n");
    assert_eq!(split_input("a\n// -----\nb\n", false).len(), 1);
    assert!(is_split_marker("  // ----- tail"));
    assert!(!is_split_marker("// ---- four"));
}

#[test]
fn expectations_follow_upstream_designators() {
    let text = "x // expected-error {{same}}\n// expected-warning @+2 {{plus}}\n\n// expected-note @above {{above}}\n// expected-remark @unknown {{nowhere}}\n// prose about expected-* comments\n";
    let found = parse_expectations(text, 10).expect("well formed");
    let lines: Vec<_> = found
        .iter()
        .map(|e: &Expected| (e.severity, e.line, e.message.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (Severity::Error, Some(10), "same"),
            (Severity::Warning, Some(13), "plus"),
            (Severity::Note, Some(12), "above"),
            (Severity::Remark, None, "nowhere"),
        ]
    );
    assert!(parse_expectations("// expected-error @+x {{m}}", 1).is_err());
    assert!(parse_expectations("// expected-error no braces", 1).is_err());
    assert!(parse_expectations("// expected-error @-3 {{m}}", 1).is_err());
}

const SPECS: &[OptionSpec] = &[
    OptionSpec {
        name: "rows",
        kind: OptionKind::Int { min: 1, max: 4096 },
        default: "256",
        doc: "rows",
    },
    OptionSpec {
        name: "gain",
        kind: OptionKind::Float,
        default: "1.5",
        doc: "gain",
    },
    OptionSpec {
        name: "exact",
        kind: OptionKind::Bool,
        default: "false",
        doc: "flag",
    },
    OptionSpec {
        name: "encoding",
        kind: OptionKind::Enum(&["differential", "offset"]),
        default: "differential",
        doc: "enum",
    },
];

#[test]
fn options_take_defaults_and_reject_what_does_not_fit() {
    let defaults = PassOptions::parse("p", SPECS, "").expect("defaults");
    assert_eq!(
        (
            defaults.int("rows"),
            defaults.float("gain"),
            defaults.bool("exact")
        ),
        (256, 1.5, false)
    );
    let set = PassOptions::parse("p", SPECS, "rows=128  encoding=offset exact=1").expect("valid");
    assert_eq!(
        (set.int("rows"), set.text("encoding"), set.bool("exact")),
        (128, "offset", true)
    );
    for bad in [
        "rows=0",
        "rows=4097",
        "rows=ten",
        "gain=inf",
        "exact=yes",
        "encoding=plain",
        "cols=3",
        "rows",
    ] {
        assert!(
            PassOptions::parse("p", SPECS, bad).is_err(),
            "{bad} was accepted"
        );
    }
    let message = PassOptions::parse("p", SPECS, "cols=3")
        .unwrap_err()
        .to_string();
    assert!(message.contains("rows, gain, exact, encoding"), "{message}");
}

proptest! {
    #[test]
    fn options_round_trip_through_pipeline_text(rows in 1i64..=4096, gain in -1e6f64..1e6, exact: bool, offset: bool) {
        let text = format!("rows={rows} gain={gain} exact={exact} encoding={}", if offset { "offset" } else { "differential" });
        let parsed = PassOptions::parse("p", SPECS, &text).unwrap();
        let again = PassOptions::parse("p", SPECS, &parsed.to_pipeline_text()).unwrap();
        prop_assert_eq!(&parsed, &again);
        prop_assert_eq!(parsed.float("gain"), gain);
    }

    #[test]
    fn attribute_views_round_trip(rows in 1i64..100_000, cols in 1i64..100_000, chip in 0i64..64, core in 0i64..64,
                                  array in 0i64..1024, bits in 1i64..24, shift in 0i64..62,
                                  lo in -1e3f64..0.0, width in 1e-3f64..1e3, serial: bool) {
        let cim = CimContext::new().unwrap();
        let context = cim.context();
        let geometry = Geometry { rows, cols };
        prop_assert_eq!(Geometry::read(geometry.build(context)), Some(geometry));
        let place = Place { chip, core, array };
        prop_assert_eq!(Place::read(place.build(context)), Some(place));
        let cell = Cell { bits };
        prop_assert_eq!(Cell::read(cell.build(context)), Some(cell));
        let slice = Slice { index: shift / 2, shift };
        prop_assert_eq!(Slice::read(slice.build(context)), Some(slice));
        let window = Window { row: rows, col: cols };
        prop_assert_eq!(Window::read(window.build(context)), Some(window));
        let mode = if serial { DacMode::BitSerial } else { DacMode::MultiLevel };
        for converter in [Converter::Ideal, Converter::Dac { bits, mode, lo, hi: lo + width }, Converter::Adc { bits, lo, hi: lo + width }] {
            prop_assert_eq!(Converter::read(converter.build(context)), Some(converter));
        }
    }
}

#[test]
fn attribute_reader_handles_quotes_and_rejects_other_dialects() {
    let read = DialectAttribute::read_text("#cim.dac<8 : i64, \"a,b\", -1.0 : f64, 2.5e-01 : f64>")
        .unwrap();
    assert_eq!(read.name, "dac");
    assert_eq!(
        read.params,
        [
            Param::Int(8),
            Param::Str("a,b".into()),
            Param::Float(-1.0),
            Param::Float(0.25)
        ]
    );
    assert!(DialectAttribute::read_text("#other.dac<8 : i64>").is_none());
    assert_eq!(
        DialectAttribute::read_text("#cim.ideal").unwrap().params,
        []
    );
}

#[test]
fn pipelines_parse_nest_and_print_back() {
    let pipeline = Pipeline::parse(
        "builtin.module(func.func(cse, canonicalize{max-iterations=2}), cim-verify)",
    )
    .unwrap();
    assert_eq!(
        pipeline.elements,
        [
            Element::Nested {
                anchor: "func.func".into(),
                body: vec![
                    Element::Pass {
                        name: "cse".into(),
                        options: String::new()
                    },
                    Element::Pass {
                        name: "canonicalize".into(),
                        options: "max-iterations=2".into()
                    },
                ],
            },
            Element::Pass {
                name: "cim-verify".into(),
                options: String::new()
            },
        ]
    );
    assert_eq!(
        pipeline.to_string(),
        "builtin.module(func.func(cse,canonicalize{max-iterations=2}),cim-verify)"
    );
    assert_eq!(Pipeline::parse(&pipeline.to_string()).unwrap(), pipeline);
    assert!(pipeline.elements[0].mentions("canonicalize"));
    assert!(Pipeline::parse("").unwrap().elements.is_empty());
}

#[test]
fn pipeline_errors_say_where() {
    let column = |text: &str| match Pipeline::parse(text) {
        Err(PipelineError::Syntax { column, .. }) => column,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(column("cse,,cse"), 5);
    assert_eq!(column("func.func(cse"), 14);
    assert_eq!(column("cse{a=1"), 4);
    assert_eq!(column("cse) extra"), 4);
    assert!(matches!(
        Pipeline::parse("cim-verify{bogus=1}"),
        Err(PipelineError::Options(_))
    ));
}

#[test]
fn upstream_names_are_checked_against_mlir() {
    let cim = CimContext::new().unwrap();
    assert!(
        Pipeline::parse("canonicalize,func.func(cse),cim-verify")
            .unwrap()
            .validate(cim.context())
            .is_ok()
    );
    let error = Pipeline::parse("no-such-pass")
        .unwrap()
        .validate(cim.context())
        .unwrap_err();
    assert!(matches!(error, PipelineError::Unknown { .. }), "{error}");
}

#[test]
fn registry_names_are_unique_and_options_have_valid_defaults() {
    let mut names: Vec<_> = registry::PASSES.iter().map(|def| def.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), registry::PASSES.len());
    for def in registry::PASSES {
        let options = def
            .parse_options("")
            .unwrap_or_else(|e| panic!("{}: bad default: {e}", def.name));
        assert_eq!(
            options.to_pipeline_text().is_empty(),
            def.options.is_empty()
        );
        assert!(registry::lookup(def.name).is_some());
    }
    let _ = OptionValue::Bool(true);
}

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
        &RunOptions { verify_each: true },
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

#[test]
fn interpreter_rejects_what_it_cannot_run() {
    use cim_interp::{InterpError, Interpreter};
    let cim = CimContext::new().unwrap();
    let text = "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %y = math.exp %x : tensor<2xf32>\n  return %y : tensor<2xf32>\n}\n";
    let module = cim_ir::source::parse_module(cim.context(), text, "t.mlir").unwrap();
    let interpreter = Interpreter::new(&module).unwrap();
    let input = ndarray::ArrayD::zeros(ndarray::IxDyn(&[2]));
    assert_eq!(
        interpreter.run("f", std::slice::from_ref(&input)),
        Err(InterpError::Unsupported("math.exp".into()))
    );
    assert!(matches!(
        interpreter.run("g", std::slice::from_ref(&input)),
        Err(InterpError::NoFunction(_))
    ));
    assert!(matches!(
        interpreter.run("f", &[]),
        Err(InterpError::Arity { .. })
    ));
    let wrong = ndarray::ArrayD::zeros(ndarray::IxDyn(&[3]));
    assert!(matches!(
        interpreter.run("f", &[wrong]),
        Err(InterpError::InputShape { .. })
    ));
    let nan = ndarray::ArrayD::from_elem(ndarray::IxDyn(&[2]), f64::NAN);
    assert!(matches!(
        interpreter.run("f", &[nan]),
        Err(InterpError::InputShape { .. })
    ));
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

/// `@f` of `module` on `inputs` with its digital work on `digital`.
fn on_digital(
    module: &cim_ir::melior::ir::Module,
    digital: cim_sim::Digital,
    inputs: &[ndarray::ArrayD<f64>],
) -> Vec<ndarray::ArrayD<f64>> {
    cim_sim::Simulator::new(module)
        .unwrap()
        .with_digital(digital, cim_nmdu::Format::default())
        .unwrap()
        .run("f", inputs)
        .unwrap()
}

/// Every output differs from f64 (it is fixed point), every value is on the Q15.16
/// grid, and each is within `tolerance` of f64; returns the largest error.
fn assert_fixed_point(
    fixed: &[ndarray::ArrayD<f64>],
    float: &[ndarray::ArrayD<f64>],
    tolerance: f64,
) -> f64 {
    let step = 2f64.powi(-16);
    let mut worst = 0f64;
    for (fixed, exact) in fixed.iter().zip(float) {
        assert_ne!(fixed, exact, "fixed point is not f64");
        for (&a, &b) in fixed.iter().zip(exact) {
            assert_eq!((a / step).fract(), 0.0, "{a} is not on the Q15.16 grid");
            assert!((a - b).abs() < tolerance, "{a} against {b}");
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

/// Softmax written as upstream lowers it (a max reduction, `exp(x − max)`, a sum
/// reduction, a division) and a tanh-form GELU, with `--digital interp|nmdu`: every
/// generic becomes a program of the NMDU's elementwise unit, the reference and the
/// generated code give the same bits, every value is on the Q15.16 grid, and the
/// results stay within the format's error of f64.
#[test]
fn softmax_and_gelu_run_on_the_elementwise_unit() {
    use cim_nmdu::Format;
    use cim_sim::{Digital, Simulator as Interpreter};
    let text = r#"
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @f(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%m0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.maximumf %in, %out : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %mx: f32, %out: f32):
    %d = arith.subf %in, %mx : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%ex : tensor<4x8xf32>) outs(%s0 : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %v = arith.addf %in, %out : f32
    linalg.yield %v : f32
  } -> tensor<4xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%ex, %s : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %t: f32, %out: f32):
    %v = arith.divf %in, %t : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %half = arith.constant 0.5 : f32
    %one = arith.constant 1.0 : f32
    %c = arith.constant 0.7978845608 : f32
    %k = arith.constant 0.044715 : f32
    %x2 = arith.mulf %in, %in : f32
    %x3 = arith.mulf %x2, %in : f32
    %kx3 = arith.mulf %k, %x3 : f32
    %inner = arith.addf %in, %kx3 : f32
    %arg = arith.mulf %c, %inner : f32
    %t = math.tanh %arg : f32
    %onet = arith.addf %one, %t : f32
    %hx = arith.mulf %half, %in : f32
    %v = arith.mulf %hx, %onet : f32
    linalg.yield %v : f32
  } -> tensor<4x8xf32>
  return %y, %g : tensor<4x8xf32>, tensor<4x8xf32>
}
"#;
    let cim = CimContext::new().unwrap();
    let module = cim_ir::source::parse_module(cim.context(), text, "softmax.mlir").unwrap();
    let x = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 8]), |index| {
        (index[0] as f64 * 1.7 - index[1] as f64 * 0.9).sin() * 4.0
    });
    let on = |digital| on_digital(&module, digital, std::slice::from_ref(&x));
    let plan_programs = Interpreter::new(&module)
        .unwrap()
        .with_digital(Digital::Reference, Format::default())
        .unwrap()
        .digital_plan()
        .map(|plan| plan.elementwise.len());
    assert_eq!(plan_programs, Some(5));
    let (float, reference, generated) = (
        on(Digital::Float),
        on(Digital::Reference),
        on(Digital::Generated),
    );
    assert_eq!(reference, generated);
    // Softmax: exp's relative error and the rounding of its inputs; GELU: tanh's
    // table error times |x| <= 4, plus the products' rounding.
    let worst = assert_fixed_point(&reference, &float, 2e-3);
    println!("largest error against f64: {worst:.1e}");
    for row in reference[0].rows() {
        assert!((row.sum() - 1.0).abs() < 1e-3, "{}", row.sum());
    }
}

/// Digital work with no crossbar behind it (`lit-tests/cim-translate/to-nmdu-digital.mlir`:
/// a matrix product, a low-rank adapter, a tensor sum, max and sum pooling) runs on
/// the NMDU with `--digital interp|nmdu`: the same bits from the reference and the
/// generated code, every value on the Q15.16 grid, within rounding of f64.
#[test]
fn products_pooling_and_sums_run_on_the_nmdu() {
    use cim_sim::Digital;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lit-tests/cim-translate/to-nmdu-digital.mlir"
    ))
    .unwrap();
    let cim = CimContext::new().unwrap();
    let module = cim_ir::source::parse_module(cim.context(), &text, "digital.mlir").unwrap();
    let x = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[4, 8]), |i| {
        (i[0] as f64 * 0.7 + i[1] as f64 * 1.3).cos() * 3.0
    });
    let image = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[1, 2, 4, 4]), |i| {
        (i[1] as f64 + i[2] as f64 * 0.37 - i[3] as f64 * 0.61).sin()
    });
    let on = |digital| on_digital(&module, digital, &[x.clone(), image.clone()]);
    let (float, reference, generated) = (
        on(Digital::Float),
        on(Digital::Reference),
        on(Digital::Generated),
    );
    assert_eq!(reference, generated);
    // Operands rounded to 2^-17 over at most 8 products of values below 3, twice
    // (the product, then the adapter), and the results' rounding.
    assert_fixed_point(&reference, &float, 1e-3);
}
