// RUN: cim-opt %s --split-input-file --cim-map="rows=4 cols=4 duplicate-arrays=1" | FileCheck %s
// RUN: cim-opt %s --split-input-file --cim-map="rows=4 cols=4 duplicate-arrays=3" | FileCheck %s --check-prefix=THREE

// Both layers take 5 rows; the first (a slowest one) gets a copy with the one
// extra array. The copies take rows 0..3 and 3..5; tensor.concat joins the
// shares. Packing the second layer with a copy would make that array the slowest
// (3 + 5 rows): each keeps an array.
// CHECK-DAG: sym_name = "f_mm0_a0", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK-DAG: sym_name = "f_mm1_a1", weights = dense<{{\[\[}}5.000000e+00], [6.000000e+00]]>
// CHECK-DAG: sym_name = "f_mm0_a2", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]>
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[X:.*]]: tensor<5x2xf32>)
// CHECK: %[[TOP:.*]] = tensor.extract_slice %[[X]][0, 0] [3, 2] [1, 1]
// CHECK: %[[A:.*]] = "cim.mvm"(%[[TOP]]) {{.*}}array = @f_mm0_a0{{.*}} : (tensor<3x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[BOTTOM:.*]] = tensor.extract_slice %[[X]][3, 0] [2, 2] [1, 1]
// CHECK: %[[B:.*]] = "cim.mvm"(%[[BOTTOM]]) {{.*}}array = @f_mm0_a2{{.*}} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: %[[H:.*]] = tensor.concat dim(0) %[[A]], %[[B]] : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<5x2xf32>
// CHECK: %[[Y:.*]] = "cim.mvm"(%[[H]]) {{.*}}array = @f_mm1_a1{{.*}} : (tensor<5x2xf32>) -> tensor<5x1xf32>
// CHECK: return %[[Y]]
// Three extra arrays: the slowest layer gets the next copy each time (ties go to
// the earlier layer): the first layer 3 copies (2, 2 and 1 rows), the second 2.
// THREE-LABEL: func.func @f
// THREE-COUNT-3: "cim.mvm"({{.*}}) {{.*}}array = @f_mm0_a
// THREE: tensor.concat dim(0)
// THREE-SAME: (tensor<2x2xf32>, tensor<2x2xf32>, tensor<1x2xf32>) -> tensor<5x2xf32>
// THREE-COUNT-2: "cim.mvm"({{.*}}) {{.*}}array = @f_mm1_a
// THREE: tensor.concat dim(0)
// THREE-SAME: (tensor<3x1xf32>, tensor<2x1xf32>) -> tensor<5x1xf32>
func.func @f(%x: tensor<5x2xf32>) -> tensor<5x1xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<5x2xf32>, tensor<2x2xf32>) -> tensor<5x2xf32>
  %v = arith.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32>
  %y = "cim.matmul"(%h, %v) : (tensor<5x2xf32>, tensor<2x1xf32>) -> tensor<5x1xf32>
  return %y : tensor<5x1xf32>
}

// -----

// A dynamic batch has no rows to share out: no copies.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: tensor.concat
// CHECK: "cim.mvm"(%arg0) {{.*}}array = @dynamic_mm0_a0
// CHECK-NOT: tensor.concat
func.func @dynamic(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  return %h : tensor<?x2xf32>
}

// -----

// A weight read twice (the steps of a recurrence) depends on its earlier step:
// no copies.
// CHECK-COUNT-1: "cim.crossbar"
// CHECK-LABEL: func.func @shared
// CHECK-NOT: tensor.concat
func.func @shared(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %y = "cim.matmul"(%h, %w) : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
