// Decomposed RMSNorm, positive forms: each function must be raised to one RMSNorm.
//   y = x * rsqrt(mean(x * x over the last dim) + eps) * (offset + w), fp32 accumulation.
// Written the way torch-mlir lowers aten ops to linalg: one linalg.generic per step, tensor.empty
// inits for elementwise steps, reductions with a linalg.fill 0.0 init and the reduced dim last.
// Unless stated otherwise: eps = 1e-6, offset = 0, reduced size 128.
// Input file (no RUN lines); see positive-fused.mlir for the same functions after
// `mlir-opt --linalg-fuse-elementwise-ops`.

// torch-mlir aten.rms_norm(x: bf16[T,128], [128], w: bf16[128], eps=1e-6).
// fp32 statistics; keepdim sum with the constant-0 output map (d0, d1) -> (d0, 0) into ?x1;
// the bf16 weight is extended inside the multiply; one truncf at the end (round once).
func.func @torch_aten_rms_norm_bf16_keepdim_const0(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
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

// As @torch_aten_rms_norm_bf16_keepdim_const0, but the reduction writes the dropped-dim
// map (d0, d1) -> (d0) into tensor<?xf32> and the broadcast reads use (d0, d1) -> (d0).
func.func @torch_aten_rms_norm_bf16_keepdim_dropped(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
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
  %e5 = tensor.empty(%dim) : tensor<?xf32>
  %f6 = linalg.fill ins(%cst : f32) outs(%e5 : tensor<?xf32>) -> tensor<?xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r4 : tensor<?x128xf32>) outs(%f6 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?xf32>
  %e8 = tensor.empty(%dim) : tensor<?xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%r7 : tensor<?xf32>) outs(%e8 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?xf32>
  %e10 = tensor.empty(%dim) : tensor<?xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%r9 : tensor<?xf32>) outs(%e10 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?xf32>
  %e12 = tensor.empty(%dim) : tensor<?xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%r11 : tensor<?xf32>) outs(%e12 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r13 : tensor<?x128xf32>, tensor<?xf32>) outs(%e14 : tensor<?x128xf32>) {
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

// As @torch_aten_rms_norm_bf16_keepdim_const0, but the weight is extended to f32 by its own
// 1-D linalg.generic (a separate `w.float()`) before the multiply; round once.
func.func @torch_aten_rms_norm_bf16_weight_extf_generic(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
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
  %e16 = tensor.empty() : tensor<128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%w : tensor<128xbf16>) outs(%e16 : tensor<128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x128xf32>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %r17 : tensor<?x128xf32>, tensor<128xf32>) outs(%e18 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
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

// Hugging Face Qwen3RMSNorm / LlamaRMSNorm:
//   h = x.float(); var = h.pow(2).mean(-1, keepdim=True); h = h * rsqrt(var + eps)
//   return w * h.to(bf16)
// pow as math.powf(h, 2.0); mean as sum / 128; x_hat rounded to bf16 BEFORE the bf16 weight multiply.
func.func @hf_rms_norm_bf16_powf_round_before_weight(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 2.000000e+00 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant 1.280000e+02 : f32
  %cst_3 = arith.constant 9.99999997E-7 : f32
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
      %0 = math.powf %in, %cst : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e5 = tensor.empty(%dim) : tensor<?x1xf32>
  %f6 = linalg.fill ins(%cst_1 : f32) outs(%e5 : tensor<?x1xf32>) -> tensor<?x1xf32>
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
      %0 = arith.divf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_3 : f32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %r17 : tensor<128xbf16>, tensor<?x128xbf16>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// As @hf_rms_norm_bf16_powf_round_before_weight with the square as math.fpowi(h, 2 : i32).
func.func @hf_rms_norm_bf16_fpowi_round_before_weight(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %c2_i32 = arith.constant 2 : i32
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
      %0 = math.fpowi %in, %c2_i32 : f32, i32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %r17 : tensor<128xbf16>, tensor<?x128xbf16>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// As @hf_rms_norm_bf16_powf_round_before_weight with the square as arith.mulf h, h.
func.func @hf_rms_norm_bf16_mulf_round_before_weight(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
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
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  %e18 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%w, %r17 : tensor<128xbf16>, tensor<?x128xbf16>) outs(%e18 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_1: bf16, %out: bf16):
      %0 = arith.mulf %in, %in_1 : bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r19 : tensor<?x128xbf16>
}

// Hugging Face Gemma3RMSNorm: h = norm(x.float()); h = h * (1.0 + w.float()); return h.type_as(x).
// Everything in fp32; weight extended and offset by 1.0 in two 1-D generics; round once at the end.
func.func @gemma3_rms_norm_bf16_one_plus_w(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %cst_3 = arith.constant 1.000000e+00 : f32
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

// Hugging Face Llama4TextL2Norm (weight-less): h = x.float(); h * rsqrt(h.pow(2).mean(-1, keepdim=True) + eps),
// then .type_as(x). eps = 1e-5 (Llama4's rms_norm_eps). No weight multiply.
func.func @llama4_l2_norm_bf16_no_weight(%x: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 2.000000e+00 : f32
  %cst_1 = arith.constant 0.000000e+00 : f32
  %cst_2 = arith.constant 1.280000e+02 : f32
  %cst_3 = arith.constant 9.99999974E-6 : f32
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
      %0 = math.powf %in, %cst : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e5 = tensor.empty(%dim) : tensor<?x1xf32>
  %f6 = linalg.fill ins(%cst_1 : f32) outs(%e5 : tensor<?x1xf32>) -> tensor<?x1xf32>
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
      %0 = arith.divf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<?x1xf32>) outs(%e10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_3 : f32
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
  %e16 = tensor.empty(%dim) : tensor<?x128xbf16>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15 : tensor<?x128xf32>) outs(%e16 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x128xbf16>
  return %r17 : tensor<?x128xbf16>
}

// aten.rms_norm on a static f32[64,128] input with an f32 weight: no extf/truncf at all.
func.func @torch_aten_rms_norm_f32_static_64x128(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
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

// aten.rms_norm on a dynamic f32[?,128] input with an f32 weight: no extf/truncf at all.
func.func @torch_aten_rms_norm_f32_dynamic(%x: tensor<?x128xf32>, %w: tensor<128xf32>) -> tensor<?x128xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %dim = tensor.dim %x, %c0 : tensor<?x128xf32>
  %e1 = tensor.empty(%dim) : tensor<?x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x128xf32>) outs(%e1 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
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
      ins(%x, %r11 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%e12 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  %e14 = tensor.empty(%dim) : tensor<?x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<?x128xf32>, tensor<128xf32>) outs(%e14 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x128xf32>
  return %r15 : tensor<?x128xf32>
}

// aten.rms_norm on a static f16[64,128] input with an f16 weight; fp32 statistics, round once.
func.func @torch_aten_rms_norm_f16_static_64x128(%x: tensor<64x128xf16>, %w: tensor<128xf16>) -> tensor<64x128xf16> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf16>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f16, %out: f32):
      %0 = arith.extf %in : f16 to f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<64x128xf32>
  %r4 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2 : tensor<64x128xf32>) outs(%e3 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e5 = tensor.empty() : tensor<64x1xf32>
  %f6 = linalg.fill ins(%cst : f32) outs(%e5 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r4 : tensor<64x128xf32>) outs(%f6 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e8 = tensor.empty() : tensor<64x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<64x1xf32>) outs(%e8 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e10 = tensor.empty() : tensor<64x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<64x1xf32>) outs(%e10 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e12 = tensor.empty() : tensor<64x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r11 : tensor<64x1xf32>) outs(%e12 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r2, %r13 : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e16 = tensor.empty() : tensor<64x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<64x128xf32>, tensor<128xf16>) outs(%e16 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f16, %out: f32):
      %0 = arith.extf %in_1 : f16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<64x128xf32>
  %e18 = tensor.empty() : tensor<64x128xf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r17 : tensor<64x128xf32>) outs(%e18 : tensor<64x128xf16>) {
    ^bb0(%in: f32, %out: f16):
      %0 = arith.truncf %in : f32 to f16
      linalg.yield %0 : f16
    } -> tensor<64x128xf16>
  return %r19 : tensor<64x128xf16>
}

// aten.rms_norm on a 3-D bf16[T,8,128] input ([T, H, D] per-head view), reduction over the last
// dim only, keepdim map (d0, d1, d2) -> (d0, d1, 0), weight read with (d0, d1, d2) -> (d2).
func.func @torch_aten_rms_norm_bf16_3d_keepdim_const0(%x: tensor<?x8x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x8x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %dim = tensor.dim %x, %c0 : tensor<?x8x128xbf16>
  %e1 = tensor.empty(%dim) : tensor<?x8x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x8x128xbf16>) outs(%e1 : tensor<?x8x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %0 = arith.extf %in : bf16 to f32
      linalg.yield %0 : f32
    } -> tensor<?x8x128xf32>
  %e3 = tensor.empty(%dim) : tensor<?x8x128xf32>
  %r4 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r2 : tensor<?x8x128xf32>) outs(%e3 : tensor<?x8x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x128xf32>
  %e5 = tensor.empty(%dim) : tensor<?x8x1xf32>
  %f6 = linalg.fill ins(%cst : f32) outs(%e5 : tensor<?x8x1xf32>) -> tensor<?x8x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r4 : tensor<?x8x128xf32>) outs(%f6 : tensor<?x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x1xf32>
  %e8 = tensor.empty(%dim) : tensor<?x8x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r7 : tensor<?x8x1xf32>) outs(%e8 : tensor<?x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x1xf32>
  %e10 = tensor.empty(%dim) : tensor<?x8x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r9 : tensor<?x8x1xf32>) outs(%e10 : tensor<?x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x1xf32>
  %e12 = tensor.empty(%dim) : tensor<?x8x1xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r11 : tensor<?x8x1xf32>) outs(%e12 : tensor<?x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x1xf32>
  %e14 = tensor.empty(%dim) : tensor<?x8x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, 0)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r2, %r13 : tensor<?x8x128xf32>, tensor<?x8x1xf32>) outs(%e14 : tensor<?x8x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<?x8x128xf32>
  %e16 = tensor.empty(%dim) : tensor<?x8x128xf32>
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r15, %w : tensor<?x8x128xf32>, tensor<128xbf16>) outs(%e16 : tensor<?x8x128xf32>) {
    ^bb0(%in: f32, %in_1: bf16, %out: f32):
      %0 = arith.extf %in_1 : bf16 to f32
      %1 = arith.mulf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<?x8x128xf32>
  %e18 = tensor.empty(%dim) : tensor<?x8x128xbf16>
  %r19 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%r17 : tensor<?x8x128xf32>) outs(%e18 : tensor<?x8x128xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %0 = arith.truncf %in : f32 to bf16
      linalg.yield %0 : bf16
    } -> tensor<?x8x128xbf16>
  return %r19 : tensor<?x8x128xbf16>
}

// bf16 activation with an f32 weight (weight kept in fp32 by the module): the multiply by w
// happens in f32 with no weight conversion; round once.
func.func @torch_aten_rms_norm_bf16_act_f32_weight(%x: tensor<?x128xbf16>, %w: tensor<128xf32>) -> tensor<?x128xbf16> {
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
  %r17 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r15, %w : tensor<?x128xf32>, tensor<128xf32>) outs(%e16 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
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
