// The stock mlir-opt runs our dialect and passes from the plugin. Plugin
// passes are loaded after the command line is parsed, so they are named in
// --pass-pipeline rather than as --qk-... flags.
// RUN: mlir-opt %s --load-dialect-plugin=%qk_libs/QKPlugin.so --load-pass-plugin=%qk_libs/QKPlugin.so --pass-pipeline="builtin.module(qk-fuse-strided-qk-norm)" | FileCheck %s
// RUN: mlir-opt %s --load-dialect-plugin=%qk_libs/QKPlugin.so --load-pass-plugin=%qk_libs/QKPlugin.so --pass-pipeline="builtin.module(qk-fuse-strided-qk-norm,one-shot-bufferize{bufferize-function-boundaries})" | FileCheck %s --check-prefix=BUF

// CHECK-LABEL: func.func @llama4_in_stock_mlir_opt(
// CHECK: qk.fused_qk_norm outs(%{{.*}} : tensor<8x128xf32>)
// CHECK-NOT: qk.rms_norm
// BUF-LABEL: func.func @llama4_in_stock_mlir_opt(
// BUF-NOT: memref.copy
// BUF: qk.fused_qk_norm outs(%{{.*}} : memref<8x128xf32
func.func @llama4_in_stock_mlir_opt(%qkv: tensor<8x128xf32>) -> tensor<8x6x16xf32> {
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xf32> to tensor<8x96xf32>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xf32> into tensor<8x6x16xf32>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xf32> into tensor<48x16xf32>
  %e = tensor.empty() : tensor<48x16xf32>
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xf32>) outs(%e : tensor<48x16xf32>) epsilon(1.0e-05) -> tensor<48x16xf32>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xf32> into tensor<8x6x16xf32>
  return %n3 : tensor<8x6x16xf32>
}
