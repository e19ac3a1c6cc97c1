// What cim-bitslice refuses, and why.
// RUN: cim-opt %s --split-input-file --cim-bitslice --verify-diagnostics
// RUN: not cim-opt %s --cim-bitslice="input-bits=8 dac-bits=3" 2>&1 | FileCheck %s --check-prefix=DAC

// DAC: error: cim-bitslice: dac-bits=3 must be 1 (bit-serial) or equal input-bits=8 (multi-level)

// expected-error @+1 {{cannot be bit-sliced: @signed holds signed weights: run cim-split-weights first}}
"cim.crossbar"() {sym_name = "signed", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<-1.0> : tensor<2x2xf32>} : () -> ()

// -----

// expected-error @+1 {{cannot be bit-sliced: @neg holds -1: a positive array must be finite and non-negative}}
"cim.crossbar"() {sym_name = "neg", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<-1.0> : tensor<2x2xf32>} : () -> ()
