// qk-fuse-rope, negatives: each function is a near miss of the forms in
// fuse-rope.mlir. The fused op stays as it is (no #qk.rope step, no tables),
// the rotation's ops stay, and the pass says why in a missed remark (its
// message and its reason code).
//
// Shapes as in fuse-rope.mlir: D = 16, Hq = 4, Hkv = 2, qkv [8, 128].
//
// RUN: qk-opt %s --split-input-file --qk-fuse-rope | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-fuse-rope --remarks-filter='^qk-fuse-rope$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// a. rotate_half's second half taken from the next head (the heads rolled
// by a concat of slices): the partner is outside the element's head.
// CHECK-LABEL: func.func @partner_in_other_head(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @partner_in_other_head(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: a rotated element reads a partner outside its head's rotated columns", reason=other-head}}
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
  %s9 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %s10 = tensor.extract_slice %q3[0, 1, 8] [8, 3, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x3x8xbf16>
  %s11 = tensor.extract_slice %q3[0, 0, 8] [8, 1, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x1x8xbf16>
  %cat12 = tensor.concat dim(1) %s10, %s11 : (tensor<8x3x8xbf16>, tensor<8x1x8xbf16>) -> tensor<8x4x8xbf16>
  %e13 = tensor.empty() : tensor<8x4x16xbf16>
  %g14 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %x7 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e13 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e15 = tensor.empty() : tensor<8x4x8xbf16>
  %g16 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat12 : tensor<8x4x8xbf16>) outs(%e15 : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %cat17 = tensor.concat dim(2) %g16, %s9 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e18 = tensor.empty() : tensor<8x4x16xbf16>
  %g19 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat17, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e18 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e20 = tensor.empty() : tensor<8x4x16xbf16>
  %g21 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g14, %g19 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e20 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g21, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// b. The partner read from the next token's row (a slice at offset 1 on the
// token dimension).
// CHECK-LABEL: func.func @partner_in_other_token(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @partner_in_other_token(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<7x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: a slice reads other tokens' rows (offset or stride on the token dimension)", reason=other-token}}
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
  %s9 = tensor.extract_slice %q3[0, 0, 0] [7, 4, 16] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<7x4x16xbf16>
  %s10 = tensor.extract_slice %q3[0, 0, 0] [7, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<7x4x8xbf16>
  %s11 = tensor.extract_slice %q3[1, 0, 8] [7, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<7x4x8xbf16>
  %s12 = tensor.extract_slice %x7[0, 0, 0] [7, 1, 16] [1, 1, 1] : tensor<8x1x16xbf16> to tensor<7x1x16xbf16>
  %s13 = tensor.extract_slice %x8[0, 0, 0] [7, 1, 16] [1, 1, 1] : tensor<8x1x16xbf16> to tensor<7x1x16xbf16>
  %e14 = tensor.empty() : tensor<7x4x16xbf16>
  %g15 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s9, %s12 : tensor<7x4x16xbf16>, tensor<7x1x16xbf16>) outs(%e14 : tensor<7x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<7x4x16xbf16>
  %e16 = tensor.empty() : tensor<7x4x8xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s11 : tensor<7x4x8xbf16>) outs(%e16 : tensor<7x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<7x4x8xbf16>
  %cat18 = tensor.concat dim(2) %g17, %s10 : (tensor<7x4x8xbf16>, tensor<7x4x8xbf16>) -> tensor<7x4x16xbf16>
  %e19 = tensor.empty() : tensor<7x4x16xbf16>
  %g20 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat18, %s13 : tensor<7x4x16xbf16>, tensor<7x1x16xbf16>) outs(%e19 : tensor<7x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<7x4x16xbf16>
  %e21 = tensor.empty() : tensor<7x4x16xbf16>
  %g22 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g15, %g20 : tensor<7x4x16xbf16>, tensor<7x4x16xbf16>) outs(%e21 : tensor<7x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<7x4x16xbf16>
  return %g22, %k, %v : tensor<7x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// c1. The normalised, un-rotated q is also returned: rotating in place would
// change it.
// CHECK-LABEL: func.func @unrotated_heads_returned(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @unrotated_heads_returned(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<8x4x16xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: func.return reads the heads before their rotation, which the fused op would overwrite in place", reason=unrotated-read}}
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
  return %g19, %k, %v, %q3 : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<8x4x16xbf16>
}

// -----

// c2. Another slice of the norm's result reads q columns (head 0) without
// the rotation.
// CHECK-LABEL: func.func @unrotated_columns_sliced(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @unrotated_columns_sliced(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<8x16xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the normalised q/k columns are read elsewhere without the rotation", column=0, reason=unrotated-read}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %q0 = tensor.extract_slice %f[0, 0] [8, 16] [1, 1] : tensor<8x128xbf16> to tensor<8x16xbf16>
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
  return %g19, %k, %v, %q0 : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<8x16xbf16>
}

// -----

// c3. Another op (a transpose, as attention's q.transpose(0, 1)) reads the
// un-rotated q.
// CHECK-LABEL: func.func @unrotated_heads_transposed(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @unrotated_heads_transposed(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<4x8x16xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: linalg.transpose reads the heads before their rotation, which the fused op would overwrite in place", reason=unrotated-read}}
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
  %et = tensor.empty() : tensor<4x8x16xbf16>
  %qt = linalg.transpose ins(%q3 : tensor<8x4x16xbf16>) outs(%et : tensor<4x8x16xbf16>) permutation = [1, 0, 2]
  return %g19, %k, %v, %qt : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>, tensor<4x8x16xbf16>
}

// -----

// d. Mixed rounding: bf16 products, then their sum in f32 and one truncf;
// neither per_op nor once.
// CHECK-LABEL: func.func @mixed_rounding(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @mixed_rounding(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the rotation rounds neither after every operation in bf16 nor once after f32 arithmetic", reason=rounding-points}}
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
    %p = arith.extf %a : bf16 to f32
    %r = arith.extf %b : bf16 to f32
    %s = arith.addf %p, %r : f32
    %y = arith.truncf %s : f32 to bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g19, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// e. Only 2 of the 4 heads of the q range rotated: one launch rotates whole
// ranges.
// CHECK-LABEL: func.func @some_heads_of_range(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @some_heads_of_range(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x2x16xbf16>, tensor<8x4x16xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: 2 of the 4 heads of a normalised range are rotated; the rest would need another launch", reason=partial-range}}
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
  %s9 = tensor.extract_slice %q3[0, 0, 0] [8, 2, 16] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x2x16xbf16>
  %e10 = tensor.empty() : tensor<8x2x16xbf16>
  %g11 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s9, %x7 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e10 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %s12 = tensor.extract_slice %s9[0, 0, 0] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s13 = tensor.extract_slice %s9[0, 0, 8] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e14 = tensor.empty() : tensor<8x2x8xbf16>
  %g15 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s13 : tensor<8x2x8xbf16>) outs(%e14 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %cat16 = tensor.concat dim(2) %g15, %s12 : (tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) -> tensor<8x2x16xbf16>
  %e17 = tensor.empty() : tensor<8x2x16xbf16>
  %g18 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat16, %x8 : tensor<8x2x16xbf16>, tensor<8x1x16xbf16>) outs(%e17 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  %e19 = tensor.empty() : tensor<8x2x16xbf16>
  %g20 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g11, %g18 : tensor<8x2x16xbf16>, tensor<8x2x16xbf16>) outs(%e19 : tensor<8x2x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x16xbf16>
  return %g20, %q3, %v : tensor<8x2x16xbf16>, tensor<8x4x16xbf16>, tensor<8x32xbf16>
}

