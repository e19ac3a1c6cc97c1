// RUN: cim-opt %s --split-input-file --convert-linalg-to-cim | FileCheck %s

// The zero-filled accumulator is dropped; the weight stays as it is.
// CHECK-LABEL: func.func @plain
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: %[[Y:.*]] = "cim.matmul"(%[[X]], %[[W]]) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return %[[Y]]
func.func @plain(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x3xf32>
  %e = tensor.empty(%b) : tensor<?x2xf32>
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x3xf32>, tensor<3x2xf32>) outs(%acc : tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// nn.Linear as torch-mlir writes it: the (out x in) weight read transposed, through
// the indexing maps or through linalg.transpose; the transposition is folded.
// CHECK-LABEL: func.func @linear
// CHECK: %[[T1:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: "cim.matmul"(%{{.*}}, %[[T1]])
// CHECK: %[[T2:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: "cim.matmul"(%{{.*}}, %[[T2]])
func.func @linear(%x: tensor<4x3xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %wt = arith.constant dense<[[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]> : tensor<2x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x2xf32>) -> tensor<4x2xf32>
  %y1 = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %wt : tensor<4x3xf32>, tensor<2x3xf32>) outs(%acc : tensor<4x2xf32>) -> tensor<4x2xf32>
  %et = tensor.empty() : tensor<3x2xf32>
  %w = linalg.transpose ins(%wt : tensor<2x3xf32>) outs(%et : tensor<3x2xf32>) permutation = [1, 0]
  %y2 = linalg.matmul ins(%x, %w : tensor<4x3xf32>, tensor<3x2xf32>) outs(%acc : tensor<4x2xf32>) -> tensor<4x2xf32>
  return %y1, %y2 : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// A non-zero accumulator is added back digitally.
// CHECK-LABEL: func.func @accumulate
// CHECK-SAME: (%[[X:.*]]: tensor<2x2xf32>, %[[ACC:.*]]: tensor<2x2xf32>)
// CHECK: %[[P:.*]] = "cim.matmul"(%[[X]], %{{.*}})
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[P]] : tensor<2x2xf32>
// CHECK: return %[[S]]
func.func @accumulate(%x: tensor<2x2xf32>, %acc: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// What is not weight-stationary f32 stays digital.
// CHECK-LABEL: func.func @digital
// CHECK-NOT: cim.matmul
// CHECK-COUNT-3: linalg.matmul
func.func @digital(%x: tensor<2x2xf32>, %v: tensor<2x2xf32>, %h: tensor<2x2xf16>, %acc: tensor<2x2xf32>, %acch: tensor<2x2xf16>) -> (tensor<2x2xf32>, tensor<2x2xf16>, tensor<2x2xf32>) {
  %y = linalg.matmul ins(%x, %v : tensor<2x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<2x2xf32>) -> tensor<2x2xf32>
  %wh = arith.constant dense<1.0> : tensor<2x2xf16>
  %z = linalg.matmul ins(%h, %wh : tensor<2x2xf16>, tensor<2x2xf16>) outs(%acch : tensor<2x2xf16>) -> tensor<2x2xf16>
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d2, d0)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y, %z, %t : tensor<2x2xf32>, tensor<2x2xf16>, tensor<2x2xf32>
}
