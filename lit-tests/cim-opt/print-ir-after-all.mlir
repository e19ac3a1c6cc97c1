// --mlir-print-ir-after-all dumps the module to stderr after each pipeline step,
// cim and upstream passes alike.
// RUN: cim-opt %s --pass-pipeline='builtin.module(canonicalize,cim-verify)' --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s

// CHECK: // -----// IR Dump After canonicalize //----- //
// CHECK-NEXT: module {
// CHECK: %[[C:.*]] = arith.constant dense<3.000000e+00> : tensor<2xf32>
// CHECK-NEXT: return %[[C]]
// CHECK: // -----// IR Dump After cim-verify //----- //
// CHECK-NEXT: module {
func.func @fold() -> tensor<2xf32> {
  %a = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<2.0> : tensor<2xf32>
  %c = arith.addf %a, %b : tensor<2xf32>
  return %c : tensor<2xf32>
}
