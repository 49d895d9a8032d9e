// RUN: qk-opt %s --qk-decompose | FileCheck %s

// Decomposition of qk.fused_qk_norm into linalg on views of qkv, for packed
// and strided (#qk.range group_stride) ranges.

// Packed: the range itself is a [T, groups, group] view (slice + expand).
// CHECK-LABEL: func.func @packed_range(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x64xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[QKV]][0, 16] [%{{.*}}, 16] [1, 1] : tensor<?x64xf32> to tensor<?x16xf32>
// CHECK: %[[V:.*]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 2, 8] : tensor<?x16xf32> into tensor<?x2x8xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<?x2x8xf32>)
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%[[V]], %[[SUM]] : tensor<?x2x8xf32>, tensor<?x2xf32>)
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[N]] {{\[}}[0], [1, 2]] : tensor<?x2x8xf32> into tensor<?x16xf32>
// CHECK: %[[R:.*]] = tensor.insert_slice %[[C]] into %[[QKV]][0, 16] [%{{.*}}, 16] [1, 1]
// CHECK: return %[[R]]
func.func @packed_range(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 16, num_groups = 2, group_size = 8, epsilon = 1.0e-06>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// Strided, the window of groups * group_stride columns fits the row: a
// [T, groups, stride] view, then every group's first 8 columns; the result
// goes back into the window, the window back into qkv.
// CHECK-LABEL: func.func @strided_window(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x64xf32>, %[[W:.*]]: tensor<8xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[QKV]][0, 0] [%{{.*}}, 64] [1, 1] : tensor<?x64xf32> to tensor<?x64xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
// CHECK: %[[G:.*]] = tensor.extract_slice %[[E]][0, 0, 0] [%{{.*}}, 4, 8] [1, 1, 1] : tensor<?x4x16xf32> to tensor<?x4x8xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[G]] : tensor<?x4x8xf32>)
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[SUM]], %[[W]] : tensor<?x4x8xf32>, tensor<?x4xf32>, tensor<8xf32>)
// CHECK: %[[B:.*]] = tensor.insert_slice %[[N]] into %[[E]][0, 0, 0] [%{{.*}}, 4, 8] [1, 1, 1] : tensor<?x4x8xf32> into tensor<?x4x16xf32>
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0], [1, 2]] : tensor<?x4x16xf32> into tensor<?x64xf32>
// CHECK: %[[R:.*]] = tensor.insert_slice %[[C]] into %[[QKV]][0, 0] [%{{.*}}, 64] [1, 1]
// CHECK: return %[[R]]
func.func @strided_window(%qkv: tensor<?x64xf32>, %w: tensor<8xf32>) -> tensor<?x64xf32> {
  %r = qk.fused_qk_norm ins(%w : tensor<8xf32>) outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 8, epsilon = 1.0e-06, weight = 0, group_stride = 16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// Strided, ends at the last column (groups at 24, 40, 56): a window from the
// start would need 24 + 3 * 16 = 72 columns, so the window ends at the
// range's end instead ([16, 64)) and each group is the last 8 columns of its
// 16.
// CHECK-LABEL: func.func @strided_window_at_range_end(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x64xf32>)
// CHECK: %[[S:.*]] = tensor.extract_slice %[[QKV]][0, 16] [%{{.*}}, 48] [1, 1] : tensor<?x64xf32> to tensor<?x48xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 3, 16]
// CHECK: %[[G:.*]] = tensor.extract_slice %[[E]][0, 0, 8] [%{{.*}}, 3, 8] [1, 1, 1] : tensor<?x3x16xf32> to tensor<?x3x8xf32>
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%[[G]], %{{.*}} : tensor<?x3x8xf32>, tensor<?x3xf32>)
// CHECK: tensor.insert_slice %[[N]] into %[[E]][0, 0, 8] [%{{.*}}, 3, 8] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %[[QKV]][0, 16] [%{{.*}}, 48] [1, 1]
func.func @strided_window_at_range_end(%qkv: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = qk.fused_qk_norm outs(%qkv : tensor<?x64xf32>) ranges [#qk.range<column_offset = 24, num_groups = 3, group_size = 8, epsilon = 1.0e-06, group_stride = 16>] -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// Strided, neither window fits (groups at 0, 16, 32 of 40 columns): the
// first two groups through a [T, 2, 16] window, the last one on its own.
// On memrefs everything is a view, normalised in place.
// CHECK-LABEL: func.func @strided_last_group_alone(
// CHECK-SAME: %[[QKV:.*]]: memref<?x40xf32>)
// CHECK: %[[S:.*]] = memref.subview %[[QKV]][0, 0] [%{{.*}}, 32] [1, 1] : memref<?x40xf32> to memref<?x32xf32, strided<[40, 1]>>
// CHECK: %[[E:.*]] = memref.expand_shape %[[S]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 2, 16] : memref<?x32xf32, strided<[40, 1]>> into memref<?x2x16xf32, strided<[40, 16, 1]>>
// CHECK: %[[G:.*]] = memref.subview %[[E]][0, 0, 0] [%{{.*}}, 2, 8] [1, 1, 1] : memref<?x2x16xf32, strided<[40, 16, 1]>> to memref<?x2x8xf32, strided<[40, 16, 1]>>
// CHECK: linalg.generic {{.*}} ins(%[[G]], %{{.*}} : memref<?x2x8xf32, strided<[40, 16, 1]>>, memref<?x2xf32>) outs(%[[G]] :
// CHECK: %[[L:.*]] = memref.subview %[[QKV]][0, 32] [%{{.*}}, 8] [1, 1] : memref<?x40xf32> to memref<?x8xf32, strided<[40, 1], offset: 32>>
// CHECK: %[[LV:.*]] = memref.expand_shape %[[L]] {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 1, 8]
// CHECK: linalg.generic {{.*}} ins(%[[LV]], %{{.*}} : memref<?x1x8xf32, strided<[40, 8, 1], offset: 32>>, memref<?x1xf32>) outs(%[[LV]] :
// CHECK: return
func.func @strided_last_group_alone(%qkv: memref<?x40xf32>) {
  qk.fused_qk_norm outs(%qkv : memref<?x40xf32>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-06, group_stride = 16>]
  return
}

// Two groups that fit no window (groups at 0 and 16 of 24 columns): two
// single groups, neither needs a stride.
// CHECK-LABEL: func.func @strided_two_groups_alone(
// CHECK-SAME: %[[QKV:.*]]: tensor<4x24xf32>)
// CHECK: %[[A:.*]] = tensor.extract_slice %[[QKV]][0, 0] [4, 8] [1, 1] : tensor<4x24xf32> to tensor<4x8xf32>
// CHECK: %[[QKV1:.*]] = tensor.insert_slice %{{.*}} into %[[QKV]][0, 0] [4, 8] [1, 1]
// CHECK: %[[B:.*]] = tensor.extract_slice %[[QKV1]][0, 16] [4, 8] [1, 1] : tensor<4x24xf32> to tensor<4x8xf32>
// CHECK: %[[R:.*]] = tensor.insert_slice %{{.*}} into %[[QKV1]][0, 16] [4, 8] [1, 1]
// CHECK: return %[[R]]
func.func @strided_two_groups_alone(%qkv: tensor<4x24xf32>) -> tensor<4x24xf32> {
  %r = qk.fused_qk_norm outs(%qkv : tensor<4x24xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-06, group_stride = 16>] -> tensor<4x24xf32>
  return %r : tensor<4x24xf32>
}

// [T, H, D]: the window and the stride count heads ([T, groups, stride / D,
// D]); groups of one head, D = 16, every other head.
// CHECK-LABEL: func.func @strided_3d(
// CHECK-SAME: %[[QKV:.*]]: memref<?x10x16xbf16>, %[[W:.*]]: memref<16xbf16>)
// CHECK: %[[S:.*]] = memref.subview %[[QKV]][0, 2, 0] [%{{.*}}, 8, 16] [1, 1, 1]
// CHECK: %[[E:.*]] = memref.expand_shape %[[S]] {{\[}}[0], [1, 2], [3]] output_shape [%{{.*}}, 4, 2, 16]
// CHECK: %[[G:.*]] = memref.subview %[[E]][0, 0, 0, 0] [%{{.*}}, 4, 1, 16] [1, 1, 1, 1]
// CHECK: %[[WV:.*]] = memref.expand_shape %[[W]] {{\[}}[0, 1]] output_shape [1, 16] : memref<16xbf16> into memref<1x16xbf16>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[G]] :
// CHECK: linalg.generic {{.*}} ins(%[[G]], %{{.*}}, %[[WV]] : {{.*}}) outs(%[[G]] :
func.func @strided_3d(%qkv: memref<?x10x16xbf16>, %w: memref<16xbf16>) {
  qk.fused_qk_norm ins(%w : memref<16xbf16>) outs(%qkv : memref<?x10x16xbf16>) ranges [#qk.range<column_offset = 32, num_groups = 4, group_size = 16, epsilon = 1.0e-06, weight = 0, group_stride = 32>]
  return
}
