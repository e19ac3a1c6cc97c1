// cim-map writes the saturated e-graph it chose from: the term and sizes as
// s-expressions, or Graphviz for a .dot file.
// RUN: cim-opt %s --cim-map="rows=4 cols=4 dump-egraph=%t.sexp" -o /dev/null
// RUN: FileCheck %s --input-file=%t.sexp
// RUN: cim-opt %s --cim-map="rows=4 cols=4 dump-egraph=%t.dot" -o /dev/null
// RUN: FileCheck %s --input-file=%t.dot --check-prefix=DOT
// RUN: not cim-opt %s --cim-map="dump-egraph=%t.missing/e.sexp" 2>&1 | FileCheck %s --check-prefix=ERROR

// CHECK: ; {{[0-9]+}} e-nodes, {{[0-9]+}} e-classes, stopped: saturated
// CHECK-NEXT: ; cost: MappingCost { arrays: 1, adc: 3, latency: 1, digital: 0, error: 0, objective: Area }
// CHECK-NEXT: (mvm (diag w0 w1))
// DOT: digraph egraph {
// DOT: diag
// ERROR: error: 'cim.matmul' op cannot be mapped: cannot write the e-graph to '{{.*}}e.sexp'
func.func @f(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %v = arith.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32>
  %y = "cim.matmul"(%h, %v) : (tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
