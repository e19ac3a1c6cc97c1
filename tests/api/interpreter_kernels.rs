//! The interpreter's kernels against element-by-element references: the matrix
//! product ([`gemm`], written into an uninitialised array, for any strides and
//! empty shapes), gathering an operand along an iteration domain ([`Gather`]), a
//! view copied to row-major order ([`standard_layout`]), and `linalg.generic`s run by blocks of
//! output elements (elementwise with broadcasts, a pooling window, a body that
//! reads its output, an im2col gather), bit for bit.

use cim_interp::{
    Interpreter,
    gather::Gather,
    kernels::{gemm, standard_layout},
};
use cim_ir::CimContext;
use ndarray::{Array2, ArrayD, Dimension, IxDyn, s};

/// Every point's element read one by one: the reference of [`Gather::copy`].
fn pointwise(base: i64, steps: &[i64], bounds: &[usize], values: &[f64]) -> Vec<f64> {
    let total: usize = bounds.iter().product();
    (0..total)
        .map(|flat| {
            let mut rest = flat;
            let mut offset = base;
            for dim in (0..bounds.len()).rev() {
                offset += (rest % bounds[dim]) as i64 * steps[dim];
                rest /= bounds[dim];
            }
            values[offset as usize]
        })
        .collect()
}

/// `a · b` summed element by element, in f64.
fn product_reference(a: ndarray::ArrayView2<f64>, b: ndarray::ArrayView2<f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
        (0..a.ncols()).map(|l| a[[i, l]] * b[[l, j]]).sum()
    })
}

#[test]
fn gemm_matches_the_sum_of_products_for_any_strides_and_empty_shapes() {
    let values = |rows: usize, cols: usize, seed: usize| {
        Array2::from_shape_fn((rows, cols), |(i, j)| {
            (((i * 31 + j * 17 + seed * 7) % 23) as f64 - 11.0) / 8.0
        })
    };
    let a = values(37, 29, 1);
    let b = values(29, 41, 2);
    let wide = values(41, 29, 3);
    // Row-major, a transposed operand, strided and reversed slices.
    let cases = [
        (a.view(), b.view()),
        (a.view(), wide.t()),
        (a.slice(s![..;2, ..]), b.view()),
        (a.slice(s![..;-1, ..]), b.slice(s![.., ..;-3])),
    ];
    for (index, (x, y)) in cases.into_iter().enumerate() {
        let expected = product_reference(x, y);
        let got = gemm(x, y);
        let off = (&got - &expected)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(off < 1e-12, "case {index}: off by {off}");
        let narrow = gemm(x.mapv(|v| v as f32).view(), y.mapv(|v| v as f32).view());
        let off = (&narrow.mapv(f64::from) - &expected)
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(off < 1e-4, "case {index}, f32: off by {off}");
    }
    // An empty inner dimension gives zeros (not what the memory held); empty
    // outer ones an empty product.
    for _ in 0..3 {
        let product = gemm(
            Array2::<f32>::zeros((64, 0)).view(),
            Array2::zeros((0, 48)).view(),
        );
        assert_eq!(product.dim(), (64, 48));
        assert!(product.iter().all(|&v| v == 0.0));
        drop(gemm(
            Array2::<f32>::from_elem((64, 64), 3.0).view(),
            Array2::from_elem((64, 48), 5.0).view(),
        ));
    }
    assert_eq!(
        gemm(Array2::<f64>::zeros((0, 5)).view(), b.slice(s![..5, ..])).dim(),
        (0, 41)
    );
    assert_eq!(
        gemm(a.view(), Array2::<f64>::zeros((29, 0)).view()).dim(),
        (37, 0)
    );
}

