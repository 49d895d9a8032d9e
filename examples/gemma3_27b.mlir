// Gemma 3 27B attention block.
//   hidden 5376, Hq = 32, Hkv = 16, head_dim D = 128; qkv = [T, 8192] = q 4096 | k 2048 | v 2048.
//   Engine code: q, k, v = qkv.split([4096, 2048, 2048], -1);
//                q = q_norm(q.reshape(-1, 128)).view(q.shape); k = k_norm(k.reshape(-1, 128)).view(k.shape)
//   QK norm: Gemma3RMSNorm per head (group = D = 128): x_hat * (1.0 + w), everything in fp32 (weight
//   extf'd and offset by 1.0 in 1-D generics), rounded to bf16 once; separate q/k weights [128]; eps 1e-6.
//   (Gemma's query_pre_attn_scalar scaling belongs to the attention call and is not modelled.)
//
// Input IR in upstream dialects only (func, arith, math, tensor, linalg; bufferization via the
// func argument attribute). Dynamic token count T; bf16 activations and weights; cos/sin f32.
// Pipeline of @attention_block:
//   qkv = linalg.matmul(hidden, w_qkv)   -> [T, 8192] (linalg.fill'd tensor.empty, T from tensor.dim)
//   q/k/v = tensor.extract_slice of qkv  (strided: row stride 8192 elements)
//   QK norm, decomposed torch-mlir style, one linalg.generic per step:
//     extf -> x * x -> sum (linalg.fill 0.0, keepdim map (d0, d1) -> (d0, 0)) -> / 128 -> + eps -> rsqrt
//     -> x * r -> * (1.0 + extf(w)) in fp32 -> truncf
//   RoPE rotate-half on [T, H, 128] (one linalg.generic per tensor; the partner element is read with
//     tensor.extract at index (d + 64) mod 128, negated for d < 64; fp32 math, round once)
//   o = func.call @attention(q, k, v)  (opaque, declared `bufferization.access = "read"`)
//   out = linalg.matmul(o, w_o)
//
// After `mlir-opt --one-shot-bufferize=bufferize-function-boundaries` (LLVM/MLIR 22.1.8):
//   memref.copy count: 2
//   The copies: `tensor.collapse_shape %q_heads` ([T, 32, 128] -> [T * 32, 128], source
//   memref<?x32x128xbf16, strided<[8192, 128, 1]>>) and `tensor.collapse_shape %k_heads` ([T, 16, 128]
//   -> [T * 16, 128], source strided<[8192, 128, 1], offset: 4096>) are not views of the strided q/k
//   slices, so bufferization allocates and copies each. v's expand to [T, 16, 128] is a view.
//   Verified: parses with stock mlir-opt; lowers with the mlir22-notes.md CPU pipeline and runs
//   under mlir-runner (T = 2, @attention replaced by a stub) bit-exact against a numpy emulation.
// Input file (no RUN lines).

// Opaque attention backend: q [T, Hq, D], k and v [T, Hkv, D] -> o [T, Hq * D].
// The declaration says it only reads its operands (bufferization.access = "read"), as a real
// attention kernel does; without it One-Shot Bufferize assumes an external callee writes every
// operand and copies q/k/v before the call.
func.func private @attention(tensor<?x32x128xbf16> {bufferization.access = "read"}, tensor<?x16x128xbf16> {bufferization.access = "read"}, tensor<?x16x128xbf16> {bufferization.access = "read"}) -> tensor<?x4096xbf16>

