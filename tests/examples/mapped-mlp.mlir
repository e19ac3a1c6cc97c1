// A two-layer perceptron (8 -> 4 -> 3) already mapped onto crossbars: layer 1 on two
// 4x4 arrays (row tiles, accumulated), layer 2 as a differential pair; ReLU and the
// bias stay digital. `cim-opt` checks it, folds the digital constants, and prints it.
//
//   cim-opt tests/examples/mapped-mlp.mlir \
//     --pass-pipeline='builtin.module(cim-verify,canonicalize,cse)'

"cim.crossbar"() {sym_name = "l1_r0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<[[0.5, -0.25, 0.0, 1.0], [0.25, 0.5, -0.5, 0.0], [-1.0, 0.0, 0.25, 0.5], [0.0, 0.75, 0.5, -0.25]]> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "l1_r1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<[[0.25, 0.0, -0.75, 0.5], [0.0, -0.5, 0.25, 0.25], [0.5, 0.25, 0.0, -1.0], [-0.25, 0.5, 0.75, 0.0]]> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "l2_pos", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 1 : i64, 0 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<[[0.5, 0.0, 0.25], [0.0, 0.75, 0.0], [0.25, 0.0, 0.0], [0.0, 0.5, 1.0]]> : tensor<4x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "l2_neg", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 1 : i64, 1 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<[[0.0, 0.25, 0.0], [0.5, 0.0, 0.25], [0.0, 0.5, 0.75], [0.25, 0.0, 0.0]]> : tensor<4x3xf32>} : () -> ()

func.func @mlp(%x0: tensor<?x4xf32>, %x1: tensor<?x4xf32>) -> tensor<?x3xf32> {
  %p0 = "cim.mvm"(%x0) {array = @l1_r0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %p1 = "cim.mvm"(%x1) {array = @l1_r1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %h = "cim.accumulate"(%p0, %p1) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  // ReLU on the digital unit, with a zero built from two constants canonicalize folds.
  %zero_a = arith.constant 0.0 : f32
  %zero_b = arith.constant 0.0 : f32
  %zero = arith.addf %zero_a, %zero_b : f32
  %c0 = arith.constant 0 : index
  %batch = tensor.dim %h, %c0 : tensor<?x4xf32>
  %init = tensor.empty(%batch) : tensor<?x4xf32>
  %relu = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%h : tensor<?x4xf32>) outs(%init : tensor<?x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<?x4xf32>
  %pos = "cim.mvm"(%relu) {array = @l2_pos, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 4.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 8.0 : f64>} : (tensor<?x4xf32>) -> tensor<?x3xf32>
  %neg = "cim.mvm"(%relu) {array = @l2_neg, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 4.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 8.0 : f64>} : (tensor<?x4xf32>) -> tensor<?x3xf32>
  %y = "cim.diff"(%pos, %neg) : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  %bias = "cim.affine"(%y) {scale = dense<1.0> : tensor<3xf32>, offset = dense<[0.1, -0.2, 0.05]> : tensor<3xf32>} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %bias : tensor<?x3xf32>
}
