// qk.rms_norm on reshaped strided slices of one qkv -> one qk.fused_qk_norm
// whose init is the whole qkv. Shapes: D = 16, Hq = 4, Hkv = 2, so qkv is
// [T, 128] with q in [0, 64), k in [64, 96) and v in [96, 128).
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file | FileCheck %s
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file --remarks-filter='^qk-fuse-strided-qk-norm$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// Qwen3 / GLM: separate q and k slices, separate weights, dynamic T.
// CHECK-LABEL: func.func @qwen3_separate_weights_dynamic_T(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x128xbf16>, %[[WQ:.*]]: tensor<16xbf16>, %[[WK:.*]]: tensor<16xbf16>
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WQ]], %[[WK]] : tensor<16xbf16>, tensor<16xbf16>) outs(%[[QKV]] : tensor<?x128xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999974E-6, weight = 1, rounding = before_weight>]
// CHECK-NOT: qk.rms_norm
// CHECK-NOT: tensor.collapse_shape
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [%{{.*}}, 64] [1, 1]
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [%{{.*}}, 32] [1, 1]
// CHECK-DAG: %[[V:.*]] = tensor.extract_slice %[[F]][0, 96] [%{{.*}}, 32] [1, 1]
// CHECK-DAG: %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]]
// CHECK-DAG: %[[K3:.*]] = tensor.expand_shape %[[K]] {{\[}}[0], [1, 2]]
// CHECK: return %[[Q3]], %[[K3]], %[[V]]
func.func @qwen3_separate_weights_dynamic_T(%qkv: tensor<?x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>) -> (tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<?x4x16xbf16> into tensor<?x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<?x2x16xbf16> into tensor<?x16xbf16>
  %TQ = tensor.dim %q2, %c0 : tensor<?x16xbf16>
  %eq = tensor.empty(%TQ) : tensor<?x16xbf16>
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed}}
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xbf16>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) {rounding = #qk.rounding<before_weight>} -> tensor<?x16xbf16>
  %TK = tensor.dim %k2, %c0 : tensor<?x16xbf16>
  %ek = tensor.empty(%TK) : tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xbf16>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-05) {rounding = #qk.rounding<before_weight>} -> tensor<?x16xbf16>
  %qo = tensor.expand_shape %qn [[0, 1], [2]] output_shape [%T, 4, 16] : tensor<?x16xbf16> into tensor<?x4x16xbf16>
  %ko = tensor.expand_shape %kn [[0, 1], [2]] output_shape [%T, 2, 16] : tensor<?x16xbf16> into tensor<?x2x16xbf16>
  return %qo, %ko, %v : tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>
}

// -----

// Llama4: one q|k slice, one shared weight-less norm over [T*(Hq+Hkv), D],
// split after; static T.
// CHECK-LABEL: func.func @llama4_shared_weightless_static_T(
// CHECK-SAME: %[[QKV:.*]]: tensor<8x128xbf16>
// CHECK: %[[F:.*]] = qk.fused_qk_norm outs(%[[QKV]] : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 6, group_size = 16, epsilon = 9.99999974E-6>] -> tensor<8x128xbf16>
// CHECK-NOT: qk.rms_norm
// CHECK-NOT: tensor.collapse_shape
// CHECK-DAG: tensor.extract_slice %[[F]][0, 0] [8, 96] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
func.func @llama4_shared_weightless_static_T(%qkv: tensor<8x128xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xbf16> to tensor<8x96xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xbf16> into tensor<8x6x16xbf16>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xbf16> into tensor<48x16xbf16>
  %e = tensor.empty() : tensor<48x16xbf16>
  // expected-remark @+1 {{fused QK RMSNorm: 6 heads, head_dim 16, copy removed}}
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xbf16>) outs(%e : tensor<48x16xbf16>) epsilon(1.0e-05) -> tensor<48x16xbf16>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xbf16> into tensor<8x6x16xbf16>
  %q = tensor.extract_slice %n3[0, 0, 0] [8, 4, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x4x16xbf16>
  %k = tensor.extract_slice %n3[0, 4, 0] [8, 2, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x2x16xbf16>
  return %q, %k, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// -----

// Gemma3: (1 + w) with f32 weights, round once.
// CHECK-LABEL: func.func @gemma3_one_plus_w(
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xf32>, tensor<16xf32>)
// CHECK-SAME: #qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00>
// CHECK-SAME: #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1, weight_offset = 1.000000e+00>
// CHECK-NOT: qk.rms_norm
func.func @gemma3_one_plus_w(%qkv: tensor<?x128xbf16>, %wq: tensor<16xf32>, %wk: tensor<16xf32>) -> (tensor<?x16xbf16>, tensor<?x16xbf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
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
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 16; bufferization still copies the normalised values for 'func.return' (it reads them in a shape that is not a view of qkv)}}
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xf32>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xf32>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  return %qn, %kn : tensor<?x16xbf16>, tensor<?x16xbf16>
}

