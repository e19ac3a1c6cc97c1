// Several top-level operations are wrapped in one implicit module, as in mlir-opt;
// an explicit module is kept as it is.
// RUN: cim-opt %S/Inputs/two-funcs.mlir | FileCheck %s
// RUN: cim-opt %s | FileCheck %s --check-prefix=EXPLICIT

// CHECK: module {
// CHECK-NEXT: func.func @first
// CHECK: func.func @second
// CHECK-NOT: module
// EXPLICIT: module @named attributes {cim.note = "kept"}
module @named attributes {cim.note = "kept"} {
}
