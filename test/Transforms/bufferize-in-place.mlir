// After fusion, one-shot bufferization writes the norm into the qkv buffer:
// no memref.copy and no memref.alloc for the norm. Where the pre-norm qkv is
// still read, bufferization keeps a copy, so results stay right.
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries --split-input-file | FileCheck %s
// Without the fusion the same graphs copy (the baseline this product removes).
// RUN: qk-opt %s --one-shot-bufferize=bufferize-function-boundaries --split-input-file | FileCheck %s --check-prefix=UNFUSED

// CHECK-LABEL: func.func @qwen3_block_in_place(
// CHECK-SAME: %[[QKV:[a-z0-9]+]]: memref<?x128xbf16
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: qk.fused_qk_norm ins({{.*}}) outs(%[[QKV]] :
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: memref.subview %[[QKV]][0, 96]
// CHECK: return
// UNFUSED-LABEL: func.func @qwen3_block_in_place(
// UNFUSED: memref.copy
// UNFUSED: memref.copy
func.func @qwen3_block_in_place(%qkv: tensor<?x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>) -> (tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xbf16>
  // v is split off first, as q, k, v = qkv.split(...) does.
  %v = tensor.extract_slice %qkv[0, 96] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<?x4x16xbf16> into tensor<?x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<?x2x16xbf16> into tensor<?x16xbf16>
  %TQ = tensor.dim %q2, %c0 : tensor<?x16xbf16>
  %TK = tensor.dim %k2, %c0 : tensor<?x16xbf16>
  %eq = tensor.empty(%TQ) : tensor<?x16xbf16>
  %ek = tensor.empty(%TK) : tensor<?x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xbf16>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) -> tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xbf16>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-06) -> tensor<?x16xbf16>
  %qo = tensor.expand_shape %qn [[0, 1], [2]] output_shape [%T, 4, 16] : tensor<?x16xbf16> into tensor<?x4x16xbf16>
  %ko = tensor.expand_shape %kn [[0, 1], [2]] output_shape [%T, 2, 16] : tensor<?x16xbf16> into tensor<?x2x16xbf16>
  return %qo, %ko, %v : tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>
}

// -----

// The qkv comes from the projection (a fresh buffer): the norm writes into
// it, with no allocation besides the projection's own.
// CHECK-LABEL: func.func @llama4_block_after_matmul(
// CHECK: %[[BUF:.*]] = memref.alloc() {{.*}} : memref<8x128xf32>
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: qk.fused_qk_norm outs(%[[BUF]] : memref<8x128xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: return
func.func @llama4_block_after_matmul(%h: tensor<8x32xf32>, %w: tensor<32x128xf32>) -> (tensor<8x6x16xf32>, tensor<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x128xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x128xf32>) -> tensor<8x128xf32>
  %qkv = linalg.matmul ins(%h, %w : tensor<8x32xf32>, tensor<32x128xf32>) outs(%z : tensor<8x128xf32>) -> tensor<8x128xf32>
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xf32> to tensor<8x96xf32>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xf32> to tensor<8x32xf32>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xf32> into tensor<8x6x16xf32>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xf32> into tensor<48x16xf32>
  %e = tensor.empty() : tensor<48x16xf32>
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xf32>) outs(%e : tensor<48x16xf32>) epsilon(1.0e-05) -> tensor<48x16xf32>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xf32> into tensor<8x6x16xf32>
  return %n3, %v : tensor<8x6x16xf32>, tensor<8x32xf32>
}

// -----

// The pre-norm qkv is also returned: writing in place would change it, so
// bufferization copies qkv once and the fused op writes the copy.
// CHECK-LABEL: func.func @pre_norm_qkv_still_read(
// CHECK-SAME: %[[QKV:[a-z0-9]+]]: memref<8x128xf32
// CHECK: %[[COPY:.*]] = memref.alloc
// CHECK: memref.copy %[[QKV]], %[[COPY]]
// CHECK: qk.fused_qk_norm outs(%[[COPY]] :
// CHECK: return %{{.*}}, %[[QKV]]
func.func @pre_norm_qkv_still_read(%qkv: tensor<8x128xf32>) -> (tensor<8x6x16xf32>, tensor<8x128xf32>) {
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xf32> to tensor<8x96xf32>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xf32> into tensor<8x6x16xf32>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xf32> into tensor<48x16xf32>
  %e = tensor.empty() : tensor<48x16xf32>
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xf32>) outs(%e : tensor<48x16xf32>) epsilon(1.0e-05) -> tensor<48x16xf32>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xf32> into tensor<8x6x16xf32>
  return %n3, %qkv : tensor<8x6x16xf32>, tensor<8x128xf32>
}
