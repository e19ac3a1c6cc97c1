// --mlir-print-ir-before=NAME dumps the IR before the steps running that pass;
// --mlir-print-ir-before-all before every step.
// RUN: cim-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' --mlir-print-ir-before=cse -o /dev/null 2>&1 | FileCheck %s
// RUN: cim-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' --mlir-print-ir-before-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=ALL

// CHECK-NOT: IR Dump Before canonicalize
// CHECK: // -----// IR Dump Before cse //----- //
// CHECK-NEXT: module {
// CHECK: arith.constant dense<3.000000e+00>
// CHECK-NOT: IR Dump

// ALL: // -----// IR Dump Before canonicalize //----- //
// ALL: arith.addf
// ALL: // -----// IR Dump Before cse //----- //
// ALL-NOT: arith.addf
// ALL: arith.constant dense<3.000000e+00>
func.func @fold() -> tensor<2xf32> {
  %a = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<2.0> : tensor<2xf32>
  %c = arith.addf %a, %b : tensor<2xf32>
  return %c : tensor<2xf32>
}
