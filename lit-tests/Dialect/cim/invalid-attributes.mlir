// Malformed datapath attributes are rejected by IRDL where they are written.
// RUN: cim-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{expected base attribute 'builtin.integer' but got 'builtin.float'}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4.0 : f64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// expected-error @+1 {{expected 3 type arguments, but had 2}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// A place must be #cim.place<...> or #cim.unplaced.
// expected-error @+1 {{'#cim.geometry<0 : i64, 0 : i64>' does not satisfy the constraint}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.geometry<0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// expected-error @+1 {{expected dynamic attribute}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.bogus<4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @adc_range_kind(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expected base attribute 'builtin.float' but got 'builtin.string'}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.adc<8 : i64, "low", 1.0 : f64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @dac_bits(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{dac resolution 40 bits out of range 1..=24}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<40 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
