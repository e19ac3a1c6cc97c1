// --verify-diagnostics matches expected-* comments: same line, @+N, @-N, @above,
// @below; a note is matched like an error.
// RUN: cim-opt %s --split-input-file --verify-diagnostics

func.func @same_line(%x: f32) {
  return %x : f32 // expected-error {{has 1 operands, but enclosing function (@same_line) returns 0}}
}

// -----

func.func @plus(%x: f32) {
  // expected-error @+1 {{returns 0}}
  return %x : f32
}

// -----

func.func @minus(%x: f32) {
  return %x : f32
  // expected-error @-1 {{returns 0}}
}

// -----

func.func @above(%x: f32) {
  return %x : f32
  // expected-error @above {{returns 0}}
}

// -----

func.func @below(%x: f32) {
  // expected-error @below {{returns 0}}
  return %x : f32
}

// -----

// expected-note @+1 {{see existing symbol definition here}}
func.func private @dup()
// expected-error @+1 {{redefinition of symbol named 'dup'}}
func.func private @dup()
