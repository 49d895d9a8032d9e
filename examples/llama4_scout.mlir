// Llama 4 Scout (17B-16E) attention block, QK-norm layer (the RoPE layers; NoPE layers have none).
//   hidden 5120, Hq = 40, Hkv = 8, head_dim D = 128; qkv = [T, 7168] = q 5120 | k 1024 | v 1024.
//   sglang (before PR #25089): qk = qkv[:, :6144].reshape(-1, 128).contiguous(); qk = qk_norm(qk);
//   q, k = qk.reshape(T, -1).split([5120, 1024], -1).
//   QK norm: Llama4TextL2Norm, weight-less, ONE norm over all 48 q|k heads per token (per head,
//   group = D), eps = 1e-5 (rms_norm_eps), fp32 math, cast back to bf16.
//   %q_norm_w and %k_norm_w are UNUSED (the norm has no weight); kept so that all examples share one
//   signature.
//   Simplifications: real Llama4 applies RoPE (interleaved / complex-pair style) BEFORE the norm, in
//   place on the q/k views of qkv; here the norm comes first and RoPE is rotate-half, like the other
//   examples, so the norm input is the strided slice of the matmul result.
//
// Input IR in upstream dialects only (func, arith, math, tensor, linalg; bufferization via the
// func argument attribute). Dynamic token count T; bf16 activations and weights; cos/sin f32.
// Pipeline of @attention_block:
//   qkv = linalg.matmul(hidden, w_qkv)   -> [T, 7168] (linalg.fill'd tensor.empty, T from tensor.dim)
//   q/k/v = tensor.extract_slice of qkv  (strided: row stride 7168 elements)
//   QK norm, decomposed torch-mlir style, one linalg.generic per step:
//     extf -> x * x -> sum (linalg.fill 0.0, keepdim map (d0, d1) -> (d0, 0)) -> / 128 -> + eps -> rsqrt
//     -> x * r -> truncf (no weight)
//   RoPE rotate-half on [T, H, 128] (one linalg.generic per tensor; the partner element is read with
//     tensor.extract at index (d + 64) mod 128, negated for d < 64; fp32 math, round once)
//   o = func.call @attention(q, k, v)  (opaque, declared `bufferization.access = "read"`)
//   out = linalg.matmul(o, w_o)
//
// After `mlir-opt --one-shot-bufferize=bufferize-function-boundaries` (LLVM/MLIR 22.1.8):
//   memref.copy count: 1
//   The copy: `tensor.collapse_shape %qk_heads` ([T, 48, 128] -> [T * 48, 128]) of the strided
//   expand_shape of the qkv[:, 0:6144] slice (memref<?x48x128xbf16, strided<[7168, 128, 1]>>) is not
//   a view, so bufferization allocates [T, 48, 128] and copies into it (`reshape(-1, D).contiguous()`).
//   The expand back to [T, 48, 128], the q/k head slices and the v view are all views (no copy).
//   Verified: parses with stock mlir-opt; lowers with the mlir22-notes.md CPU pipeline and runs
//   under mlir-runner (T = 2, @attention replaced by a stub) bit-exact against a numpy emulation.
// Input file (no RUN lines).

// Opaque attention backend: q [T, Hq, D], k and v [T, Hkv, D] -> o [T, Hq * D].
// The declaration says it only reads its operands (bufferization.access = "read"), as a real
// attention kernel does; without it One-Shot Bufferize assumes an external callee writes every
// operand and copies q/k/v before the call.
func.func private @attention(tensor<?x40x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}, tensor<?x8x128xbf16> {bufferization.access = "read"}) -> tensor<?x5120xbf16>

