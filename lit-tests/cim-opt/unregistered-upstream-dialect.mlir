// An upstream dialect cim does not register (crates/cim-ir/src/context.rs: those
// of its inputs and its own IR) is refused by name, with the dialects there are,
// and exits with 1; mlir-opt reads the others.
// RUN: sh -c 'cim-opt %s; echo "exit=$?"' 2>&1 | FileCheck %s

// CHECK: unregistered-upstream-dialect.mlir:[[@LINE+4]]:8: error: Dialect `vector' not found for custom op 'vector.broadcast'
// CHECK: note: Available dialects: affine, arith, bufferization, builtin, cf, cim (*), complex, func, index, irdl, linalg, math, memref, ml_program, quant, scf, tensor, tosa, ub
// CHECK: exit=1
func.func @f(%x: f32) -> vector<4xf32> {
  %v = vector.broadcast %x : f32 to vector<4xf32>
  return %v : vector<4xf32>
}
