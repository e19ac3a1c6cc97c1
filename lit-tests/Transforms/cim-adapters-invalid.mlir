// Layers cim-adapters cannot find are an error naming the layers there are.
// RUN: not cim-opt %s --pass-pipeline='builtin.module(cim-adapters{placement=named layers=f_mm7})' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not cim-opt %s --pass-pipeline='builtin.module(cim-adapters{placement=named})' 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not cim-opt %s --pass-pipeline='builtin.module(cim-adapters{rank=0})' 2>&1 | FileCheck %s --check-prefix=RANK

// UNKNOWN: error: cim-adapters: no analog layer 'f_mm7' (layers: f_mm0): name layers as `cimc report` does
// EMPTY: error: cim-adapters: placement=named needs layers=NAME,NAME
// RANK: option 'rank' of pass 'cim-adapters' expects integer 1..=4096, got '0'
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
  %w = arith.constant dense<1.0> : tensor<4x3xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
