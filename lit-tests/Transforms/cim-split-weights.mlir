// RUN: cim-opt %s --split-input-file --cim-split-weights | FileCheck %s
// RUN: cim-opt %s --split-input-file --cim-split-weights="encoding=offset" | FileCheck %s --check-prefix=OFFSET
// RUN: cim-opt %s --split-input-file --cim-split-weights="encoding=pair" | FileCheck %s --check-prefix=PAIR

// CHECK: "cim.crossbar"() {{.*}}sign = "positive"{{.*}}sym_name = "a_pos", weights = dense<{{\[\[}}1.000000e+00, 0.000000e+00], [5.000000e-01, 4.000000e+00]]> : tensor<2x2xf32>}
// CHECK: "cim.crossbar"() {{.*}}sign = "negative"{{.*}}sym_name = "a_neg", weights = dense<{{\[\[}}0.000000e+00, 2.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<2x2xf32>}
// CHECK-NOT: sym_name = "a"
// CHECK-LABEL: func.func @pair
// CHECK: %[[P:.*]] = "cim.mvm"(%[[X:.*]]) {{.*}}array = @a_pos, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<1 : i64, 0 : i64>}
// CHECK: %[[N:.*]] = "cim.mvm"(%[[X]]) {{.*}}array = @a_neg, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<1 : i64, 0 : i64>}
// CHECK: %[[D:.*]] = "cim.diff"(%[[P]], %[[N]]) : (tensor<?x1xf32>, tensor<?x1xf32>) -> tensor<?x1xf32>
// CHECK: return %[[D]]

// Offset: w + 2 (the most negative weight is -2) and a reference column of 2s.
// OFFSET: sign = "offset"{{.*}}sym_name = "a_off", weights = dense<{{\[\[}}3.000000e+00, 0.000000e+00], [2.500000e+00, 6.000000e+00]]> : tensor<2x2xf32>}
// OFFSET: geometry = #cim.geometry<4 : i64, 4 : i64>{{.*}}sign = "offset"{{.*}}sym_name = "a_ref", weights = dense<2.000000e+00> : tensor<2x1xf32>}
// OFFSET-LABEL: func.func @pair
// OFFSET: %[[S:.*]] = "cim.mvm"(%[[X:.*]]) {{.*}}array = @a_off{{.*}}window = #cim.window<1 : i64, 0 : i64>} : (tensor<?x1xf32>) -> tensor<?x1xf32>
// OFFSET: %[[R:.*]] = "cim.mvm"(%[[X]]) {{.*}}array = @a_ref{{.*}}window = #cim.window<1 : i64, 0 : i64>} : (tensor<?x1xf32>) -> tensor<?x1xf32>
// OFFSET: "cim.diff"(%[[S]], %[[R]])

// Pair: one array of device pairs keeps the signed weights and subtracts in analog,
// so the MVM reads one array and no cim.diff follows.
// PAIR: sign = "pair"{{.*}}sym_name = "a_pair", weights = dense<{{\[\[}}1.000000e+00, -2.000000e+00], [5.000000e-01, 4.000000e+00]]> : tensor<2x2xf32>}
// PAIR-LABEL: func.func @pair
// PAIR: %[[Y:.*]] = "cim.mvm"(%{{.*}}) {{.*}}array = @a_pair{{.*}}window = #cim.window<1 : i64, 0 : i64>}
// PAIR-NOT: cim.diff
// PAIR: return %[[Y]]
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<[[1.0, -2.0], [0.5, 4.0]]> : tensor<2x2xf32>} : () -> ()
func.func @pair(%x: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<1 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<?x1xf32>) -> tensor<?x1xf32>
  return %y : tensor<?x1xf32>
}

// -----

// Non-negative weights need no reference column under offset encoding; arrays that
// are already split stay as they are.
// OFFSET-LABEL: func.func @nonnegative
// OFFSET-NOT: _ref
// OFFSET: "cim.mvm"(%{{.*}}) {{.*}}array = @b_off
// OFFSET-NOT: cim.diff
// OFFSET: "cim.mvm"(%{{.*}}) {{.*}}array = @kept
// CHECK-LABEL: func.func @nonnegative
// PAIR-LABEL: func.func @nonnegative
// PAIR: array = @b_pair
// PAIR: array = @kept
// CHECK: "cim.diff"
// CHECK: "cim.mvm"(%{{.*}}) {{.*}}array = @kept
"cim.crossbar"() {sym_name = "b", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<[[1.0, 0.0], [0.5, 4.0]]> : tensor<2x2xf32>} : () -> ()
"cim.crossbar"() {sym_name = "kept", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<2x2xf32>} : () -> ()
func.func @nonnegative(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %y = "cim.mvm"(%x) {array = @b, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %z = "cim.mvm"(%x) {array = @kept, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}
