// RUN: qk-opt %s --split-input-file --qk-fuse-rope | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-fuse-rope --remarks-filter='^qk-fuse-rope$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// RoPE written as ONE generic that computes its partner's index, (d + 8)
// mod 16, reads it with tensor.extract and selects its sign (the form of
// examples/*.mlir); cos/sin per token in f32, one rounding at the end.
// Shapes: D = 16, q = 2 heads at [0, 32), k = 1 head at [32, 48), v after.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>

// CHECK-LABEL: func.func @partner_by_index
// CHECK: qk.fused_qk_norm ins(%{{.*}} : tensor<16xbf16>) tables(%{{.*}}, %{{.*}} : tensor<?x16xf32>, tensor<?x16xf32>) outs(%{{.*}} : tensor<?x64xbf16>)
// CHECK-SAME: steps = [#qk.rms<epsilon = 9.99999997E-7, weight = 0>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 1, per_pair = false>]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @partner_by_index(%qkv: tensor<?x64xbf16>, %w: tensor<16xbf16>, %cos: tensor<?x16xf32>, %sin: tensor<?x16xf32>) -> tensor<?x2x16xbf16> {
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x64xbf16>
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 2 heads rotated in place after the norm (neox, rotary_dim 16 of 16, cos/sin per token, rounded once){{.*}}}}
  %f = qk.fused_qk_norm ins(%w : tensor<16xbf16>) outs(%qkv : tensor<?x64xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 0>] -> tensor<?x64xbf16>
  %q = tensor.extract_slice %f[0, 0] [%T, 32] [1, 1] : tensor<?x64xbf16> to tensor<?x32xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %e = tensor.empty(%T) : tensor<?x2x16xbf16>
  %r = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<?x2x16xbf16>, tensor<?x16xf32>, tensor<?x16xf32>) outs(%e : tensor<?x2x16xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %ds = arith.addi %d, %c8 : index
      %dp = arith.remui %ds, %c16 : index
      %xp = tensor.extract %qh[%t, %h, %dp] : tensor<?x2x16xbf16>
      %lo = arith.cmpi ult, %d, %c8 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<?x2x16xbf16>
  return %r : tensor<?x2x16xbf16>
}

// -----

// Negative twin: the partner is read from the NEXT head, (h + 1) mod 2.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>

// CHECK-LABEL: func.func @partner_in_other_head
// CHECK-NOT: #qk.rope
// CHECK: linalg.generic
func.func @partner_in_other_head(%qkv: tensor<?x64xbf16>, %w: tensor<16xbf16>, %cos: tensor<?x16xf32>, %sin: tensor<?x16xf32>) -> tensor<?x2x16xbf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x64xbf16>
  // expected-remark-re @+1 {{RoPE not fused into the QK norm: a rotated element reads a partner outside its head's rotated columns", reason=other-head{{.*}}}}
  %f = qk.fused_qk_norm ins(%w : tensor<16xbf16>) outs(%qkv : tensor<?x64xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 16, epsilon = 1.0e-06, weight = 0>] -> tensor<?x64xbf16>
  %q = tensor.extract_slice %f[0, 0] [%T, 32] [1, 1] : tensor<?x64xbf16> to tensor<?x32xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %e = tensor.empty(%T) : tensor<?x2x16xbf16>
  %r = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<?x2x16xbf16>, tensor<?x16xf32>, tensor<?x16xf32>) outs(%e : tensor<?x2x16xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %h = linalg.index 1 : index
      %d = linalg.index 2 : index
      %hs = arith.addi %h, %c1 : index
      %hp = arith.remui %hs, %c2 : index
      %ds = arith.addi %d, %c8 : index
      %dp = arith.remui %ds, %c16 : index
      %xp = tensor.extract %qh[%t, %hp, %dp] : tensor<?x2x16xbf16>
      %lo = arith.cmpi ult, %d, %c8 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<?x2x16xbf16>
  return %r : tensor<?x2x16xbf16>
}
