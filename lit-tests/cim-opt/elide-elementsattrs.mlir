// Large weights are elided in the printout, small ones kept.
// RUN: cim-opt %s --mlir-elide-elementsattrs-if-larger=4 | FileCheck %s
// RUN: cim-opt %s | FileCheck %s --check-prefix=FULL

// CHECK: weights = dense_resource<__elided__> : tensor<4x4xf32>
// CHECK: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// FULL: weights = dense<{{\[\[}}0.000000e+00, 1.000000e+00
"cim.crossbar"() {sym_name = "xb", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0], [12.0, 13.0, 14.0, 15.0]]> : tensor<4x4xf32>} : () -> ()
func.func @small() -> tensor<2xf32> {
  %c = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %c : tensor<2xf32>
}
