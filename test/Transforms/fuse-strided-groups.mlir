// Strided groups: norms of heads that are not adjacent in qkv become ranges
// with a group_stride; the positive cases bufferize with no copy and no
// allocation; the negative twins say why they are left alone.
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file | FileCheck %s
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file --remarks-filter='^qk-fuse-strided-qk-norm$' --remark-format=emitRemark -verify-diagnostics -o /dev/null
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=BUF

// Qwen3-Next: q_gate = qkv[:, :256].view(T, 4, 64); q, gate = chunk(q_gate, 2, -1).
// CHECK-LABEL: func.func @qwen3_next_q_between_gates(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x384xf32>
// CHECK: %[[F:.*]] = qk.fused_qk_norm outs(%[[QKV]] : tensor<?x384xf32>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 32, epsilon = 9.99999997E-7, group_stride = 64>, #qk.range<column_offset = 256, num_groups = 2, group_size = 32, epsilon = 9.99999997E-7>]
// CHECK-NOT: qk.rms_norm
// The gate is re-read from the fused result: nothing reads the pre-norm qkv.
// CHECK-NOT: tensor.extract_slice %[[QKV]]
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 32] [%{{.*}}, 4, 32]
// CHECK-NOT: tensor.extract_slice %[[QKV]]
// BUF-LABEL: func.func @qwen3_next_q_between_gates(
// BUF-NOT: memref.copy
// BUF-NOT: memref.alloc
// BUF: return
func.func @qwen3_next_q_between_gates(%qkv: tensor<?x384xf32>) -> (tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x384xf32>
  %qg = tensor.extract_slice %qkv[0, 0] [%T, 256] [1, 1] : tensor<?x384xf32> to tensor<?x256xf32>
  %qg3 = tensor.expand_shape %qg [[0], [1, 2]] output_shape [%T, 4, 64] : tensor<?x256xf32> into tensor<?x4x64xf32>
  %q = tensor.extract_slice %qg3[0, 0, 0] [%T, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
  %gate = tensor.extract_slice %qg3[0, 0, 32] [%T, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
  %k = tensor.extract_slice %qkv[0, 256] [%T, 64] [1, 1] : tensor<?x384xf32> to tensor<?x64xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
  %eq = tensor.empty(%T) : tensor<?x4x32xf32>
  %ek = tensor.empty(%T) : tensor<?x2x32xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 32; q heads 64 apart, in place}}
  %qn = qk.rms_norm ins(%q : tensor<?x4x32xf32>) outs(%eq : tensor<?x4x32xf32>) epsilon(1.0e-06) -> tensor<?x4x32xf32>
  %kn = qk.rms_norm ins(%k3 : tensor<?x2x32xf32>) outs(%ek : tensor<?x2x32xf32>) epsilon(1.0e-06) -> tensor<?x2x32xf32>
  return %qn, %kn, %gate : tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>
}

// -----

// Heads interleaved per KV group: qkv [T, Hkv = 2, (2 q | k | v), D = 16]
// through a 4-D expand_shape: q is one range per KV group, k one strided range.
// CHECK-LABEL: func.func @kv_group_interleaved(
// CHECK: qk.fused_qk_norm outs(%{{.*}} : tensor<?x128xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7>, #qk.range<column_offset = 32, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, group_stride = 64>, #qk.range<column_offset = 64, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7>]
// CHECK-NOT: qk.rms_norm
// BUF-LABEL: func.func @kv_group_interleaved(
// BUF-NOT: memref.copy
// BUF-NOT: memref.alloc
// BUF: return
func.func @kv_group_interleaved(%qkv: tensor<?x128xf32>) -> (tensor<?x2x2x16xf32>, tensor<?x2x1x16xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %g = tensor.expand_shape %qkv [[0], [1, 2, 3]] output_shape [%T, 2, 4, 16] : tensor<?x128xf32> into tensor<?x2x4x16xf32>
  %q = tensor.extract_slice %g[0, 0, 0, 0] [%T, 2, 2, 16] [1, 1, 1, 1] : tensor<?x2x4x16xf32> to tensor<?x2x2x16xf32>
  %k = tensor.extract_slice %g[0, 0, 2, 0] [%T, 2, 1, 16] [1, 1, 1, 1] : tensor<?x2x4x16xf32> to tensor<?x2x1x16xf32>
  %eq = tensor.empty(%T) : tensor<?x2x2x16xf32>
  %ek = tensor.empty(%T) : tensor<?x2x1x16xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 4 q + 2 k heads, head_dim 16; k heads 64 apart, in place}}
  %qn = qk.rms_norm ins(%q : tensor<?x2x2x16xf32>) outs(%eq : tensor<?x2x2x16xf32>) epsilon(1.0e-06) -> tensor<?x2x2x16xf32>
  %kn = qk.rms_norm ins(%k : tensor<?x2x1x16xf32>) outs(%ek : tensor<?x2x1x16xf32>) epsilon(1.0e-06) -> tensor<?x2x1x16xf32>
  return %qn, %kn : tensor<?x2x2x16xf32>, tensor<?x2x1x16xf32>
}

