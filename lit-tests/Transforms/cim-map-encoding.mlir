// cim-map{choose-encoding}: each layer's signed-weight encoding and bits per cell
// are chosen in the e-graph, priced by the cells' read-out error (cell-noise), and
// written on its arrays as `cim.encoding` and `cim.cell_bits`, which
// cim-split-weights and cim-bitslice then follow over their own options.
// RUN: cim-opt %s --cim-map="rows=4 cols=4 choose-encoding=true weight-bits=4 cell-noise=1:0.02,2:0.02 objective=accuracy" | FileCheck %s --check-prefix=ACCURACY
// RUN: cim-opt %s --cim-map="rows=4 cols=4 choose-encoding=true weight-bits=4 cell-noise=1:0.02,2:0.02 objective=area" | FileCheck %s --check-prefix=AREA
// RUN: cim-opt %s --cim-map="rows=4 cols=4 choose-encoding=true weight-bits=4 cell-noise=1:0.02,2:0.02 objective=energy" | FileCheck %s --check-prefix=ENERGY
// RUN: cim-opt %s --cim-map="rows=4 cols=4 choose-encoding=true weight-bits=4 cell-noise=1:0.02,2:0.02 objective=accuracy" --cim-split-weights="encoding=offset" --cim-bitslice="weight-bits=4 cell-bits=2" | FileCheck %s --check-prefix=SLICED
// RUN: cim-opt %s --cim-map="rows=4 cols=4 choose-encoding=true weight-bits=4 cell-noise=1:0.02,2:0.02 objective=accuracy dump-egraph=%t.txt" > /dev/null && FileCheck %s --check-prefix=DUMP < %t.txt

// The least error: differential pairs of 1-bit cells (4 slices of 4-bit weights).
// ACCURACY: "cim.crossbar"() {cell = #cim.ideal, cim.cell_bits = 1 : i64, cim.encoding = "differential", {{.*}}sym_name = "f_packed_a0"
// ACCURACY-NOT: "cim.crossbar"
// The fewest arrays: 2-bit cells (2 slices), and of the two encodings that take as
// many arrays, the more accurate.
// AREA: cim.cell_bits = 2 : i64, cim.encoding = "differential"
// The fewest conversions: an offset array and its reference column.
// ENERGY: cim.cell_bits = 2 : i64, cim.encoding = "offset"

// The marks win over the passes' options: a differential pair (not offset), each
// side in four 1-bit slices (not two 2-bit ones).
// SLICED-DAG: cell = #cim.cell<1 : i64>{{.*}}sign = "positive", slice = #cim.slice<3 : i64, 3 : i64>, sym_name = "f_packed_a0_pos_s3"
// SLICED-DAG: cell = #cim.cell<1 : i64>{{.*}}sign = "negative", slice = #cim.slice<3 : i64, 3 : i64>, sym_name = "f_packed_a0_neg_s3"
// SLICED-NOT: "offset"
// SLICED-NOT: cim.encoding

// DUMP: cost: MappingCost { arrays: 8, adc: 24, latency: 3, digital: 6, error: {{[0-9]+}}, objective: Accuracy }
// DUMP-NEXT: (encode 0 1 (mvm (diag w0 w1)))

func.func @f(%x: tensor<1x2xf32>) -> tensor<1x1xf32> {
  %w = arith.constant dense<[[1.0, -2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %h = "cim.matmul"(%x, %w) : (tensor<1x2xf32>, tensor<2x2xf32>) -> tensor<1x2xf32>
  %v = arith.constant dense<[[5.0], [-6.0]]> : tensor<2x1xf32>
  %y = "cim.matmul"(%h, %v) : (tensor<1x2xf32>, tensor<2x1xf32>) -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
