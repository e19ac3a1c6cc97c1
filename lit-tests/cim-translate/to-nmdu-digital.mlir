// Digital work with no crossbar behind it runs on the NMDU too: a matrix product
// with no array (and a low-rank adapter) on the NMDU's matrix product, max and sum
// pooling and a sum of tensors as elementwise programs (one step of the window:
// `max(acc, x)`, `acc + x`), all in Q15.16, and written as code.
// RUN: cim-translate %s --to-nmdu | FileCheck %s
// RUN: cim-translate %s --to-llvm-ir --triple x86_64 | FileCheck %s --check-prefix=IR
// RUN: cim-translate %s --to-object --triple riscv64 -o %t.o && llvm-objdump -t %t.o | FileCheck %s --check-prefix=RISCV

// The tensor sum and the sum pooling's step share one program.
// CHECK-LABEL: elementwise nmdu_elementwise_0 (sum, sum_pool): Q15.16, 2 arguments, 1 results
// CHECK-NEXT: t0 = add a0, a1
// CHECK-NEXT: yield t0
// CHECK-LABEL: elementwise nmdu_elementwise_1 (max_pool): Q15.16, 2 arguments, 1 results
// CHECK-NEXT: t0 = max a0, a1
// CHECK-NEXT: yield t0
// CHECK-NOT: elementwise
// CHECK: matmul nmdu_matmul: Q15.16 digital matrix products (linalg.matmul, linalg.batch_matmul, cim.adapter)

// IR-LABEL: define void @nmdu_matmul(ptr noalias
// IR: llvm.sadd.sat.v
// IR-LABEL: define void @nmdu_elementwise_0(ptr
// IR-LABEL: define void @nmdu_elementwise_1(ptr
// IR-NOT: define

// RISCV: file format elf64-littleriscv
// RISCV-DAG: F .text {{.*}} nmdu_matmul
// RISCV-DAG: F .text {{.*}} nmdu_elementwise_0
// RISCV-DAG: F .text {{.*}} nmdu_elementwise_1

func.func @f(%x: tensor<4x8xf32>, %img: tensor<1x2x4x4xf32>) -> (tensor<4x3xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = arith.constant dense<0.25> : tensor<8x3xf32>
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %p = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x3xf32>) outs(%z : tensor<4x3xf32>) -> tensor<4x3xf32>
  %a = "cim.adapter"(%x, %p) {down = dense<0.5> : tensor<8x2xf32>, up = dense<-0.125> : tensor<2x3xf32>} : (tensor<4x8xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %s = arith.addf %a, %p : tensor<4x3xf32> loc("sum")
  %window = tensor.empty() : tensor<2x2xf32>
  %pe = tensor.empty() : tensor<1x2x2x2xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%pe : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %m = linalg.pooling_nchw_max {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%img, %window : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%m0 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("max_pool")
  %s0 = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %q = linalg.pooling_nchw_sum {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>} ins(%img, %window : tensor<1x2x4x4xf32>, tensor<2x2xf32>) outs(%s0 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("sum_pool")
  return %s, %m, %q : tensor<4x3xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}
