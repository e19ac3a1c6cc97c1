// Input from stdin (`-` or nothing), output to a file with -o; locations then name
// <stdin>.
// RUN: cat %s | cim-opt -o %t
// RUN: FileCheck %s < %t
// RUN: cat %s | cim-opt - --mlir-print-debuginfo | FileCheck %s --check-prefix=LOC

// CHECK: func.func @from_stdin
// LOC: loc("<stdin>":[[@LINE+1]]:1)
func.func @from_stdin() {
  return
}
