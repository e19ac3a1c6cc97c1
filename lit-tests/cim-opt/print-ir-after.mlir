// --mlir-print-ir-after=NAME dumps only after the steps running that pass, also
// when it is nested in an op-specific pipeline.
// RUN: cim-opt %s --pass-pipeline='builtin.module(cim-verify,func.func(cse),canonicalize)' --mlir-print-ir-after=cse -o /dev/null 2>&1 | FileCheck %s

// CHECK-NOT: IR Dump After cim-verify
// CHECK: // -----// IR Dump After func.func(cse) //----- //
// CHECK: %[[A:.*]] = arith.addf %arg0, %arg0 : f32
// CHECK-NEXT: %[[B:.*]] = arith.mulf %[[A]], %[[A]] : f32
// CHECK-NOT: IR Dump After
func.func @cse(%x: f32) -> f32 {
  %a = arith.addf %x, %x : f32
  %b = arith.addf %x, %x : f32
  %c = arith.mulf %a, %b : f32
  return %c : f32
}
