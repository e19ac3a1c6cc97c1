// The NMDU lowering of a mapped layer: two 4-bit slices (shifts 0 and 4) of a
// differential pair, each pair side scaled by 0.5, the negative side offset; ADC
// steps of 1. Coefficients 0.5, 8, -0.5, -8: with 16-bit multipliers the largest
// fraction is F = floor(log2(32767 / 8)) = 11; the largest sum,
// 2·(1024 + 16384)·255 + 4096, needs 24 bits, so 16-bit outputs shift by 9 and are
// worth 2^(9-11).
// RUN: cim-translate %s --to-nmdu | FileCheck %s
// RUN: cim-translate %s --to-nmdu --target %S/Inputs/nmdu-8bit.toml | FileCheck %s --check-prefix=NARROW
// RUN: cim-translate %s --to-llvm-ir --triple x86_64 | FileCheck %s --check-prefix=IR
// RUN: cim-translate %s --to-object --triple riscv64 -o %t.o && llvm-objdump -d %t.o | FileCheck %s --check-prefix=RISCV
// RUN: cim-translate %s --to-object --triple aarch64 -o %t.o && llvm-objdump -t %t.o | FileCheck %s --check-prefix=ARM
// RUN: cim-translate %s --to-object --triple thumbv7em-none-eabi -o %t.o && llvm-objdump -t %t.o | FileCheck %s --check-prefix=CORTEXM

// CHECK-LABEL: group 0 'dense1' (cim.diff): 4 planes x 3 columns, fraction 11, accumulator 32 bits, out_shift 9, out 16 bits, unit 0.25
// CHECK-NEXT: plane 0 @w_pos_s0: codes 0..=255 step 1 from 0, multipliers [1024, 1024, 1024]
// CHECK-NEXT: plane 1 @w_pos_s1: codes 0..=255 step 1 from 0, multipliers [16384, 16384, 16384]
// CHECK-NEXT: plane 2 @w_neg_s0: codes 0..=255 step 1 from 0, multipliers [-1024, -1024, -1024]
// CHECK-NEXT: plane 3 @w_neg_s1: codes 0..=255 step 1 from 0, multipliers [-16384, -16384, -16384]
// CHECK-NEXT: bias [-2048, -4096, 2048]

// @g: one pair (coefficients 1 and -1), then a bias add and a ReLU, which the
// kernel does too: F = floor(log2(32767)) = 14, the bias [1, 2, 3] in units of
// 2^-14, the largest sum 2·16384·255 + 49152 needs 24 bits: shift 9, unit 2^-5.
// CHECK-LABEL: group 1 'g_dense' (cim.diff + bias + relu): 2 planes x 3 columns, fraction 14, accumulator 32 bits, out_shift 9, out 16 bits, unit 0.03125
// CHECK-NEXT: plane 0 @w_pos_s0: {{.*}} multipliers [16384, 16384, 16384]
// CHECK-NEXT: plane 1 @w_neg_s0: {{.*}} multipliers [-16384, -16384, -16384]
// CHECK-NEXT: bias [16384, 32768, 49152]

// @k: the same pair, then a clip to [-0.5, 6] and a LeakyReLU written as the ONNX
// frontend writes them (constants in the bodies): the clip joins the kernel in
// accumulator units (2^14 steps), the LeakyReLU stays a generic (one activation per
// kernel).
// CHECK-LABEL: group 2 'k_dense' (cim.diff + clip): 2 planes x 3 columns, fraction 14, {{.*}} activation Clip { lo: -8192, hi: 98304 }
// @m: a LeakyReLU with slope 0.1 (3277 in 2^-15 steps).
// CHECK-LABEL: group 3 'm_dense' (cim.diff + leaky_relu): 2 planes x 3 columns, {{.*}} activation Leaky { slope: 3277 }
// CHECK-NOT: group 4
// What stays a generic runs on the elementwise unit in Q15.16: @g's tanh, and
// @k's LeakyReLU (@m's joined its kernel), its slope 0.1 as round(0.1 · 2^16) =
// 6554 and its zero folded into the operands.
// CHECK-LABEL: elementwise nmdu_elementwise_0 (g_tanh): Q15.16, 2 arguments, 1 results
// CHECK-NEXT: t0 = tanh a0
// CHECK-NEXT: yield t0
// CHECK-LABEL: elementwise nmdu_elementwise_1 (k_leaky): Q15.16, 2 arguments, 1 results
// CHECK-NEXT: t0 = mul a0, 6554
// CHECK-NEXT: t1 = compare.2 a0, 0
// CHECK-NEXT: t2 = select t1, a0, t0
// CHECK-NEXT: yield t2
// CHECK-NOT: elementwise

