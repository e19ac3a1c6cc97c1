// RUN: cim-opt %s --split-input-file --cim-tile="rows=2 cols=2" | FileCheck %s
// RUN: cim-opt %s --split-input-file --pass-pipeline='builtin.module(cim-tile{rows=4 cols=4},canonicalize)' | FileCheck %s --check-prefix=BIG

// A 3x3 weight on 2x2 arrays: two row tiles (2 + 1 rows) by two column tiles
// (2 + 1 columns); the dynamic batch is read once with tensor.dim.
// CHECK: "cim.crossbar"() {cell = #cim.ideal, geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, sign = "signed", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "f_mm0_r0_c0", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [4.000000e+00, 5.000000e+00]]> : tensor<2x2xf32>}
// CHECK: sym_name = "f_mm0_r0_c1", weights = dense<{{\[\[}}3.000000e+00], [6.000000e+00]]> : tensor<2x1xf32>
// CHECK: sym_name = "f_mm0_r1_c0", weights = dense<{{\[\[}}7.000000e+00, 8.000000e+00]]> : tensor<1x2xf32>
// CHECK: sym_name = "f_mm0_r1_c1", weights = dense<9.000000e+00> : tensor<1x1xf32>
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x3xf32>
// CHECK: %[[X0:.*]] = tensor.extract_slice %[[X]][0, 0] [%[[B]], 2] [1, 1] : tensor<?x3xf32> to tensor<?x2xf32>
// CHECK: %[[X1:.*]] = tensor.extract_slice %[[X]][0, 2] [%[[B]], 1] [1, 1] : tensor<?x3xf32> to tensor<?x1xf32>
// CHECK: %[[M00:.*]] = "cim.mvm"(%[[X0]]) {adc = #cim.ideal, array = @f_mm0_r0_c0, dac = #cim.ideal, window = #cim.window<0 : i64, 0 : i64>} : (tensor<?x2xf32>) -> tensor<?x2xf32>
// CHECK: %[[M10:.*]] = "cim.mvm"(%[[X1]]) {{.*}}array = @f_mm0_r1_c0{{.*}} : (tensor<?x1xf32>) -> tensor<?x2xf32>
// CHECK: %[[C0:.*]] = "cim.accumulate"(%[[M00]], %[[M10]])
// CHECK: %[[M01:.*]] = "cim.mvm"(%[[X0]]) {{.*}}array = @f_mm0_r0_c1
// CHECK: %[[M11:.*]] = "cim.mvm"(%[[X1]]) {{.*}}array = @f_mm0_r1_c1
// CHECK: %[[C1:.*]] = "cim.accumulate"(%[[M01]], %[[M11]]) : (tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x1xf32>
// CHECK: %[[Y:.*]] = "cim.concat"(%[[C0]], %[[C1]]) {dimension = 1 : i64} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x3xf32>
// CHECK: return %[[Y]]
// CHECK-NOT: arith.constant dense
// BIG-LABEL: func.func @f
// BIG-NEXT: %[[M:.*]] = "cim.mvm"(%arg0) {{.*}}array = @f_mm0_r0_c0{{.*}} : (tensor<?x3xf32>) -> tensor<?x3xf32>
// BIG-NEXT: return %[[M]]
func.func @f(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]> : tensor<3x3xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<?x3xf32>, tensor<3x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// -----

// A static batch needs no tensor.dim; a weight that fits needs no slices; names stay
// unique next to existing symbols; each matmul gets its own arrays.
// CHECK-LABEL: func.func private @g_mm0_r0_c0()
// CHECK: sym_name = "g_mm0_r0_c0_1"
// CHECK: sym_name = "g_mm1_r0_c0"
// CHECK-LABEL: func.func @g
// CHECK-NOT: tensor.dim
// CHECK: %[[A:.*]] = "cim.mvm"(%arg0) {{.*}}array = @g_mm0_r0_c0_1{{.*}} : (tensor<5x2xf32>) -> tensor<5x2xf32>
// CHECK: "cim.mvm"(%[[A]]) {{.*}}array = @g_mm1_r0_c0{{.*}} : (tensor<5x2xf32>) -> tensor<5x1xf32>
func.func private @g_mm0_r0_c0()
func.func @g(%x: tensor<5x2xf32>) -> tensor<5x1xf32> {
  %w = arith.constant dense<0.5> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<5x2xf32>, tensor<2x2xf32>) -> tensor<5x2xf32>
  %v = arith.constant dense<[[1.0], [-1.0]]> : tensor<2x1xf32>
  %y = "cim.matmul"(%h, %v) : (tensor<5x2xf32>, tensor<2x1xf32>) -> tensor<5x1xf32>
  return %y : tensor<5x1xf32>
}

// -----

// Two matmuls reading one weight constant (an unrolled recurrence) share its arrays.
// CHECK-LABEL: func.func @shared
// CHECK: %[[A:.*]] = "cim.mvm"(%arg0) {{.*}}array = @shared_mm0_r0_c0
// CHECK: "cim.mvm"(%[[A]]) {{.*}}array = @shared_mm0_r0_c0
// CHECK-NOT: shared_mm1
func.func @shared(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, -1.0], [2.0, 0.25]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %y = "cim.matmul"(%h, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
