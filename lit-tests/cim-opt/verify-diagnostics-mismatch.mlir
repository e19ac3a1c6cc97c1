// An unexpected diagnostic and an expectation nobody met both fail the run, each
// reported at its line.
// RUN: not cim-opt %s --verify-diagnostics 2>&1 | FileCheck %s

// CHECK-DAG: verify-diagnostics-mismatch.mlir:[[@LINE+4]]:3: error: unexpected error: 'func.return' op has 2 operands
// CHECK-DAG: verify-diagnostics-mismatch.mlir:[[@LINE+4]]:6: error: expected error "this message is never emitted" was not produced
func.func @f(%x: f32) -> f32 {
  %c = arith.constant 1.0 : f32
  return %x, %c : f32, f32
  // expected-error {{this message is never emitted}}
}
