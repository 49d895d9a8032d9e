// RUN: qk-opt %s | FileCheck %s
// RUN: qk-opt %s | qk-opt | FileCheck %s
// RUN: qk-opt %s --mlir-print-op-generic | qk-opt | FileCheck %s

// CHECK-LABEL: func @rms_norm_tensor_weight
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
func.func @rms_norm_tensor_weight(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>, %i: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %y = qk.rms_norm ins(%x : tensor<?x128xbf16>) weight(%w : tensor<128xbf16>) outs(%i : tensor<?x128xbf16>) epsilon(1.0e-06) {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// CHECK-LABEL: func @rms_norm_no_weight_defaults_elided
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<4x8x64xf16>) outs(%{{.*}} : tensor<4x8x64xf16>) epsilon(9.99999974E-6) -> tensor<4x8x64xf16>
func.func @rms_norm_no_weight_defaults_elided(%x: tensor<4x8x64xf16>, %i: tensor<4x8x64xf16>) -> tensor<4x8x64xf16> {
  %y = qk.rms_norm ins(%x : tensor<4x8x64xf16>) outs(%i : tensor<4x8x64xf16>) epsilon(1.0e-05) {rounding = #qk.rounding<once>, weight_offset = 0.0 : f32} -> tensor<4x8x64xf16>
  return %y : tensor<4x8x64xf16>
}

// CHECK-LABEL: func @rms_norm_gemma_f32_weight
// CHECK: weight(%{{.*}} : tensor<128xf32>)
// CHECK-SAME: {weight_offset = 1.000000e+00 : f32}
func.func @rms_norm_gemma_f32_weight(%x: tensor<?x128xbf16>, %w: tensor<128xf32>, %i: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
  %y = qk.rms_norm ins(%x : tensor<?x128xbf16>) weight(%w : tensor<128xf32>) outs(%i : tensor<?x128xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x128xbf16>
  return %y : tensor<?x128xbf16>
}

// CHECK-LABEL: func @rms_norm_memref
// CHECK: qk.rms_norm ins(%{{.*}} : memref<?x128xf32, strided<[?, 1], offset: ?>>) outs(%{{.*}} : memref<?x128xf32>) epsilon(9.99999997E-7){{$}}
func.func @rms_norm_memref(%x: memref<?x128xf32, strided<[?, 1], offset: ?>>, %o: memref<?x128xf32>) {
  qk.rms_norm ins(%x : memref<?x128xf32, strided<[?, 1], offset: ?>>) outs(%o : memref<?x128xf32>) epsilon(1.0e-06)
  return
}

// CHECK-LABEL: func @fused_qwen3_tensor
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<128xbf16>, tensor<128xbf16>) outs(%{{.*}} : tensor<?x6144xbf16>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 4096, num_groups = 8, group_size = 128, epsilon = 9.99999974E-6, weight = 1>]
// CHECK-SAME: -> tensor<?x6144xbf16>
func.func @fused_qwen3_tensor(%qkv: tensor<?x6144xbf16>, %wq: tensor<128xbf16>, %wk: tensor<128xbf16>) -> tensor<?x6144xbf16> {
  %r = qk.fused_qk_norm ins(%wq, %wk : tensor<128xbf16>, tensor<128xbf16>) outs(%qkv : tensor<?x6144xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 1.0e-06, weight = 0, rounding = before_weight>,
                 #qk.range<column_offset = 4096, num_groups = 8, group_size = 128, epsilon = 1.0e-05, weight = 1>] -> tensor<?x6144xbf16>
  return %r : tensor<?x6144xbf16>
}

// CHECK-LABEL: func @fused_llama4_no_weight_memref
// CHECK: qk.fused_qk_norm outs(%{{.*}} : memref<?x7168xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 48, group_size = 128, epsilon = 9.99999974E-6>]{{$}}
func.func @fused_llama4_no_weight_memref(%qkv: memref<?x7168xbf16>) {
  qk.fused_qk_norm outs(%qkv : memref<?x7168xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 48, group_size = 128, epsilon = 1.0e-05>]
  return
}

// CHECK-LABEL: func @fused_gemma_shared_f32_weight_3d
// CHECK: #qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00>
// CHECK-SAME: #qk.range<column_offset = 4096, num_groups = 16, group_size = 128, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00>
func.func @fused_gemma_shared_f32_weight_3d(%qkv: tensor<?x64x128xbf16>, %w: tensor<128xf32>) -> tensor<?x64x128xbf16> {
  %r = qk.fused_qk_norm ins(%w : tensor<128xf32>) outs(%qkv : tensor<?x64x128xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 1.0e-06, weight = 0, weight_offset = 1.0>,
                 #qk.range<column_offset = 4096, num_groups = 16, group_size = 128, epsilon = 1.0e-06, weight = 0, weight_offset = 1.0>] -> tensor<?x64x128xbf16>
  return %r : tensor<?x64x128xbf16>
}

// CHECK-LABEL: func @fused_olmo2_full_width
// CHECK: #qk.range<column_offset = 0, num_groups = 1, group_size = 4096, epsilon = 9.99999997E-7, weight = 0>
// CHECK-SAME: #qk.range<column_offset = 4096, num_groups = 1, group_size = 4096, epsilon = 9.99999997E-7, weight = 1>
func.func @fused_olmo2_full_width(%qkv: tensor<?x12288xf32>, %wq: tensor<4096xf32>, %wk: tensor<4096xf32>) -> tensor<?x12288xf32> {
  %r = qk.fused_qk_norm ins(%wq, %wk : tensor<4096xf32>, tensor<4096xf32>) outs(%qkv : tensor<?x12288xf32>)
         ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 4096, epsilon = 1.0e-06, weight = 0>,
                 #qk.range<column_offset = 4096, num_groups = 1, group_size = 4096, epsilon = 1.0e-06, weight = 1>] -> tensor<?x12288xf32>
  return %r : tensor<?x12288xf32>
}

// Qwen3-Next: 16 q heads of 256, 512 apart (gate heads between them), then
// 2 packed k heads. group_stride prints only when set.
// CHECK-LABEL: func @fused_strided_qwen3_next
// CHECK: ranges [#qk.range<column_offset = 0, num_groups = 16, group_size = 256, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00, group_stride = 512>, #qk.range<column_offset = 8192, num_groups = 2, group_size = 256, epsilon = 9.99999997E-7, weight = 1, weight_offset = 1.000000e+00>]
func.func @fused_strided_qwen3_next(%qkv: tensor<?x9216xbf16>, %wq: tensor<256xbf16>, %wk: tensor<256xbf16>) -> tensor<?x9216xbf16> {
  %r = qk.fused_qk_norm ins(%wq, %wk : tensor<256xbf16>, tensor<256xbf16>) outs(%qkv : tensor<?x9216xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 16, group_size = 256, epsilon = 1.0e-06, weight = 0, weight_offset = 1.0, group_stride = 512>,
                 #qk.range<column_offset = 8192, num_groups = 2, group_size = 256, epsilon = 1.0e-06, weight = 1, weight_offset = 1.0>] -> tensor<?x9216xbf16>
  return %r : tensor<?x9216xbf16>
}

// An explicit group_stride of 0 is the default (packed) and is not printed.
// CHECK-LABEL: func @fused_stride_zero_elided
// CHECK: ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7>]{{$}}
func.func @fused_stride_zero_elided(%qkv: memref<?x64xf32>) {
  qk.fused_qk_norm outs(%qkv : memref<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, group_stride = 0>]
  return
}

// Interleaved ranges that share no column although their hulls overlap:
// per-KV-group heads [q | q | k | v], 4 groups of D = 16, all 64 apart.
// CHECK-LABEL: func @fused_interleaved_disjoint_ranges
// CHECK: #qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, group_stride = 64>
// CHECK-SAME: #qk.range<column_offset = 16, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 0, group_stride = 64>
// CHECK-SAME: #qk.range<column_offset = 32, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, weight = 1, group_stride = 64>
func.func @fused_interleaved_disjoint_ranges(%qkv: tensor<?x256xf32>, %wq: tensor<16xf32>, %wk: tensor<16xf32>) -> tensor<?x256xf32> {
  %r = qk.fused_qk_norm ins(%wq, %wk : tensor<16xf32>, tensor<16xf32>) outs(%qkv : tensor<?x256xf32>)
         ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, group_stride = 64>,
                 #qk.range<column_offset = 16, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, group_stride = 64>,
                 #qk.range<column_offset = 32, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 1, group_stride = 64>] -> tensor<?x256xf32>
  return %r : tensor<?x256xf32>
}

// A packed range inside the gaps of a strided one (columns [8, 16)), and a
// strided range that ends exactly at the last column.
// CHECK-LABEL: func @fused_packed_in_strided_gap
// CHECK: #qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 9.99999997E-7, group_stride = 16>
// CHECK-SAME: #qk.range<column_offset = 8, num_groups = 1, group_size = 8, epsilon = 9.99999997E-7>
// CHECK-SAME: #qk.range<column_offset = 40, num_groups = 2, group_size = 8, epsilon = 9.99999997E-7, group_stride = 16>
func.func @fused_packed_in_strided_gap(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-06, group_stride = 16>,
                 #qk.range<column_offset = 8, num_groups = 1, group_size = 8, epsilon = 1.0e-06>,
                 #qk.range<column_offset = 40, num_groups = 2, group_size = 8, epsilon = 1.0e-06, group_stride = 16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// [T, H, D]: a stride of whole heads (q heads 0, 2, 4, ..; gate heads
// between them).
// CHECK-LABEL: func @fused_strided_3d
// CHECK: #qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 9.99999997E-7, group_stride = 32>
func.func @fused_strided_3d(%qkv: memref<?x10x16xbf16>) {
  qk.fused_qk_norm outs(%qkv : memref<?x10x16xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, epsilon = 1.0e-06, group_stride = 32>]
  return
}

// A range's step list spelled out prints in the inline form when its only
// step is #qk.rms (the same attribute).
// CHECK-LABEL: func @range_steps_spelled_out
// CHECK: ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00, rounding = before_weight, group_stride = 32>]
func.func @range_steps_spelled_out(%w: tensor<16xf32>, %qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = qk.fused_qk_norm ins(%w : tensor<16xf32>) outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, group_stride = 32, steps = [#qk.rms<epsilon = 1.0e-06, weight = 0, weight_offset = 1.0, rounding = before_weight>]>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// The step on its own.
// CHECK-LABEL: func @rms_step_attribute
// CHECK: qk.step = #qk.rms<epsilon = 9.99999997E-7, weight = 1>
func.func @rms_step_attribute() attributes {qk.step = #qk.rms<epsilon = 1.0e-06, weight = 1>} {
  return
}
