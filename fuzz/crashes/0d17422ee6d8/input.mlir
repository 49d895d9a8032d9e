func.func @torch_aten_rms_norm_f32_static_64x128(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 0x7FC00000 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<64x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e6 = tensor.empty() : tensor<64x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<64x1xf32>) outs(%e6 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e8 = tensor.empty() : tensor<64x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<64x1xf32>) outs(%e8 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e10 = tensor.empty() : tensor<64x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<64x1xf32>) outs(%e10 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e12 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<64x128xf32>, tensor<128xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  return %r15 : tensor<64x128xf32>
}
