// Round trip of every cim operation: parse, print, parse again; the generic form too.
// RUN: cim-opt %s --split-input-file | cim-opt --split-input-file | FileCheck %s
// RUN: cim-opt %s --split-input-file --mlir-print-op-generic | cim-opt --split-input-file | FileCheck %s
// Upstream mlir-opt loads the same dialect file and prints the same IR.
// RUN: mlir-opt --irdl-file=%cim_dialect %s --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<3x2xf32>
// CHECK: %[[Y:.*]] = "cim.matmul"(%[[X]], %[[W]]) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
// CHECK: return %[[Y]]
func.func @matmul(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// CHECK-LABEL: func.func @conv2d
// CHECK: "cim.conv2d"(%{{.*}}, %{{.*}}) {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
// CHECK-SAME: (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
func.func @conv2d(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x2x3x3xf32>
  %y = "cim.conv2d"(%x, %w) {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// A 4x3 signed weight as differential pairs of two 1-bit slices (four arrays):
// every mapped-level and digital op in one function.
// CHECK: "cim.crossbar"() {cell = #cim.cell<1 : i64>, geometry = #cim.geometry<8 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, sign = "positive", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "w_pos_s0", weights = dense<{{.*}}> : tensor<4x3xf32>}
// CHECK: "cim.crossbar"() {{.*}} sign = "negative", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "w_neg_s0"
// CHECK: "cim.crossbar"() {{.*}} sign = "positive", slice = #cim.slice<1 : i64, 1 : i64>, sym_name = "w_pos_s1"
// CHECK: "cim.crossbar"() {{.*}} sign = "negative", slice = #cim.slice<1 : i64, 1 : i64>, sym_name = "w_neg_s1"
// CHECK-LABEL: func.func @mapped
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>)
// CHECK: %[[P0:.*]] = "cim.mvm"(%[[X]]) {adc = #cim.adc<8 : i64, -4.000000e+00 : f64, 4.000000e+00 : f64>, array = @w_pos_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>}
// CHECK: %[[N0:.*]] = "cim.mvm"(%[[X]]) {{.*}}array = @w_neg_s0
// CHECK: %[[D0:.*]] = "cim.diff"(%[[P0]], %[[N0]])
// CHECK: %[[D1:.*]] = "cim.diff"
// CHECK: %[[S:.*]] = "cim.shift_add"(%[[D0]], %[[D1]]) {shifts = array<i64: 0, 1>}
// CHECK: %[[A:.*]] = "cim.affine"(%[[S]]) {offset = dense<{{.*}}> : tensor<3xf32>, scale = dense<{{.*}}> : tensor<3xf32>}
// CHECK: %[[L:.*]] = "cim.adapter"(%[[X]], %[[A]]) {down = dense<{{.*}}> : tensor<4x1xf32>, up = dense<{{.*}}> : tensor<1x3xf32>}
// CHECK: %[[Q:.*]] = "cim.quantize"(%[[L]]) {bits = 8 : i64, scale = 6.250000e-02 : f64, zero_point = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xi8>
// CHECK: %[[R:.*]] = "cim.dequantize"(%[[Q]]) {scale = 6.250000e-02 : f64, zero_point = 0 : i64} : (tensor<2x3xi8>) -> tensor<2x3xf32>
// CHECK: return %[[R]]
"cim.crossbar"() {sym_name = "w_pos_s0", geometry = #cim.geometry<8 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<1 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]> : tensor<4x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg_s0", geometry = #cim.geometry<8 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<1 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]> : tensor<4x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_pos_s1", geometry = #cim.geometry<8 : i64, 4 : i64>, place = #cim.place<0 : i64, 1 : i64, 0 : i64>, cell = #cim.cell<1 : i64>, slice = #cim.slice<1 : i64, 1 : i64>, sign = "positive", weights = dense<[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]> : tensor<4x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg_s1", geometry = #cim.geometry<8 : i64, 4 : i64>, place = #cim.place<0 : i64, 1 : i64, 1 : i64>, cell = #cim.cell<1 : i64>, slice = #cim.slice<1 : i64, 1 : i64>, sign = "negative", weights = dense<[[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]> : tensor<4x3xf32>} : () -> ()
func.func @mapped(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %p0 = "cim.mvm"(%x) {array = @w_pos_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<2x4xf32>) -> tensor<2x3xf32>
  %n0 = "cim.mvm"(%x) {array = @w_neg_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<2x4xf32>) -> tensor<2x3xf32>
  %p1 = "cim.mvm"(%x) {array = @w_pos_s1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<2x4xf32>) -> tensor<2x3xf32>
  %n1 = "cim.mvm"(%x) {array = @w_neg_s1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", -1.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, -4.0 : f64, 4.0 : f64>} : (tensor<2x4xf32>) -> tensor<2x3xf32>
  %d0 = "cim.diff"(%p0, %n0) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %d1 = "cim.diff"(%p1, %n1) : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = "cim.shift_add"(%d0, %d1) {shifts = array<i64: 0, 1>} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %a = "cim.affine"(%s) {scale = dense<[1.0, 0.5, 2.0]> : tensor<3xf32>, offset = dense<[0.0, 0.1, -0.1]> : tensor<3xf32>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %l = "cim.adapter"(%x, %a) {down = dense<[[0.1], [0.2], [0.3], [0.4]]> : tensor<4x1xf32>, up = dense<[[1.0, -1.0, 0.5]]> : tensor<1x3xf32>} : (tensor<2x4xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %q = "cim.quantize"(%l) {scale = 0.0625 : f64, zero_point = 0 : i64, bits = 8 : i64} : (tensor<2x3xf32>) -> tensor<2x3xi8>
  %r = "cim.dequantize"(%q) {scale = 0.0625 : f64, zero_point = 0 : i64} : (tensor<2x3xi8>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// Row tiles accumulate, column tiles concatenate; ideal converters; a window that
// packs a second block into the same array.
// CHECK-LABEL: func.func @tiles
// CHECK: %[[T00:.*]] = "cim.mvm"(%{{.*}}) {adc = #cim.ideal, array = @tile, dac = #cim.ideal, window = #cim.window<0 : i64, 0 : i64>} : (tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK: %[[T10:.*]] = "cim.mvm"(%{{.*}}) {{.*}}window = #cim.window<2 : i64, 0 : i64>
// CHECK: %[[ACC:.*]] = "cim.accumulate"(%[[T00]], %[[T10]]) : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
// CHECK: %[[T01:.*]] = "cim.mvm"(%{{.*}}) {{.*}}window = #cim.window<0 : i64, 2 : i64>
// CHECK: "cim.concat"(%[[ACC]], %[[T01]]) {dimension = 1 : i64} : (tensor<1x2xf32>, tensor<1x1xf32>) -> tensor<1x3xf32>
"cim.crossbar"() {sym_name = "tile", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<1 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<0.25> : tensor<4x4xf32>} : () -> ()
func.func @tiles(%x0: tensor<1x2xf32>, %x1: tensor<1x2xf32>) -> tensor<1x3xf32> {
  %t00 = "cim.mvm"(%x0) {array = @tile, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %t10 = "cim.mvm"(%x1) {array = @tile, window = #cim.window<2 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x2xf32>) -> tensor<1x2xf32>
  %acc = "cim.accumulate"(%t00, %t10) : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x2xf32>
  %t01 = "cim.mvm"(%x0) {array = @tile, window = #cim.window<0 : i64, 2 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x2xf32>) -> tensor<1x1xf32>
  %y = "cim.concat"(%acc, %t01) {dimension = 1 : i64} : (tensor<1x2xf32>, tensor<1x1xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}

// -----

// Offset encoding: a reference column (last dimension 1) is broadcast by cim.diff.
// CHECK-LABEL: func.func @offset_reference
// CHECK: "cim.diff"(%{{.*}}, %{{.*}}) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
func.func @offset_reference(%y: tensor<2x3xf32>, %ref: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %d = "cim.diff"(%y, %ref) : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %d : tensor<2x3xf32>
}
