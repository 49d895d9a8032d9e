// dt=f16 D=64 Hq=4 Hkv=3 layout=strided T=3 eps=9.99999974E-6 weight=w rounding=before_weight style=collapse neg=none neg_on=q
func.func @qk_block(%qkv: tensor<3x896xf16>, %wq: tensor<64xf16>, %wk: tensor<64xf16>) -> tensor<3x896xf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %T = tensor.dim %qkv, %c0 : tensor<3x896xf16>
  %qg = tensor.extract_slice %qkv[0, 0] [3, 512] [1, 1] : tensor<3x896xf16> to tensor<3x512xf16>
  %qg3 = tensor.expand_shape %qg [[0], [1, 2]] output_shape [3, 4, 128] : tensor<3x512xf16> into tensor<3x4x128xf16>
  %q_heads = tensor.extract_slice %qg3[0, 0, 0] [3, 4, 64] [1, 1, 1] : tensor<3x4x128xf16> to tensor<3x4x64xf16>
  %gate_heads = tensor.extract_slice %qg3[0, 0, 64] [3, 4, 64] [1, 1, 1] : tensor<3x4x128xf16> to tensor<3x4x64xf16>
  %k = tensor.extract_slice %qkv[0, 512] [3, 192] [1, 1] : tensor<3x896xf16> to tensor<3x192xf16>
  %k_heads = tensor.expand_shape %k [[0], [1, 2]] output_shape [3, 3, 64] : tensor<3x192xf16> into tensor<3x3x64xf16>
  %v = tensor.extract_slice %qkv[0, 704] [3, 192] [1, 1] : tensor<3x896xf16> to tensor<3x192xf16>
  %q_flat = tensor.collapse_shape %q_heads [[0, 1], [2]] : tensor<3x4x64xf16> into tensor<12x64xf16>
  %qn_e0 = tensor.empty() : tensor<12x64xf32>
  %qn_f32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%q_flat : tensor<12x64xf16>) outs(%qn_e0 : tensor<12x64xf32>) {
  ^bb0(%a0: f16, %o: f32):
    %0 = arith.extf %a0 : f16 to f32
    linalg.yield %0 : f32
  } -> tensor<12x64xf32>
  %qn_e1 = tensor.empty() : tensor<12x64xf32>
  %qn_sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_f32 : tensor<12x64xf32>) outs(%qn_e1 : tensor<12x64xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.mulf %a0, %a0 : f32
    linalg.yield %0 : f32
  } -> tensor<12x64xf32>
  %qn_e2 = tensor.empty() : tensor<12x1xf32>
  %qn_z = linalg.fill ins(%zero : f32) outs(%qn_e2 : tensor<12x1xf32>) -> tensor<12x1xf32>
  %qn_sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%qn_sq : tensor<12x64xf32>) outs(%qn_z : tensor<12x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.addf %a0, %o : f32
    linalg.yield %0 : f32
  } -> tensor<12x1xf32>
  %qn_n = arith.constant 6.400000e+01 : f32
  %qn_eps = arith.constant 9.99999974E-6 : f32
  %qn_s0 = tensor.empty() : tensor<12x1xf32>
  %qn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_sum : tensor<12x1xf32>) outs(%qn_s0 : tensor<12x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.divf %a0, %qn_n : f32
    linalg.yield %0 : f32
  } -> tensor<12x1xf32>
  %qn_s1 = tensor.empty() : tensor<12x1xf32>
  %qn_var = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_mean : tensor<12x1xf32>) outs(%qn_s1 : tensor<12x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.addf %a0, %qn_eps : f32
    linalg.yield %0 : f32
  } -> tensor<12x1xf32>
  %qn_s2 = tensor.empty() : tensor<12x1xf32>
  %qn_rstd = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_var : tensor<12x1xf32>) outs(%qn_s2 : tensor<12x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = math.rsqrt %a0 : f32
    linalg.yield %0 : f32
  } -> tensor<12x1xf32>
  %qn_e6 = tensor.empty() : tensor<12x64xf32>
  %qn_xhat = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_f32, %qn_rstd : tensor<12x64xf32>, tensor<12x1xf32>) outs(%qn_e6 : tensor<12x64xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %0 = arith.mulf %a0, %a1 : f32
    linalg.yield %0 : f32
  } -> tensor<12x64xf32>
  %qn_e7 = tensor.empty() : tensor<12x64xf16>
  %qn_xr = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%qn_xhat : tensor<12x64xf32>) outs(%qn_e7 : tensor<12x64xf16>) {
  ^bb0(%a0: f32, %o: f16):
    %0 = arith.truncf %a0 : f32 to f16
    linalg.yield %0 : f16
  } -> tensor<12x64xf16>
  %qn_e8 = tensor.empty() : tensor<12x64xf16>
  %qn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%wq, %qn_xr : tensor<64xf16>, tensor<12x64xf16>) outs(%qn_e8 : tensor<12x64xf16>) {
  ^bb0(%a0: f16, %a1: f16, %o: f16):
    %0 = arith.mulf %a0, %a1 : f16
    linalg.yield %0 : f16
  } -> tensor<12x64xf16>
  %q_o3 = tensor.expand_shape %qn_out [[0, 1], [2]] output_shape [3, 4, 64] : tensor<12x64xf16> into tensor<3x4x64xf16>
  %q_out = tensor.collapse_shape %q_o3 [[0], [1, 2]] : tensor<3x4x64xf16> into tensor<3x256xf16>
  %k_flat = tensor.collapse_shape %k_heads [[0, 1], [2]] : tensor<3x3x64xf16> into tensor<9x64xf16>
  %kn_e0 = tensor.empty() : tensor<9x64xf32>
  %kn_f32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%k_flat : tensor<9x64xf16>) outs(%kn_e0 : tensor<9x64xf32>) {
  ^bb0(%a0: f16, %o: f32):
    %0 = arith.extf %a0 : f16 to f32
    linalg.yield %0 : f32
  } -> tensor<9x64xf32>
  %kn_e1 = tensor.empty() : tensor<9x64xf32>
  %kn_sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_f32 : tensor<9x64xf32>) outs(%kn_e1 : tensor<9x64xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.mulf %a0, %a0 : f32
    linalg.yield %0 : f32
  } -> tensor<9x64xf32>
  %kn_e2 = tensor.empty() : tensor<9x1xf32>
  %kn_z = linalg.fill ins(%zero : f32) outs(%kn_e2 : tensor<9x1xf32>) -> tensor<9x1xf32>
  %kn_sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%kn_sq : tensor<9x64xf32>) outs(%kn_z : tensor<9x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.addf %a0, %o : f32
    linalg.yield %0 : f32
  } -> tensor<9x1xf32>
  %kn_n = arith.constant 6.400000e+01 : f32
  %kn_eps = arith.constant 9.99999974E-6 : f32
  %kn_s0 = tensor.empty() : tensor<9x1xf32>
  %kn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_sum : tensor<9x1xf32>) outs(%kn_s0 : tensor<9x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.divf %a0, %kn_n : f32
    linalg.yield %0 : f32
  } -> tensor<9x1xf32>
  %kn_s1 = tensor.empty() : tensor<9x1xf32>
  %kn_var = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_mean : tensor<9x1xf32>) outs(%kn_s1 : tensor<9x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = arith.addf %a0, %kn_eps : f32
    linalg.yield %0 : f32
  } -> tensor<9x1xf32>
  %kn_s2 = tensor.empty() : tensor<9x1xf32>
  %kn_rstd = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_var : tensor<9x1xf32>) outs(%kn_s2 : tensor<9x1xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %0 = math.rsqrt %a0 : f32
    linalg.yield %0 : f32
  } -> tensor<9x1xf32>
  %kn_e6 = tensor.empty() : tensor<9x64xf32>
  %kn_xhat = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_f32, %kn_rstd : tensor<9x64xf32>, tensor<9x1xf32>) outs(%kn_e6 : tensor<9x64xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %0 = arith.mulf %a0, %a1 : f32
    linalg.yield %0 : f32
  } -> tensor<9x64xf32>
  %kn_e7 = tensor.empty() : tensor<9x64xf16>
  %kn_xr = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%kn_xhat : tensor<9x64xf32>) outs(%kn_e7 : tensor<9x64xf16>) {
  ^bb0(%a0: f32, %o: f16):
    %0 = arith.truncf %a0 : f32 to f16
    linalg.yield %0 : f16
  } -> tensor<9x64xf16>
  %kn_e8 = tensor.empty() : tensor<9x64xf16>
  %kn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%wk, %kn_xr : tensor<64xf16>, tensor<9x64xf16>) outs(%kn_e8 : tensor<9x64xf16>) {
  ^bb0(%a0: f16, %a1: f16, %o: f16):
    %0 = arith.mulf %a0, %a1 : f16
    linalg.yield %0 : f16
  } -> tensor<9x64xf16>
  %k_o3 = tensor.expand_shape %kn_out [[0, 1], [2]] output_shape [3, 3, 64] : tensor<9x64xf16> into tensor<3x3x64xf16>
  %k_out = tensor.collapse_shape %k_o3 [[0], [1, 2]] : tensor<3x3x64xf16> into tensor<3x192xf16>
  %gate = tensor.collapse_shape %gate_heads [[0], [1, 2]] : tensor<3x4x64xf16> into tensor<3x256xf16>
  %out = tensor.concat dim(1) %q_out, %k_out, %v, %gate : (tensor<3x256xf16>, tensor<3x192xf16>, tensor<3x192xf16>, tensor<3x256xf16>) -> tensor<3x896xf16>
  return %out : tensor<3x896xf16>
}