// -----

// Negative twin: five KV groups need five q ranges (the ABI takes four).
// CHECK-LABEL: func.func @not_fused_too_many_kv_groups(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_too_many_kv_groups(%qkv: tensor<?x320xf32>) -> tensor<?x5x2x16xf32> {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x320xf32>
  %g = tensor.expand_shape %qkv [[0], [1, 2, 3]] output_shape [%T, 5, 4, 16] : tensor<?x320xf32> into tensor<?x5x4x16xf32>
  %q = tensor.extract_slice %g[0, 0, 0, 0] [%T, 5, 2, 16] [1, 1, 1, 1] : tensor<?x5x4x16xf32> to tensor<?x5x2x16xf32>
  %eq = tensor.empty(%T) : tensor<?x5x2x16xf32>
  // expected-remark @+1 {{not fused: the groups need 5 ranges of one stride (at most 4)}}
  %qn = qk.rms_norm ins(%q : tensor<?x5x2x16xf32>) outs(%eq : tensor<?x5x2x16xf32>) epsilon(1.0e-06) -> tensor<?x5x2x16xf32>
  return %qn : tensor<?x5x2x16xf32>
}

// -----

// Negative twin: rows of 64 over Qwen3-Next's q take two q heads that sit 64
// columns apart: a group is not contiguous in qkv.
// CHECK-LABEL: func.func @not_fused_group_across_gates(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_group_across_gates(%qkv: tensor<?x384xf32>) -> tensor<?x2x64xf32> {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x384xf32>
  %qg = tensor.extract_slice %qkv[0, 0] [%T, 256] [1, 1] : tensor<?x384xf32> to tensor<?x256xf32>
  %qg3 = tensor.expand_shape %qg [[0], [1, 2]] output_shape [%T, 4, 64] : tensor<?x256xf32> into tensor<?x4x64xf32>
  %q = tensor.extract_slice %qg3[0, 0, 0] [%T, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
  %q2 = tensor.collapse_shape %q [[0], [1, 2]] : tensor<?x4x32xf32> into tensor<?x128xf32>
  %q64 = tensor.expand_shape %q2 [[0], [1, 2]] output_shape [%T, 2, 64] : tensor<?x128xf32> into tensor<?x2x64xf32>
  %eq = tensor.empty(%T) : tensor<?x2x64xf32>
  // expected-remark @+1 {{not fused: groups of 64 elements are not contiguous in qkv (runs of 32 columns, 64 apart)}}
  %qn = qk.rms_norm ins(%q64 : tensor<?x2x64xf32>) outs(%eq : tensor<?x2x64xf32>) epsilon(1.0e-06) -> tensor<?x2x64xf32>
  return %qn : tensor<?x2x64xf32>
}

// -----

// Llama4 (sglang before #25089): q and k are rotated in place before the
// weight-less norm; torch-mlir writes that as insert_slices into the qk
// slice, which is then inserted whole into qkv, and the norm reads
// qk.reshape(-1, D). After the insert the rotated qk IS qkv[:, 0:192]: the
// norm writes there in place; v is re-read from the fused result.
// CHECK-LABEL: func.func @llama4_rope_then_norm_inserted_whole(
// CHECK: %[[ROOT:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [%{{.*}}, 192] [1, 1]
// CHECK: %[[F:.*]] = qk.fused_qk_norm outs(%[[ROOT]] : tensor<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 6, group_size = 32, epsilon = 9.99999974E-6>]
// CHECK-NOT: qk.rms_norm
// CHECK: tensor.extract_slice %[[F]][0, 192]
// The one copy left is the insert of the rotated qk itself (there before);
// the norm's reshape(-1, D) copy is gone.
// BUF-LABEL: func.func @llama4_rope_then_norm_inserted_whole(
// BUF: memref.copy %arg1, %{{.*}} : memref<?x192xf32
// BUF-NOT: memref.copy
// BUF: return
func.func @llama4_rope_then_norm_inserted_whole(%qkv: tensor<?x256xf32>, %qk_rot: tensor<?x192xf32>) -> (tensor<?x192xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x256xf32>
  %all = tensor.insert_slice %qk_rot into %qkv[0, 0] [%T, 192] [1, 1] : tensor<?x192xf32> into tensor<?x256xf32>
  %v = tensor.extract_slice %all[0, 192] [%T, 64] [1, 1] : tensor<?x256xf32> to tensor<?x64xf32>
  %flat = tensor.collapse_shape %qk_rot [[0, 1]] : tensor<?x192xf32> into tensor<?xf32>
  %c6 = arith.constant 6 : index
  %rows = arith.muli %T, %c6 : index
  %heads = tensor.expand_shape %flat [[0, 1]] output_shape [%rows, 32] : tensor<?xf32> into tensor<?x32xf32>
  %e = tensor.empty(%rows) : tensor<?x32xf32>
  // expected-remark @+1 {{fused QK RMSNorm: 6 heads, head_dim 32, copy removed}}
  %n = qk.rms_norm ins(%heads : tensor<?x32xf32>) outs(%e : tensor<?x32xf32>) epsilon(1.0e-05) -> tensor<?x32xf32>
  %nf = tensor.collapse_shape %n [[0, 1]] : tensor<?x32xf32> into tensor<?xf32>
  %out = tensor.expand_shape %nf [[0, 1]] output_shape [%T, 192] : tensor<?xf32> into tensor<?x192xf32>
  return %out, %v : tensor<?x192xf32>, tensor<?x64xf32>
}

