// What cim-map cannot map is an error at the matmul, naming what to do.
// RUN: cim-opt %s --split-input-file --cim-map="rows=2 iter-limit=2" --verify-diagnostics
// RUN: not cim-opt %s --pass-pipeline='builtin.module(cim-map{objective=speed})' 2>&1 | FileCheck %s --check-prefix=OPTION

// RUN: not cim-opt %s --split-input-file --cim-map="choose-encoding=true cell-noise=3" 2>&1 | FileCheck %s --check-prefix=NOISE
// RUN: not cim-opt %s --split-input-file --cim-map="choose-encoding=true" 2>&1 | FileCheck %s --check-prefix=NONOISE
// RUN: not cim-opt %s --split-input-file --cim-map="choose-encoding=true encodings=gray cell-noise=1:0" 2>&1 | FileCheck %s --check-prefix=ENCODING

// OPTION: error: option 'objective' of pass 'cim-map' expects area|latency|energy|balanced|accuracy, got 'speed'
// NOISE: cim-map: cell-noise: '3' is not bits:sigma with bits in 1..=16 and a finite sigma >= 0
// NONOISE: cim-map: choose-encoding needs cell-noise: the cell widths to choose from, each with its read-out error
// ENCODING: cim-map: encodings: unknown encoding 'gray' (differential, offset)

func.func @batched(%x: tensor<2x5x3xf32>) -> tensor<2x5x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{'cim.matmul' op cannot be mapped: input must be 2-D (batch x K), got 2x5x3: flatten the leading dimensions first}}
  %y = "cim.matmul"(%x, %w) : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32>
  return %y : tensor<2x5x2xf32>
}

// -----

func.func @half(%x: tensor<4x3xf16>) -> tensor<4x2xf16> {
  %w = arith.constant dense<1.0> : tensor<3x2xf16>
  // expected-error @+1 {{cannot be mapped: the weight must be an inline dense f32 constant, got tensor<3x2xf16>}}
  %y = "cim.matmul"(%x, %w) : (tensor<4x3xf16>, tensor<3x2xf16>) -> tensor<4x2xf16>
  return %y : tensor<4x2xf16>
}

// -----

// Saturation stopped before any product was mapped: the error says which limit.
func.func @tall(%x: tensor<1x64xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<1.0> : tensor<64x1xf32>
  // expected-error @+1 {{no mapping found}}
  %y = "cim.matmul"(%x, %w) : (tensor<1x64xf32>, tensor<64x1xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
