// A failing chunk reports its diagnostic with the line in the whole file, the other
// chunks still print, and the exit status is 1.
// RUN: sh -c 'cim-opt %s --split-input-file; echo "exit=$?"' > %t.out 2> %t.err
// RUN: FileCheck %s --check-prefix=OUT < %t.out
// RUN: FileCheck %s --check-prefix=ERR < %t.err

// OUT-LABEL: func.func @good_before
// OUT: // -----
// OUT-NEXT: // -----
// OUT-NEXT: module
// OUT-NEXT: func.func @good_after
// OUT: exit=1
func.func @good_before() {
  return
}

// -----

// ERR: split-input-file-failure.mlir:[[@LINE+4]]:3: error: 'func.return' op has 1 operands, but enclosing function (@bad) returns 0
// ERR-NEXT: {{^}}  return %x : f32
// ERR-NEXT: {{^}}  ^
func.func @bad(%x: f32) {
  return %x : f32
}

// -----

func.func @good_after() {
  return
}
