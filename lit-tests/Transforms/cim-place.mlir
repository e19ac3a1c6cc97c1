// RUN: cim-opt %s --split-input-file --cim-place="target=%S/Inputs/small-target.toml" | FileCheck %s

// First fit in module order, around a slot that is already taken.
// CHECK: place = #cim.place<0 : i64, 0 : i64, 0 : i64>{{.*}}sym_name = "a"
// CHECK: place = #cim.place<0 : i64, 0 : i64, 1 : i64>{{.*}}sym_name = "fixed"
// CHECK: place = #cim.place<0 : i64, 1 : i64, 0 : i64>{{.*}}sym_name = "b"
// CHECK: place = #cim.place<0 : i64, 1 : i64, 1 : i64>{{.*}}sym_name = "c"
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "fixed", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "positive", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "b", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.cell<1 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "negative", weights = dense<1.0> : tensor<2x4xf32>} : () -> ()
"cim.crossbar"() {sym_name = "c", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<-1.0> : tensor<4x4xf32>} : () -> ()
