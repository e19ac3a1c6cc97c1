//! What torch-mlir's exports hold beyond matrix products and convolutions, run by
//! the interpreter: dynamic sizes (`tensor.dim`, integer `arith`, `affine.apply`,
//! `cf.assert`), `linalg.broadcast`, `linalg.batch_matmul`, and bodies that read
//! `linalg.index` and `tensor.extract` (a start and a goal each).

use cim_interp::{InterpError, Interpreter};
use cim_ir::CimContext;
use ndarray::{ArrayD, IxDyn};

fn run(text: &str, inputs: &[ArrayD<f64>]) -> Result<Vec<ArrayD<f64>>, InterpError> {
    let cim = CimContext::new().unwrap();
    let module = cim_ir::source::parse_module(cim.context(), text, "t.mlir").unwrap();
    Interpreter::new(&module).unwrap().run("f", inputs)
}

fn array(shape: &[usize], values: Vec<f64>) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

/// A dynamic batch: its size read, scaled by `affine.apply`, checked by
/// `cf.assert`, and a bias broadcast over it.
#[test]
fn dynamic_sizes_and_broadcast() {
    let text = "#map = affine_map<()[s0] -> (s0 * 2 + 1)>
func.func @f(%x: tensor<?x2xf32>, %b: tensor<2xf32>) -> tensor<?x2xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c0 : tensor<?x2xf32>
  %i = arith.index_cast %n : index to i64
  %zero = arith.constant 0 : i64
  %ok = arith.cmpi sge, %i, %zero : i64
  cf.assert %ok, \"negative size\"
  %m = affine.apply #map()[%n]
  %q = arith.divsi %m, %c1 : index
  %e = tensor.empty(%q) : tensor<?x2xf32>
  %y = linalg.broadcast ins(%b : tensor<2xf32>) outs(%e : tensor<?x2xf32>) dimensions = [0]
  return %y : tensor<?x2xf32>
}
";
    let x = ArrayD::zeros(IxDyn(&[3, 2]));
    let b = array(&[2], vec![1.0, -2.0]);
    // 3 rows in: 2 * 3 + 1 = 7 rows of the bias out.
    let rows: Vec<f64> = [1.0, -2.0].repeat(7);
    assert_eq!(run(text, &[x, b]).unwrap()[0], array(&[7, 2], rows));
    let failing = text.replace("arith.cmpi sge", "arith.cmpi slt");
    let error = run(
        &failing,
        &[ArrayD::zeros(IxDyn(&[3, 2])), array(&[2], vec![0.0; 2])],
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("assertion failed: negative size"),
        "{error}"
    );
}

/// Batched products, each batch its own matrices.
#[test]
fn batch_matmul_multiplies_each_batch() {
    let text = "func.func @f(%a: tensor<2x1x2xf32>, %b: tensor<2x2x1xf32>) -> tensor<2x1x1xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x1x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %y = linalg.batch_matmul ins(%a, %b : tensor<2x1x2xf32>, tensor<2x2x1xf32>) outs(%init : tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  return %y : tensor<2x1x1xf32>
}
";
    let a = array(&[2, 1, 2], vec![1.0, 2.0, 3.0, 4.0]);
    let b = array(&[2, 2, 1], vec![5.0, 6.0, 7.0, 8.0]);
    // [1 2]·[5 6]ᵀ = 17, [3 4]·[7 8]ᵀ = 53.
    assert_eq!(
        run(text, &[a, b]).unwrap()[0],
        array(&[2, 1, 1], vec![17.0, 53.0])
    );
}

