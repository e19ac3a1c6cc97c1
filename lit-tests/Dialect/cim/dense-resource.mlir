// Array weights may be resource blobs, as torch-mlir emits for large constants; they
// round-trip, and cim-verify reads their shape.
// RUN: cim-opt %s | cim-opt | FileCheck %s
// RUN: not cim-opt %S/Inputs/resource-too-tall.mlir 2>&1 | FileCheck %s --check-prefix=ERR

// CHECK: "cim.crossbar"() {{.*}}sym_name = "blob", weights = dense_resource<w0> : tensor<2x2xf32>}
// CHECK: dialect_resources
// CHECK: w0: "0x040000000000803F000000400000404000008040"
"cim.crossbar"() {sym_name = "blob", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense_resource<w0> : tensor<2x2xf32>} : () -> ()

// ERR: resource-too-tall.mlir:1:1: error: 'cim.crossbar' op weights 3x2 do not fit the 2x2 array

{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
