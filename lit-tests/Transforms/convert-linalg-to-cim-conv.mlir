// A convolution with a constant filter, as torch-mlir writes it, becomes im2col, one
// analog product by the filter as a (c, kh, kw) x f matrix, and NCHW again.
// RUN: cim-opt %s --convert-linalg-to-cim | FileCheck %s

// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<?x2x4x4xf32>, %[[ACC:.*]]: tensor<?x3x2x2xf32>)
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[IN:.*]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[X]] : tensor<?x2x4x4xf32>)
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[COLS]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<?x2x2x2x2x2xf32> into tensor<?x8xf32>
// CHECK: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<8x3xf32>
// CHECK: %[[P:.*]] = "cim.matmul"(%[[FLAT]], %[[W]]) : (tensor<?x8xf32>, tensor<8x3xf32>) -> tensor<?x3xf32>
// CHECK: %[[NHWC:.*]] = tensor.expand_shape %[[P]] {{\[\[}}0, 1, 2], [3]] output_shape [%{{.*}}, 2, 2, 3]
// CHECK: %[[NCHW:.*]] = linalg.transpose ins(%[[NHWC]] : tensor<?x2x2x3xf32>)
// CHECK-SAME: permutation = [0, 3, 1, 2]
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %[[NCHW]] : tensor<?x3x2x2xf32>
// CHECK: return %[[S]]
// CHECK-NOT: linalg.conv_2d
func.func @conv(%x: tensor<?x2x4x4xf32>, %acc: tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32> {
  %w = arith.constant dense<0.5> : tensor<3x2x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%x, %w : tensor<?x2x4x4xf32>, tensor<3x2x2x2xf32>) outs(%acc : tensor<?x3x2x2xf32>) -> tensor<?x3x2x2xf32>
  return %y : tensor<?x3x2x2xf32>
}
