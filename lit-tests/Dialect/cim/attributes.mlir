// The datapath attributes round-trip with their parameters, including negative and
// fractional values, and the typed views read them back (cim-verify uses them).
// RUN: cim-opt %s --split-input-file | cim-opt --split-input-file | FileCheck %s

// CHECK: geometry = #cim.geometry<512 : i64, 256 : i64>, place = #cim.place<7 : i64, 3 : i64, 63 : i64>, sign = "offset", slice = #cim.slice<3 : i64, 12 : i64>
// CHECK-LABEL: func.func @converters
// CHECK: dac = #cim.dac<4 : i64, "multi_level", -2.500000e-01 : f64, 7.500000e-01 : f64>
// CHECK-SAME: window = #cim.window<3 : i64, 5 : i64>
// CHECK: adc = #cim.adc<12 : i64, -1.600000e+01 : f64, 1.600000e+01 : f64>
// CHECK-SAME: dac = #cim.dac<1 : i64, "bit_serial", 0.000000e+00 : f64, 1.000000e+00 : f64>
// CHECK: adc = #cim.adc_per_plane<9 : i64, 0.000000e+00 : f64, 4.500000e+01 : f64>
// CHECK-SAME: dac = #cim.dac<8 : i64, "bit_serial", 0.000000e+00 : f64, 2.000000e+00 : f64>
"cim.crossbar"() {sym_name = "big", geometry = #cim.geometry<512 : i64, 256 : i64>, place = #cim.place<7 : i64, 3 : i64, 63 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<3 : i64, 12 : i64>, sign = "offset", weights = dense<0.0> : tensor<16x8xf32>} : () -> ()
func.func @converters(%x: tensor<4x2xf32>, %z: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x8xf32>) {
  %y = "cim.mvm"(%x) {array = @big, window = #cim.window<3 : i64, 5 : i64>, dac = #cim.dac<4 : i64, "multi_level", -0.25 : f64, 0.75 : f64>, adc = #cim.ideal} : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %w = "cim.mvm"(%z) {array = @big, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<1 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<12 : i64, -16.0 : f64, 16.0 : f64>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %v = "cim.mvm"(%z) {array = @big, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 2.0 : f64>, adc = #cim.adc_per_plane<9 : i64, 0.0 : f64, 45.0 : f64>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y, %v : tensor<4x2xf32>, tensor<4x8xf32>
}

// -----
// Managed converters and a pair array (device pairs holding signed levels).
// CHECK-LABEL: func.func @managed
// CHECK: adc = #cim.adc_managed<9 : i64, 1.200000e+01 : f64, 5 : i64>
// CHECK-SAME: dac = #cim.dac_managed<7 : i64, "abs_max", 1.000000e+00 : f64, 1.000000e+00 : f64>
// CHECK: adc = #cim.adc_managed<8 : i64, 2.550000e+03 : f64, 1 : i64>
// CHECK-SAME: dac = #cim.dac_managed<8 : i64, "constant", 3.000000e+00 : f64, 1.000000e+00 : f64>
"cim.crossbar"() {sym_name = "pairs", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<8 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "pair", weights = dense<[[255.0, -128.0], [-3.0, 0.0]]> : tensor<2x2xf32>} : () -> ()
func.func @managed(%x: tensor<?x2xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>) {
  %y = "cim.mvm"(%x) {array = @pairs, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac_managed<7 : i64, "abs_max", 1.0 : f64, 1.0 : f64>, adc = #cim.adc_managed<9 : i64, 12.0 : f64, 5 : i64>} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %z = "cim.mvm"(%x) {array = @pairs, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac_managed<8 : i64, "constant", 3.0 : f64, 1.0 : f64>, adc = #cim.adc_managed<8 : i64, 2550.0 : f64, 1 : i64>} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y, %z : tensor<?x2xf32>, tensor<?x2xf32>
}
