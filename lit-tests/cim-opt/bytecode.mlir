// MLIR bytecode in and out: --emit-bytecode writes what mlir-opt reads, cim-opt
// reads what mlir-opt writes, and text -> bytecode -> text is the same module.
// RUN: cim-opt %s --emit-bytecode -o %t.mlirbc
// RUN: head -c 4 %t.mlirbc | od -An -c | FileCheck %s --check-prefix=MAGIC
// RUN: mlir-opt %t.mlirbc | FileCheck %s
// RUN: mlir-opt %s --emit-bytecode -o %t.upstream.mlirbc
// RUN: cim-opt %t.upstream.mlirbc --canonicalize | FileCheck %s --check-prefix=FOLDED
// RUN: cim-opt %s > %t.text.mlir
// RUN: cim-opt %t.mlirbc > %t.roundtrip.mlir
// RUN: diff %t.text.mlir %t.roundtrip.mlir
// RUN: not cim-opt %s --emit-bytecode --split-input-file -o %t.x 2>&1 | FileCheck %s --check-prefix=SPLIT
// RUN: not cim-opt %t.mlirbc --split-input-file 2>&1 | FileCheck %s --check-prefix=TEXT-ONLY

// MAGIC: M L 357 R

// CHECK-LABEL: func.func @fold
// CHECK: arith.addf

// FOLDED-LABEL: func.func @fold
// FOLDED-NOT: arith.addf
// FOLDED: arith.constant dense<3.000000e+00>

// SPLIT: cim-opt: error: --emit-bytecode writes one module: drop --split-input-file
// TEXT-ONLY: is MLIR bytecode: --split-input-file and --verify-diagnostics read text
func.func @fold() -> tensor<2xf32> {
  %a = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<2.0> : tensor<2xf32>
  %c = arith.addf %a, %b : tensor<2xf32>
  return %c : tensor<2xf32>
}
