// On a target whose arrays can be reprogrammed, a model larger than the board runs
// in rounds: consecutive layers that fit the board (4 arrays) share a round, a
// layer that does not fit the rest of a round starts the next, and a layer larger
// than the board (c: 5 arrays) spans rounds of its own. Slots are reused from round
// to round, and every array is marked with its round.
// RUN: cim-opt %s --cim-place="target=%S/Inputs/small-reprogrammable.toml" --cim-verify | FileCheck %s
// RUN: not cim-opt %s --cim-place="target=%S/Inputs/small-target.toml" 2>&1 | FileCheck %s --check-prefix=FIXED

// CHECK: cim.round = 0 : i64, {{.*}}place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "a0"
// CHECK: cim.round = 0 : i64, {{.*}}place = #cim.place<0 : i64, 0 : i64, 1 : i64>{{.*}}sym_name = "a1"
// CHECK: cim.round = 0 : i64, {{.*}}place = #cim.place<0 : i64, 1 : i64, 0 : i64>{{.*}}sym_name = "b0"
// CHECK: cim.round = 0 : i64, {{.*}}place = #cim.place<0 : i64, 1 : i64, 1 : i64>{{.*}}sym_name = "b1"
// CHECK: cim.round = 1 : i64, {{.*}}place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "c0"
// CHECK: cim.round = 1 : i64, {{.*}}place = #cim.place<0 : i64, 1 : i64, 1 : i64>{{.*}}sym_name = "c3"
// CHECK: cim.round = 2 : i64, {{.*}}place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "c4"
// CHECK: cim.round = 2 : i64, {{.*}}place = #cim.place<0 : i64, 0 : i64, 1 : i64>{{.*}}sym_name = "d0"

// FIXED: error: cim-place: the model needs 10 arrays but target 'small' has 4 (1 chips x 2 cores x 2 arrays): 6 do not fit; use a larger target, a mapping that packs arrays (cimc compile --mapper egraph), or a target whose arrays can be reprogrammed between layers ([hierarchy] reprogrammable = true)

"cim.crossbar"() {sym_name = "a0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "a1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "b0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "b1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c1", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c2", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c3", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c4", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "d0", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %a0 = "cim.mvm"(%x) {array = @a0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("a")
  %a1 = "cim.mvm"(%x) {array = @a1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("a")
  %a = "cim.accumulate"(%a0, %a1) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %b0 = "cim.mvm"(%a) {array = @b0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("b")
  %b1 = "cim.mvm"(%a) {array = @b1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("b")
  %b = "cim.accumulate"(%b0, %b1) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %c0 = "cim.mvm"(%b) {array = @c0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("c")
  %c1 = "cim.mvm"(%b) {array = @c1, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("c")
  %c2 = "cim.mvm"(%b) {array = @c2, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("c")
  %c3 = "cim.mvm"(%b) {array = @c3, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("c")
  %c4 = "cim.mvm"(%b) {array = @c4, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("c")
  %c = "cim.accumulate"(%c0, %c1, %c2, %c3, %c4) : (tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %d0 = "cim.mvm"(%c) {array = @d0, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32> loc("d")
  return %d0 : tensor<1x4xf32>
}
