// RUN: qk-opt %s -split-input-file -verify-diagnostics

func.func @rms_norm_unsupported_element_type(%x: tensor<?x128xf64>, %i: tensor<?x128xf64>) -> tensor<?x128xf64> {
  // expected-error @+1 {{element type must be bf16, f16 or f32, got 'f64'}}
  %y = qk.rms_norm ins(%x : tensor<?x128xf64>) outs(%i : tensor<?x128xf64>) epsilon(1.0e-06) -> tensor<?x128xf64>
  return %y : tensor<?x128xf64>
}

// -----

func.func @rms_norm_mixed_tensor_memref(%x: tensor<?x128xf32>, %i: memref<?x128xf32>) {
  // expected-error @+1 {{operands must be all ranked tensors or all memrefs, got 'tensor<?x128xf32>' and 'memref<?x128xf32>'}}
  qk.rms_norm ins(%x : tensor<?x128xf32>) outs(%i : memref<?x128xf32>) epsilon(1.0e-06)
  return
}

// -----

func.func @rms_norm_unranked(%x: memref<*xf32>, %i: memref<*xf32>) {
  // expected-error @+1 {{init must be a ranked tensor or a memref, got 'memref<*xf32>'}}
  qk.rms_norm ins(%x : memref<*xf32>) outs(%i : memref<*xf32>) epsilon(1.0e-06)
  return
}

// -----

func.func @rms_norm_tensor_without_result(%x: tensor<?x128xf32>, %i: tensor<?x128xf32>) {
  // expected-error @+1 {{on tensors, expected one result of the init type 'tensor<?x128xf32>'}}
  qk.rms_norm ins(%x : tensor<?x128xf32>) outs(%i : tensor<?x128xf32>) epsilon(1.0e-06)
  return
}

// -----

