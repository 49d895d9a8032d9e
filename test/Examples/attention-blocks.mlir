// Each model form from decomposed (torch-mlir style) input: the bundled
// attention blocks raise to qk.rms_norm, fuse into one qk.fused_qk_norm per
// block, and bufferize with no memref.copy left (the unfused graphs have one
// per reshaped slice).
// RUN: qk-opt %examples/llama4_scout.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=LLAMA4
// RUN: qk-opt %examples/qwen3_8b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=QWEN3
// RUN: qk-opt %examples/gemma3_27b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=GEMMA3
// RUN: qk-opt %examples/olmo2_7b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=OLMO2
// RUN: qk-opt %examples/llama4_scout.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=NOCOPY
// RUN: qk-opt %examples/qwen3_8b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=NOCOPY
// RUN: qk-opt %examples/gemma3_27b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=NOCOPY
// RUN: qk-opt %examples/olmo2_7b.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=NOCOPY
// RUN: qk-opt %examples/qwen3_8b.mlir --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=BASELINE

// LLAMA4-LABEL: func.func @attention_block(
// LLAMA4: qk.fused_qk_norm outs(%{{.*}} : tensor<?x7168xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 48, group_size = 128, epsilon = 9.99999974E-6>]
// LLAMA4-NOT: qk.rms_norm
// LLAMA4-NOT: tensor.collapse_shape {{.*}} into tensor<?x128xbf16>
// LLAMA4: call @attention

// QWEN3-LABEL: func.func @attention_block(
// QWEN3: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<128xbf16>, tensor<128xbf16>) outs(%{{.*}} : tensor<?x6144xbf16>)
// QWEN3-SAME: #qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>
// QWEN3-SAME: #qk.range<column_offset = 4096, num_groups = 8, group_size = 128, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>
// QWEN3-NOT: qk.rms_norm
// QWEN3: call @attention

// GEMMA3-LABEL: func.func @attention_block(
// GEMMA3: qk.fused_qk_norm
// GEMMA3-SAME: #qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00>
// GEMMA3-SAME: #qk.range<column_offset = 4096, num_groups = 16, group_size = 128, epsilon = 9.99999997E-7, weight = 1, weight_offset = 1.000000e+00>
// GEMMA3-NOT: qk.rms_norm

// OLMO2-LABEL: func.func @attention_block(
// OLMO2: qk.fused_qk_norm
// OLMO2-SAME: #qk.range<column_offset = 0, num_groups = 1, group_size = 4096, epsilon = 9.99999997E-7, weight = 0>
// OLMO2-SAME: #qk.range<column_offset = 4096, num_groups = 1, group_size = 4096, epsilon = 9.99999997E-7, weight = 1>
// OLMO2-NOT: qk.rms_norm

// NOCOPY-LABEL: func.func @attention_block(
// NOCOPY-NOT: memref.copy
// NOCOPY: qk.fused_qk_norm
// NOCOPY-NOT: memref.copy
// NOCOPY: return

// BASELINE-LABEL: func.func @attention_block(
// BASELINE: memref.copy
// BASELINE: memref.copy
