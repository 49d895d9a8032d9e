func.func @gemma3_rms_norm_bf16_one_plus_w(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %cst_3 = arith.constant 0x7F800000 : f32
  %dim = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %e1 = tensor.empty(%dim) : tensor<?x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x128xbf16>) outs(%e1 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e3 = tensor.empty(%dim) : tensor<?x128xf32>
  %r4 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2 : tensor<?x128xf32>) outs(%e3 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e5 = tensor.empty(%dim) : tensor<?x1xf32>
  %f6 = linalg.fill ins(%cst : f32) outs(%e5 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r4 : tensor<?x128xf32>) outs(%f6 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e8 = tensor.empty(%dim) : tensor<?x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<?x1xf32>) outs(%e8 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r11 : tensor<?x1xf32>) outs(%e12 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r13 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e16 = tensor.empty() : tensor<128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w : tensor<128xbf16>) outs(%e16 : tensor<128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %e18 = tensor.empty() : tensor<128xf32>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%r17 : tensor<128xf32>) outs(%e18 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_3 : f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %e20 = tensor.empty(%dim) : tensor<?x128xf32>
  %r21 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %r19 : tensor<?x128xf32>, tensor<128xf32>) outs(%e20 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e22 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r23 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r21 : tensor<?x128xf32>) outs(%e22 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r23 : tensor<?x128xbf16>
}
