// --mlir-print-ir-after-failure dumps the IR as the failing step left it (then
// its diagnostic is reported); the steps before it are not dumped and the exit
// status is 1.
// RUN: not cim-opt %s --canonicalize --cim-tile --mlir-print-ir-after-failure -o /dev/null 2>&1 | FileCheck %s

// CHECK-NOT: IR Dump After canonicalize
// CHECK: // -----// IR Dump After cim-tile Failed //----- //
// CHECK-NEXT: module {
// CHECK: "cim.matmul"
// CHECK: error: 'cim.matmul' op cannot be tiled: input must be 2-D (batch x K), got 2x5x3
func.func @batched(%x: tensor<2x5x3xf32>) -> tensor<2x5x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32>
  return %y : tensor<2x5x2xf32>
}
