// The crossbar program of a mapped module: arrays and MVMs in program.json, weights
// in weights.safetensors, the glue in program.mlir; reading it back restores the
// module exactly.
// RUN: rm -rf %t && cim-translate %s --to-crossbar-program -o %t
// RUN: FileCheck %s --check-prefix=JSON < %t/program.json
// RUN: FileCheck %s --check-prefix=GLUE < %t/program.mlir
// RUN: cim-translate %t --from-crossbar-program | FileCheck %s --check-prefix=BACK
// RUN: cim-opt %s > %t.expected && cim-translate %t --from-crossbar-program -o %t.back && diff %t.expected %t.back

// JSON: "function": "f"
// JSON: "name": "w_pos"
// JSON: "place": [
// JSON-NEXT: 0,
// JSON-NEXT: 1,
// JSON-NEXT: 2
// JSON: "cell_bits": 2
// JSON: "sign": "positive"
// JSON: "weights": "w_pos.weights"
// JSON: "name": "w_neg"
// JSON: "place": null
// JSON: "cell_bits": null
// JSON: "mvms": [
// JSON: "array": "w_pos"
// JSON: "input": [
// JSON-NEXT: null,
// JSON-NEXT: 2
// JSON: "kind": "dac"
// JSON-NEXT: "bits": 8
// JSON-NEXT: "mode": "bit_serial"
// JSON: "kind": "adc"
// JSON: "array": "w_neg"
// JSON: "kind": "ideal"
// GLUE: sym_name = "w_pos", weights = dense_resource<w_pos.weights> : tensor<2x3xf32>
// GLUE: "cim.diff"
// BACK: sym_name = "w_pos", weights = dense<{{\[\[}}1.000000e+00, 2.000000e+00, 0.000000e+00], [0.000000e+00, 5.000000e-01, 3.000000e+00]]> : tensor<2x3xf32>
"cim.crossbar"() {sym_name = "w_pos", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 1 : i64, 2 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<[[1.0, 2.0, 0.0], [0.0, 0.5, 3.0]]> : tensor<2x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<0.25> : tensor<2x3xf32>} : () -> ()
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x3xf32> {
  %p = "cim.mvm"(%x) {array = @w_pos, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 8.0 : f64>} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %n = "cim.mvm"(%x) {array = @w_neg, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %y = "cim.diff"(%p, %n) : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