func.func @attention_block(%hidden: tensor<?x5376xbf16>, %w_qkv: tensor<5376x8192xbf16>, %q_norm_w: tensor<128xbf16>, %k_norm_w: tensor<128xbf16>, %cos: tensor<?x128xf32>, %sin: tensor<?x128xf32>, %w_o: tensor<4096x5376xbf16>) -> tensor<?x5376xbf16> {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %c64 = arith.constant 64 : index
  %cst_bf16_0 = arith.constant 0.000000e+00 : bf16
  %cst_f32_0 = arith.constant 0.000000e+00 : f32
  %cst_f32_1 = arith.constant 1.000000e+00 : f32
  %cst_f32_128 = arith.constant 1.280000e+02 : f32
  %eps_1e6 = arith.constant 9.99999997E-7 : f32
  %T = tensor.dim %hidden, %c0 : tensor<?x5376xbf16>

  // qkv = qkv_proj(hidden): one [T, 8192] row-major buffer (q 4096 | k 2048 | v 2048)
  %qkv_e = tensor.empty(%T) : tensor<?x8192xbf16>
  %qkv_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%qkv_e : tensor<?x8192xbf16>) -> tensor<?x8192xbf16>
  %qkv = linalg.matmul ins(%hidden, %w_qkv : tensor<?x5376xbf16>, tensor<5376x8192xbf16>) outs(%qkv_z : tensor<?x8192xbf16>) -> tensor<?x8192xbf16>

  // q, k, v = qkv.split([4096, 2048, 2048], -1)  (strided views: row stride 8192)
  %q = tensor.extract_slice %qkv[0, 0] [%T, 4096] [1, 1] : tensor<?x8192xbf16> to tensor<?x4096xbf16>
  %k = tensor.extract_slice %qkv[0, 4096] [%T, 2048] [1, 1] : tensor<?x8192xbf16> to tensor<?x2048xbf16>
  %v = tensor.extract_slice %qkv[0, 6144] [%T, 2048] [1, 1] : tensor<?x8192xbf16> to tensor<?x2048xbf16>

  // q = q_norm(q.reshape(-1, 128)).view(T, 32, 128): the collapse of the strided view is the copy
  %q_heads = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 32, 128] : tensor<?x4096xbf16> into tensor<?x32x128xbf16>
  %q_rows = tensor.collapse_shape %q_heads [[0, 1], [2]] : tensor<?x32x128xbf16> into tensor<?x128xbf16>
  %q_n = tensor.dim %q_rows, %c0 : tensor<?x128xbf16>
  // Gemma3RMSNorm: x_hat * (1.0 + w) all in fp32, rounded to bf16 once (eps = 1e-06; torch-mlir decomposition)
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
  %qn_mean = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
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
  %qn_we0 = tensor.empty() : tensor<128xf32>
  %qn_wf32 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%q_norm_w : tensor<128xbf16>) outs(%qn_we0 : tensor<128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %qn_we1 = tensor.empty() : tensor<128xf32>
  %qn_w1p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%qn_wf32 : tensor<128xf32>) outs(%qn_we1 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_f32_1 : f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %qn_e8 = tensor.empty(%q_n) : tensor<?x128xf32>
  %qn_scaled = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_xhat, %qn_w1p : tensor<?x128xf32>, tensor<128xf32>) outs(%qn_e8 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %qn_e9 = tensor.empty(%q_n) : tensor<?x128xbf16>
  %qn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%qn_scaled : tensor<?x128xf32>) outs(%qn_e9 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %q_normed = tensor.expand_shape %qn_out [[0, 1], [2]] output_shape [%T, 32, 128] : tensor<?x128xbf16> into tensor<?x32x128xbf16>

  // k = k_norm(k.reshape(-1, 128)).view(T, 16, 128): the collapse of the strided view is the copy
  %k_heads = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 16, 128] : tensor<?x2048xbf16> into tensor<?x16x128xbf16>
  %k_rows = tensor.collapse_shape %k_heads [[0, 1], [2]] : tensor<?x16x128xbf16> into tensor<?x128xbf16>
  %k_n = tensor.dim %k_rows, %c0 : tensor<?x128xbf16>
  // Gemma3RMSNorm: x_hat * (1.0 + w) all in fp32, rounded to bf16 once (eps = 1e-06; torch-mlir decomposition)
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
  %kn_we0 = tensor.empty() : tensor<128xf32>
  %kn_wf32 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%k_norm_w : tensor<128xbf16>) outs(%kn_we0 : tensor<128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %kn_we1 = tensor.empty() : tensor<128xf32>
  %kn_w1p = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%kn_wf32 : tensor<128xf32>) outs(%kn_we1 : tensor<128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_f32_1 : f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %kn_e8 = tensor.empty(%k_n) : tensor<?x128xf32>
  %kn_scaled = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_xhat, %kn_w1p : tensor<?x128xf32>, tensor<128xf32>) outs(%kn_e8 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %kn_e9 = tensor.empty(%k_n) : tensor<?x128xbf16>
  %kn_out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%kn_scaled : tensor<?x128xf32>) outs(%kn_e9 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %k_normed = tensor.expand_shape %kn_out [[0, 1], [2]] output_shape [%T, 16, 128] : tensor<?x128xbf16> into tensor<?x16x128xbf16>

  %v_heads = tensor.expand_shape %v [[0], [1, 2]] output_shape [%T, 16, 128] : tensor<?x2048xbf16> into tensor<?x16x128xbf16>

  // RoPE, rotate-half (neox style) on the last dim:
  //   out[t, h, d] = x[t, h, d] * cos[t, d] + rotate_half(x)[t, h, d] * sin[t, d]
  //   rotate_half(x)[d] = -x[d + 64] for d < 64, x[d - 64] otherwise; fp32 math, round once
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
  %k_rope_e = tensor.empty(%T) : tensor<?x16x128xbf16>
  %k_rope = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k_normed, %cos, %sin : tensor<?x16x128xbf16>, tensor<?x128xf32>, tensor<?x128xf32>) outs(%k_rope_e : tensor<?x16x128xbf16>) {
    ^bb0(%in: bf16, %in_1: f32, %in_2: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %d_shift = arith.addi %d, %c64 : index
      %d_partner = arith.remui %d_shift, %c128 : index
      %x_partner = tensor.extract %k_normed[%t, %h, %d_partner] : tensor<?x16x128xbf16>
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
    } -> tensor<?x16x128xbf16>

  // attention (opaque backend call)
  %attn = func.call @attention(%q_rope, %k_rope, %v_heads) : (tensor<?x32x128xbf16>, tensor<?x16x128xbf16>, tensor<?x16x128xbf16>) -> tensor<?x4096xbf16>

  // o_proj
  %out_e = tensor.empty(%T) : tensor<?x5376xbf16>
  %out_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%out_e : tensor<?x5376xbf16>) -> tensor<?x5376xbf16>
  %out = linalg.matmul ins(%attn, %w_o : tensor<?x4096xbf16>, tensor<4096x5376xbf16>) outs(%out_z : tensor<?x5376xbf16>) -> tensor<?x5376xbf16>
  return %out : tensor<?x5376xbf16>
}