// -----

// OLMo2: full-width norms over [T, Hq*D] and [T, Hkv*D], no head reshape.
// CHECK-LABEL: func.func @olmo2_full_width(
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<64xf32>, tensor<32xf32>) outs(%{{.*}} : tensor<?x128xf32>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 64, epsilon = 9.99999997E-7, weight = 0>, #qk.range<column_offset = 64, num_groups = 1, group_size = 32, epsilon = 9.99999997E-7, weight = 1>]
// CHECK-NOT: qk.rms_norm
func.func @olmo2_full_width(%qkv: tensor<?x128xf32>, %wq: tensor<64xf32>, %wk: tensor<32xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xf32> to tensor<?x32xf32>
  %eq = tensor.empty(%T) : tensor<?x64xf32>
  %ek = tensor.empty(%T) : tensor<?x32xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 64 q + 32 k columns, each normalised over its full width, in place}}
  %qn = qk.rms_norm ins(%q : tensor<?x64xf32>) weight(%wq : tensor<64xf32>) outs(%eq : tensor<?x64xf32>) epsilon(1.0e-06) -> tensor<?x64xf32>
  %kn = qk.rms_norm ins(%k : tensor<?x32xf32>) weight(%wk : tensor<32xf32>) outs(%ek : tensor<?x32xf32>) epsilon(1.0e-06) -> tensor<?x32xf32>
  return %qn, %kn : tensor<?x64xf32>, tensor<?x32xf32>
}

// -----

// qkv given as [T, H, D]: slices of heads, collapsed to [T*H, D].
// CHECK-LABEL: func.func @qkv_3d_heads(
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<16xf16>, tensor<16xf16>) outs(%{{.*}} : tensor<?x8x16xf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 1>]
// CHECK-NOT: qk.rms_norm
// CHECK: tensor.extract_slice %{{.*}}[0, 6, 0] [%{{.*}}, 2, 16] [1, 1, 1]
func.func @qkv_3d_heads(%qkv: tensor<?x8x16xf16>, %wq: tensor<16xf16>, %wk: tensor<16xf16>) -> (tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x8x16xf16>
  %q = tensor.extract_slice %qkv[0, 0, 0] [%T, 4, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x4x16xf16>
  %k = tensor.extract_slice %qkv[0, 4, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %v = tensor.extract_slice %qkv[0, 6, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %q2 = tensor.collapse_shape %q [[0, 1], [2]] : tensor<?x4x16xf16> into tensor<?x16xf16>
  %k2 = tensor.collapse_shape %k [[0, 1], [2]] : tensor<?x2x16xf16> into tensor<?x16xf16>
  %c4 = arith.constant 4 : index
  %c2 = arith.constant 2 : index
  %TQ = arith.muli %T, %c4 : index
  %TK = arith.muli %T, %c2 : index
  %eq = tensor.empty(%TQ) : tensor<?x16xf16>
  %ek = tensor.empty(%TK) : tensor<?x16xf16>
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 16; bufferization still copies the normalised values for 'func.return' (it reads them in a shape that is not a view of qkv)}}
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xf16>) weight(%wq : tensor<16xf16>) outs(%eq : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xf16>) weight(%wk : tensor<16xf16>) outs(%ek : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  return %qn, %kn, %v : tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>
}

// -----

// .contiguous() spelled as explicit copies, as frontends emit it.
// CHECK-LABEL: func.func @explicit_copies(
// CHECK: qk.fused_qk_norm
// CHECK-SAME: column_offset = 0, num_groups = 4
// CHECK-SAME: column_offset = 64, num_groups = 2
// CHECK-NOT: linalg.copy
// CHECK-NOT: bufferization.materialize_in_destination
// CHECK-NOT: qk.rms_norm
func.func @explicit_copies(%qkv: tensor<8x128xf32>) -> (tensor<32x16xf32>, tensor<16x16xf32>) {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %k = tensor.extract_slice %qkv[0, 64] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<8x4x16xf32> into tensor<32x16xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xf32> into tensor<8x2x16xf32>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<8x2x16xf32> into tensor<16x16xf32>
  %cq = tensor.empty() : tensor<32x16xf32>
  %qc = linalg.copy ins(%q2 : tensor<32x16xf32>) outs(%cq : tensor<32x16xf32>) -> tensor<32x16xf32>
  %ck = tensor.empty() : tensor<16x16xf32>
  %kc = bufferization.materialize_in_destination %k2 in %ck : (tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<16x16xf32>
  %eq = tensor.empty() : tensor<32x16xf32>
  %ek = tensor.empty() : tensor<16x16xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 16; bufferization still copies the normalised values for 'func.return' (it reads them in a shape that is not a view of qkv)}}
  %qn = qk.rms_norm ins(%qc : tensor<32x16xf32>) outs(%eq : tensor<32x16xf32>) epsilon(1.0e-06) -> tensor<32x16xf32>
  %kn = qk.rms_norm ins(%kc : tensor<16x16xf32>) outs(%ek : tensor<16x16xf32>) epsilon(1.0e-06) -> tensor<16x16xf32>
  return %qn, %kn : tensor<32x16xf32>, tensor<16x16xf32>
}