func.func @attention_block(%hidden: tensor<?x5120xbf16>, %w_qkv: tensor<5120x7168xbf16>, %q_norm_w: tensor<128xbf16>, %k_norm_w: tensor<128xbf16>, %cos: tensor<?x128xf32>, %sin: tensor<?x128xf32>, %w_o: tensor<5120x5120xbf16>) -> tensor<?x5120xbf16> {
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %c64 = arith.constant 64 : index
  %cst_bf16_0 = arith.constant 0.000000e+00 : bf16
  %cst_f32_0 = arith.constant 0.000000e+00 : f32
  %cst_f32_128 = arith.constant 1.280000e+02 : f32
  %eps_1e5 = arith.constant 9.99999974E-6 : f32
  %T = tensor.dim %hidden, %c0 : tensor<?x5120xbf16>

  // qkv = qkv_proj(hidden): one [T, 7168] row-major buffer (q 5120 | k 1024 | v 1024)
  %qkv_e = tensor.empty(%T) : tensor<?x7168xbf16>
  %qkv_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%qkv_e : tensor<?x7168xbf16>) -> tensor<?x7168xbf16>
  %qkv = linalg.matmul ins(%hidden, %w_qkv : tensor<?x5120xbf16>, tensor<5120x7168xbf16>) outs(%qkv_z : tensor<?x7168xbf16>) -> tensor<?x7168xbf16>

  // qk = qkv[:, :q_size + kv_size]  (strided view: row stride 7168)
  %qk = tensor.extract_slice %qkv[0, 0] [%T, 6144] [1, 1] : tensor<?x7168xbf16> to tensor<?x6144xbf16>
  // qk = qk.reshape(-1, 128)   -> [T * 48, 128]; the collapse of the strided view is the copy
  %qk_heads = tensor.expand_shape %qk [[0], [1, 2]] output_shape [%T, 48, 128] : tensor<?x6144xbf16> into tensor<?x48x128xbf16>
  %qk_rows = tensor.collapse_shape %qk_heads [[0, 1], [2]] : tensor<?x48x128xbf16> into tensor<?x128xbf16>
  %qk_n = tensor.dim %qk_rows, %c0 : tensor<?x128xbf16>

  // qk = qk_norm(qk): one weight-less L2 norm (Llama4TextL2Norm) shared by the q and k heads,
  // fp32 math, cast back to bf16 (torch-mlir decomposition, eps = 1e-05)
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

  // q, k = qk.reshape(T, -1).split([q_size, kv_size], -1)  (as heads: [T, 48, 128] -> [T, 40 | 8, 128])
  %qk_normed = tensor.expand_shape %qkn_out [[0, 1], [2]] output_shape [%T, 48, 128] : tensor<?x128xbf16> into tensor<?x48x128xbf16>
  %q_normed = tensor.extract_slice %qk_normed[0, 0, 0] [%T, 40, 128] [1, 1, 1] : tensor<?x48x128xbf16> to tensor<?x40x128xbf16>
  %k_normed = tensor.extract_slice %qk_normed[0, 40, 0] [%T, 8, 128] [1, 1, 1] : tensor<?x48x128xbf16> to tensor<?x8x128xbf16>
  %v = tensor.extract_slice %qkv[0, 6144] [%T, 1024] [1, 1] : tensor<?x7168xbf16> to tensor<?x1024xbf16>
  %v_heads = tensor.expand_shape %v [[0], [1, 2]] output_shape [%T, 8, 128] : tensor<?x1024xbf16> into tensor<?x8x128xbf16>

  // RoPE, rotate-half (neox style) on the last dim:
  //   out[t, h, d] = x[t, h, d] * cos[t, d] + rotate_half(x)[t, h, d] * sin[t, d]
  //   rotate_half(x)[d] = -x[d + 64] for d < 64, x[d - 64] otherwise; fp32 math, round once
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

  // attention (opaque backend call)
  %attn = func.call @attention(%q_rope, %k_rope, %v_heads) : (tensor<?x40x128xbf16>, tensor<?x8x128xbf16>, tensor<?x8x128xbf16>) -> tensor<?x5120xbf16>

  // o_proj
  %out_e = tensor.empty(%T) : tensor<?x5120xbf16>
  %out_z = linalg.fill ins(%cst_bf16_0 : bf16) outs(%out_e : tensor<?x5120xbf16>) -> tensor<?x5120xbf16>
  %out = linalg.matmul ins(%attn, %w_o : tensor<?x5120xbf16>, tensor<5120x5120xbf16>) outs(%out_z : tensor<?x5120xbf16>) -> tensor<?x5120xbf16>
  return %out : tensor<?x5120xbf16>
}