// -----

// f. The cos|sin cache is computed (transposed) after the norm: it cannot be
// an operand of the fused op.
// CHECK-LABEL: func.func @tables_after_norm(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @tables_after_norm(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache_t: tensor<16x32xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the cos/sin tables or positions are computed after the norm", reason=tables-after-norm}}
  %f = qk.fused_qk_norm ins(%wq, %wk : tensor<16xbf16>, tensor<16xbf16>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %f[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %v = tensor.extract_slice %f[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %ec = tensor.empty() : tensor<32x16xbf16>
  %cacheT = linalg.transpose ins(%cache_t : tensor<16x32xbf16>) outs(%ec : tensor<32x16xbf16>) permutation = [1, 0]
  %e1 = tensor.empty() : tensor<8x16xbf16>
  %g2 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e1 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cacheT[%i, %j] : tensor<32x16xbf16>
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

// g1. q rotates all 16 elements of a head, k only 8 (another cache): one
// launch carries one rotation.
// CHECK-LABEL: func.func @q_k_different_rotary_dims(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @q_k_different_rotary_dims(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>, %cache8: tensor<32x8xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the heads of one fused op are rotated differently (one launch carries one rotation)", reason=rotations-differ}}
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
  %e20 = tensor.empty() : tensor<8x8xbf16>
  %g21 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e20 : tensor<8x8xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache8[%i, %j] : tensor<32x8xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x8xbf16>
  %s22 = tensor.extract_slice %g21[0, 0] [8, 4] [1, 1] : tensor<8x8xbf16> to tensor<8x4xbf16>
  %s23 = tensor.extract_slice %g21[0, 4] [8, 4] [1, 1] : tensor<8x8xbf16> to tensor<8x4xbf16>
  %cat24 = tensor.concat dim(1) %s22, %s22 : (tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<8x8xbf16>
  %cat25 = tensor.concat dim(1) %s23, %s23 : (tensor<8x4xbf16>, tensor<8x4xbf16>) -> tensor<8x8xbf16>
  %x26 = tensor.expand_shape %cat24 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %x27 = tensor.expand_shape %cat25 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %s28 = tensor.extract_slice %k3[0, 0, 0] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s29 = tensor.extract_slice %k3[0, 0, 8] [8, 2, 8] [1, 1, 1] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e30 = tensor.empty() : tensor<8x2x8xbf16>
  %g31 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s28, %x26 : tensor<8x2x8xbf16>, tensor<8x1x8xbf16>) outs(%e30 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %s32 = tensor.extract_slice %s28[0, 0, 0] [8, 2, 4] [1, 1, 1] : tensor<8x2x8xbf16> to tensor<8x2x4xbf16>
  %s33 = tensor.extract_slice %s28[0, 0, 4] [8, 2, 4] [1, 1, 1] : tensor<8x2x8xbf16> to tensor<8x2x4xbf16>
  %e34 = tensor.empty() : tensor<8x2x4xbf16>
  %g35 = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s33 : tensor<8x2x4xbf16>) outs(%e34 : tensor<8x2x4xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x4xbf16>
  %cat36 = tensor.concat dim(2) %g35, %s32 : (tensor<8x2x4xbf16>, tensor<8x2x4xbf16>) -> tensor<8x2x8xbf16>
  %e37 = tensor.empty() : tensor<8x2x8xbf16>
  %g38 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat36, %x27 : tensor<8x2x8xbf16>, tensor<8x1x8xbf16>) outs(%e37 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %e39 = tensor.empty() : tensor<8x2x8xbf16>
  %g40 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g31, %g38 : tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) outs(%e39 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %cat41 = tensor.concat dim(2) %g40, %s29 : (tensor<8x2x8xbf16>, tensor<8x2x8xbf16>) -> tensor<8x2x16xbf16>
  return %g19, %cat41, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// -----

// g2. q NeoX, k GPT-J (same cache).
// CHECK-LABEL: func.func @q_neox_k_gptj(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @q_neox_k_gptj(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the heads of one fused op are rotated differently (one launch carries one rotation)", reason=rotations-differ}}
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
  %e20 = tensor.empty() : tensor<8x16xbf16>
  %g21 = linalg.generic {indexing_maps = [#row, #id2], iterator_types = ["parallel", "parallel"]} ins(%pos : tensor<8xi64>) outs(%e20 : tensor<8x16xbf16>) {
  ^bb0(%a: i64, %o: bf16):
    %i = arith.index_cast %a : i64 to index
    %j = linalg.index 1 : index
    %y = tensor.extract %cache[%i, %j] : tensor<32x16xbf16>
    linalg.yield %y : bf16
  } -> tensor<8x16xbf16>
  %s22 = tensor.extract_slice %g21[0, 0] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %s23 = tensor.extract_slice %g21[0, 8] [8, 8] [1, 1] : tensor<8x16xbf16> to tensor<8x8xbf16>
  %x24 = tensor.expand_shape %s22 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %x25 = tensor.expand_shape %s23 [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %s26 = tensor.extract_slice %k3[0, 0, 0] [8, 2, 8] [1, 1, 2] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %s27 = tensor.extract_slice %k3[0, 0, 1] [8, 2, 8] [1, 1, 2] : tensor<8x2x16xbf16> to tensor<8x2x8xbf16>
  %e28 = tensor.empty() : tensor<8x2x8xbf16>
  %g29 = linalg.generic {indexing_maps = [#id3, #bc3, #id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s26, %x24, %s27, %x25 : tensor<8x2x8xbf16>, tensor<8x1x8xbf16>, tensor<8x2x8xbf16>, tensor<8x1x8xbf16>) outs(%e28 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16, %d: bf16, %o: bf16):
    %p = arith.mulf %a, %b : bf16
    %r = arith.mulf %c, %d : bf16
    %y = arith.subf %p, %r : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %e30 = tensor.empty() : tensor<8x2x8xbf16>
  %g31 = linalg.generic {indexing_maps = [#id3, #bc3, #id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s27, %x24, %s26, %x25 : tensor<8x2x8xbf16>, tensor<8x1x8xbf16>, tensor<8x2x8xbf16>, tensor<8x1x8xbf16>) outs(%e30 : tensor<8x2x8xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %c: bf16, %d: bf16, %o: bf16):
    %p = arith.mulf %a, %b : bf16
    %r = arith.mulf %c, %d : bf16
    %y = arith.addf %p, %r : bf16
    linalg.yield %y : bf16
  } -> tensor<8x2x8xbf16>
  %x32 = tensor.expand_shape %g29 [[0], [1], [2, 3]] output_shape [8, 2, 8, 1] : tensor<8x2x8xbf16> into tensor<8x2x8x1xbf16>
  %x33 = tensor.expand_shape %g31 [[0], [1], [2, 3]] output_shape [8, 2, 8, 1] : tensor<8x2x8xbf16> into tensor<8x2x8x1xbf16>
  %cat34 = tensor.concat dim(3) %x32, %x33 : (tensor<8x2x8x1xbf16>, tensor<8x2x8x1xbf16>) -> tensor<8x2x8x2xbf16>
  %c35 = tensor.collapse_shape %cat34 [[0], [1], [2, 3]] : tensor<8x2x8x2xbf16> into tensor<8x2x16xbf16>
  return %g19, %c35, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// -----

// h. rotate_half without the negation: x * cos + x_p * sin for the first
// half too.
// CHECK-LABEL: func.func @same_sign_both_terms(
// CHECK-NOT: #qk.rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xbf16>, tensor<16xbf16>) outs(%{{.*}} : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>] -> tensor<8x128xbf16>
// CHECK-NOT: #qk.rope
// CHECK: tensor.extract %{{.*}} : tensor<32x16xbf16>
// CHECK: tensor.concat
// CHECK: arith.mulf
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @same_sign_both_terms(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>) -> (tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>) {
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: the first element of a head is not `x * cos - partner * sin`", reason=not-rope}}
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
  %cat13 = tensor.concat dim(2) %s12, %s11 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %e14 = tensor.empty() : tensor<8x4x16xbf16>
  %g15 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%cat13, %x8 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e14 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %e16 = tensor.empty() : tensor<8x4x16xbf16>
  %g17 = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%g10, %g15 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e16 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %g17, %k, %v : tensor<8x4x16xbf16>, tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// An op that rotates already is left alone, silently (no remark): a second
// rotation of q after it stays as it is.
// CHECK-LABEL: func.func @already_rotated(
// CHECK: qk.fused_qk_norm {{.*}} steps = [#qk.rms<{{[^>]*}}>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>
// CHECK-NOT: #qk.rope
// CHECK: tensor.concat
// CHECK: return
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bc3 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @already_rotated(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi64>, %cos: tensor<8x16xbf16>, %sin: tensor<8x16xbf16>) -> tensor<8x4x16xbf16> {
  %f = qk.fused_qk_norm ins(%wq : tensor<16xbf16>) tables(%cache : tensor<32x16xbf16>) positions(%pos : tensor<8xi64>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>] -> tensor<8x128xbf16>
  %q = tensor.extract_slice %f[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %cc3 = tensor.expand_shape %cos [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %ss3 = tensor.expand_shape %sin [[0], [1, 2]] output_shape [8, 1, 16] : tensor<8x16xbf16> into tensor<8x1x16xbf16>
  %e3 = tensor.empty() : tensor<8x4x16xbf16>
  %m1 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%q3, %cc3 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e3 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %x1 = tensor.extract_slice %q3[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %x2 = tensor.extract_slice %q3[0, 0, 8] [8, 4, 8] [1, 1, 1] : tensor<8x4x16xbf16> to tensor<8x4x8xbf16>
  %eh = tensor.empty() : tensor<8x4x8xbf16>
  %n = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x2 : tensor<8x4x8xbf16>) outs(%eh : tensor<8x4x8xbf16>) {
  ^bb0(%a: bf16, %o: bf16):
    %y = arith.negf %a : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x8xbf16>
  %rh = tensor.concat dim(2) %n, %x1 : (tensor<8x4x8xbf16>, tensor<8x4x8xbf16>) -> tensor<8x4x16xbf16>
  %m2 = linalg.generic {indexing_maps = [#id3, #bc3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%rh, %ss3 : tensor<8x4x16xbf16>, tensor<8x1x16xbf16>) outs(%e3 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.mulf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  %r = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%m1, %m2 : tensor<8x4x16xbf16>, tensor<8x4x16xbf16>) outs(%e3 : tensor<8x4x16xbf16>) {
  ^bb0(%a: bf16, %b: bf16, %o: bf16):
    %y = arith.addf %a, %b : bf16
    linalg.yield %y : bf16
  } -> tensor<8x4x16xbf16>
  return %r : tensor<8x4x16xbf16>
}