#[test]
fn gathers_match_pointwise_reads_from_any_start() {
    let values: Vec<f64> = (0..400).map(f64::from).collect();
    // A transpose, a broadcast bias, an im2col window, rows read as one, a scalar.
    let cases: [(i64, Vec<i64>, Vec<usize>); 5] = [
        (0, vec![1, 5], vec![5, 4]),
        (3, vec![0, 1], vec![7, 12]),
        (0, vec![100, 10, 10, 1, 1], vec![2, 8, 3, 8, 3]),
        (0, vec![12, 1], vec![7, 12]),
        (9, vec![0], vec![6]),
    ];
    for (base, steps, bounds) in cases {
        let gather = Gather::new(base, &steps, &bounds);
        for shift in [0, 2] {
            let expected = pointwise(base + shift, &steps, &bounds, &values);
            let total = expected.len();
            for start in [0, 1, 5, total / 2] {
                for count in [0, 1, 3, 17, total] {
                    let count = count.min(total - start);
                    let mut got = vec![f64::NAN; count];
                    gather.copy(&values, shift, start, &mut got);
                    assert_eq!(got, expected[start..start + count], "{steps:?} {bounds:?}");
                }
            }
        }
    }
    assert_eq!(
        Gather::new(0, &[12, 1], &[7, 12]).contiguous_from(2, 5),
        Some(7)
    );
    assert_eq!(Gather::new(0, &[1, 5], &[5, 4]).contiguous_from(0, 0), None);
}

#[test]
fn standard_layout_copies_any_view_in_row_major_order() {
    let source = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4, 5, 2, 3, 2]), |index| {
        index
            .slice()
            .iter()
            .fold(0.0, |sum, &i| sum * 10.0 + i as f64)
    });
    for axes in [
        vec![6, 5, 4, 3, 2, 1, 0],
        vec![0, 3, 1, 2, 4, 5, 6],
        vec![1, 0, 2, 3, 4, 5, 6],
    ] {
        let view = source.view().permuted_axes(IxDyn(&axes));
        let expected: Vec<f64> = view.iter().copied().collect();
        let copied = standard_layout(view.clone());
        assert!(copied.is_standard_layout());
        assert_eq!(copied.shape(), view.shape());
        assert_eq!(copied.as_slice().unwrap(), expected.as_slice());
        // Ranks up to 6 take the fixed-rank copy.
        let low = view.index_axis(ndarray::Axis(0), 1);
        let expected: Vec<f64> = low.iter().copied().collect();
        assert_eq!(
            standard_layout(low).as_slice().unwrap(),
            expected.as_slice()
        );
    }
}

fn run(text: &str, inputs: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
    let cim = CimContext::new().unwrap();
    let module = cim_ir::source::parse_module(cim.context(), text, "t.mlir").unwrap();
    Interpreter::new(&module).unwrap().run("f", inputs).unwrap()
}

/// Values with no pattern a wrong index would keep.
fn noise(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut state = seed;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    })
}

/// Big enough to be cut into blocks spread over the cores.
const BATCH: usize = 600;