func.func private @printMemrefI32(memref<*xi32>)

func.func private @fill(%t: tensor<?x?xf16>, %seed: f32) -> tensor<?x?xf16> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} outs(%t : tensor<?x?xf16>) {
  ^bb0(%o: f16):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %fj = arith.sitofp %jj : i64 to f32
    %a = arith.constant 0.731 : f32
    %b = arith.constant 0.197 : f32
    %quarter = arith.constant 0.25 : f32
    %x0 = arith.mulf %fi, %a : f32
    %x1 = arith.mulf %fj, %b : f32
    %x2 = arith.addf %x0, %x1 : f32
    %x3 = arith.addf %x2, %seed : f32
    %s = math.sin %x3 : f32
    %off = math.copysign %quarter, %s : f32
    %v = arith.addf %s, %off : f32
    %vt = arith.truncf %v : f32 to f16
    linalg.yield %vt : f16
  } -> tensor<?x?xf16>
  return %r : tensor<?x?xf16>
}

func.func private @print_bits(%x: tensor<?x?xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %d0 = tensor.dim %x, %c0 : tensor<?x?xf16>
  %d1 = tensor.dim %x, %c1 : tensor<?x?xf16>
  %e = tensor.empty(%d0, %d1) : tensor<?x?xi32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x?xf16>) outs(%e : tensor<?x?xi32>) {
  ^bb0(%in: f16, %o: i32):
    %h = arith.bitcast %in : f16 to i16
    %w = arith.extui %h : i16 to i32
    linalg.yield %w : i32
  } -> tensor<?x?xi32>
  %m = bufferization.to_buffer %b : tensor<?x?xi32> to memref<?x?xi32>
  %u = memref.cast %m : memref<?x?xi32> to memref<*xi32>
  func.call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  return
}