/// An argmax (a body with two results, one the position `linalg.index` gives),
/// and a body that gathers from an outer tensor with `tensor.extract`.
#[test]
fn bodies_read_indices_and_outer_tensors() {
    let text = "#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>
func.func @f(%x: tensor<2x3xf32>) -> (tensor<2xf32>, tensor<2xi64>, tensor<2x3xf32>) {
  %low = arith.constant -1.0e30 : f32
  %c0 = arith.constant 0 : i64
  %ev = tensor.empty() : tensor<2xf32>
  %ei = tensor.empty() : tensor<2xi64>
  %v = linalg.fill ins(%low : f32) outs(%ev : tensor<2xf32>) -> tensor<2xf32>
  %i = linalg.fill ins(%c0 : i64) outs(%ei : tensor<2xi64>) -> tensor<2xi64>
  %r:2 = linalg.generic {indexing_maps = [#in, #out, #out], iterator_types = [\"parallel\", \"reduction\"]} ins(%x : tensor<2x3xf32>) outs(%v, %i : tensor<2xf32>, tensor<2xi64>) {
  ^bb0(%in: f32, %best: f32, %at: i64):
    %k = linalg.index 1 : index
    %k64 = arith.index_cast %k : index to i64
    %max = arith.maximumf %in, %best : f32
    %more = arith.cmpf ogt, %in, %best : f32
    %where = arith.select %more, %k64, %at : i64
    linalg.yield %max, %where : f32, i64
  } -> (tensor<2xf32>, tensor<2xi64>)
  %e = tensor.empty() : tensor<2x3xf32>
  %flipped = linalg.generic {indexing_maps = [#in], iterator_types = [\"parallel\", \"parallel\"]} outs(%e : tensor<2x3xf32>) {
  ^bb0(%out: f32):
    %r0 = linalg.index 0 : index
    %c1 = linalg.index 1 : index
    %c2 = arith.constant 2 : index
    %back = arith.subi %c2, %c1 : index
    %value = tensor.extract %x[%r0, %back] : tensor<2x3xf32>
    linalg.yield %value : f32
  } -> tensor<2x3xf32>
  return %r#0, %r#1, %flipped : tensor<2xf32>, tensor<2xi64>, tensor<2x3xf32>
}
";
    let x = array(&[2, 3], vec![1.0, 5.0, 2.0, 7.0, 0.0, 3.0]);
    let results = run(text, &[x]).unwrap();
    assert_eq!(results[0], array(&[2], vec![5.0, 7.0]));
    assert_eq!(results[1], array(&[2], vec![1.0, 0.0]));
    assert_eq!(
        results[2],
        array(&[2, 3], vec![2.0, 5.0, 1.0, 3.0, 0.0, 7.0])
    );
}

/// What a pre-trained BERT exported by torch-mlir adds: an integer constant (its
/// position-id buffer, held exactly), an embedding lookup by integer ids whose
/// bounds check (`cf.assert` in the body) is not evaluated per point, a shape built
/// by `tensor.from_elements` for `tensor.reshape`, and strided and rank-reducing
/// `extract_slice`s.
#[test]
fn integer_tensors_shapes_from_elements_and_strided_slices() {
    let text = "func.func @f(%ids: tensor<2x3xi64>) -> (tensor<3x2x1xf32>, tensor<2x2xi64>, tensor<3x2xf32>) {
  %table = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %positions = arith.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi64>
  %e = tensor.empty() : tensor<2x3x2xf32>
  %looked = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = [\"parallel\", \"parallel\", \"parallel\"]} ins(%ids : tensor<2x3xi64>) outs(%e : tensor<2x3x2xf32>) {
  ^bb0(%id: i64, %out: f32):
    %c4 = arith.constant 4 : i64
    %ok = arith.cmpi slt, %id, %c4 : i64
    cf.assert %ok, \"index out of range\"
    %row = arith.index_cast %id : i64 to index
    %col = linalg.index 2 : index
    %v = tensor.extract %table[%row, %col] : tensor<4x2xf32>
    linalg.yield %v : f32
  } -> tensor<2x3x2xf32>
  %c3 = arith.constant 3 : i64
  %c2 = arith.constant 2 : i64
  %shape = tensor.from_elements %c3, %c2, %c2 : tensor<3xi64>
  %r = tensor.reshape %looked(%shape) : (tensor<2x3x2xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
  %first = tensor.extract_slice %r[0, 0, 0] [3, 2, 1] [1, 1, 1] : tensor<3x2x2xf32> to tensor<3x2x1xf32>
  %every_other = tensor.extract_slice %positions[0, 0] [1, 2] [1, 2] : tensor<1x4xi64> to tensor<1x2xi64>
  %column = tensor.extract_slice %r[0, 0, 1] [3, 2, 1] [1, 1, 1] : tensor<3x2x2xf32> to tensor<3x2xf32>
  %twice = tensor.concat dim(0) %every_other, %every_other : (tensor<1x2xi64>, tensor<1x2xi64>) -> tensor<2x2xi64>
  return %first, %twice, %column : tensor<3x2x1xf32>, tensor<2x2xi64>, tensor<3x2xf32>
}
";
    let ids = array(&[2, 3], vec![3.0, 0.0, 1.0, 2.0, 2.0, 0.0]);
    let out = run(text, &[ids]).unwrap();
    // Rows 3, 0, 1, 2, 2, 0 of the table, regrouped as (3, 2, 2); column 0 of each
    // pair of rows.
    assert_eq!(
        out[0],
        array(&[3, 2, 1], vec![7.0, 1.0, 3.0, 5.0, 5.0, 1.0])
    );
    assert_eq!(out[1], array(&[2, 2], vec![0.0, 2.0, 0.0, 2.0]));
    // A rank-reducing slice: column 1, the unit dimension dropped.
    assert_eq!(out[2], array(&[3, 2], vec![8.0, 2.0, 4.0, 6.0, 6.0, 2.0]));
}
