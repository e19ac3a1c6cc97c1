// --mlir-pass-statistics: MLIR's own report (its counters exist only in LLVM
// builds with statistics enabled), then cim-opt's per step: operations before
// and after, and the change of each kind.
// RUN: cim-opt %s --cse --canonicalize --mlir-pass-statistics -o /dev/null 2>&1 | FileCheck %s

// CHECK: ... Pass statistics report ...
// CHECK: ... cim-opt step statistics ...
// CHECK: {{^}}cse
// CHECK-NEXT: (S) 5 ops-before - operations before the step
// CHECK-NEXT: (S) 4 ops-after - operations after the step
// CHECK-NEXT: (S) -1 arith.addf - change in arith.addf operations
// CHECK-NEXT: canonicalize
// CHECK-NEXT: (S) 4 ops-before
// CHECK-NEXT: (S) 4 ops-after
func.func @cse(%x: f32) -> f32 {
  %a = arith.addf %x, %x : f32
  %b = arith.addf %x, %x : f32
  %c = arith.mulf %a, %b : f32
  return %c : f32
}