// With 8-bit multipliers: F = floor(log2(127 / 8)) = 3, the largest sum 34696
// needs 16 bits, one shift to 16-bit outputs.
// NARROW-LABEL: group 0 'dense1' (cim.diff): 4 planes x 3 columns, fraction 3, accumulator 32 bits, out_shift 1, out 16 bits, unit 0.25
// NARROW-NEXT: multipliers [4, 4, 4]
// NARROW-NEXT: multipliers [64, 64, 64]
// NARROW-NEXT: multipliers [-4, -4, -4]
// NARROW-NEXT: multipliers [-64, -64, -64]
// NARROW-NEXT: bias [-8, -16, 8]

// The tables are constants of the module, folded into the code where LLVM can.
// IR: target triple = "x86_64-unknown-linux-gnu"
// IR-LABEL: define void @nmdu_elementwise_0(ptr
// IR-LABEL: define void @nmdu_elementwise_1(ptr
// IR-LABEL: define void @nmdu_0_dense1(ptr
// IR: ret void
// IR-LABEL: define void @nmdu_1_g_dense(ptr
// IR-LABEL: define void @nmdu_2_k_dense(ptr
// IR-LABEL: define void @nmdu_3_m_dense(ptr
// IR-NOT: define

// RISCV: file format elf64-littleriscv
// RISCV-LABEL: <nmdu_0_dense1>:
// RISCV: sw

// ARM: file format elf64-littleaarch64
// ARM: F .text {{.*}} nmdu_0_dense1
// CORTEXM: file format elf32-littlearm
// CORTEXM: F .text {{.*}} nmdu_0_dense1

"cim.crossbar"() {sym_name = "w_pos_s0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<2x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_pos_s1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<1 : i64, 4 : i64>, sign = "positive", weights = dense<2.0> : tensor<2x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg_s0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 2 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<3.0> : tensor<2x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg_s1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 3 : i64>, cell = #cim.cell<4 : i64>, slice = #cim.slice<1 : i64, 4 : i64>, sign = "negative", weights = dense<0.0> : tensor<2x3xf32>} : () -> ()
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x3xf32> {
  %a = "cim.mvm"(%x) {array = @w_pos_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %b = "cim.mvm"(%x) {array = @w_pos_s1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %p = "cim.shift_add"(%a, %b) {shifts = array<i64: 0, 4>} : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  %ps = "cim.affine"(%p) {scale = dense<0.5> : tensor<3xf32>, offset = dense<0.0> : tensor<3xf32>} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  %c = "cim.mvm"(%x) {array = @w_neg_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %d = "cim.mvm"(%x) {array = @w_neg_s1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %n = "cim.shift_add"(%c, %d) {shifts = array<i64: 0, 4>} : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  %ns = "cim.affine"(%n) {scale = dense<0.5> : tensor<3xf32>, offset = dense<[1.0, 2.0, -1.0]> : tensor<3xf32>} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  %r = "cim.diff"(%ps, %ns) : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32> loc("dense1")
  return %r : tensor<?x3xf32>
}

func.func @g(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %a = "cim.mvm"(%x) {array = @w_pos_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %c = "cim.mvm"(%x) {array = @w_neg_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %r = "cim.diff"(%a, %c) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32> loc("g_dense")
  %bias = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%r, %bias : tensor<4x3xf32>, tensor<3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x3xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<4x3xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%z : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %h = math.tanh %in : f32
    linalg.yield %h : f32
  } -> tensor<4x3xf32> loc("g_tanh")
  return %t : tensor<4x3xf32>
}

func.func @k(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %a = "cim.mvm"(%x) {array = @w_pos_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %c = "cim.mvm"(%x) {array = @w_neg_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %r = "cim.diff"(%a, %c) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32> loc("k_dense")
  %e = tensor.empty() : tensor<4x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%r : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %lo = arith.constant -5.000000e-01 : f32
    %hi = arith.constant 6.000000e+00 : f32
    %m = arith.maximumf %in, %lo : f32
    %n = arith.minimumf %m, %hi : f32
    linalg.yield %n : f32
  } -> tensor<4x3xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.constant 1.000000e-01 : f32
    %zero = arith.constant 0.000000e+00 : f32
    %p = arith.mulf %in, %s : f32
    %q = arith.cmpf ogt, %in, %zero : f32
    %t = arith.select %q, %in, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x3xf32> loc("k_leaky")
  return %z : tensor<4x3xf32>
}

func.func @m(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %a = "cim.mvm"(%x) {array = @w_pos_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %c = "cim.mvm"(%x) {array = @w_neg_s0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.dac<8 : i64, "bit_serial", 0.0 : f64, 1.0 : f64>, adc = #cim.adc<8 : i64, 0.0 : f64, 255.0 : f64>} : (tensor<4x2xf32>) -> tensor<4x3xf32>
  %r = "cim.diff"(%a, %c) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32> loc("m_dense")
  %e = tensor.empty() : tensor<4x3xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%r : tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.constant 1.000000e-01 : f32
    %zero = arith.constant 0.000000e+00 : f32
    %p = arith.mulf %in, %s : f32
    %q = arith.cmpf ogt, %in, %zero : f32
    %t = arith.select %q, %in, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x3xf32> loc("m_leaky")
  return %z : tensor<4x3xf32>
}
