// RUN: cim-opt %s --split-input-file --cim-bitslice="weight-bits=4 cell-bits=2" | FileCheck %s
// RUN: cim-opt %s --split-input-file --cim-bitslice="weight-bits=4 cell-bits=4 input-bits=6 dac-bits=6 input-min=0.0 input-max=2.0" | FileCheck %s --check-prefix=WIDE
// RUN: cim-opt %s --split-input-file --cim-bitslice="weight-bits=4 cell-bits=2 weight-scaling=array" | FileCheck %s --check-prefix=ARRAY
// RUN: cim-opt %s --split-input-file --cim-bitslice="weight-bits=4 cell-bits=2 weight-scaling=column" | FileCheck %s --check-prefix=COLUMN

// Weights [15, 6] with s = 15/15 = 1: q = [15, 6] = [0b1111, 0b0110]; 2-bit slices
// [3, 2] (low) and [3, 1] (high, shift 2).
// CHECK: cell = #cim.cell<2 : i64>{{.*}}sign = "positive", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "a_s0", weights = dense<{{\[\[}}3.000000e+00, 2.000000e+00]]> : tensor<1x2xf32>}
// CHECK: cell = #cim.cell<2 : i64>{{.*}}sign = "positive", slice = #cim.slice<1 : i64, 2 : i64>, sym_name = "a_s1", weights = dense<{{\[\[}}3.000000e+00, 1.000000e+00]]> : tensor<1x2xf32>}
// CHECK-NOT: sym_name = "a",
// CHECK-LABEL: func.func @slices
// CHECK: %[[S0:.*]] = "cim.mvm"(%[[X:.*]]) {adc = #cim.adc<6 : i64, 0.000000e+00 : f64, 3.200000e+01 : f64>, array = @a_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>}
// CHECK: %[[S1:.*]] = "cim.mvm"(%[[X]]) {{.*}}array = @a_s1
// CHECK: %[[R:.*]] = "cim.shift_add"(%[[S0]], %[[S1]]) {shifts = array<i64: 0, 2>}
// CHECK: %[[Y:.*]] = "cim.affine"(%[[R]]) {offset = dense<0.000000e+00> : tensor<2xf32>, scale = dense<1.000000e+00> : tensor<2xf32>}
// CHECK: return %[[Y]]
// WIDE: cell = #cim.cell<4 : i64>{{.*}}sym_name = "a_s0", weights = dense<{{\[\[}}1.500000e+01, 6.000000e+00]]>
// WIDE-NOT: a_s1
// WIDE: dac = #cim.dac<6 : i64, "multi_level", 0.000000e+00 : f64, 2.000000e+00 : f64>
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<[[15.0, 6.0]]> : tensor<1x2xf32>} : () -> ()
func.func @slices(%x: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.adc<6 : i64, 0.0 : f64, 32.0 : f64>} : (tensor<?x1xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// The scale uses the full range: max 3.0 over 15 levels gives s = 0.2 and levels
// round(w / 0.2); an array already sliced is left alone.
// CHECK: sym_name = "b_s0", weights = dense<3.000000e+00> : tensor<1x2xf32>
// CHECK: sym_name = "b_s1", weights = dense<{{\[\[}}3.000000e+00, 0.000000e+00]]>
// CHECK-LABEL: func.func @scaled
// CHECK: "cim.affine"(%{{.*}}) {offset = dense<0.000000e+00> : tensor<2xf32>, scale = dense<2.000000e-01> : tensor<2xf32>}
// CHECK: "cim.mvm"(%{{.*}}) {{.*}}array = @done
"cim.crossbar"() {sym_name = "b", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<[[3.0, 0.6]]> : tensor<1x2xf32>} : () -> ()
"cim.crossbar"() {sym_name = "done", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<1x2xf32>} : () -> ()
func.func @scaled(%x: tensor<3x1xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %y = "cim.mvm"(%x) {array = @b, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<3x1xf32>) -> tensor<3x2xf32>
  %z = "cim.mvm"(%x) {array = @done, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<3x1xf32>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Two layers packed on one array of device pairs. A pair keeps the sign, so each
// slice holds the digits of |q| with the weight's sign. Scales per block (default):
// rows 0 (max 3.0, s = 0.2) and 1 (max 0.6, s = 0.04) each use the full 15 levels,
// q = [[15, -7], [15, 7]].
// CHECK: sign = "pair", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "p_s0", weights = dense<{{\[\[}}3.000000e+00, -3.000000e+00], [3.000000e+00, 3.000000e+00]]>
// CHECK: sign = "pair", slice = #cim.slice<1 : i64, 2 : i64>, sym_name = "p_s1", weights = dense<{{\[\[}}3.000000e+00, -1.000000e+00], [3.000000e+00, 1.000000e+00]]>
// CHECK-LABEL: func.func @packed
// CHECK: "cim.affine"(%{{.*}}) {offset = dense<0.000000e+00> : tensor<2xf32>, scale = dense<2.000000e-01> : tensor<2xf32>}
// CHECK: "cim.affine"(%{{.*}}) {offset = dense<0.000000e+00> : tensor<2xf32>, scale = dense<0.0400000028> : tensor<2xf32>}
// One scale for the array (aihwkit's per-tile scale): the second layer keeps 3 and
// 1 of the 15 levels, q = [[15, -7], [3, 1]].
// ARRAY: sym_name = "p_s0", weights = dense<{{\[\[}}3.000000e+00, -3.000000e+00], [3.000000e+00, 1.000000e+00]]>
// ARRAY: sym_name = "p_s1", weights = dense<{{\[\[}}3.000000e+00, -1.000000e+00], [0.000000e+00, 0.000000e+00]]>
// ARRAY-LABEL: func.func @packed
// ARRAY-COUNT-2: scale = dense<2.000000e-01> : tensor<2xf32>
// One scale per column of each block: every weight is a top level, q = ±15.
// COLUMN: sym_name = "p_s0", weights = dense<{{\[\[}}3.000000e+00, -3.000000e+00], [3.000000e+00, 3.000000e+00]]>
// COLUMN: sym_name = "p_s1", weights = dense<{{\[\[}}3.000000e+00, -3.000000e+00], [3.000000e+00, 3.000000e+00]]>
// COLUMN-LABEL: func.func @packed
// COLUMN: scale = dense<[2.000000e-01, 0.0933333337]> : tensor<2xf32>
// COLUMN: scale = dense<[0.0400000028, 0.018666666]> : tensor<2xf32>
"cim.crossbar"() {sym_name = "p", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "pair", weights = dense<[[3.0, -1.4], [0.6, 0.28]]> : tensor<2x2xf32>} : () -> ()
func.func @packed(%x: tensor<?x1xf32>, %z: tensor<?x1xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %a = "cim.mvm"(%x) {array = @p, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<?x1xf32>) -> tensor<?x2xf32>
  %b = "cim.mvm"(%z) {array = @p, window = #cim.window<1 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<?x1xf32>) -> tensor<?x2xf32>
  return %a, %b : tensor<?x2xf32>, tensor<?x2xf32>
}
