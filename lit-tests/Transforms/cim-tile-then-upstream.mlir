// cim-tile composes with upstream passes in one pipeline: after tiling, CSE merges
// the two identical input slices of two matmuls that share an input, and the IR
// stays valid at every step (verified after each).
// RUN: cim-opt %s --pass-pipeline='builtin.module(cim-tile{rows=2 cols=8},func.func(cse),cim-verify)' --mlir-print-ir-after=cim-tile 2>%t.after | FileCheck %s
// RUN: FileCheck %s --check-prefix=AFTER < %t.after

// AFTER: IR Dump After cim-tile
// AFTER-COUNT-4: tensor.extract_slice
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-2: tensor.extract_slice
// CHECK-NOT: tensor.extract_slice
// CHECK-COUNT-4: "cim.mvm"
func.func @shared(%x: tensor<8x4xf32>) -> (tensor<8x2xf32>, tensor<8x2xf32>) {
  %a = arith.constant dense<1.0> : tensor<4x2xf32>
  %b = arith.constant dense<2.0> : tensor<4x2xf32>
  %ya = "cim.matmul"(%x, %a) : (tensor<8x4xf32>, tensor<4x2xf32>) -> tensor<8x2xf32>
  %yb = "cim.matmul"(%x, %b) : (tensor<8x4xf32>, tensor<4x2xf32>) -> tensor<8x2xf32>
  return %ya, %yb : tensor<8x2xf32>, tensor<8x2xf32>
}
