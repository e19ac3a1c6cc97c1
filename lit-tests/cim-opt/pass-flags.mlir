// Passes given as flags run in command-line order, cim and upstream mixed; single-
// dash spellings and upstream options work as in mlir-opt.
// RUN: cim-opt %s --cim-verify -canonicalize --cse | FileCheck %s
// RUN: cim-opt %s --canonicalize="max-iterations=2 test-convergence=false" --dump-pass-pipeline -o /dev/null 2>&1 | FileCheck %s --check-prefix=PIPE

// PIPE: builtin.module(canonicalize{max-iterations=2 test-convergence=false})
// CHECK-LABEL: func.func @f
// CHECK-NEXT: %[[C:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-NEXT: return %[[C]], %[[C]]
func.func @f() -> (f32, f32) {
  %a = arith.constant 2.0 : f32
  %b = arith.constant 3.0 : f32
  %c = arith.mulf %a, %b : f32
  %d = arith.mulf %a, %b : f32
  return %c, %d : f32, f32
}
