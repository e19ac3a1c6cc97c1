// RUN: cim-opt %s --split-input-file --convert-linalg-to-cim | FileCheck %s

// A projection of a 3-D activation as torch-mlir writes it (attention's Q/K/V in
// nn.MultiheadAttention, tokens first): a batch_matmul by a constant matrix
// broadcast over the batch. Batch and rows collapse into one weight-stationary
// product (the transposed nn.Linear weight folded), expanded back; the dynamic size
// is read from the input.
// CHECK-LABEL: func.func @projection
// CHECK-SAME: (%[[X:.*]]: tensor<2x?x3xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x?x3xf32> into tensor<?x3xf32>
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: %[[P:.*]] = "cim.matmul"(%[[FLAT]], %[[W]]) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<2x?x3xf32>
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2]] output_shape [2, %[[ROWS]], 2] : tensor<?x2xf32> into tensor<2x?x2xf32>
// CHECK-NOT: linalg.batch_matmul
// CHECK: return %[[Y]]
func.func @projection(%x: tensor<2x?x3xf32>) -> tensor<2x?x2xf32> {
  %wt = arith.constant dense<[[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]> : tensor<2x3xf32>
  %et = tensor.empty() : tensor<3x2xf32>
  %w = linalg.transpose ins(%wt : tensor<2x3xf32>) outs(%et : tensor<3x2xf32>) permutation = [1, 0]
  %eb = tensor.empty() : tensor<2x3x2xf32>
  %wb = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%w : tensor<3x2xf32>) outs(%eb : tensor<2x3x2xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<2x3x2xf32>
  %c1 = arith.constant 1 : index
  %n = tensor.dim %x, %c1 : tensor<2x?x3xf32>
  %e = tensor.empty(%n) : tensor<2x?x2xf32>
  %zero = arith.constant 0.0 : f32
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x?x2xf32>) -> tensor<2x?x2xf32>
  %y = linalg.batch_matmul ins(%x, %wb : tensor<2x?x3xf32>, tensor<2x3x2xf32>) outs(%acc : tensor<2x?x2xf32>) -> tensor<2x?x2xf32>
  return %y : tensor<2x?x2xf32>
}

// -----

// linalg.broadcast of the weight works the same; a non-zero accumulator is added
// back.
// CHECK-LABEL: func.func @broadcast_op
// CHECK: "cim.matmul"
// CHECK: tensor.expand_shape
// CHECK: arith.addf
// CHECK-NOT: linalg.batch_matmul
func.func @broadcast_op(%x: tensor<4x5x3xf32>, %acc: tensor<4x5x2xf32>) -> tensor<4x5x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %eb = tensor.empty() : tensor<4x3x2xf32>
  %wb = linalg.broadcast ins(%w : tensor<3x2xf32>) outs(%eb : tensor<4x3x2xf32>) dimensions = [0]
  %y = linalg.batch_matmul ins(%x, %wb : tensor<4x5x3xf32>, tensor<4x3x2xf32>) outs(%acc : tensor<4x5x2xf32>) -> tensor<4x5x2xf32>
  return %y : tensor<4x5x2xf32>
}

// -----

// A product of two computed values (attention's QKᵀ) stays digital.
// CHECK-LABEL: func.func @activations
// CHECK: linalg.batch_matmul
// CHECK-NOT: cim.matmul
func.func @activations(%q: tensor<4x5x3xf32>, %k: tensor<4x3x5xf32>, %acc: tensor<4x5x5xf32>) -> tensor<4x5x5xf32> {
  %y = linalg.batch_matmul ins(%q, %k : tensor<4x5x3xf32>, tensor<4x3x5xf32>) outs(%acc : tensor<4x5x5xf32>) -> tensor<4x5x5xf32>
  return %y : tensor<4x5x5xf32>
}
