func.func private @attention(tensor<?x40x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}) -> tensor<?x5120xbf16>
func.func @attention_block(%hidden: tensor<?x5120xbf16>, %w_qkv: tensor<5120x7168xbf16>, %q_norm_w: tensor<128xbf16>, %k_norm_w: tensor<128xbf16>, %cos: tensor<?x128xf32>, %sin: tensor<?x128xf32>, %w_o: tensor<5120x5120xbf16>) -> tensor<?x5120xbf16> {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %c64 = arith.constant 64 : index
  %cst_bf16_0 = arith.constant 0.000000e+00 : bf16
  %cst_f32_0 = arith.constant 0.000000e+00 : f32
  %cst_f32_128 = arith.constant 1.280000e+02 : f32
  %eps_1e5 = arith.constant 0x80000000 : f32
  %T = tensor.dim %hidden, %c0 : tensor<?x5120xbf16>
  %qkv_e = tensor.empty(%T) : tensor<?x7168xbf16>
  %qkv_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%qkv_e : tensor<?x7168xbf16>) -> tensor<?x7168xbf16>
  %qkv = linalg.matmul ins(%hidden, %w_qkv : tensor<?x5120xbf16>, tensor<5120x7168xbf16>) outs(%qkv_z : tensor<?x7168xbf16>) -> tensor<?x7168xbf16>
  %qk = tensor.extract_slice %qkv[0, 0] [%T, 6144] [1, 1] : tensor<?x7168xbf16> to tensor<?x6144xbf16>
  %qk_heads = tensor.expand_shape %qk [[0], [1, 2]] output_shape [%T, 48, 128] : tensor<?x6144xbf16> into tensor<?x48x128xbf16>
  %qk_rows = tensor.collapse_shape %qk_heads [[0, 1], [2]] : tensor<?x48x128xbf16> into tensor<?x128xbf16>
  %qk_n = tensor.dim %qk_rows, %c0 : tensor<?x128xbf16>
  %qkn_e0 = tensor.empty(%qk_n) : tensor<?x128xf32>
  %qkn_f32 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qk_rows : tensor<?x128xbf16>) outs(%qkn_e0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qkn_e1 = tensor.empty(%qk_n) : tensor<?x128xf32>
  %qkn_sq = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_f32 : tensor<?x128xf32>) outs(%qkn_e1 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qkn_e2 = tensor.empty(%qk_n) : tensor<?x1xf32>
  %qkn_z = linalg.fill ins(%cst_f32_0 : f32) outs(%qkn_e2 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %qkn_sum = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%qkn_sq : tensor<?x128xf32>) outs(%qkn_z : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qkn_e3 = tensor.empty(%qk_n) : tensor<?x1xf32>
  %qkn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_sum : tensor<?x1xf32>) outs(%qkn_e3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_f32_128 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qkn_e4 = tensor.empty(%qk_n) : tensor<?x1xf32>
  %qkn_var = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_mean : tensor<?x1xf32>) outs(%qkn_e4 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %eps_1e5 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qkn_e5 = tensor.empty(%qk_n) : tensor<?x1xf32>
  %qkn_rstd = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_var : tensor<?x1xf32>) outs(%qkn_e5 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %qkn_e6 = tensor.empty(%qk_n) : tensor<?x128xf32>
  %qkn_xhat = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_f32, %qkn_rstd : tensor<?x128xf32>, tensor<?x1xf32>) outs(%qkn_e6 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qkn_e7 = tensor.empty(%qk_n) : tensor<?x128xbf16>
  %qkn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qkn_xhat : tensor<?x128xf32>) outs(%qkn_e7 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %qk_normed = tensor.expand_shape %qkn_out [[0, 1], [2]] output_shape [%T, 48, 128] : tensor<?x128xbf16> into tensor<?x48x128xbf16>
  %q_normed = tensor.extract_slice %qk_normed[0, 0, 0] [%T, 40, 128] [1, 1, 1] : tensor<?x48x128xbf16> to tensor<?x40x128xbf16>
  %k_normed = tensor.extract_slice %qk_normed[0, 40, 0] [%T, 8, 128] [1, 1, 1] : tensor<?x48x128xbf16> to tensor<?x8x128xbf16>
  %v = tensor.extract_slice %qkv[0, 6144] [%T, 1024] [1, 1] : tensor<?x7168xbf16> to tensor<?x1024xbf16>
  %v_heads = tensor.expand_shape %v [[0], [1, 2]] output_shape [%T, 8, 128] : tensor<?x1024xbf16> into tensor<?x8x128xbf16>
  %q_rope_e = tensor.empty(%T) : tensor<?x40x128xbf16>
  %q_rope = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q_normed, %cos, %sin : tensor<?x40x128xbf16>, tensor<?x128xf32>, tensor<?x128xf32>) outs(%q_rope_e : tensor<?x40x128xbf16>) {
    ^bb0(%in: bf16, %in_1: f32, %in_2: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %d_shift = arith.addi %d, %c64 : index
      %d_partner = arith.remui %d_shift, %c128 : index
      %x_partner = tensor.extract %q_normed[%t, %h, %d_partner] : tensor<?x40x128xbf16>
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
    } -> tensor<?x40x128xbf16>
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
  %attn = func.call @attention(%q_rope, %k_rope, %v_heads) : (tensor<?x40x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) -> tensor<?x5120xbf16>
  %out_e = tensor.empty(%T) : tensor<?x5120xbf16>
  %out_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%out_e : tensor<?x5120xbf16>) -> tensor<?x5120xbf16>
  %out = linalg.matmul ins(%attn, %w_o : tensor<?x5120xbf16>, tensor<5120x5120xbf16>) outs(%out_z : tensor<?x5120xbf16>) -> tensor<?x5120xbf16>
  return %out : tensor<?x5120xbf16>
}
