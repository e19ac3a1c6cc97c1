// cim-verify as an explicit pass (cim-opt also runs it by default after parsing and
// after every step; --no-cim-verify turns that off so the pass alone decides).
// RUN: cim-opt %s --split-input-file --no-cim-verify --cim-verify --verify-diagnostics | FileCheck %s
// Without it, the same IR is accepted: IRDL alone cannot see these problems.
// RUN: cim-opt %s --split-input-file --no-cim-verify | FileCheck %s --check-prefix=UNCHECKED

// Valid IR passes through unchanged.
// CHECK-LABEL: func.func @valid
// CHECK: %[[Y:.*]] = "cim.mvm"(%{{.*}}) {adc = #cim.ideal, array = @xb, dac = #cim.ideal, window = #cim.window<0 : i64, 0 : i64>}
// CHECK: return %[[Y]]
"cim.crossbar"() {sym_name = "xb", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @valid(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %y = "cim.mvm"(%x) {array = @xb, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

// An MVM may come before the array it uses.
// CHECK-LABEL: func.func @use_before_declaration
// UNCHECKED-LABEL: func.func @use_before_declaration
func.func @use_before_declaration(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = "cim.mvm"(%x) {array = @late, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
"cim.crossbar"() {sym_name = "late", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<2x2xf32>} : () -> ()

// -----

// Every problem is reported, not only the first.
// UNCHECKED-LABEL: func.func @several
"cim.crossbar"() {sym_name = "xb", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @several(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{window columns 2..6 exceed array @xb (4x4)}}
  %a = "cim.mvm"(%x) {array = @xb, window = #cim.window<0 : i64, 2 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{array @nowhere does not exist}}
  %b = "cim.mvm"(%x) {array = @nowhere, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %c = "cim.accumulate"(%a, %b) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %c : tensor<1x4xf32>
}

// -----

// Significance is traced through diff and accumulate to the arrays' slices.
// UNCHECKED-LABEL: func.func @traced
"cim.crossbar"() {sym_name = "p", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<1 : i64, 2 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "n", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<1 : i64, 2 : i64>, sign = "negative", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @traced(%x: tensor<1x4xf32>, %low: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %p = "cim.mvm"(%x) {array = @p, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %n = "cim.mvm"(%x) {array = @n, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %d = "cim.diff"(%p, %n) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{shift 3 of slice 1 disagrees with its arrays' #cim.slice significance 2}}
  %y = "cim.shift_add"(%low, %d) {shifts = array<i64: 0, 3>} : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

// Managed converters: symmetric levels need at least 2 bits, a constant input scale
// must be positive, bound management runs 1..=30 passes.
// UNCHECKED-LABEL: func.func @managed
"cim.crossbar"() {sym_name = "pairs", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<8 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "pair", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @managed(%x: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) {
  // expected-error @+1 {{a managed converter has 2^bits - 1 levels symmetric about 0: 1 bits must be at least 2}}
  %a = "cim.mvm"(%x) {array = @pairs, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac_managed<1 : i64, "abs_max", 1.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{managed DAC constant 0 must be finite and > 0}}
  %b = "cim.mvm"(%x) {array = @pairs, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac_managed<7 : i64, "constant", 0.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{managed ADC passes 0 out of range 1..=30}}
  %c = "cim.mvm"(%x) {array = @pairs, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.adc_managed<9 : i64, 12.0 : f64, 0 : i64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %a, %b, %c : tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>
}
