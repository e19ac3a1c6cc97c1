// Input nested deeper than cim reads (256 levels of brackets) is refused with the
// place it gets too deep, before MLIR's recursive parser could overflow its stack.
// RUN: python3 -c "print('func.func @f(%%x: ' + 'tensor<1x' * 300 + 'f32' + '>' * 300 + ') { return }')" > %t.mlir
// RUN: not cim-opt %t.mlir 2>&1 | FileCheck %s

// CHECK: error: brackets nest more than 256 levels deep here: cim reads MLIR nested at most that deep