#[test]
fn elementwise_generic_with_broadcast_and_transposed_operand() {
    let text = "#x = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#b = affine_map<(d0, d1) -> (d1)>
func.func @f(%x: tensor<600x48xf32>, %t: tensor<48x600xf32>, %b: tensor<48xf32>) -> tensor<600x48xf32> {
  %e = tensor.empty() : tensor<600x48xf32>
  %y = linalg.generic {indexing_maps = [#x, #t, #b, #x], iterator_types = [\"parallel\", \"parallel\"]}
      ins(%x, %t, %b : tensor<600x48xf32>, tensor<48x600xf32>, tensor<48xf32>) outs(%e : tensor<600x48xf32>) {
  ^bb0(%a: f32, %c: f32, %d: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %m = arith.mulf %s, %d : f32
    %r = arith.maximumf %m, %a : f32
    linalg.yield %r : f32
  } -> tensor<600x48xf32>
  return %y : tensor<600x48xf32>
}
";
    let (x, t, b) = (
        noise(&[BATCH, 48], 1),
        noise(&[48, BATCH], 2),
        noise(&[48], 3),
    );
    let expected = ArrayD::from_shape_fn(IxDyn(&[BATCH, 48]), |index| {
        let (i, j) = (index[0], index[1]);
        let a = x[[i, j]];
        ((a + t[[j, i]]) * b[[j]]).max(a)
    });
    assert_eq!(run(text, &[x, t, b])[0], expected);
}

/// A function's results leave the run by value: one returned twice is every one
/// of its places, an argument returned is the argument.
#[test]
fn a_value_returned_twice_and_an_argument_returned_are_whole() {
    let text = "#x = affine_map<(d0, d1) -> (d0, d1)>
func.func @f(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %e = tensor.empty() : tensor<3x2xf32>
  %y = linalg.generic {indexing_maps = [#x, #x], iterator_types = [\"parallel\", \"parallel\"]}
      ins(%x : tensor<3x2xf32>) outs(%e : tensor<3x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %y, %x, %y, %y : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
";
    let x = noise(&[3, 2], 4);
    let twice = x.mapv(|v| v + v);
    assert_eq!(
        run(text, std::slice::from_ref(&x)),
        [twice.clone(), x, twice.clone(), twice]
    );
}

/// A 2x2 sum window (reductions) over a transposed input, accumulating into an
/// output that starts at a bias: each sum in the loop nest's order.
#[test]
fn pooling_generic_sums_its_window_in_loop_order() {
    let text = "#in = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
#w = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
#out = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
#bias = affine_map<(d0, d1, d2, d3) -> (d1)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @f(%x: tensor<600x3x8x8xf32>, %b: tensor<3xf32>) -> tensor<600x3x4x4xf32> {
  %e = tensor.empty() : tensor<600x3x4x4xf32>
  %init = linalg.generic {indexing_maps = [#bias, #id], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\"]}
      ins(%b : tensor<3xf32>) outs(%e : tensor<600x3x4x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<600x3x4x4xf32>
  %w = tensor.empty() : tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\", \"reduction\", \"reduction\"]}
      ins(%x, %w : tensor<600x3x8x8xf32>, tensor<2x2xf32>) outs(%init : tensor<600x3x4x4xf32>) {
  ^bb0(%v: f32, %u: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<600x3x4x4xf32>
  return %y : tensor<600x3x4x4xf32>
}
";
    let (x, b) = (noise(&[BATCH, 3, 8, 8], 4), noise(&[3], 5));
    let expected = ArrayD::from_shape_fn(IxDyn(&[BATCH, 3, 4, 4]), |index| {
        let (n, c, i, j) = (index[0], index[1], index[2], index[3]);
        let mut sum = b[[c]];
        for di in 0..2 {
            for dj in 0..2 {
                sum += x[[n, c, 2 * i + di, 2 * j + dj]];
            }
        }
        sum
    });
    assert_eq!(run(text, &[x, b])[0], expected);
}

/// im2col: a body that yields its input gathers a 3x3 window of a padded image,
/// then a reshape reads the gathered elements in place.
#[test]
fn im2col_generic_gathers_windows() {
    let text = "#in = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4, d2 + d5)>
#out = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
func.func @f(%x: tensor<600x2x6x6xf32>) -> tensor<9600x18xf32> {
  %e = tensor.empty() : tensor<600x4x4x2x3x3xf32>
  %y = linalg.generic {indexing_maps = [#in, #out], iterator_types = [\"parallel\", \"parallel\", \"parallel\", \"parallel\", \"parallel\", \"parallel\"]}
      ins(%x : tensor<600x2x6x6xf32>) outs(%e : tensor<600x4x4x2x3x3xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<600x4x4x2x3x3xf32>
  %c = tensor.collapse_shape %y [[0, 1, 2], [3, 4, 5]] : tensor<600x4x4x2x3x3xf32> into tensor<9600x18xf32>
  return %c : tensor<9600x18xf32>
}
";
    let x = noise(&[BATCH, 2, 6, 6], 6);
    let expected = ArrayD::from_shape_fn(IxDyn(&[BATCH * 16, 18]), |index| {
        let (row, col) = (index[0], index[1]);
        let (n, i, j) = (row / 16, row / 4 % 4, row % 4);
        let (c, di, dj) = (col / 9, col / 3 % 3, col % 3);
        x[[n, c, i + di, j + dj]]
    });
    assert_eq!(run(text, &[x])[0], expected);
}
