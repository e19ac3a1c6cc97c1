// cim-verify runs by default after parsing; --no-cim-verify or --verify-each=false
// let invalid cim IR through (for debugging a pass that produces it).
// RUN: not cim-opt %s 2>&1 | FileCheck %s --check-prefix=DEFAULT
// RUN: cim-opt %s --no-cim-verify | FileCheck %s --check-prefix=OFF
// RUN: cim-opt %s --verify-each=false | FileCheck %s --check-prefix=OFF

// DEFAULT: error: 'cim.mvm' op array @nowhere does not exist
// OFF: "cim.mvm"(%arg0) {adc = #cim.ideal, array = @nowhere
func.func @f(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %y = "cim.mvm"(%x) {array = @nowhere, window = #cim.window<0 : i64, 0 : i64>, dac = #cim.ideal, adc = #cim.ideal} : (tensor<1x2xf32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
