// Splitting a placed array would need a second place: split before cim-place.
// RUN: cim-opt %s --cim-split-weights --verify-diagnostics
// RUN: not cim-opt %s --cim-split-weights=encoding=zigzag 2>&1 | FileCheck %s --check-prefix=OPTION

// OPTION: option 'encoding' of pass 'cim-split-weights' expects differential|offset|pair, got 'zigzag'

// A mark cim-map never writes is refused, not ignored.
// expected-error @+1 {{cannot be split: cim.encoding = "gray" is not an encoding (differential, offset, pair)}}
"cim.crossbar"() {sym_name = "marked", cim.encoding = "gray", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.unplaced, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<-1.0> : tensor<2x2xf32>} : () -> ()

// expected-error @+1 {{cannot be split: @placed is already placed: split and slice before cim-place}}
"cim.crossbar"() {sym_name = "placed", geometry = #cim.geometry<2 : i64, 2 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.ideal, slice = #cim.slice<0 : i64, 0 : i64>, sign = "signed", weights = dense<-1.0> : tensor<2x2xf32>} : () -> ()
