// A malformed expectation is an error of its own, not silently ignored.
// RUN: not cim-opt %s --verify-diagnostics 2>&1 | FileCheck %s

// CHECK: verify-diagnostics-malformed.mlir:[[@LINE+1]]: error: bad designator '@sideways'
// expected-error @sideways {{anything}}
func.func @f() {
  return
}
