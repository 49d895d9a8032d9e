func.func private @attention(tensor<?x32x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}) -> tensor<?x4096xbf16>
func.func @attention_block(%hidden: tensor<?x4096xbf16>, %w_qkv: tensor<4096x6144xbf16>, %q_norm_w: tensor<128xbf16>, %k_norm_w: tensor<128xbf16>, %cos: tensor<?x128xf32>, %sin: tensor<?x128xf32>, %w_o: tensor<4096x4096xbf16>) -> tensor<?x4096xbf16> {
  %c0 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %c64 = arith.constant 64 : index
  %cst_bf16_0 = arith.constant 0.000000e+00 : bf16
  %cst_f32_0 = arith.constant 0.000000e+00 : f32
  %cst_f32_128 = arith.constant 1.280000e+02 : f32
  %eps_1e6 = arith.constant 9.99999997E-7 : f32
  %T = tensor.dim %hidden, %c0 : tensor<?x4096xbf16>
  %qkv_e = tensor.empty(%T) : tensor<?x6144xbf16>
  %qkv_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%qkv_e : tensor<?x6144xbf16>) -> tensor<?x6144xbf16>
  %qkv = linalg.matmul ins(%hidden, %w_qkv : tensor<?x4096xbf16>, tensor<4096x6144xbf16>) outs(%qkv_z : tensor<?x6144xbf16>) -> tensor<?x6144xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 4096] [1, 1] : tensor<?x6144xbf16> to tensor<?x4096xbf16>
  %k = tensor.extract_slice %qkv[0, 4096] [%T, 1024] [1, 1] : tensor<?x6144xbf16> to tensor<?x1024xbf16>
  %v = tensor.extract_slice %qkv[0, 5120] [%T, 1024] [1, 1] : tensor<?x6144xbf16> to tensor<?x1024xbf16>
  %q_heads = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 32, 128] : tensor<?x4096xbf16> into tensor<?x32x128xbf16>
  %q_rows = tensor.collapse_shape %q_heads [[0, 1], [2]] : tensor<?x32x128xbf16> into tensor<?x128xbf16>
  %q_n = tensor.dim %q_rows, %c0 : tensor<?x128xbf16>
  %qn_e0 = tensor.empty(%q_n) : tensor<?x128xf32>
  %qn_f32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q_rows : tensor<?x128xbf16>) outs(%qn_e0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qn_e1 = tensor.empty(%q_n) : tensor<?x128xf32>
  %qn_sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_f32 : tensor<?x128xf32>) outs(%qn_e1 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qn_e2 = tensor.empty(%q_n) : tensor<?x1xf32>
  %qn_z = linalg.fill ins(%cst_f32_0 : f32) outs(%qn_e2 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %qn_sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%qn_sq : tensor<?x128xf32>) outs(%qn_z : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qn_e3 = tensor.empty(%q_n) : tensor<?x1xf32>
  %qn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "reduction"]}
      ins(%qn_sum : tensor<?x1xf32>) outs(%qn_e3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_f32_128 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qn_e4 = tensor.empty(%q_n) : tensor<?x1xf32>
  %qn_var = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_mean : tensor<?x1xf32>) outs(%qn_e4 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %eps_1e6 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qn_e5 = tensor.empty(%q_n) : tensor<?x1xf32>
  %qn_rstd = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_var : tensor<?x1xf32>) outs(%qn_e5 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qn_e6 = tensor.empty(%q_n) : tensor<?x128xf32>
  %qn_xhat = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_f32, %qn_rstd : tensor<?x128xf32>, tensor<?x1xf32>) outs(%qn_e6 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qn_e7 = tensor.empty(%q_n) : tensor<?x128xbf16>
  %qn_xhat_bf16 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_xhat : tensor<?x128xf32>) outs(%qn_e7 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %qn_e8 = tensor.empty(%q_n) : tensor<?x128xbf16>
  %qn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%q_norm_w, %qn_xhat_bf16 : tensor<128xbf16>, tensor<?x128xbf16>) outs(%qn_e8 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %q_normed = tensor.expand_shape %qn_out [[0, 1], [2]] output_shape [%T, 32, 128] : tensor<?x128xbf16> into tensor<?x32x128xbf16>
  %k_heads = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 8, 128] : tensor<?x1024xbf16> into tensor<?x8x128xbf16>
  %k_rows = tensor.collapse_shape %k_heads [[0, 1], [2]] : tensor<?x8x128xbf16> into tensor<?x128xbf16>
  %k_n = tensor.dim %k_rows, %c0 : tensor<?x128xbf16>
  %kn_e0 = tensor.empty(%k_n) : tensor<?x128xf32>
  %kn_f32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%k_rows : tensor<?x128xbf16>) outs(%kn_e0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %kn_e1 = tensor.empty(%k_n) : tensor<?x128xf32>
  %kn_sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_f32 : tensor<?x128xf32>) outs(%kn_e1 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %kn_e2 = tensor.empty(%k_n) : tensor<?x1xf32>
  %kn_z = linalg.fill ins(%cst_f32_0 : f32) outs(%kn_e2 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %kn_sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%kn_sq : tensor<?x128xf32>) outs(%kn_z : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %kn_e3 = tensor.empty(%k_n) : tensor<?x1xf32>
  %kn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_sum : tensor<?x1xf32>) outs(%kn_e3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_f32_128 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %kn_e4 = tensor.empty(%k_n) : tensor<?x1xf32>
  %kn_var = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_mean : tensor<?x1xf32>) outs(%kn_e4 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %eps_1e6 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %kn_e5 = tensor.empty(%k_n) : tensor<?x1xf32>
  %kn_rstd = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_var : tensor<?x1xf32>) outs(%kn_e5 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %kn_e6 = tensor.empty(%k_n) : tensor<?x128xf32>
  %kn_xhat = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_f32, %kn_rstd : tensor<?x128xf32>, tensor<?x1xf32>) outs(%kn_e6 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %kn_e7 = tensor.empty(%k_n) : tensor<?x128xbf16>
  %kn_xhat_bf16 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_xhat : tensor<?x128xf32>) outs(%kn_e7 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %kn_e8 = tensor.empty(%k_n) : tensor<?x128xbf16>
  %kn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%k_norm_w, %kn_xhat_bf16 : tensor<128xbf16>, tensor<?x128xbf16>) outs(%kn_e8 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %k_normed = tensor.expand_shape %kn_out [[0, 1], [2]] output_shape [%T, 8, 128] : tensor<?x128xbf16> into tensor<?x8x128xbf16>
  %v_heads = tensor.expand_shape %v [[0], [1, 2]] output_shape [%T, 8, 128] : tensor<?x1024xbf16> into tensor<?x8x128xbf16>
  %q_rope_e = tensor.empty(%T) : tensor<?x32x128xbf16>
  %q_rope = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q_normed, %cos, %sin : tensor<?x32x128xbf16>, tensor<?x128xf32>, tensor<?x128xf32>) outs(%q_rope_e : tensor<?x32x128xbf16>) {
    ^bb0(%in: bf16, %in_1: f32, %in_2: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %d_shift = arith.addi %d, %c64 : index
      %d_partner = arith.remui %d_shift, %c128 : index
      %x_partner = tensor.extract %q_normed[%t, %h, %d_partner] : tensor<?x32x128xbf16>
      %is_lo = arith.cmpi ult, %d, %c64 : index
      %xp = arith.extf %x_partner : bf16 to f32
      %neg = arith.negf %xp : f32
      %rot = arith.select %is_lo, %neg, %xp : f32
      %xf = arith.extf %in : bf16 to f32
      %xc = arith.mulf %xf, %in_1 : f32
      %rs = arith.mulf %rot, %in_2 : f32
      %sum = arith.addf %xc, %rs : f32
      %r = arith.truncf %sum : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<?x32x128xbf16>
  %k_rope_e = tensor.empty(%T) : tensor<?x8x128xbf16>
  %k_rope = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k_normed, %cos, %sin : tensor<?x8x128xbf16>, tensor<?x128xf32>, tensor<?x128xf32>) outs(%k_rope_e : tensor<?x8x128xbf16>) {
    ^bb0(%in: bf16, %in_1: f32, %in_2: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %d_shift = arith.addi %d, %c64 : index
      %d_partner = arith.remui %d_shift, %c128 : index
      %x_partner = tensor.extract %k_normed[%t, %h, %d_partner] : tensor<?x8x128xbf16>
      %is_lo = arith.cmpi ult, %d, %c64 : index
      %xp = arith.extf %x_partner : bf16 to f32
      %neg = arith.negf %xp : f32
      %rot = arith.select %is_lo, %neg, %xp : f32
      %xf = arith.extf %in : bf16 to f32
      %xc = arith.mulf %xf, %in_1 : f32
      %rs = arith.mulf %rot, %in_2 : f32
      %sum = arith.addf %xc, %rs : f32
      %r = arith.truncf %sum : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<?x8x128xbf16>
  %attn = func.call @attention(%q_rope, %k_rope, %v_heads) : (tensor<?x32x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) -> tensor<?x4096xbf16>
  %out_e = tensor.empty(%T) : tensor<?x4096xbf16>
  %out_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%out_e : tensor<?x4096xbf16>) -> tensor<?x4096xbf16>
  %out = linalg.matmul ins(%attn, %w_o : tensor<?x4096xbf16>, tensor<4096x4096xbf16>) outs(%out_z : tensor<?x4096xbf16>) -> tensor<?x4096xbf16>
  return %out : tensor<?x4096xbf16>
}
