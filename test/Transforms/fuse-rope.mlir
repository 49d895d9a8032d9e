// qk-fuse-rope, positives: a rotary embedding (RoPE) of the heads that a
// qk.fused_qk_norm normalised becomes a #qk.rope step after the ranges'
// #qk.rms; the op gets the cos/sin tables (and positions) as operands, the
// readers of the rotation read a view of the fused result (rotated in place)
// and the rotation's ops (gather, slices, negation, concat, products) are
// gone. Negatives: fuse-rope-negative.mlir.
//
// Shapes: D = 16, Hq = 4, Hkv = 2; qkv is [T, 128] with q in [0, 64), k in
// [64, 96), v in [96, 128). The inputs are written the way torch-mlir lowers
// the models' rotary code: one linalg.generic per aten op, tensor.empty
// inits, broadcast of cos/sin over the heads by an (d0, 0, d2) map, the
// cos|sin cache gathered by positions with tensor.extract in a generic.
// Most functions start from qk.fused_qk_norm (this pass alone); the last two
// start from qk.rms_norm and from decomposed linalg (raise + strided fuse +
// this pass: PIPE; the pass alone leaves them as they are: ALONE).
//
// RUN: qk-opt %s --split-input-file --qk-raise-rms-norm --qk-fuse-strided-qk-norm --qk-fuse-rope | FileCheck %s --check-prefixes=CHECK,PIPE
// RUN: qk-opt %s --split-input-file --qk-fuse-rope | FileCheck %s --check-prefixes=CHECK,ALONE
// RUN: qk-opt %s --split-input-file --qk-fuse-rope --remarks-filter='^qk-fuse-rope$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// 1. NeoX rotate_half as torch-mlir emits it (slices, a negf generic, a
// concat, bf16 mul/add generics), cos and sin gathered from a [P, rot]
// cos|sin cache by i64 positions: rounded per op, one table column per pair,
// sin from column rot/2. Only q is rotated: k keeps its norm-only range.
// CHECK-LABEL: func.func @neox_gather_bf16(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_gather_bf16(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e9 = tensor.empty() : tensor<8x4x16xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e9 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<8x4x8xbf16>) outs(%e13 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e16 = tensor.empty() : tensor<8x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e16 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e18 = tensor.empty() : tensor<8x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e18 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g19, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 2. The same rotation computed in f32 (extf of q, cos and sin; f32
// products and sum; one truncf at the end): rounding = once (the default,
// not printed).
// CHECK-LABEL: func.func @neox_gather_f32_math(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK-NOT: arith.truncf
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_gather_f32_math(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded once){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e9 = tensor.empty() : tensor<8x1x16xf32>
  %g10 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x7 : tensor<8x1x16xbf16>) outs(%e9 : tensor<8x1x16xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %y = arith.extf %a : bf16 to f32
    linalg.yield %y : f32
  } -> tensor<8x1x16xf32>
  %e11 = tensor.empty() : tensor<8x1x16xf32>
  %g12 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x8 : tensor<8x1x16xbf16>) outs(%e11 : tensor<8x1x16xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %y = arith.extf %a : bf16 to f32
    linalg.yield %y : f32
  } -> tensor<8x1x16xf32>
  %e13 = tensor.empty() : tensor<8x4x16xf32>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3 : tensor<8x4x16xbf16>) outs(%e13 : tensor<8x4x16xf32>) {
  ^bb0(%a: bf16, %o: f32):
    %y = arith.extf %a : bf16 to f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %e15 = tensor.empty() : tensor<8x4x16xf32>
  %g16 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g14, %g10 : tensor<8x4x16xf32>, tensor<8x1x16xf32>) outs(%e15 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.mulf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %s17 = tensor.extract_slice %g14[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xf32> to tensor<8x4x8xf32>
  %s18 = tensor.extract_slice %g14[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xf32> to tensor<8x4x8xf32>
  %e19 = tensor.empty() : tensor<8x4x8xf32>
  %g20 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s18 : tensor<8x4x8xf32>) outs(%e19 : tensor<8x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.negf %a : f32
    linalg.yield %y : f32
  } -> tensor<8x4x8xf32>
  %cat21 = tensor.concat dim(2) %g20, %s17 : (tensor<8x4x8xf32>, tensor<8x4x8xf32>) -> tensor<8x4x16xf32>
  %e22 = tensor.empty() : tensor<8x4x16xf32>
  %g23 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat21, %g12 : tensor<8x4x16xf32>, tensor<8x1x16xf32>) outs(%e22 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.mulf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %e24 = tensor.empty() : tensor<8x4x16xf32>
  %g25 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g16, %g23 : tensor<8x4x16xf32>, tensor<8x4x16xf32>) outs(%e24 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.addf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %e26 = tensor.empty() : tensor<8x4x16xbf16>
  %g27 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g25 : tensor<8x4x16xf32>) outs(%e26 : tensor<8x4x16xbf16>) {
  ^bb0(%a: f32, %o: bf16):
    %y = arith.truncf %a : f32 to bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g27, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 3. vLLM's forward_native: cos, sin = cache[positions].chunk(2) ([T, rot/2]),
// x1 * cos - x2 * sin (one generic, as after elementwise fusion) and
// x2 * cos + x1 * sin (one generic per op), concatenated.
// CHECK-LABEL: func.func @vllm_forward_native(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @vllm_forward_native(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %x5 = tensor.expand_shape %s3 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %x6 = tensor.expand_shape %s4 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %s7 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s8 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e9 = tensor.empty() : tensor<8x4x8xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s7, %x5, %s8, %x6 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>, tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e9 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16, %d: bf16, %o: bf16):
    %p = arith.mulf %a, %b : bf16
    %r = arith.mulf %c, %d : bf16
    %y = arith.subf %p, %r : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %e11 = tensor.empty() : tensor<8x4x8xbf16>
  %g12 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s8, %x5 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e11 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s7, %x6 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e13 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %e15 = tensor.empty() : tensor<8x4x8xbf16>
  %g16 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g12, %g14 : tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) outs(%e15 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat17 = tensor.concat dim(2) %g10, %g16 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  return %cat17, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 4. Partial rotary: the first 8 of 16 elements rotated (cache [P, 8], sin
// from column 4), the other 8 concatenated back unchanged.
// CHECK-LABEL: func.func @neox_partial_rotary(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x8xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x8xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 8, cos = 0, sin = 0, sin_column = 4, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_partial_rotary(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x8xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 8 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=8, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x8xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x8xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x8xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x8xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 4] [1, 1] : tensor<8x8xbf16> to tensor<8x4xbf16>
  %s4 = tensor.extract_slice %g2[0, 4] [8, 4] [1, 1] : tensor<8x8xbf16> to tensor<8x4xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<8x8xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<8x8xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %s9 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s10 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e11 = tensor.empty() : tensor<8x4x8xbf16>
  %g12 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s9, %x7 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e11 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %s13 = tensor.extract_slice %s9[0, 0, 0] [8, 4, 4] [1, 1, 1] : tensor<8x4x8xbf16> to tensor<8x4x4xbf16>
  %s14 = tensor.extract_slice %s9[0, 0, 4] [8, 4, 4] [1, 1, 1] : tensor<8x4x8xbf16> to tensor<8x4x4xbf16>
  %e15 = tensor.empty() : tensor<8x4x4xbf16>
  %g16 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s14 : tensor<8x4x4xbf16>) outs(%e15 : tensor<8x4x4xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x4xbf16>
  %cat17 = tensor.concat dim(2) %g16, %s13 : (tensor<8x4x4xbf16>, tensor<8x4x4xbf16>) -> tensor<8x4x8xbf16>
  %e18 = tensor.empty() : tensor<8x4x8xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat17, %x8 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e18 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %e20 = tensor.empty() : tensor<8x4x8xbf16>
  %g21 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g12, %g19 : tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) outs(%e20 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat22 = tensor.concat dim(2) %g21, %s10 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  return %cat22, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 5. Per-token cos and sin [T, D] as function arguments (Hugging Face's
// position_embeddings): two tables, no positions, one column per element.
// CHECK-LABEL: func.func @neox_per_token_tables(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[COS:[^:]*]]: tensor<8x16xbf16>, %[[SIN:[^:]*]]: tensor<8x16xbf16>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[COS]], %[[SIN]] : tensor<8x16xbf16>, tensor<8x16xbf16>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 1, per_pair = false, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_per_token_tables(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cos: tensor<8x16xbf16>, %sin: tensor<8x16xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin per token, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %x1 = tensor.expand_shape %cos [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x2 = tensor.expand_shape %sin [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e3 = tensor.empty() : tensor<8x4x16xbf16>
  %g4 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x1 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e3 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %s5 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s6 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e7 = tensor.empty() : tensor<8x4x8xbf16>
  %g8 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s6 : tensor<8x4x8xbf16>) outs(%e7 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat9 = tensor.concat dim(2) %g8, %s5 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e10 = tensor.empty() : tensor<8x4x16xbf16>
  %g11 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat9, %x2 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e10 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e12 = tensor.empty() : tensor<8x4x16xbf16>
  %g13 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g4, %g11 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e12 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g13, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 6. GPT-J interleaved pairs as vLLM's forward_native writes them and
// torch-mlir lowers them: x[..., ::2] and x[..., 1::2] (slices of stride 2),
// o1 = x1 * cos - x2 * sin, o2 = x2 * cos + x1 * sin, stack(-1) (expand +
// concat on a new last dim), flatten(-2) (collapse).
// CHECK-LABEL: func.func @gptj_stack(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK-NOT: tensor.collapse_shape
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = gptj, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK-NOT: tensor.collapse_shape
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @gptj_stack(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(gptj, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=gptj}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %x5 = tensor.expand_shape %s3 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %x6 = tensor.expand_shape %s4 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %s7 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 2] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s8 = tensor.extract_slice %q3[0, 0, 1] [8, 4, 8] [1, 1, 2] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e9 = tensor.empty() : tensor<8x4x8xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s7, %x5, %s8, %x6 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>, tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e9 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16, %d: bf16, %o: bf16):
    %p = arith.mulf %a, %b : bf16
    %r = arith.mulf %c, %d : bf16
    %y = arith.subf %p, %r : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %e11 = tensor.empty() : tensor<8x4x8xbf16>
  %g12 = linalg.generic {indexing_maps = [#id3, #bc3, #id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s8, %x5, %s7, %x6 : tensor<8x4x8xbf16>, tensor<8x1x8xbf16>, tensor<8x4x8xbf16>, tensor<8x1x8xbf16>) outs(%e11 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16, %d: bf16, %o: bf16):
    %p = arith.mulf %a, %b : bf16
    %r = arith.mulf %c, %d : bf16
    %y = arith.addf %p, %r : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %x13 = tensor.expand_shape %g10 [[0], [1], [2, 3]] output_shape [8, 4, 8, 1] : tensor<8x4x8xbf16> into tensor<8x4x8x1xbf16>
  %x14 = tensor.expand_shape %g12 [[0], [1], [2, 3]] output_shape [8, 4, 8, 1] : tensor<8x4x8xbf16> into tensor<8x4x8x1xbf16>
  %cat15 = tensor.concat dim(3) %x13, %x14 : (tensor<8x4x8x1xbf16>, tensor<8x4x8x1xbf16>) -> tensor<8x4x8x2xbf16>
  %c16 = tensor.collapse_shape %cat15 [[0], [1], [2, 3]] : tensor<8x4x8x2xbf16> into tensor<8x4x16xbf16>
  return %c16, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// 7. f32 activations: every op in f32 is both per_op and once; the pass
// says per_op.
// CHECK-LABEL: func.func @neox_f32_activations(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xf32>, %[[WQ:[^:]*]]: tensor<16xf32>, %[[WK:[^:]*]]: tensor<16xf32>, %[[CACHE:[^:]*]]: tensor<32x16xf32>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xf32>, tensor<16xf32>) tables(%[[CACHE]] : tensor<32x16xf32>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xf32>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_f32_activations(%qkv: tensor<8x128xf32>, %wq: tensor<16xf32>, %wk: tensor<16xf32>, %cache: tensor<32x16xf32>, %pos: tensor<8xi64>) -> (tensor<8x4x16xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xf32>, tensor<16xf32>) outs(%qkv : tensor<8x128xf32>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xf32>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xf32> into tensor<8x2x16xf32>
  %e1 = tensor.empty() : tensor<8x16xf32>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xf32>) {
  ^bb0(%a: i64, %o: f32):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xf32>
    linalg.yield %y : f32
  } -> tensor<8x16xf32>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xf32> to tensor<8x8xf32>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xf32> to tensor<8x8xf32>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x16xf32>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x16xf32>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xf32> into tensor<8x1x16xf32>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xf32> into tensor<8x1x16xf32>
  %e9 = tensor.empty() : tensor<8x4x16xf32>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xf32>, tensor<8x1x16xf32>) outs(%e9 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.mulf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xf32> to tensor<8x4x8xf32>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xf32> to tensor<8x4x8xf32>
  %e13 = tensor.empty() : tensor<8x4x8xf32>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<8x4x8xf32>) outs(%e13 : tensor<8x4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.negf %a : f32
    linalg.yield %y : f32
  } -> tensor<8x4x8xf32>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<8x4x8xf32>, tensor<8x4x8xf32>) -> tensor<8x4x16xf32>
  %e16 = tensor.empty() : tensor<8x4x16xf32>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<8x4x16xf32>, tensor<8x1x16xf32>) outs(%e16 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.mulf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  %e18 = tensor.empty() : tensor<8x4x16xf32>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<8x4x16xf32>, tensor<8x4x16xf32>) outs(%e18 : tensor<8x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.addf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<8x4x16xf32>
  return %g19, %k, %v : tensor<8x4x16xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// 8. Dynamic T: sizes from tensor.dim of the norm's result, of q and of the
// rotation's result; the tensor.dim of the rotation's ops are resolved to
// the token count so that the ops go.
// CHECK-LABEL: func.func @neox_dynamic_tokens(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<?x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<?xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<?xi64>) outs(%[[QKV]] : tensor<?x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<
// CHECK: %[[T:.*]] = tensor.dim %[[F]], %{{.*}} : tensor<?x128xbf16>
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [%[[T]], 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [%[[T]], 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [%[[T]], 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [%[[T]], 4, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK-NOT: tensor.dim
// CHECK: return %[[Q3]], %[[K]], %[[V]], %[[T]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_dynamic_tokens(%qkv: tensor<?x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<?xi64>) -> (tensor<?x4x16xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, index) {
  %c0 = arith.constant 0 : index
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 4 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=4, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<?x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<?x128xbf16>
  %t = tensor.dim %f, %c0 : tensor<?x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [%t, 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [%t, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [%t, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%t, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%t, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %e1 = tensor.empty(%t) : tensor<?x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<?xi64>) outs(%e1 : tensor<?x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<?x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [%t, 8] [1, 1] : tensor<?x16xbf16> to tensor<?x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [%t, 8] [1, 1] : tensor<?x16xbf16> to tensor<?x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<?x8xbf16>, tensor<?x8xbf16>) -> tensor<?x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<?x8xbf16>, tensor<?x8xbf16>) -> tensor<?x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [%t, 1, 16] : tensor<?x16xbf16> into tensor<?x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [%t, 1, 16] : tensor<?x16xbf16> into tensor<?x1x16xbf16>
  %tq = tensor.dim %q3, %c0 : tensor<?x4x16xbf16>
  %e9 = tensor.empty(%tq) : tensor<?x4x16xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<?x4x16xbf16>, tensor<?x1x16xbf16>) outs(%e9 : tensor<?x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<?x4x16xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [%tq, 4, 8] [1, 1, 1] : tensor<?x4x16xbf16> to tensor<?x4x8xbf16>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [%tq, 4, 8] [1, 1, 1] : tensor<?x4x16xbf16> to tensor<?x4x8xbf16>
  %e13 = tensor.empty(%tq) : tensor<?x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<?x4x8xbf16>) outs(%e13 : tensor<?x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<?x4x8xbf16>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<?x4x8xbf16>, tensor<?x4x8xbf16>) -> tensor<?x4x16xbf16>
  %e16 = tensor.empty(%tq) : tensor<?x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<?x4x16xbf16>, tensor<?x1x16xbf16>) outs(%e16 : tensor<?x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<?x4x16xbf16>
  %e18 = tensor.empty(%tq) : tensor<?x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<?x4x16xbf16>, tensor<?x4x16xbf16>) outs(%e18 : tensor<?x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<?x4x16xbf16>
  %tr = tensor.dim %g19, %c0 : tensor<?x4x16xbf16>
  return %g19, %k, %v, %tr : tensor<?x4x16xbf16>, tensor<?x32xbf16>, tensor<?x32xbf16>, index
}

// -----

// 9. q and k rotated by one gathered cache: both ranges get the step; v's
// slice still reads the fused result.
// CHECK-LABEL: func.func @neox_q_and_k(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>] -> tensor<
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// CHECK: %[[K3:.*]] = tensor.expand_shape %[[K]] {{\[}}[0], [1, 2]] output_shape [8, 2, 16]
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.concat
// CHECK-NOT: tensor.extract %
// CHECK: return %[[Q3]], %[[K3]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @neox_q_and_k(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 6 heads rotated in place{{.*}}(neox, rotary_dim 16 of 16, cos/sin gathered by position, rounded after every operation){{.*}}head_dim=16, heads=6, rotary_dim=16, style=neox}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e9 = tensor.empty() : tensor<8x4x16xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e9 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<8x4x8xbf16>) outs(%e13 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e16 = tensor.empty() : tensor<8x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e16 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e18 = tensor.empty() : tensor<8x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e18 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e20 = tensor.empty() : tensor<8x2x16xbf16>
  %g21 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k3, %x7 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e20 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %s22 = tensor.extract_slice %k3[0, 0, 0] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s23 = tensor.extract_slice %k3[0, 0, 8] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e24 = tensor.empty() : tensor<8x2x8xbf16>
  %g25 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s23 : tensor<8x2x8xbf16>) outs(%e24 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %cat26 = tensor.concat dim(2) %g25, %s22 : (tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) -> tensor<8x2x16xbf16>
  %e27 = tensor.empty() : tensor<8x2x16xbf16>
  %g28 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat26, %x8 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e27 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %e29 = tensor.empty() : tensor<8x2x16xbf16>
  %g30 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g21, %g28 : tensor<8x2x16xbf16>, tensor<8x2x16xbf16>) outs(%e29 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  return %g19, %g30, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// -----

// 10. From qk.rms_norm on the q and k heads (Qwen3's q_norm/k_norm): the
// strided fuse makes the fused op, this pass adds the rotation of q and k.
// CHECK-LABEL: func.func @from_rms_norm_ops(
// ALONE-COUNT-2: qk.rms_norm
// ALONE-NOT: #qk.rope
// ALONE: return
// PIPE-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// PIPE-NOT: qk.rms_norm
// PIPE: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// PIPE-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>] -> tensor<
// PIPE-DAG: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// PIPE-DAG: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// PIPE-DAG: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// PIPE-DAG: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// PIPE-DAG: %[[K3:.*]] = tensor.expand_shape %[[K]] {{\[}}[0], [1, 2]] output_shape [8, 2, 16]
// PIPE-NOT: linalg.generic
// PIPE-NOT: tensor.concat
// PIPE-NOT: tensor.extract %
// PIPE-NOT: qk.rms_norm
// PIPE: return %[[Q3]], %[[K3]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @from_rms_norm_ops(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %q2 = tensor.collapse_shape %qh [[0, 1], [2]] : tensor<8x4x16xbf16> into tensor<32x16xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %k2 = tensor.collapse_shape %kh [[0, 1], [2]] : tensor<8x2x16xbf16> into tensor<16x16xbf16>
  %eq = tensor.empty() : tensor<32x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<32x16xbf16>) weight(%wq : tensor<16xbf16>) outs(%eq : tensor<32x16xbf16>) epsilon(1.0e-06) {rounding = #qk.rounding<before_weight>} -> tensor<32x16xbf16>
  %ek = tensor.empty() : tensor<16x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<16x16xbf16>) weight(%wk : tensor<16xbf16>) outs(%ek : tensor<16x16xbf16>) epsilon(1.0e-06) {rounding = #qk.rounding<before_weight>} -> tensor<16x16xbf16>
  %q3 = tensor.expand_shape %qn [[0, 1], [2]] output_shape [8, 4, 16] : tensor<32x16xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %kn [[0, 1], [2]] output_shape [8, 2, 16] : tensor<16x16xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e9 = tensor.empty() : tensor<8x4x16xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e9 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<8x4x8xbf16>) outs(%e13 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e16 = tensor.empty() : tensor<8x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e16 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e18 = tensor.empty() : tensor<8x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e18 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e20 = tensor.empty() : tensor<8x2x16xbf16>
  %g21 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k3, %x7 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e20 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %s22 = tensor.extract_slice %k3[0, 0, 0] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s23 = tensor.extract_slice %k3[0, 0, 8] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e24 = tensor.empty() : tensor<8x2x8xbf16>
  %g25 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s23 : tensor<8x2x8xbf16>) outs(%e24 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %cat26 = tensor.concat dim(2) %g25, %s22 : (tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) -> tensor<8x2x16xbf16>
  %e27 = tensor.empty() : tensor<8x2x16xbf16>
  %g28 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat26, %x8 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e27 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %e29 = tensor.empty() : tensor<8x2x16xbf16>
  %g30 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g21, %g28 : tensor<8x2x16xbf16>, tensor<8x2x16xbf16>) outs(%e29 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  return %g19, %g30, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// -----

// 11. From decomposed linalg (the RMSNorm generics after elementwise fusion):
// raise, strided fuse, then this pass.
// CHECK-LABEL: func.func @from_decomposed_linalg(
// ALONE-NOT: qk.
// ALONE-NOT: #qk.rope
// ALONE: return
// PIPE-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[WQ:[^:]*]]: tensor<16xbf16>, %[[WK:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi64>)
// PIPE-NOT: math.rsqrt
// PIPE: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) tables(%[[CACHE]] : tensor<32x16xbf16>) positions(%[[POS]] : tensor<8xi64>) outs(%[[QKV]] : tensor<8x128xbf16>)
// PIPE-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>] -> tensor<
// PIPE-DAG: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [8, 64] [1, 1]
// PIPE-DAG: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [8, 32] [1, 1]
// PIPE-DAG: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// PIPE-DAG: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [8, 4, 16]
// PIPE-DAG: %[[K3:.*]] = tensor.expand_shape %[[K]] {{\[}}[0], [1, 2]] output_shape [8, 2, 16]
// PIPE-NOT: linalg.generic
// PIPE-NOT: tensor.concat
// PIPE-NOT: tensor.extract %
// PIPE-NOT: qk.rms_norm
// PIPE: return %[[Q3]], %[[K3]], %[[V]] :
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @from_decomposed_linalg(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  %zero = arith.constant 0.000000e+00 : f32
  %n16 = arith.constant 1.600000e+01 : f32
  %eps = arith.constant 9.99999997E-7 : f32
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %q2 = tensor.collapse_shape %qh [[0, 1], [2]] : tensor<8x4x16xbf16> into tensor<32x16xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %k2 = tensor.collapse_shape %kh [[0, 1], [2]] : tensor<8x2x16xbf16> into tensor<16x16xbf16>
  %qn_e1 = tensor.empty() : tensor<32x16xf32>
  %qn_x = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%q2 : tensor<32x16xbf16>) outs(%qn_e1 : tensor<32x16xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<32x16xf32>
  %qn_e2 = tensor.empty() : tensor<32x1xf32>
  %qn_f = linalg.fill ins(%zero : f32) outs(%qn_e2 : tensor<32x1xf32>) -> tensor<32x1xf32>
  %qn_s = linalg.generic {indexing_maps = [#id2, #keep], iterator_types = ["parallel", "reduction"]} ins(%qn_x : tensor<32x16xf32>) outs(%qn_f : tensor<32x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %out : f32
    linalg.yield %1 : f32
  } -> tensor<32x1xf32>
  %qn_e3 = tensor.empty() : tensor<32x16xbf16>
  %qn = linalg.generic {indexing_maps = [#id2, #keep, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%qn_x, %qn_s, %wq : tensor<32x16xf32>, tensor<32x1xf32>, tensor<16xbf16>) outs(%qn_e3 : tensor<32x16xbf16>) {
  ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
    %0 = arith.divf %in_2, %n16 : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %in, %2 : f32
    %4 = arith.truncf %3 : f32 to bf16
    %5 = arith.mulf %in_3, %4 : bf16
    linalg.yield %5 : bf16
  } -> tensor<32x16xbf16>
  %kn_e1 = tensor.empty() : tensor<16x16xf32>
  %kn_x = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%k2 : tensor<16x16xbf16>) outs(%kn_e1 : tensor<16x16xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<16x16xf32>
  %kn_e2 = tensor.empty() : tensor<16x1xf32>
  %kn_f = linalg.fill ins(%zero : f32) outs(%kn_e2 : tensor<16x1xf32>) -> tensor<16x1xf32>
  %kn_s = linalg.generic {indexing_maps = [#id2, #keep], iterator_types = ["parallel", "reduction"]} ins(%kn_x : tensor<16x16xf32>) outs(%kn_f : tensor<16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %out : f32
    linalg.yield %1 : f32
  } -> tensor<16x1xf32>
  %kn_e3 = tensor.empty() : tensor<16x16xbf16>
  %kn = linalg.generic {indexing_maps = [#id2, #keep, #col, #id2], iterator_types = ["parallel", "parallel"]} ins(%kn_x, %kn_s, %wk : tensor<16x16xf32>, tensor<16x1xf32>, tensor<16xbf16>) outs(%kn_e3 : tensor<16x16xbf16>) {
  ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
    %0 = arith.divf %in_2, %n16 : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %in, %2 : f32
    %4 = arith.truncf %3 : f32 to bf16
    %5 = arith.mulf %in_3, %4 : bf16
    linalg.yield %5 : bf16
  } -> tensor<16x16xbf16>
  %q3 = tensor.expand_shape %qn [[0, 1], [2]] output_shape [8, 4, 16] : tensor<32x16xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %kn [[0, 1], [2]] output_shape [8, 2, 16] : tensor<16x16xbf16> into tensor<8x2x16xbf16>
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s3 = tensor.extract_slice %g2[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s4 = tensor.extract_slice %g2[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %cat5 = tensor.concat dim(1) %s3, %s3 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %cat6 = tensor.concat dim(1) %s4, %s4 : (tensor<8x8xbf16>, tensor<8x8xbf16>) -> tensor<8x16xbf16>
  %x7 = tensor.expand_shape %cat5 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %x8 = tensor.expand_shape %cat6 [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e9 = tensor.empty() : tensor<8x4x16xbf16>
  %g10 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e9 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s12 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x8xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s12 : tensor<8x4x8xbf16>) outs(%e13 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat15 = tensor.concat dim(2) %g14, %s11 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e16 = tensor.empty() : tensor<8x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat15, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e16 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e18 = tensor.empty() : tensor<8x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g17 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e18 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e20 = tensor.empty() : tensor<8x2x16xbf16>
  %g21 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%k3, %x7 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e20 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %s22 = tensor.extract_slice %k3[0, 0, 0] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s23 = tensor.extract_slice %k3[0, 0, 8] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e24 = tensor.empty() : tensor<8x2x8xbf16>
  %g25 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s23 : tensor<8x2x8xbf16>) outs(%e24 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %cat26 = tensor.concat dim(2) %g25, %s22 : (tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) -> tensor<8x2x16xbf16>
  %e27 = tensor.empty() : tensor<8x2x16xbf16>
  %g28 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat26, %x8 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e27 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %e29 = tensor.empty() : tensor<8x2x16xbf16>
  %g30 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g21, %g28 : tensor<8x2x16xbf16>, tensor<8x2x16xbf16>) outs(%e29 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  return %g19, %g30, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}