// -----

// Negative: a stride-2 slice is not a column range.
// CHECK-LABEL: func.func @not_fused_non_unit_stride(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
func.func @not_fused_non_unit_stride(%qkv: tensor<8x128xf32>) -> tensor<8x32xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 32] [1, 2] : tensor<8x128xf32> to tensor<8x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  // expected-remark @+1 {{not fused: the slice of qkv has a non-unit stride}}
  %n = qk.rms_norm ins(%q : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32>
  return %n : tensor<8x32xf32>
}

// -----

// Negative: only some token rows are normalised; the others must not be.
// CHECK-LABEL: func.func @not_fused_partial_rows(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
func.func @not_fused_partial_rows(%qkv: tensor<8x128xf32>) -> tensor<4x64xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [4, 64] [1, 1] : tensor<8x128xf32> to tensor<4x64xf32>
  %e = tensor.empty() : tensor<4x64xf32>
  // expected-remark @+1 {{not fused: the slice does not cover every token row}}
  %n = qk.rms_norm ins(%q : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) epsilon(1.0e-06) -> tensor<4x64xf32>
  return %n : tensor<4x64xf32>
}

// -----

// Negative: dynamic row count that is not provably all of qkv's rows.
// CHECK-LABEL: func.func @not_fused_unrelated_dynamic_rows(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_unrelated_dynamic_rows(%qkv: tensor<?x128xf32>, %n: index) -> tensor<?x64xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [%n, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  // expected-remark @+1 {{not fused: the slice does not cover every token row}}
  %r = qk.rms_norm ins(%q : tensor<?x64xf32>) outs(%e : tensor<?x64xf32>) epsilon(1.0e-06) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Negative: groups of 12 do not tile a 64-column row: they would cross rows.
// CHECK-LABEL: func.func @not_fused_groups_cross_rows(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_groups_cross_rows(%qkv: tensor<3x128xf32>) -> tensor<16x12xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [3, 64] [1, 1] : tensor<3x128xf32> to tensor<3x64xf32>
  %flat = tensor.collapse_shape %q [[0, 1]] : tensor<3x64xf32> into tensor<192xf32>
  %g = tensor.expand_shape %flat [[0, 1]] output_shape [16, 12] : tensor<192xf32> into tensor<16x12xf32>
  %e = tensor.empty() : tensor<16x12xf32>
  // expected-remark @+1 {{not fused: groups of 12 elements cross token rows (range width 64)}}
  %n = qk.rms_norm ins(%g : tensor<16x12xf32>) outs(%e : tensor<16x12xf32>) epsilon(1.0e-06) -> tensor<16x12xf32>
  return %n : tensor<16x12xf32>
}

// -----

// Negative: the column offset is only known at run time.
// CHECK-LABEL: func.func @not_fused_dynamic_column_offset(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_dynamic_column_offset(%qkv: tensor<8x128xf32>, %c: index) -> tensor<8x64xf32> {
  %q = tensor.extract_slice %qkv[0, %c] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %e = tensor.empty() : tensor<8x64xf32>
  // expected-remark @+1 {{not fused: the slice has a dynamic column offset or size}}
  %n = qk.rms_norm ins(%q : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) epsilon(1.0e-06) -> tensor<8x64xf32>
  return %n : tensor<8x64xf32>
}

// -----

