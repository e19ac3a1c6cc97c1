// A mapping with three mistakes, for the diagnostics snapshot: the second array is
// placed where the first already is, an MVM window overruns its array, and a
// shift-and-add gives a slice the wrong significance.
"cim.crossbar"() {sym_name = "lo", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "hi", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<1 : i64, 2 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @sliced(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %lo = "cim.mvm"(%x) {array = @lo, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %hi = "cim.mvm"(%x) {array = @hi, window = #cim.window<0 : i64, 1 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %y = "cim.shift_add"(%lo, %hi) {shifts = array<i64: 0, 1>} : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
