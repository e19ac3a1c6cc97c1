// RUN: cim-opt %s --split-input-file --pass-pipeline='builtin.module(cim-adapters{rank=2})' --mlir-print-debuginfo | FileCheck %s
// RUN: cim-opt %s --pass-pipeline='builtin.module(cim-adapters{placement=named layers=f_mm1 rank=1})' | FileCheck %s --check-prefix=NAMED
// RUN: cim-opt %s --split-input-file --pass-pipeline='builtin.module(cim-adapters{placement=sensitive count=1})' | FileCheck %s --check-prefix=SENSITIVE
// Twice is once: a corrected layer is left alone.
// RUN: cim-opt %s --split-input-file --pass-pipeline='builtin.module(cim-adapters{rank=2},cim-adapters{rank=2})' | FileCheck %s --check-prefix=TWICE

// Every layer's output goes through an identity affine and a rank-2 adapter that
// reads the layer's input; the next layer reads the corrected output. The ops are
// named by their layer, as the mappers name arrays.
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>
// CHECK: %[[Y:.*]] = "cim.matmul"(%[[X]], %{{.*}}) : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: %[[A:.*]] = "cim.affine"(%[[Y]]) {offset = dense<0.000000e+00> : tensor<3xf32>, scale = dense<1.000000e+00> : tensor<3xf32>} : (tensor<?x3xf32>) -> tensor<?x3xf32> loc(#[[L0:loc[0-9]+]])
// CHECK-NEXT: %[[Z:.*]] = "cim.adapter"(%[[X]], %[[A]]) {down = dense<0.000000e+00> : tensor<4x2xf32>, up = dense<0.000000e+00> : tensor<2x3xf32>} : (tensor<?x4xf32>, tensor<?x3xf32>) -> tensor<?x3xf32> loc(#[[L0]])
// CHECK: %[[Y1:.*]] = "cim.matmul"(%[[Z]], %{{.*}}) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
// CHECK-NEXT: %[[A1:.*]] = "cim.affine"(%[[Y1]])
// CHECK-NEXT: %[[Z1:.*]] = "cim.adapter"(%[[Z]], %[[A1]]) {down = dense<0.000000e+00> : tensor<3x2xf32>, up = dense<0.000000e+00> : tensor<2x2xf32>} {{.*}} loc(#[[L1:loc[0-9]+]])
// CHECK-NEXT: return %[[Z1]]
// CHECK-DAG: #[[L0]] = loc("f_mm0"(
// CHECK-DAG: #[[L1]] = loc("f_mm1"(

// NAMED-LABEL: func.func @f
// NAMED: "cim.matmul"
// NAMED-NEXT: arith.constant
// NAMED-NEXT: "cim.matmul"
// NAMED-NEXT: "cim.affine"
// NAMED-NEXT: "cim.adapter"{{.*}}down = {{.*}} : tensor<3x1xf32>, up = {{.*}} : tensor<1x2xf32>
// NAMED-NOT: "cim.adapter"

// TWICE-LABEL: func.func @f
// TWICE-COUNT-2: "cim.adapter"
// TWICE-NOT: "cim.adapter"
// TWICE: return
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 0.5, 2.0], [0.0, 1.0, 0.5], [1.0, 1.0, 1.0], [0.5, 0.0, 0.0]]> : tensor<4x3xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  %v = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]> : tensor<3x2xf32>
  %z = "cim.matmul"(%y, %v) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
  return %z : tensor<?x2xf32>
}

// -----

// A rank above min(K, N) is cut to it. Two matmuls reading one weight (the steps
// of a recurrence) are one layer: both get its correction, under one name.
// CHECK-LABEL: func.func @shared
// CHECK: "cim.adapter"{{.*}}down = dense<0.000000e+00> : tensor<2x2xf32>, up = dense<0.000000e+00> : tensor<2x2xf32>{{.*}} loc(#[[S:loc[0-9]+]])
// CHECK: "cim.adapter"{{.*}} loc(#[[S2:loc[0-9]+]])
// CHECK-DAG: #[[S]] = loc("shared_mm0"(
// CHECK-DAG: #[[S2]] = loc("shared_mm0"(

// The sensitive layer: one large weight among small ones (max |W| * sqrt(K) over
// the column norms: 50.7 against 1 for the other layer).
// SENSITIVE-LABEL: func.func @shared
// SENSITIVE: %[[W:.*]] = arith.constant dense<{{\[\[}}1.000000e+02
// SENSITIVE: %[[Y:.*]] = "cim.matmul"(%{{.*}}, %[[W]])
// SENSITIVE-NEXT: "cim.affine"(%[[Y]])
// SENSITIVE-NEXT: "cim.adapter"
// SENSITIVE: %[[Y2:.*]] = "cim.matmul"(%{{.*}}, %[[W]])
// SENSITIVE-NEXT: "cim.affine"(%[[Y2]])
// SENSITIVE-NEXT: "cim.adapter"
// SENSITIVE-NOT: "cim.adapter"
// SENSITIVE: return
func.func @shared(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[100.0, 1.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %y2 = "cim.matmul"(%y, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %v = arith.constant dense<1.0> : tensor<2x2xf32>
  %z = "cim.matmul"(%y2, %v) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %z : tensor<1x2xf32>
}