// Negative: half of each head of a [T, H, D] qkv is not a column range.
// CHECK-LABEL: func.func @not_fused_3d_partial_head(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_3d_partial_head(%qkv: tensor<8x8x16xf32>) -> tensor<8x4x8xf32> {
  %q = tensor.extract_slice %qkv[0, 0, 0] [8, 4, 8] [1, 1, 1] : tensor<8x8x16xf32> to tensor<8x4x8xf32>
  %e = tensor.empty() : tensor<8x4x8xf32>
  // expected-remark @+1 {{not fused: groups of 8 elements split the heads of a [T, H, D] qkv (D = 16)}}
  %n = qk.rms_norm ins(%q : tensor<8x4x8xf32>) outs(%e : tensor<8x4x8xf32>) epsilon(1.0e-06) -> tensor<8x4x8xf32>
  return %n : tensor<8x4x8xf32>
}

// -----

// Negative: two norms over overlapping columns of one qkv: the second reads
// the pre-norm values of the first's columns, so normalising them in place
// would make bufferization copy qkv: neither is fused.
// CHECK-LABEL: func.func @not_fused_overlapping_norms(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
// CHECK: qk.rms_norm
func.func @not_fused_overlapping_norms(%qkv: tensor<8x128xf32>) -> (tensor<8x64xf32>, tensor<8x32xf32>) {
  %a = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %b = tensor.extract_slice %qkv[0, 32] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %a3 = tensor.expand_shape %a [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %ea = tensor.empty() : tensor<8x4x16xf32>
  %eb = tensor.empty() : tensor<8x32xf32>
  // expected-remark @+1 {{not fused: 'qk.rms_norm' still reads the pre-norm q/k columns of qkv; normalising in place would make bufferization copy qkv}}
  %na = qk.rms_norm ins(%a3 : tensor<8x4x16xf32>) outs(%ea : tensor<8x4x16xf32>) epsilon(1.0e-06) -> tensor<8x4x16xf32>
  // expected-remark @+1 {{not fused: columns from 32 overlap another norm of the same qkv}}
  %nb = qk.rms_norm ins(%b : tensor<8x32xf32>) outs(%eb : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32>
  %na2 = tensor.collapse_shape %na [[0], [1, 2]] : tensor<8x4x16xf32> into tensor<8x64xf32>
  return %na2, %nb : tensor<8x64xf32>, tensor<8x32xf32>
}

// -----

// Negative: the k weight is computed after the q norm: the fused op could
// not see it where it must go.
// CHECK-LABEL: func.func @not_fused_weight_defined_late(
// CHECK: qk.fused_qk_norm
// CHECK-SAME: ranges [#qk.range<column_offset = 0,
// CHECK-NOT: column_offset = 64
// CHECK: qk.rms_norm
func.func @not_fused_weight_defined_late(%qkv: tensor<8x128xf32>, %wk0: tensor<16xf32>) -> (tensor<32x16xf32>, tensor<16x16xf32>) {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %k = tensor.extract_slice %qkv[0, 64] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<8x4x16xf32> into tensor<32x16xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xf32> into tensor<8x2x16xf32>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<8x2x16xf32> into tensor<16x16xf32>
  %eq = tensor.empty() : tensor<32x16xf32>
  %ek = tensor.empty() : tensor<16x16xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 4 heads, head_dim 16; bufferization still copies the normalised values for 'func.return' (it reads them in a shape that is not a view of qkv)}}
  %qn = qk.rms_norm ins(%q2 : tensor<32x16xf32>) outs(%eq : tensor<32x16xf32>) epsilon(1.0e-06) -> tensor<32x16xf32>
  %ew = tensor.empty() : tensor<16xf32>
  %wk = linalg.copy ins(%wk0 : tensor<16xf32>) outs(%ew : tensor<16xf32>) -> tensor<16xf32>
  // expected-remark @+1 {{not fused: the weight is defined after the first norm of the attention block}}
  %kn = qk.rms_norm ins(%k2 : tensor<16x16xf32>) weight(%wk : tensor<16xf32>) outs(%ek : tensor<16x16xf32>) epsilon(1.0e-06) -> tensor<16x16xf32>
  return %qn, %kn : tensor<32x16xf32>, tensor<16x16xf32>
}

// -----

// A norm of a value that is not a slice is no candidate: no remark.
// CHECK-LABEL: func.func @plain_norm_untouched(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
func.func @plain_norm_untouched(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %e = tensor.empty() : tensor<8x16xf32>
  %n = qk.rms_norm ins(%x : tensor<8x16xf32>) outs(%e : tensor<8x16xf32>) epsilon(1.0e-06) -> tensor<8x16xf32>
  return %n : tensor<8x16xf32>
}
