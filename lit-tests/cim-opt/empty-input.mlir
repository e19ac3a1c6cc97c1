// An empty input is an empty module, as in mlir-opt.
// RUN: printf '' | cim-opt | FileCheck %s
// RUN: printf '' | cim-opt --cim-tile --cim-verify | FileCheck %s

// CHECK: module {
// CHECK-NEXT: }
