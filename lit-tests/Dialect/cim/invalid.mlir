// Every cim operation rejects malformed input: IRDL checks (counts, attribute kinds,
// enumerations, shared types) and cim-verify checks (symbols, windows, shapes,
// significances), each at the operation's location.
// RUN: cim-opt %s --split-input-file --verify-diagnostics

func.func @matmul_weight_not_constant(%x: tensor<2x3xf32>, %w: tensor<3x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{weight must be a constant (arith.constant): analog weights are programmed once and stay}}
  %y = "cim.matmul"(%x, %w) : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

func.func @matmul_inner_mismatch(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{input inner dimension (K) vs weight rows: expected 3, got 4}}
  %y = "cim.matmul"(%x, %w) : (tensor<2x4xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

func.func @matmul_missing_weight(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{op expects exactly 2 operands, but got 1}}
  %y = "cim.matmul"(%x) : (tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

func.func @matmul_memref(%x: memref<2x3xf32>, %w: tensor<3x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{expected base type 'builtin.tensor' but got 'builtin.memref'}}
  %y = "cim.matmul"(%x, %w) : (memref<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

func.func @conv2d_bad_output(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %w = arith.constant dense<0.5> : tensor<4x2x3x3xf32>
  // expected-error @+2 {{result spatial dimension 0: expected 4, got 8}}
  // expected-error @+1 {{result spatial dimension 1: expected 4, got 8}}
  %y = "cim.conv2d"(%x, %w) {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %y : tensor<1x4x8x8xf32>
}

// -----

func.func @conv2d_bad_strides(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x2x3x3xf32>
  // expected-error @+1 {{strides must be 2 values >= 1 (height, width), got [0, 2]}}
  %y = "cim.conv2d"(%x, %w) {strides = array<i64: 0, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

func.func @conv2d_missing_groups(%x: tensor<1x2x8x8xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x2x3x3xf32>
  // expected-error @+1 {{attribute "groups" is expected but not provided}}
  %y = "cim.conv2d"(%x, %w) {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x2x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// expected-error @+1 {{'"twos_complement"' does not satisfy the constraint}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "twos_complement", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// expected-error @+1 {{weights 8x4 do not fit the 4x4 array}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<8x4xf32>} : () -> ()

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
// expected-error @+1 {{array @b is placed on chip 0 core 0 array 0, already taken by @a}}
"cim.crossbar"() {sym_name = "b", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// On a reprogrammed target a slot holds one array per round (cim.round), never two
// in one round.
"cim.crossbar"() {sym_name = "a", cim.round = 0 : i64, geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "b", cim.round = 1 : i64, geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
// expected-error @+1 {{array @c is placed on chip 0 core 0 array 0, already taken by @b}}
"cim.crossbar"() {sym_name = "c", cim.round = 1 : i64, geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
// expected-error @+1 {{cim.round must be >= 0}}
"cim.crossbar"() {sym_name = "d", cim.round = -1 : i64, geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

// expected-error @+1 {{cell bits 0 out of range: a cell stores 1 to 16 bits}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<0 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

func.func @crossbar_nested() {
  // expected-error @+1 {{must be at module level (an array is a module-level symbol)}}
  "cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
  return
}

// -----

func.func @mvm_no_array(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{array @missing does not exist: declare it with cim.crossbar at module level}}
  %y = "cim.mvm"(%x) {array = @missing, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @mvm_window_overflow(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{window rows 2..6 exceed array @a (4x4)}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<2 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @mvm_adc_as_dac(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{'#cim.adc<8 : i64, 0.000000e+00 : f64, 1.000000e+00 : f64>' does not satisfy the constraint}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.adc<8 : i64, 0.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @mvm_bad_adc_range(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{adc range [1, -1] must be finite with lo < hi}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.adc<8 : i64, 1.0 : f64, -1.0 : f64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @mvm_per_plane_adc_needs_bit_serial(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{a per-plane ADC converts the bit planes of a bit-serial DAC}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<4 : i64, "multi_level", 0.0 : f64, 1.0 : f64>, adc = #cim.adc_per_plane<8 : i64, 0.0 : f64, 4.0 : f64>} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @mvm_dac_mode(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{'"pwm"' does not satisfy the constraint}}
  %y = "cim.mvm"(%x) {array = @a, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "pwm", 0.0 : f64, 1.0 : f64>, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

"cim.crossbar"() {sym_name = "s1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<1 : i64, 2 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @shift_add_inconsistent(%x: tensor<1x4xf32>, %lo: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %hi = "cim.mvm"(%x) {array = @s1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // expected-error @+1 {{shift 1 of slice 1 disagrees with its arrays' #cim.slice significance 2}}
  %y = "cim.shift_add"(%lo, %hi) {shifts = array<i64: 0, 1>} : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @shift_add_count(%a: tensor<1x4xf32>, %b: tensor<1x4xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{has 1 shifts for 2 slices: give one shift per slice}}
  %y = "cim.shift_add"(%a, %b) {shifts = array<i64: 0>} : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @shift_add_mixed(%a: tensor<1x4xf32>, %b: tensor<1x5xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expected 'tensor<1x4xf32>' but got 'tensor<1x5xf32>'}}
  %y = "cim.shift_add"(%a, %b) {shifts = array<i64: 0, 2>} : (tensor<1x4xf32>, tensor<1x5xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @accumulate_empty() -> tensor<1x4xf32> {
  // expected-error @+1 {{needs at least one operand}}
  %y = "cim.accumulate"() : () -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @accumulate_mixed(%a: tensor<1x4xf32>, %b: tensor<1x5xf32>) -> tensor<1x4xf32> {
  // expected-error @+1 {{expected 'tensor<1x4xf32>' but got 'tensor<1x5xf32>'}}
  %y = "cim.accumulate"(%a, %b) : (tensor<1x4xf32>, tensor<1x5xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @concat_sum(%a: tensor<1x4xf32>, %b: tensor<1x2xf32>) -> tensor<1x7xf32> {
  // expected-error @+1 {{result dimension 1 vs sum of tiles: expected 6, got 7}}
  %y = "cim.concat"(%a, %b) {dimension = 1 : i64} : (tensor<1x4xf32>, tensor<1x2xf32>) -> tensor<1x7xf32>
  return %y : tensor<1x7xf32>
}

// -----

func.func @concat_dimension(%a: tensor<1x4xf32>, %b: tensor<1x2xf32>) -> tensor<1x6xf32> {
  // expected-error @+1 {{dimension 2 out of range for rank 2}}
  %y = "cim.concat"(%a, %b) {dimension = 2 : i64} : (tensor<1x4xf32>, tensor<1x2xf32>) -> tensor<1x6xf32>
  return %y : tensor<1x6xf32>
}

// -----

func.func @diff_types(%a: tensor<1x4xf32>, %b: tensor<1x4xf16>) -> tensor<1x4xf32> {
  // expected-error @+1 {{positive and negative must have one element type}}
  %y = "cim.diff"(%a, %b) : (tensor<1x4xf32>, tensor<1x4xf16>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}

// -----

func.func @diff_shapes(%a: tensor<2x4xf32>, %b: tensor<2x2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{negative shape 2x2 must equal the positive shape 2x4 or differ only by a last dimension of 1}}
  %y = "cim.diff"(%a, %b) : (tensor<2x4xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @diff_result(%a: tensor<2x4xf32>, %b: tensor<2x1xf32>) -> tensor<2x1xf32> {
  // expected-error @+1 {{expected 'tensor<2x4xf32>' but got 'tensor<2x1xf32>'}}
  %y = "cim.diff"(%a, %b) : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  return %y : tensor<2x1xf32>
}

// -----

func.func @affine_length(%a: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{scale length vs input columns: expected 4, got 3}}
  %y = "cim.affine"(%a) {scale = dense<1.0> : tensor<3xf32>, offset = dense<0.0> : tensor<4xf32>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @affine_scale_kind(%a: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expected base attribute 'builtin.dense_int_or_fp_elements' but got 'builtin.float'}}
  %y = "cim.affine"(%a) {scale = 1.0 : f32, offset = dense<0.0> : tensor<4xf32>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @adapter_rank(%x: tensor<2x4xf32>, %base: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{up rows vs down columns (rank R): expected 2, got 1}}
  %y = "cim.adapter"(%x, %base) {down = dense<0.1> : tensor<4x2xf32>, up = dense<0.1> : tensor<1x3xf32>} : (tensor<2x4xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @quantize_bits(%x: tensor<2x4xf32>) -> tensor<2x4xi8> {
  // expected-error @+1 {{bits 12 must be in 1..=8 (the result element width)}}
  %y = "cim.quantize"(%x) {scale = 0.1 : f64, zero_point = 0 : i64, bits = 12 : i64} : (tensor<2x4xf32>) -> tensor<2x4xi8>
  return %y : tensor<2x4xi8>
}

// -----

func.func @quantize_scale(%x: tensor<2x4xf32>) -> tensor<2x4xi8> {
  // expected-error @+1 {{scale 0 must be finite and > 0}}
  %y = "cim.quantize"(%x) {scale = 0.0 : f64, zero_point = 0 : i64, bits = 8 : i64} : (tensor<2x4xf32>) -> tensor<2x4xi8>
  return %y : tensor<2x4xi8>
}

// -----

func.func @dequantize_float_input(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{input must have integer elements}}
  %y = "cim.dequantize"(%x) {scale = 0.1 : f64, zero_point = 0 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @dequantize_missing_scale(%x: tensor<2x4xi8>) -> tensor<2x4xf32> {
  // expected-error @+1 {{attribute "scale" is expected but not provided}}
  %y = "cim.dequantize"(%x) {zero_point = 0 : i64} : (tensor<2x4xi8>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Array names are module symbols: MLIR's symbol table rejects a second definition.
// expected-note @+1 {{see existing symbol definition here}}
"cim.crossbar"() {sym_name = "twice", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<2x2xf32>} : () -> ()
// expected-error @+1 {{redefinition of symbol named 'twice'}}
"cim.crossbar"() {sym_name = "twice", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<2x2xf32>} : () -> ()
