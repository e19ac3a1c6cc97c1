// Each chunk is parsed, processed and printed on its own; outputs are joined with
// `// -----`, and a bad chunk does not stop the others (but fails the run).
// RUN: cim-opt %s --split-input-file | FileCheck %s
// RUN: not cim-opt %s 2>&1 | FileCheck %s --check-prefix=WHOLE

// CHECK-LABEL: func.func @one
// CHECK: // -----
// CHECK-LABEL: func.func @two
// CHECK: // -----
// CHECK-LABEL: func.func @three
// WHOLE: error: redefinition of symbol named 'same'
func.func @one() {
  return
}
func.func private @same()

// -----

func.func @two() {
  return
}
func.func private @same()

// -----

func.func @three() {
  return
}
