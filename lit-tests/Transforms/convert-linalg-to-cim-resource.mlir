// torch-mlir keeps weights as dense_resource blobs: they are read, converted and
// tiled like inline constants. A resource without data (elided) stays digital.
// RUN: cim-opt %s --convert-linalg-to-cim --cim-tile="rows=2 cols=1" | FileCheck %s

// CHECK: sym_name = "main_mm0_r0_c0", weights = dense<{{\[\[}}1.000000e+00], [3.000000e+00]]> : tensor<2x1xf32>
// CHECK: sym_name = "main_mm0_r0_c1", weights = dense<{{\[\[}}2.000000e+00], [-1.500000e+00]]> : tensor<2x1xf32>
// CHECK-LABEL: func.func @main
// CHECK: "cim.mvm"
// CHECK: "cim.mvm"
// CHECK: "cim.concat"
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x2xf32>, tensor<2x2xf32>)
func.func @main(%x: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %w = arith.constant dense_resource<torch_tensor_2_2_torch.float32> : tensor<2x2xf32>
  %elided = arith.constant dense_resource<__elided__> : tensor<2x2xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x2xf32>
  %e = tensor.empty(%n) : tensor<?x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x2xf32>) -> tensor<?x2xf32>
  %z = linalg.matmul ins(%x, %elided : tensor<?x2xf32>, tensor<2x2xf32>) outs(%acc : tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_2_torch.float32: "0x040000000000803F00000040000040400000C0BF"
    }
  }
#-}
