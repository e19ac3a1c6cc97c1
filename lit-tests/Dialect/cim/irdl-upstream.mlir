// The IRDL constraints hold in upstream mlir-opt too: loading dialects/cim.irdl.mlir
// is enough to reject these (cim-verify's checks need cim-opt).
// RUN: mlir-opt --irdl-file=%cim_dialect %s --split-input-file --verify-diagnostics

func.func @wrong_operand_count(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{op expects exactly 2 operands, but got 1}}
  %y = "cim.matmul"(%x) : (tensor<2x4xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

func.func @diff_result(%a: tensor<1x4xf32>, %b: tensor<1x4xf32>) -> tensor<1x5xf32> {
  // expected-error @+1 {{expected 'tensor<1x4xf32>' but got 'tensor<1x5xf32>'}}
  %y = "cim.diff"(%a, %b) : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x5xf32>
  return %y : tensor<1x5xf32>
}

// -----

// expected-error @+1 {{'"twos_complement"' does not satisfy the constraint}}
"cim.crossbar"() {sym_name = "a", geometry = #cim.geometry<4 : i64, 4 : i64>, place = #cim.place<0 : i64, 0 : i64, 0 : i64>, cell = #cim.cell<2 : i64>, slice = #cim.slice<0 : i64, 0 : i64>, sign = "twos_complement", weights = dense<1.0> : tensor<4x4xf32>} : () -> ()

// -----

func.func @quantize_missing_bits(%x: tensor<2x4xf32>) -> tensor<2x4xi8> {
  // expected-error @+1 {{attribute "bits" is expected but not provided}}
  %y = "cim.quantize"(%x) {scale = 0.1 : f64, zero_point = 0 : i64} : (tensor<2x4xf32>) -> tensor<2x4xi8>
  return %y : tensor<2x4xi8>
}
