// A parse error names the file, line and column, shows the line with a caret, and
// exits with 1.
// RUN: sh -c 'cim-opt %s; echo "exit=$?"' 2>&1 | FileCheck %s

// CHECK: parse-error.mlir:[[@LINE+4]]:10: error: use of undeclared SSA value name
// CHECK-NEXT: {{^}}  return %missing : f32
// CHECK-NEXT: {{^}}         ^
func.func @f() -> f32 {
  return %missing : f32
}
// CHECK: exit=1