// -----

// Negative twin: the rotated qk is also returned as it was before the norm,
// so it is not only a view of qkv: no candidate, nothing rewritten.
// CHECK-LABEL: func.func @not_fused_inserted_value_read_elsewhere(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
func.func @not_fused_inserted_value_read_elsewhere(%qkv: tensor<8x256xf32>, %qk_rot: tensor<8x192xf32>) -> (tensor<48x32xf32>, tensor<8x256xf32>, tensor<8x192xf32>) {
  %all = tensor.insert_slice %qk_rot into %qkv[0, 0] [8, 192] [1, 1] : tensor<8x192xf32> into tensor<8x256xf32>
  %flat = tensor.collapse_shape %qk_rot [[0, 1]] : tensor<8x192xf32> into tensor<1536xf32>
  %heads = tensor.expand_shape %flat [[0, 1]] output_shape [48, 32] : tensor<1536xf32> into tensor<48x32xf32>
  %e = tensor.empty() : tensor<48x32xf32>
  %n = qk.rms_norm ins(%heads : tensor<48x32xf32>) outs(%e : tensor<48x32xf32>) epsilon(1.0e-05) -> tensor<48x32xf32>
  return %n, %all, %qk_rot : tensor<48x32xf32>, tensor<8x256xf32>, tensor<8x192xf32>
}

// -----

// Negative twin: inserted over half of the token rows only.
// CHECK-LABEL: func.func @not_fused_inserted_into_some_rows(
// CHECK-NOT: qk.fused_qk_norm
func.func @not_fused_inserted_into_some_rows(%qkv: tensor<16x256xf32>, %qk_rot: tensor<8x192xf32>) -> (tensor<48x32xf32>, tensor<16x256xf32>) {
  %all = tensor.insert_slice %qk_rot into %qkv[0, 0] [8, 192] [1, 1] : tensor<8x192xf32> into tensor<16x256xf32>
  %flat = tensor.collapse_shape %qk_rot [[0, 1]] : tensor<8x192xf32> into tensor<1536xf32>
  %heads = tensor.expand_shape %flat [[0, 1]] output_shape [48, 32] : tensor<1536xf32> into tensor<48x32xf32>
  %e = tensor.empty() : tensor<48x32xf32>
  %n = qk.rms_norm ins(%heads : tensor<48x32xf32>) outs(%e : tensor<48x32xf32>) epsilon(1.0e-05) -> tensor<48x32xf32>
  return %n, %all : tensor<48x32xf32>, tensor<16x256xf32>
}

// -----

// torch-mlir's x.view(T, -1, D) with a runtime shape, on a strided slice of
// qkv that no norm reads (Llama4's RoPE input): a token-keeping
// tensor.reshape becomes expand/collapse views, so bufferization does not
// copy q out of qkv.
// CHECK-LABEL: func.func @token_row_reshape_to_views(
// CHECK-NOT: tensor.reshape
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
// BUF-LABEL: func.func @token_row_reshape_to_views(
// BUF-NOT: memref.copy
// BUF: return
func.func @token_row_reshape_to_views(%qkv: tensor<?x128xf32>, %shape: tensor<3xi64>) -> tensor<?x4x16xf32> {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.reshape %q(%shape) : (tensor<?x64xf32>, tensor<3xi64>) -> tensor<?x4x16xf32>
  return %q3 : tensor<?x4x16xf32>
}

// -----

// Negative twin: a reshape that merges tokens into rows ([T, 64] -> [?, 16])
// does not keep the token count: left alone.
// CHECK-LABEL: func.func @not_rewritten_reshape_merges_tokens(
// CHECK: tensor.reshape
func.func @not_rewritten_reshape_merges_tokens(%qkv: tensor<?x128xf32>, %shape: tensor<2xi64>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q2 = tensor.reshape %q(%shape) : (tensor<?x64xf32>, tensor<2xi64>) -> tensor<?x16xf32>
  return %q2 : tensor<?x16xf32>
}