func.func @main() {
  %eq = tensor.empty() : tensor<3x896xf16>
  %eqd = tensor.cast %eq : tensor<3x896xf16> to tensor<?x?xf16>
  %seed0 = arith.constant 0.0 : f32
  %qkvd = func.call @fill(%eqd, %seed0) : (tensor<?x?xf16>, f32) -> tensor<?x?xf16>
  %qkv = tensor.cast %qkvd : tensor<?x?xf16> to tensor<3x896xf16>
  %wq_e = tensor.empty() : tensor<1x64xf16>
  %wq_ed = tensor.cast %wq_e : tensor<1x64xf16> to tensor<?x?xf16>
  %wq_seed = arith.constant 0.5 : f32
  %wq_f = func.call @fill(%wq_ed, %wq_seed) : (tensor<?x?xf16>, f32) -> tensor<?x?xf16>
  %wq_s = tensor.cast %wq_f : tensor<?x?xf16> to tensor<1x64xf16>
  %wq = tensor.collapse_shape %wq_s [[0, 1]] : tensor<1x64xf16> into tensor<64xf16>
  %wk_e = tensor.empty() : tensor<1x64xf16>
  %wk_ed = tensor.cast %wk_e : tensor<1x64xf16> to tensor<?x?xf16>
  %wk_seed = arith.constant 1.3 : f32
  %wk_f = func.call @fill(%wk_ed, %wk_seed) : (tensor<?x?xf16>, f32) -> tensor<?x?xf16>
  %wk_s = tensor.cast %wk_f : tensor<?x?xf16> to tensor<1x64xf16>
  %wk = tensor.collapse_shape %wk_s [[0, 1]] : tensor<1x64xf16> into tensor<64xf16>
  %r0 = func.call @qk_block(%qkv, %wq, %wk) : (tensor<3x896xf16>, tensor<64xf16>, tensor<64xf16>) -> (tensor<3x896xf16>)
  %x0 = tensor.cast %r0 : tensor<3x896xf16> to tensor<?x?xf16>
  func.call @print_bits(%x0) : (tensor<?x?xf16>) -> ()
  return
}
