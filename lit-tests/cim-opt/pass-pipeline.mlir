// A textual pipeline with a nested op-anchored group and an upstream conversion,
// with or without the builtin.module anchor.
// RUN: cim-opt %s --pass-pipeline='builtin.module(func.func(tosa-to-linalg),cim-verify,canonicalize)' | FileCheck %s
// RUN: cim-opt %s --pass-pipeline='func.func(tosa-to-linalg), cim-verify, canonicalize' | FileCheck %s

// CHECK-LABEL: func.func @relu
// CHECK-NOT: tosa.clamp
// CHECK: linalg.generic
// CHECK: arith.maximumf
func.func @relu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = tosa.clamp %x {min_val = 0.0 : f32, max_val = 3.4028235e+38 : f32} : (tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
