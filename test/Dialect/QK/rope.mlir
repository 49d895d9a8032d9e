// RUN: qk-opt %s --split-input-file | FileCheck %s
// RUN: qk-opt %s --split-input-file --mlir-print-op-generic | qk-opt --split-input-file | FileCheck %s

// Norm then rotation (Qwen3): the step list is printed spelled out; the
// cos | sin cache is one table read at two column offsets, rows by position.
// CHECK-LABEL: func @norm_then_rope
// CHECK: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<128xbf16>, tensor<128xbf16>) tables(%{{.*}} : tensor<4096x128xbf16>) positions(%{{.*}} : tensor<?xi64>) outs(%{{.*}} : tensor<?x6144xbf16>)
// CHECK-SAME: steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0, sin_column = 64, rounding = per_op>]
// CHECK-SAME: steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0, sin_column = 64, rounding = per_op>]
func.func @norm_then_rope(%qkv: tensor<?x6144xbf16>, %wq: tensor<128xbf16>,
                          %wk: tensor<128xbf16>, %cache: tensor<4096x128xbf16>,
                          %pos: tensor<?xi64>) -> tensor<?x6144xbf16> {
  %r = qk.fused_qk_norm ins(%wq, %wk : tensor<128xbf16>, tensor<128xbf16>)
         tables(%cache : tensor<4096x128xbf16>) positions(%pos : tensor<?xi64>)
         outs(%qkv : tensor<?x6144xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 32, group_size = 128, steps = [
                   #qk.rms<epsilon = 1.0e-06, weight = 0, rounding = before_weight>,
                   #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0, sin_column = 64, rounding = per_op>]>,
                 #qk.range<column_offset = 4096, num_groups = 8, group_size = 128, steps = [
                   #qk.rms<epsilon = 1.0e-06, weight = 1, rounding = before_weight>,
                   #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0, sin_column = 64, rounding = per_op>]>]
         -> tensor<?x6144xbf16>
  return %r : tensor<?x6144xbf16>
}

// -----

// Rotation then norm (Llama4), GPT-J pairs, per-token cos and sin tensors of
// one value per element, no positions; partial rotary; memrefs.
// CHECK-LABEL: func @rope_then_norm
// CHECK: qk.fused_qk_norm tables(%{{.*}}, %{{.*}} : memref<?x64xf32>, memref<?x64xf32>) outs(%{{.*}} : memref<?x1536xbf16>)
// CHECK-SAME: steps = [#qk.rope<style = gptj, rotary_dim = 64, cos = 0, sin = 1, per_pair = false>, #qk.rms<epsilon = 9.99999974E-6>]
func.func @rope_then_norm(%qkv: memref<?x1536xbf16>, %cos: memref<?x64xf32>,
                          %sin: memref<?x64xf32>) {
  qk.fused_qk_norm tables(%cos, %sin : memref<?x64xf32>, memref<?x64xf32>)
         outs(%qkv : memref<?x1536xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 10, group_size = 128, steps = [
                   #qk.rope<style = gptj, rotary_dim = 64, cos = 0, sin = 1, per_pair = false>,
                   #qk.rms<epsilon = 1.0e-05>]>]
  return
}

// -----

// OLMo2: one group is the whole projection, rotated per head of 64.
// CHECK-LABEL: func @full_width_norm_per_head_rope
// CHECK: #qk.rope<style = neox, rotary_dim = 64, head_dim = 64, cos = 0, sin = 0, sin_column = 32>
func.func @full_width_norm_per_head_rope(%qkv: tensor<?x768xf32>, %w: tensor<256xf32>,
                                         %cache: tensor<64x64xf32>, %pos: tensor<?xi32>)
    -> tensor<?x768xf32> {
  %r = qk.fused_qk_norm ins(%w : tensor<256xf32>) tables(%cache : tensor<64x64xf32>)
         positions(%pos : tensor<?xi32>) outs(%qkv : tensor<?x768xf32>)
         ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 256, steps = [
                   #qk.rms<epsilon = 1.0e-06, weight = 0>,
                   #qk.rope<style = neox, rotary_dim = 64, head_dim = 64, cos = 0, sin = 0, sin_column = 32>]>]
         -> tensor<?x768xf32>
  return %r : tensor<?x768xf32>
}
