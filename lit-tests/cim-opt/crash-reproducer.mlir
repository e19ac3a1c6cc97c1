// --mlir-pass-pipeline-crash-reproducer=PATH: when a step fails, PATH gets the IR
// before that step and the step; `cim-opt --run-reproducer PATH` replays it and
// fails the same way. A run that succeeds writes nothing.
// RUN: rm -f %t.repro %t.none
// RUN: not cim-opt %s --canonicalize --cim-tile --mlir-pass-pipeline-crash-reproducer=%t.repro -o /dev/null 2>&1 | FileCheck %s --check-prefix=WROTE
// RUN: FileCheck %s --check-prefix=REPRO < %t.repro
// RUN: not cim-opt %t.repro --run-reproducer 2>&1 | FileCheck %s --check-prefix=REPLAY
// RUN: cim-opt %s --canonicalize --mlir-pass-pipeline-crash-reproducer=%t.none -o /dev/null
// RUN: not test -e %t.none
// RUN: not cim-opt %s --run-reproducer 2>&1 | FileCheck %s --check-prefix=NOT

// WROTE: cim-opt: step cim-tile failed: wrote a reproducer to {{.*}}.repro (replay: cim-opt --run-reproducer
// WROTE: error: 'cim.matmul' op cannot be tiled

// REPRO: // cim-opt reproducer: replay with `cim-opt --run-reproducer FILE`
// REPRO-NEXT: // pipeline: builtin.module(cim-tile)
// REPRO: module {
// REPRO: "cim.matmul"

// REPLAY: crash-reproducer.mlir:[[@LINE+5]]:8: error: 'cim.matmul' op cannot be tiled: input must be 2-D (batch x K), got 2x5x3

// NOT: cim-opt: error: {{.*}}crash-reproducer.mlir is not a reproducer written by cim-opt --mlir-pass-pipeline-crash-reproducer
func.func @batched(%x: tensor<2x5x3xf32>) -> tensor<2x5x2xf32> {
  %w = arith.constant dense<1.0> : tensor<3x2xf32>
  %y = "cim.matmul"(%x, %w) : (tensor<2x5x3xf32>, tensor<3x2xf32>) -> tensor<2x5x2xf32>
  return %y : tensor<2x5x2xf32>
}
