// Regressions found by the mutation fuzzer (fuzz/, docs/fuzzing.md): each
// input verifies; before the fix each pass produced IR that did not verify.
// RUN: qk-opt %s --split-input-file --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-norm-pipeline=target=cpu -o /dev/null
// RUN: qk-opt %s --split-input-file --qk-norm-pipeline=target=cuda -o /dev/null

// A static qkv whose slices have a dynamic token type (sized by tensor.dim):
// the rebuilt views keep the original (dynamic) types.
// CHECK-LABEL: func.func @static_qkv_dynamic_slice_types(
// CHECK: qk.fused_qk_norm
// CHECK: return
func.func @static_qkv_dynamic_slice_types(%qkv: tensor<2x128xbf16>, %wq: tensor<16xf32>, %wk: tensor<16xf32>) -> (tensor<?x16xbf16>, tensor<?x16xbf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<2x128xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<2x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<2x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<?x4x16xbf16> into tensor<?x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<?x2x16xbf16> into tensor<?x16xbf16>
  %c4 = arith.constant 4 : index
  %c2 = arith.constant 2 : index
  %TQ = arith.muli %T, %c4 : index
  %TK = arith.muli %T, %c2 : index
  %eq = tensor.empty(%TQ) : tensor<?x16xbf16>
  %ek = tensor.empty(%TK) : tensor<?x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xf32>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xf32>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  return %qn, %kn : tensor<?x16xbf16>, tensor<?x16xbf16>
}

// -----

// (c + w) with a constant c that is NaN: qk.rms_norm takes only a finite
// weight_offset, so the norm is not raised (it was raised to an op that did
// not verify).
// CHECK-LABEL: func.func @nan_weight_offset(
// CHECK-NOT: qk.rms_norm
// CHECK: return
func.func @nan_weight_offset(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %cst_3 = arith.constant 0x7FC00000 : f32
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

// -----

// The same with +inf.
// CHECK-LABEL: func.func @inf_weight_offset(
// CHECK-NOT: qk.rms_norm
// CHECK: return
func.func @inf_weight_offset(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> tensor<?x128xbf16> {
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

// -----

// epsilon NaN: not raised (it was raised to an op that did not verify).
// CHECK-LABEL: func.func @nan_epsilon(
// CHECK-NOT: qk.rms_norm
// CHECK: return
func.func @nan_epsilon(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
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

// -----

// A fused op over [T, H, D] heads whose weights have a dynamic size: the
// decomposition (CPU pipeline) casts them to the group size before reshaping
// (it built an invalid memref.expand_shape).
// CHECK-LABEL: func.func @dynamic_weight_3d_heads(
// CHECK: qk.fused_qk_norm
func.func @dynamic_weight_3d_heads(%qkv: tensor<?x8x16xf16>, %wq: tensor<?xf16>, %wk: tensor<?xf16>) -> (tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x8x16xf16>
  %q = tensor.extract_slice %qkv[0, 0, 0] [%T, 4, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x4x16xf16>
  %k = tensor.extract_slice %qkv[0, 4, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %v = tensor.extract_slice %qkv[0, 6, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %q2 = tensor.collapse_shape %q [[0, 1], [2]] : tensor<?x4x16xf16> into tensor<?x16xf16>
  %k2 = tensor.collapse_shape %k [[0, 1], [2]] : tensor<?x2x16xf16> into tensor<?x16xf16>
  %c4 = arith.constant 3 : index
  %c2 = arith.constant 2 : index
  %TQ = arith.muli %T, %c4 : index
  %TK = arith.muli %T, %c2 : index
  %eq = tensor.empty(%TQ) : tensor<?x16xf16>
  %ek = tensor.empty(%TK) : tensor<?x16xf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xf16>) weight(%wq : tensor<?xf16>) outs(%eq : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xf16>) weight(%wk : tensor<?xf16>) outs(%ek : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  return %qn, %kn, %v : tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>
}

// -----

// epsilon -0.0 (an f32 0x80000000 constant in the graph): it adds like +0.0;
// the fused op's #qk.range accepts it as qk.rms_norm does (the fused op did
// not verify).
// CHECK-LABEL: func.func @negative_zero_epsilon(
// CHECK: qk.fused_qk_norm
// CHECK-SAME: epsilon = -0.000000e+00
func.func @negative_zero_epsilon(%qkv: tensor<8x128xf32>) -> tensor<8x4x16xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %e = tensor.empty() : tensor<8x4x16xf32>
  %n = qk.rms_norm ins(%q3 : tensor<8x4x16xf32>) outs(%e : tensor<8x4x16xf32>) epsilon(-0.0) -> tensor<8x4x16xf32>
  return %n : tensor<8x4x16xf32>
}
