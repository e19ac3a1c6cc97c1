// RUN: cim-opt %s --cim-dce | FileCheck %s
// Upstream canonicalize keeps them: IRDL ops declare no memory effects.
// RUN: cim-opt %s --canonicalize | FileCheck %s --check-prefix=UPSTREAM

// A dead chain (mvm -> accumulate) goes, and so does the array only it read; the
// live MVM and its array stay, as do other dialects' ops.
// CHECK-NOT: sym_name = "dead_array"
// CHECK: sym_name = "live_array"
// CHECK-LABEL: func.func @f
// CHECK-NEXT: %[[L:.*]] = "cim.mvm"(%arg0) {{.*}}array = @live_array
// CHECK-NEXT: return %[[L]]
// UPSTREAM: sym_name = "dead_array"
// UPSTREAM: "cim.accumulate"
"cim.crossbar"() {sym_name = "dead_array", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "live_array", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<2.0> : tensor<4x4xf32>} : () -> ()
func.func @f(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %dead = "cim.mvm"(%x) {array = @dead_array, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %live = "cim.mvm"(%x) {array = @live_array, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %sum = "cim.accumulate"(%dead, %dead) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  return %live : tensor<1x4xf32>
}
