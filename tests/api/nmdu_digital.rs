//! The NMDU (near-memory digital unit) running digital work: softmax, GELU, products,
//! pooling and sums in Q15.16 fixed point, the Rust reference and the LLVM-generated
//! code giving the same bits, within the format's error of f64.

use cim_ir::CimContext;

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