func.func @rms_norm_memref_with_result(%x: memref<?x128xf32>, %i: memref<?x128xf32>) {
  // expected-error @+1 {{on memrefs, expected no result}}
  %y = "qk.rms_norm"(%x, %i) <{epsilon = 1.0e-06 : f32}> : (memref<?x128xf32>, memref<?x128xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @rms_norm_scalar(%x: tensor<f32>, %i: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{input must have at least one dimension}}
  %y = qk.rms_norm ins(%x : tensor<f32>) outs(%i : tensor<f32>) epsilon(1.0e-06) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @rms_norm_init_element_type(%x: tensor<?x128xbf16>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{init element type 'f32' differs from input element type 'bf16'}}
  %y = qk.rms_norm ins(%x : tensor<?x128xbf16>) outs(%i : tensor<?x128xf32>) epsilon(1.0e-06) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

func.func @rms_norm_init_shape(%x: tensor<?x128xf32>, %i: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{init shape 'tensor<?x64xf32>' is incompatible with input shape 'tensor<?x128xf32>'}}
  %y = qk.rms_norm ins(%x : tensor<?x128xf32>) outs(%i : tensor<?x64xf32>) epsilon(1.0e-06) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

func.func @rms_norm_weight_shape(%x: tensor<?x128xf32>, %w: tensor<64xf32>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{weight must be 1-D with 128 elements, got 'tensor<64xf32>'}}
  %y = qk.rms_norm ins(%x : tensor<?x128xf32>) weight(%w : tensor<64xf32>) outs(%i : tensor<?x128xf32>) epsilon(1.0e-06) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

func.func @rms_norm_weight_type(%x: tensor<?x128xbf16>, %w: tensor<128xf16>, %i: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  // expected-error @+1 {{weight element type must be 'bf16' or f32, got 'f16'}}
  %y = qk.rms_norm ins(%x : tensor<?x128xbf16>) weight(%w : tensor<128xf16>) outs(%i : tensor<?x128xbf16>) epsilon(1.0e-06) -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<?x128xf32>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{epsilon must be finite and non-negative, got -1.000000e-06}}
  %y = qk.rms_norm ins(%x : tensor<?x128xf32>) outs(%i : tensor<?x128xf32>) epsilon(-1.0e-06) -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

func.func @rms_norm_offset_without_weight(%x: tensor<?x128xf32>, %i: tensor<?x128xf32>) -> tensor<?x128xf32> {
  // expected-error @+1 {{weight_offset requires a weight}}
  %y = qk.rms_norm ins(%x : tensor<?x128xf32>) outs(%i : tensor<?x128xf32>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}

// -----

func.func @fused_rank(%qkv: tensor<?xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{qkv must be [T, C] or [T, H, D], got 'tensor<?xf32>'}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 8, epsilon = 1.0e-06>] -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

func.func @fused_element_type(%qkv: tensor<?x64xi8>) -> tensor<?x64xi8> {
  // expected-error @+1 {{element type must be bf16, f16 or f32, got 'i8'}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xi8>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x64xi8>
  return %r : tensor<?x64xi8>
}

// -----

func.func @fused_dynamic_columns(%qkv: tensor<?x?xf32>) -> tensor<?x?xf32> {
  // expected-error @+1 {{qkv must have static trailing dimensions, got 'tensor<?x?xf32>'}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x?xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// -----

func.func @fused_memref_inner_stride(%qkv: memref<?x64xf32, strided<[128, 2]>>) {
  // expected-error @+1 {{qkv memref must have a unit innermost stride, got 'memref<?x64xf32, strided<[128, 2]>>'}}
  qk.fused_qk_norm outs(%qkv : memref<?x64xf32, strided<[128, 2]>>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 8, epsilon = 1.0e-06>]
  return
}

// -----

func.func @fused_no_ranges(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{expected at least one range}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_too_many_ranges(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{at most 4 ranges are supported (the runtime ABI limit), got 5}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [
    #qk.range<column_offset = 0, num_groups = 1, group_size = 8, epsilon = 1.0e-06>,
    #qk.range<column_offset = 8, num_groups = 1, group_size = 8, epsilon = 1.0e-06>,
    #qk.range<column_offset = 16, num_groups = 1, group_size = 8, epsilon = 1.0e-06>,
    #qk.range<column_offset = 24, num_groups = 1, group_size = 8, epsilon = 1.0e-06>,
    #qk.range<column_offset = 32, num_groups = 1, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_not_a_range(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{'ranges' failed to satisfy constraint: normalised column ranges}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [1 : i64] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_range_out_of_bounds(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{range #0 [32, 96) exceeds the 64 columns of qkv}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 32, num_groups = 4, group_size = 16, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_ranges_overlap(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{ranges #0 [0, 32) and #1 [16, 32) overlap}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [
    #qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06>,
    #qk.range<column_offset = 16, num_groups = 1, group_size = 16, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_3d_not_head_aligned(%qkv: tensor<?x4x16xf32>) -> tensor<?x4x16xf32> {
  // expected-error @+1 {{range #0 [8, 24) of a [T, H, D] qkv must start at a head and group whole heads (D = 16)}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x4x16xf32>) ranges [#qk.range<column_offset = 8, num_groups = 2, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x4x16xf32>
  return %r : tensor<?x4x16xf32>
}

// -----

func.func @fused_offset_without_weight(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{range #0 has a weight_offset but no weight}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight_offset = 1.0>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_weight_index(%qkv: tensor<?x64xf32>, %w: tensor<16xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{range #0 refers to weight #1 but the op has 1 weight(s)}}
  %r = qk.fused_qk_norm ins(%w : tensor<16xf32>) outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 1>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_weight_shape(%qkv: tensor<?x64xf32>, %w: tensor<8xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight #0 must be 1-D with 16 elements, got 'tensor<8xf32>'}}
  %r = qk.fused_qk_norm ins(%w : tensor<8xf32>) outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 0>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @fused_weight_type(%qkv: tensor<?x64xbf16>, %w: tensor<16xf16>) -> tensor<?x64xbf16> {
  // expected-error @+1 {{weight #0 element type must be 'bf16' or f32, got 'f16'}}
  %r = qk.fused_qk_norm ins(%w : tensor<16xf16>) outs(%qkv : tensor<?x64xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 0>] -> tensor<?x64xbf16>
  return %r : tensor<?x64xbf16>
}

// -----

func.func @fused_unused_weight(%qkv: tensor<?x64xf32>, %w: tensor<16xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight #0 is not used by any range}}
  %r = qk.fused_qk_norm ins(%w : tensor<16xf32>) outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_zero_groups(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{num_groups must be positive, got 0}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 0, group_size = 16, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_zero_group_size(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{group_size must be positive, got 0}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 0, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_negative_offset(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{column_offset must be non-negative, got -16}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = -16, num_groups = 1, group_size = 16, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_negative_epsilon(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{epsilon must be finite and non-negative}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, epsilon = -1.0>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_bad_weight_index(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{weight must be a weight operand index or -1, got -3}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, epsilon = 1.0e-06, weight = -3>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_bad_rounding(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+2 {{expected one of [once, before_weight]}}
  // expected-error @+1 {{failed to parse QK_NormRangeAttr parameter 'rounding'}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, epsilon = 1.0e-06, rounding = twice>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_stride_below_group_size(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{group_stride must be 0 (packed) or at least group_size 16, got 8}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, group_stride = 8>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_negative_stride(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{group_stride must be 0 (packed) or at least group_size 16, got -16}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, group_stride = -16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// The width (3 x 8 = 24) fits the 64 columns, the span (2 x 32 + 8 = 72)
// does not.
func.func @fused_strided_span_out_of_bounds(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{range #0 [0, 72) (3 groups of 8, group_stride 32) exceeds the 64 columns of qkv}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-06, group_stride = 32>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// The end does not fit in int64: rejected, not wrapped around.
func.func @fused_strided_span_overflows(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{range #0 [0, overflow) (3 groups of 8, group_stride 9223372036854775807) exceeds the 64 columns of qkv}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-06, group_stride = 9223372036854775807>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// Interleaved ranges whose groups share columns: groups [0, 8), [16, 24) ..
// and [4, 12), [20, 28) ..
func.func @fused_interleaved_ranges_overlap(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{ranges #0 [0, 56) (4 groups of 8, group_stride 16) and #1 [4, 60) (4 groups of 8, group_stride 16) overlap}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [
    #qk.range<column_offset = 0, num_groups = 4, group_size = 8, epsilon = 1.0e-06, group_stride = 16>,
    #qk.range<column_offset = 4, num_groups = 4, group_size = 8, epsilon = 1.0e-06, group_stride = 16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// A packed range that lands on one group of a strided one (columns [32, 40)).
func.func @fused_packed_range_meets_strided_group(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{ranges #0 [0, 40) (3 groups of 8, group_stride 16) and #1 [36, 44) overlap}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [
    #qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-06, group_stride = 16>,
    #qk.range<column_offset = 36, num_groups = 1, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

// [T, H, D]: every group must start at a head, so the stride counts whole
// heads.
func.func @fused_3d_stride_not_head_aligned(%qkv: tensor<?x8x16xf32>) -> tensor<?x8x16xf32> {
  // expected-error @+1 {{range #0 [0, 40) (2 groups of 16, group_stride 24) of a [T, H, D] qkv must start every group at a head: group_stride 24 is not a multiple of D = 16}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x8x16xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, group_stride = 24>] -> tensor<?x8x16xf32>
  return %r : tensor<?x8x16xf32>
}

// -----

func.func @range_inline_and_steps(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{#qk.range takes its norm either inline (epsilon, weight, ...) or as `steps`, not both}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, epsilon = 1.0e-06, steps = [#qk.rms<epsilon = 1.0e-06>]>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_no_norm_step(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{a range needs exactly one #qk.rms step, got 0}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, steps = []>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_two_norm_steps(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{a range needs exactly one #qk.rms step, got 2}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, steps = [#qk.rms<epsilon = 1.0e-06>, #qk.rms<epsilon = 1.0e-06>]>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_step_not_a_step(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{every step must be a group step attribute (GroupStepAttrInterface), got 1 : i32}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, steps = [1 : i32]>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_step_bad_epsilon(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{epsilon must be finite and non-negative}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, steps = [#qk.rms<epsilon = -1.0>]>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_unknown_parameter(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{unknown #qk.range parameter 'rotary_dim'}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16, rotary_dim = 8, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// -----

func.func @range_missing_epsilon(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // expected-error @+1 {{struct is missing required parameter: epsilon}}
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
