// --mlir-print-op-generic prints every op generically; --mlir-print-debuginfo prints
// locations that name this file and the line in the whole file, also after a split.
// RUN: cim-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC
// RUN: cim-opt %s --split-input-file --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC

// GENERIC: "func.func"() <{function_type = () -> (), sym_name = "first"}>
// GENERIC: "func.return"() : () -> ()
func.func @first() {
  return
}

// -----

// LOC: func.func @second
// LOC: loc("{{.*}}generic-and-debuginfo.mlir":[[@LINE+2]]:3)
func.func @second() {
  return
}
