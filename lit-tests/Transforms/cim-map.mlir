// RUN: cim-opt %s --split-input-file --cim-map="rows=4 cols=4" | FileCheck %s
// RUN: cim-opt %s --split-input-file --cim-map="rows=4 cols=4 objective=latency" | FileCheck %s --check-prefix=LATENCY
// RUN: cim-opt %s --split-input-file --cim-map="rows=2 cols=2" | FileCheck %s --check-prefix=SMALL

// Two small layers share one array on its diagonal: the second reads the window
// below and right of the first.
// CHECK: "cim.crossbar"() {{{.*}}geometry = #cim.geometry<4 : i64, 4 : i64>{{.*}}sym_name = "f_packed_a0", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00, 0.000000e+00], [3.000000e+00, 4.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 5.000000e+00], [0.000000e+00, 0.000000e+00, 6.000000e+00]]> : tensor<4x3xf32>}
// CHECK-NOT: "cim.crossbar"
// CHECK-LABEL: func.func @f
// CHECK: %[[H:.*]] = "cim.mvm"(%arg0) {{.*}}array = @f_packed_a0{{.*}}window = #cim.window<0 : i64, 0 : i64>} : (tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK: %[[Y:.*]] = "cim.mvm"(%[[H]]) {{.*}}array = @f_packed_a0{{.*}}window = #cim.window<2 : i64, 2 : i64>} : (tensor<1x2xf32>) -> tensor<1x1xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: arith.constant
// The latency objective packs too: sharing an array costs no time.
// LATENCY-LABEL: func.func @f
// LATENCY: array = @f_packed_a0{{.*}}window = #cim.window<2 : i64, 2 : i64>
// Arrays of 2x2 cannot hold both: one each.
// SMALL: sym_name = "f_mm0_a0", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// SMALL: sym_name = "f_mm1_a1", weights = dense<{{\[\[}}5.000000e+00], [6.000000e+00]]> : tensor<2x1xf32>
// SMALL-LABEL: func.func @f
func.func @f(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %v = arith.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32>
  %y = "cim.matmul"(%h, %v) : (tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// A 3x3 weight on 2x2 arrays: column tiles concatenated, row tiles accumulated;
// each input column range is sliced once, the dynamic batch read once.
// SMALL-LABEL: func.func @g
// SMALL-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// SMALL: %[[B:.*]] = tensor.dim %[[X]]
// SMALL: %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0] [%[[B]], 2] [1, 1]
// SMALL: %[[M0:.*]] = "cim.mvm"(%[[X0]]) {{.*}}array = @g_mm0_a0{{.*}} -> tensor<?x2xf32>
// SMALL-NOT: tensor.extract_slice %[[X]][0, 0]
// SMALL: %[[M1:.*]] = "cim.mvm"(%[[X0]]) {{.*}}array = @g_mm0_a1{{.*}} -> tensor<?x1xf32>
// SMALL: %[[TOP:.*]] = "cim.concat"(%[[M0]], %[[M1]]) {dimension = 1 : i64} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x3xf32>
// SMALL: %[[X1:.*]] = tensor.extract_slice %[[X]][0, 2] [%[[B]], 1] [1, 1]
// SMALL: "cim.mvm"(%[[X1]])
// SMALL: "cim.mvm"(%[[X1]])
// SMALL: %[[BOTTOM:.*]] = "cim.concat"
// SMALL: %[[Y:.*]] = "cim.accumulate"(%[[TOP]], %[[BOTTOM]])
// SMALL: return %[[Y]]
func.func @g(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]> : tensor<3x3xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<?x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// A weight wider than an array: a full-width column tile and the rest, concatenated;
// the rest fits under the first tile on the same array (a second shelf), and its MVM
// reads that window.
// CHECK: sym_name = "wide_mm0_a0", weights = dense<{{\[\[}}1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00], [1.000000e+00, 1.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
// CHECK-NOT: "cim.crossbar"
// CHECK-LABEL: func.func @wide
// CHECK: %[[L:.*]] = "cim.mvm"(%arg0) {{.*}}array = @wide_mm0_a0{{.*}}window = #cim.window<0 : i64, 0 : i64>} : (tensor<1x2xf32>) -> tensor<1x4xf32>
// CHECK: %[[R:.*]] = "cim.mvm"(%arg0) {{.*}}array = @wide_mm0_a0{{.*}}window = #cim.window<2 : i64, 0 : i64>} : (tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK: "cim.concat"(%[[L]], %[[R]])
// The latency objective keeps one array per block: both MVMs can run at once.
// LATENCY-LABEL: func.func @wide
// LATENCY: array = @wide_mm0_a0
// LATENCY: array = @wide_mm0_a1
func.func @wide(%x: tensor<1x2xf32>) -> tensor<1x6xf32> {
  %w = arith.constant dense<1.0> : tensor<2x6xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x6xf32>) -> tensor<1x6xf32>
  return %y : tensor<1x6xf32>
}

// -----

// Matmuls reading one weight constant (an unrolled recurrence) read one array.
// CHECK-LABEL: func.func @shared
// CHECK: %[[A:.*]] = "cim.mvm"(%arg0) {{.*}}array = @shared_mm0_a0
// CHECK: "cim.mvm"(%[[A]]) {{.*}}array = @shared_mm0_a0
// CHECK-NOT: shared_mm0_a1
func.func @shared(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0], [2.0, 0.25]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %y = "cim.matmul"(%h, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
