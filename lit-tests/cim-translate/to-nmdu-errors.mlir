// The NMDU lowering's refusals are named: an MVM without an ADC (an exact program),
// an object without a file, a machine LLVM does not know or cim does not link
// (WebAssembly), a module without digital work over MVMs.
// RUN: sh -c 'cim-translate %s --to-nmdu; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=IDEAL
// RUN: sh -c 'cim-translate %s --to-object; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=OUTPUT
// RUN: sh -c 'cim-translate %S/to-nmdu.mlir --to-object --triple nonsense-none-none -o %t.o; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=TRIPLE
// RUN: sh -c 'cim-translate %S/to-nmdu.mlir --to-object --triple wasm32-unknown-unknown -o %t.o; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=UNLINKED
// RUN: sh -c 'cim-translate %S/errors.mlir --to-llvm-ir; echo "exit=$?"' 2>&1 | FileCheck %s --check-prefix=NONE

// IDEAL: cim-translate: error: {{.*}}to-nmdu-errors.mlir: 'cim.mvm': the NMDU reads ADC codes, but this MVM has no ADC (an exact artifact?): run the mapped program
// IDEAL-NEXT: exit=1
// OUTPUT: cim-translate: error: --to-object writes a binary file: give it with -o FILE
// OUTPUT-NEXT: exit=2
// TRIPLE: cim-translate: error: LLVM: {{.*}}(give --triple x86_64, aarch64, riscv64 or another x86, AArch64, ARM or RISC-V triple{{.*}})
// TRIPLE-NEXT: exit=2
// UNLINKED: cim-translate: error: LLVM: {{.*}}wasm32-unknown-unknown{{.*}}: the NMDU links those four LLVM targets)
// UNLINKED-NEXT: exit=2
// NONE: cim-translate: error: {{.*}}errors.mlir: no digital ops over MVMs to lower: give mapped MLIR (cimc compile writes ARTIFACT/mapped.mlir)
// NONE-NEXT: exit=1

"cim.crossbar"() {sym_name = "w_pos", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<2x3xf32>} : () -> ()
"cim.crossbar"() {sym_name = "w_neg", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<0.5> : tensor<2x3xf32>} : () -> ()
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x3xf32> {
  %p = "cim.mvm"(%x) {array = @w_pos, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %n = "cim.mvm"(%x) {array = @w_neg, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<?x2xf32>) -> tensor<?x3xf32>
  %r = "cim.diff"(%p, %n) : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  return %r : tensor<?x3xf32>
}
