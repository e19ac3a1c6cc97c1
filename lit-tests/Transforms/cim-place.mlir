// RUN: cim-opt %s --split-input-file --cim-place="target=%S/Inputs/small-target.toml" | FileCheck %s
// RUN: cim-opt %s --split-input-file --cim-place="target=%S/Inputs/small-target.toml strategy=first-fit" | FileCheck %s --check-prefix=FIRSTFIT

// Arrays no MVM reads: in module order, around a slot that is already taken.
// CHECK: place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "a"
// CHECK: place = #cim.place<0 : i64, 0 : i64, 1 : i64>{{.*}}sym_name = "fixed"
// CHECK: place = #cim.place<0 : i64, 1 : i64, 0 : i64>{{.*}}sym_name = "b"
// CHECK: place = #cim.place<0 : i64, 1 : i64, 1 : i64>{{.*}}sym_name = "c"
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "fixed", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "b", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<1 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<1.0> : tensor<2x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<-1.0> : tensor<4x4xf32>} : () -> ()

// -----

// Dataflow order: layer "one" (read first) takes core 0; layer "two" does not fit
// the rest of core 0, so it takes core 1 whole rather than straddle the two.
// First fit in module order splits layer "two" across the cores.
// CHECK: place = #cim.place<0 : i64, 1 : i64, 0 : i64>{{.*}}sym_name = "t0"
// CHECK: place = #cim.place<0 : i64, 1 : i64, 1 : i64>{{.*}}sym_name = "t1"
// CHECK: place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "o"
// FIRSTFIT: place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "t0"
// FIRSTFIT: place = #cim.place<0 : i64, 0 : i64, 1 : i64>{{.*}}sym_name = "t1"
// FIRSTFIT: place = #cim.place<0 : i64, 1 : i64, 0 : i64>{{.*}}sym_name = "o"
"cim.crossbar"() {sym_name = "t0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "t1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "o", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %h = "cim.mvm"(%x) {array = @o, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("one")
  %a = "cim.mvm"(%h) {array = @t0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("two")
  %b = "cim.mvm"(%h) {array = @t1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("two")
  %y = "cim.accumulate"(%a, %b) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
