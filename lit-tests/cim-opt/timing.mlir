// --mlir-timing prints the wall time of parsing, each step and printing, as
// mlir-opt's list report; --mlir-output-format=json as JSON.
// RUN: cim-opt %s --canonicalize --cse --mlir-timing -o /dev/null 2>&1 | FileCheck %s
// RUN: cim-opt %s --canonicalize --cse --mlir-timing --mlir-output-format=json -o /dev/null 2>&1 | FileCheck %s --check-prefix=JSON

// CHECK: ... Execution time report ...
// CHECK: Total Execution Time: {{[0-9.]+}} seconds
// CHECK: ----Wall Time----  ----Name----
// CHECK-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Parser
// CHECK-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  canonicalize
// CHECK-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  cse
// CHECK-NEXT: {{[0-9.]+}} ({{ *[0-9.]+}}%)  Output
// CHECK-NEXT: {{[0-9.]+}} (100.0%)  Total

// JSON: [
// JSON: "name": "Parser"
// JSON: "wall": {
// JSON-NEXT: "duration": {{[0-9.e-]+}},
// JSON-NEXT: "percentage": {{[0-9.e-]+}}
// JSON: "name": "canonicalize"
// JSON: "name": "cse"
// JSON: "name": "Output"
// JSON: "name": "Total"
// JSON: ]
func.func @f(%x: f32) -> f32 {
  %a = arith.addf %x, %x : f32
  return %a : f32
}
