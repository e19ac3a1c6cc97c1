#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  "cim.crossbar"() {cell = #cim.cell<4 : i64>, geometry = #cim.geometry<256 : i64, 256 : i64>, place = #cim.place<0 : i64, 0 : i64, 1 : i64>, sign = "positive", slice = #cim.slice<1 : i64, 4 : i64>, sym_name = "main_packed_a0_pos_s1", weights = dense_resource<main_packed_a0_pos_s1.weights> : tensor<96x42xf32>} : () -> ()
  "cim.crossbar"() {cell = #cim.cell<4 : i64>, geometry = #cim.geometry<256 : i64, 256 : i64>, place = #cim.place<0 : i64, 0 : i64, 2 : i64>, sign = "negative", slice = #cim.slice<0 : i64, 0 : i64>, sym_name = "main_packed_a0_neg_s0", weights = dense_resource<main_packed_a0_neg_s0.weights> : tensor<96x42xf32>} : () -> ()
  "cim.crossbar"() {cell = #cim.cell<4 : i64>, geometry = #cim.geometry<256 : i64, 256 : i64>, place = #cim.place<0 : i64, 0 : i64, 3 : i64>, sign = "negative", slice = #cim.slice<1 : i64, 4 : i64>, sym_name = "main_packed_a0_neg_s1", weights = dense_resource<main_packed_a0_neg_s1.weights> : tensor<96x42xf32>} : () -> ()
  func.func @main(%arg0: tensor<?x64xf32>) -> tensor<?x10xf32> {
    %cst = arith.constant dense<[0.25715819, -0.365547597, -0.443035364, -0.123265721, 0.514139593, -0.17475681, 0.0248568244, 0.127191603, 0.0386856347, 0.381888032]> : tensor<10xf32>
    %cst_0 = arith.constant dense<[-0.0182099752, 0.10323827, 0.436032116, 0.219901145, 0.431002855, 0.247477725, 0.347436726, 0.158619106, 0.302340031, 0.049577821, -0.0184531063, 0.289625049, 0.0586295836, -0.138152853, 0.444865733, 0.068484731, -0.119727515, -0.117524914, 0.38084662, 0.371675581, -0.0652685687, 0.0684661567, 0.173439667, 0.448836327, -0.0795728415, 0.332142949, 0.175978377, 0.331717163, -0.113534391, -0.206771746, -0.186413556, 0.00597539218]> : tensor<32xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %c0 = arith.constant 0 : index
    %dim = tensor.dim %arg0, %c0 : tensor<?x64xf32>
    %0 = "cim.mvm"(%arg0) {adc = #cim.adc<8 : i64, -3.800000e+02 : f64, 3.800000e+02 : f64>, array = @main_packed_a0_pos_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>} : (tensor<?x64xf32>) -> tensor<?x32xf32>
    %1 = "cim.mvm"(%arg0) {adc = #cim.adc<8 : i64, -1.720000e+02 : f64, 1.720000e+02 : f64>, array = @main_packed_a0_pos_s1, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>} : (tensor<?x64xf32>) -> tensor<?x32xf32>
    %2 = "cim.shift_add"(%0, %1) {shifts = array<i64: 0, 4>} : (tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
    %3 = "cim.affine"(%2) {offset = dense<0.000000e+00> : tensor<32xf32>, scale = dense<0.00442446582> : tensor<32xf32>} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %4 = "cim.mvm"(%arg0) {adc = #cim.adc<8 : i64, -2.600000e+02 : f64, 2.600000e+02 : f64>, array = @main_packed_a0_neg_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>} : (tensor<?x64xf32>) -> tensor<?x32xf32>
    %5 = "cim.mvm"(%arg0) {adc = #cim.adc<8 : i64, -1.240000e+02 : f64, 1.240000e+02 : f64>, array = @main_packed_a0_neg_s1, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<0 : i64, 0 : i64>} : (tensor<?x64xf32>) -> tensor<?x32xf32>
    %6 = "cim.shift_add"(%4, %5) {shifts = array<i64: 0, 4>} : (tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
    %7 = "cim.affine"(%6) {offset = dense<0.000000e+00> : tensor<32xf32>, scale = dense<0.00481267693> : tensor<32xf32>} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %8 = "cim.diff"(%3, %7) : (tensor<?x32xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
    %9 = tensor.empty(%dim) : tensor<?x32xf32>
    %10 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%8, %cst_0 : tensor<?x32xf32>, tensor<32xf32>) outs(%9 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %23 = arith.addf %in, %in_2 : f32
      linalg.yield %23 : f32
    } -> tensor<?x32xf32>
    %11 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%10 : tensor<?x32xf32>) outs(%9 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %23 = arith.maximumf %in, %cst_1 : f32
      linalg.yield %23 : f32
    } -> tensor<?x32xf32>
    %12 = "cim.mvm"(%11) {adc = #cim.adc<8 : i64, -1.250000e+02 : f64, 1.250000e+02 : f64>, array = @main_packed_a0_pos_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<64 : i64, 32 : i64>} : (tensor<?x32xf32>) -> tensor<?x10xf32>
    %13 = "cim.mvm"(%11) {adc = #cim.adc<8 : i64, -8.300000e+01 : f64, 8.300000e+01 : f64>, array = @main_packed_a0_pos_s1, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<64 : i64, 32 : i64>} : (tensor<?x32xf32>) -> tensor<?x10xf32>
    %14 = "cim.shift_add"(%12, %13) {shifts = array<i64: 0, 4>} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
    %15 = "cim.affine"(%14) {offset = dense<0.000000e+00> : tensor<10xf32>, scale = dense<0.00500765257> : tensor<10xf32>} : (tensor<?x10xf32>) -> tensor<?x10xf32>
    %16 = "cim.mvm"(%11) {adc = #cim.adc<8 : i64, -1.690000e+02 : f64, 1.690000e+02 : f64>, array = @main_packed_a0_neg_s0, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<64 : i64, 32 : i64>} : (tensor<?x32xf32>) -> tensor<?x10xf32>
    %17 = "cim.mvm"(%11) {adc = #cim.adc<8 : i64, -7.500000e+01 : f64, 7.500000e+01 : f64>, array = @main_packed_a0_neg_s1, dac = #cim.dac<8 : i64, "bit_serial", -1.000000e+00 : f64, 1.000000e+00 : f64>, window = #cim.window<64 : i64, 32 : i64>} : (tensor<?x32xf32>) -> tensor<?x10xf32>
    %18 = "cim.shift_add"(%16, %17) {shifts = array<i64: 0, 4>} : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
    %19 = "cim.affine"(%18) {offset = dense<0.000000e+00> : tensor<10xf32>, scale = dense<0.0085734874> : tensor<10xf32>} : (tensor<?x10xf32>) -> tensor<?x10xf32>
    %20 = "cim.diff"(%15, %19) : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
    %21 = tensor.empty(%dim) : tensor<?x10xf32>
    %22 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%20, %cst : tensor<?x10xf32>, tensor<10xf32>) outs(%21 : tensor<?x10xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %23 = arith.addf %in, %in_2 : f32
      linalg.yield %23 : f32
    } -> tensor<?x10xf32>
    return %22 : tensor<?x10xf32>
  }
}
