// What cim-tile cannot map is an error at the matmul, naming what to do.
// RUN: cim-opt %s --split-input-file --cim-tile --verify-diagnostics
// RUN: not cim-opt %s --pass-pipeline='builtin.module(cim-tile{rows=0})' 2>&1 | FileCheck %s --check-prefix=OPTION

// OPTION: cim-opt: error: option 'rows' of pass 'cim-tile' expects integer 1..=1048576, got '0'

func.func @batched(%x: tensor<2x5x3xf32>) -> tensor<2x5x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{cannot be tiled: input must be 2-D (batch x K), got 2x5x3: flatten the leading dimensions first}}
  %y = "cim.matmul"(%x, %w) : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32>
  return %y : tensor<2x5x2xf32>
}

// -----

func.func @half(%x: tensor<4x3xf16>) -> tensor<4x2xf16> {
  %w = arith.constant dense<1.0> : tensor<3x2xf16>
  // expected-error @+1 {{the weight must be an inline dense f32 constant, got tensor<3x2xf16>}}
  %y = "cim.matmul"(%x, %w) : (tensor<4x3xf16>, tensor<3x2xf16>) -> tensor<4x2xf16>
  return %y : tensor<4x2xf16>
}
