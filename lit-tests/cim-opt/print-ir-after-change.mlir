// --mlir-print-ir-after-change: with --mlir-print-ir-after-all, only the steps
// that changed the IR are dumped (cse finds nothing once canonicalize has folded).
// RUN: cim-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' --mlir-print-ir-after-all --mlir-print-ir-after-change -o /dev/null 2>&1 | FileCheck %s
// Without it, both are.
// RUN: cim-opt %s --pass-pipeline='builtin.module(canonicalize,cse)' --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s --check-prefix=EVERY

// CHECK: // -----// IR Dump After canonicalize //----- //
// CHECK-NOT: IR Dump After cse

// EVERY: // -----// IR Dump After canonicalize //----- //
// EVERY: // -----// IR Dump After cse //----- //
func.func @fold() -> tensor<2xf32> {
  %a = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<2.0> : tensor<2xf32>
  %c = arith.addf %a, %b : tensor<2xf32>
  return %c : tensor<2xf32>
}
