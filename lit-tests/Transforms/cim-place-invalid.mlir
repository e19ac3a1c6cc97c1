// Placement failures name the array, the target and what to do.
// RUN: cim-opt %s --split-input-file --cim-place="target=%S/Inputs/small-target.toml" --verify-diagnostics
// RUN: not cim-opt %s --split-input-file --cim-place=target=no-such-target 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not cim-opt %s --split-input-file --cim-place="target=%S/Inputs/bad-target.toml" 2>&1 | FileCheck %s --check-prefix=BAD

// UNKNOWN: error: cim-place: unknown target 'no-such-target': not a preset (ideal, pcm, pcm-hwa, hermes, rram, rram-8chip) and not a readable file
// BAD: error: cim-place: {{.*}}bad-target.toml: dac.mode: unknown variant `pulse_width`, expected `bit_serial` or `multi_level`

// expected-error @+1 {{cannot be placed on target 'small': @wide is 4x8 but the target's arrays are 4x4: tile with cim-tile{rows=4 cols=4}}}
"cim.crossbar"() {sym_name = "wide", geometry = #cim.geometry<4 : i64, 8 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x8xf32>} : () -> ()

// -----

// expected-error @+1 {{@deep stores 4 bits per cell, the target's cells hold 2: slice with cim-bitslice{cell-bits=2}}}
"cim.crossbar"() {sym_name = "deep", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

"cim.crossbar"() {sym_name = "a0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "a1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "a2", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "a3", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
// expected-error @+1 {{the model needs 6 arrays but target 'small' has 4 (1 chips x 2 cores x 2 arrays): 2 do not fit; use a larger target}}
"cim.crossbar"() {sym_name = "a4", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "a5", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
