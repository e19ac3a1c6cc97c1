// Operations of unregistered dialects are an error unless
// --allow-unregistered-dialect, which keeps them as they are through passes.
// RUN: not cim-opt %s 2>&1 | FileCheck %s --check-prefix=REFUSED
// RUN: cim-opt %s --allow-unregistered-dialect --canonicalize | FileCheck %s

// REFUSED: error: operation being parsed with an unregistered dialect

// CHECK-LABEL: func.func @opaque
// CHECK-NEXT: %[[T:.*]] = "vendor.tile"(%arg0) {rows = 128 : i64} : (f32) -> f32
// CHECK-NEXT: return %[[T]]
func.func @opaque(%x: f32) -> f32 {
  %t = "vendor.tile"(%x) {rows = 128 : i64} : (f32) -> f32
  return %t : f32
}
