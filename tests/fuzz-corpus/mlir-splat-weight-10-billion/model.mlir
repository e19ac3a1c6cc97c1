func.func @main(%x: tensor<?x100000xf32>) -> tensor<?x100000xf32> {
  %w = arith.constant dense<0.5> : tensor<100000x100000xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x100000xf32>
  %e = tensor.empty(%n) : tensor<?x100000xf32>
  %z = arith.constant 0.0 : f32
  %i = linalg.fill ins(%z : f32) outs(%e : tensor<?x100000xf32>) -> tensor<?x100000xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x100000xf32>, tensor<100000x100000xf32>) outs(%i : tensor<?x100000xf32>) -> tensor<?x100000xf32>
  return %y : tensor<?x100000xf32>
}
