// Decomposed RMSNorm near misses: none of these functions is an RMSNorm of its input over the
// last dim with fp32 statistics, and none may be raised. Each is one change away from
// @torch_aten_rms_norm_bf16_keepdim_const0 in positive.mlir (same torch-mlir style), the change
// is stated above each function.
// Input file (no RUN lines).

// NOT an RMSNorm: the sum of squares is divided by 127.0, not by the reduced size 128.
func.func @not_rms_norm_divisor_127(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.270000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<?x128xf32>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// NOT an RMSNorm: eps is added after the rsqrt (rsqrt(mean(x*x)) + eps), not inside it.
func.func @not_rms_norm_eps_outside_rsqrt(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r11 : tensor<?x1xf32>) outs(%e12 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r13 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<?x128xf32>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// NOT an RMSNorm over the last dim: the sum of squares runs over dim 0 (rows; output map
// (d0, d1) -> (0, d1)), i.e. it normalises columns.
func.func @not_rms_norm_reduce_dim0(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 6.400000e+01 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<1x128xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<1x128xf32>) -> tensor<1x128xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e6 = tensor.empty() : tensor<1x128xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<1x128xf32>) outs(%e6 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e8 = tensor.empty() : tensor<1x128xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<1x128xf32>) outs(%e8 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e10 = tensor.empty() : tensor<1x128xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<1x128xf32>) outs(%e10 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<1x128xf32>) outs(%e12 : tensor<64x128xf32>) {
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

// NOT an RMSNorm over the last dim: the reduction loop is the last loop, but the input map
// (d0, d1) -> (d1, d0) makes it run over x's dim 0 (columns are normalised). Checking only
// iterator_types is not enough.
func.func @not_rms_norm_reduce_dim0_reduction_loop_last(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 6.400000e+01 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<1x128xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<1x128xf32>) -> tensor<1x128xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (0, d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e6 = tensor.empty() : tensor<1x128xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<1x128xf32>) outs(%e6 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e8 = tensor.empty() : tensor<1x128xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<1x128xf32>) outs(%e8 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e10 = tensor.empty() : tensor<1x128xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<1x128xf32>) outs(%e10 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<1x128xf32>) outs(%e12 : tensor<64x128xf32>) {
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

// NOT an RMSNorm: the statistic is mean(x), not mean(x*x) (no square before the sum).
func.func @not_rms_norm_mean_of_x(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %dim = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %e1 = tensor.empty(%dim) : tensor<?x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x128xbf16>) outs(%e1 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e3 = tensor.empty(%dim) : tensor<?x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<?x128xf32>) outs(%f4 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e6 = tensor.empty(%dim) : tensor<?x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<?x1xf32>) outs(%e6 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e8 = tensor.empty(%dim) : tensor<?x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<?x1xf32>) outs(%e8 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r11 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e12 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r17 : tensor<?x128xbf16>
}

// NOT an RMSNorm: no rsqrt; x is multiplied by (mean(x*x) + eps) itself.
func.func @not_rms_norm_missing_rsqrt(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
  %e12 = tensor.empty(%dim) : tensor<?x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r11 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e12 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r17 : tensor<?x128xbf16>
}

// NOT an RMSNorm: x * sqrt(mean(x*x) + eps) (multiplies by the RMS instead of dividing).
func.func @not_rms_norm_sqrt_instead_of_rsqrt(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
      %0 = math.sqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r13 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<?x128xf32>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// NOT the fp32-accumulating RMSNorm: no extf before the square, so the square, the sum, the
// mean and the rsqrt are all in bf16 (a different numerical contract).
func.func @not_rms_norm_mean_in_bf16(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : bf16
  %cst_1 = arith.constant 1.280000e+02 : bf16
  %cst_2 = arith.constant 1.0e-06 : bf16
  %dim = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %e1 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x128xbf16>) outs(%e1 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %out: bf16):
      %0 = arith.mulf %in, %in : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %e3 = tensor.empty(%dim) : tensor<?x1xbf16>
  %f4 = linalg.fill ins(%cst : bf16) outs(%e3 : tensor<?x1xbf16>) -> tensor<?x1xbf16>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<?x128xbf16>) outs(%f4 : tensor<?x1xbf16>) {
    ^bb0(%in: bf16, %out: bf16):
      %0 = arith.addf %in, %out : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x1xbf16>
  %e6 = tensor.empty(%dim) : tensor<?x1xbf16>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<?x1xbf16>) outs(%e6 : tensor<?x1xbf16>) {
    ^bb0(%in: bf16, %out: bf16):
      %0 = arith.divf %in, %cst_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x1xbf16>
  %e8 = tensor.empty(%dim) : tensor<?x1xbf16>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<?x1xbf16>) outs(%e8 : tensor<?x1xbf16>) {
    ^bb0(%in: bf16, %out: bf16):
      %0 = arith.addf %in, %cst_2 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x1xbf16>
  %e10 = tensor.empty(%dim) : tensor<?x1xbf16>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xbf16>) outs(%e10 : tensor<?x1xbf16>) {
    ^bb0(%in: bf16, %out: bf16):
      %0 = math.rsqrt %in : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x1xbf16>
  %e12 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<?x128xbf16>, tensor<?x1xbf16>) outs(%e12 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %e14 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<?x128xbf16>, tensor<128xbf16>) outs(%e14 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r15 : tensor<?x128xbf16>
}

// NOT an RMSNorm: the sum reduction starts from 1.0 (linalg.fill 1.0), so the mean is off by 1/128.
func.func @not_rms_norm_reduction_init_one(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 1.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<?x128xf32>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// NOT an RMSNorm: the [T]-shaped weight is read per row with (d0, d1) -> (d0) (a per-token scale),
// not per column of the normalised dim.
func.func @not_rms_norm_weight_per_row(%x: tensor<?x128xbf16>, %w: tensor<?xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<?xbf16>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<?x128xf32>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// NOT an RMSNorm: x*x is summed over the last dim (128) but divided by the dynamic row count T
// (tensor.dim %x, 0), not by the reduced size.
func.func @not_rms_norm_divide_by_dynamic_row_count(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 9.99999997E-7 : f32
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
  %cnt8 = arith.index_cast %dim : index to i64
  %cnt9 = arith.sitofp %cnt8 : i64 to f32
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cnt9 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r11 : tensor<?x1xf32>) outs(%e12 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x1xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13 : tensor<?x1xf32>) outs(%e14 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r15 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xf32>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e18 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e20 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r21 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r19 : tensor<?x128xf32>) outs(%e20 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r21 : tensor<?x128xbf16>
}

// NOT an RMSNorm of x: the statistic rsqrt(mean(x*x) + eps) is computed from %x but applied to %y.
func.func @not_rms_norm_scales_other_tensor(%x: tensor<?x128xbf16>, %y: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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
      ins(%y : tensor<?x128xbf16>) outs(%e3 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e5 = tensor.empty(%dim) : tensor<?x128xf32>
  %r6 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2 : tensor<?x128xf32>) outs(%e5 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e7 = tensor.empty(%dim) : tensor<?x1xf32>
  %f8 = linalg.fill ins(%cst : f32) outs(%e7 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r6 : tensor<?x128xf32>) outs(%f8 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r11 : tensor<?x1xf32>) outs(%e12 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x1xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13 : tensor<?x1xf32>) outs(%e14 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e16 = tensor.empty(%dim) : tensor<?x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r4, %r15 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xf32>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e18 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e20 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r21 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r19 : tensor<?x128xf32>) outs(%e20 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r21 : tensor<?x128xbf16>
}

// NOT an RMSNorm: the mean is subtracted first (LayerNorm without bias):
//   xc = x - mean(x); y = xc * rsqrt(mean(xc * xc) + eps) * w
func.func @not_rms_norm_layernorm_mean_subtracted(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %dim = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %e1 = tensor.empty(%dim) : tensor<?x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x128xbf16>) outs(%e1 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e3 = tensor.empty(%dim) : tensor<?x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<?x128xf32>) outs(%f4 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e6 = tensor.empty(%dim) : tensor<?x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<?x1xf32>) outs(%e6 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e8 = tensor.empty(%dim) : tensor<?x128xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r7 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e8 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.subf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e10 = tensor.empty(%dim) : tensor<?x128xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x128xf32>) outs(%e10 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e12 = tensor.empty(%dim) : tensor<?x1xf32>
  %f13 = linalg.fill ins(%cst : f32) outs(%e12 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %r14 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r11 : tensor<?x128xf32>) outs(%f13 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e15 = tensor.empty(%dim) : tensor<?x1xf32>
  %r16 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r14 : tensor<?x1xf32>) outs(%e15 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e17 = tensor.empty(%dim) : tensor<?x1xf32>
  %r18 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r16 : tensor<?x1xf32>) outs(%e17 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e19 = tensor.empty(%dim) : tensor<?x1xf32>
  %r20 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r18 : tensor<?x1xf32>) outs(%e19 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e21 = tensor.empty(%dim) : tensor<?x128xf32>
  %r22 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9, %r20 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e21 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e23 = tensor.empty(%dim) : tensor<?x128xf32>
  %r24 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r22, %w : tensor<?x128xf32>, tensor<128xbf16>) outs(%e23 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x128xf32>
  %e25 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r26 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r24 : tensor<?x128xf32>) outs(%e25 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r26 : tensor<?x128xbf16>
}
