// RUN: qk-opt %s --split-input-file --qk-fuse-rope | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-fuse-rope --remarks-filter='^qk-fuse-rope$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// qk-fuse-rope, RoPE BEFORE the norm (Llama4). qkv [8, 32]: q = 2 heads of
// 8 at [0, 16), k = 1 head at [16, 24), v at [24, 32); cos/sin per token
// (f32, one value per element); each rotation is one generic that reads its
// partner, as in examples/*.mlir.

// Llama4's order: q and k rotated, inserted back into qkv, then ONE norm
// over their heads: the op takes the base qkv and a LEADING #qk.rope step;
// the rotations and the inserts are gone, v (columns 24..32) is untouched.
// CHECK-LABEL: func.func @rope_then_norm
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[F:.*]] = qk.fused_qk_norm tables(%arg1, %arg2 : tensor<8x8xf32>, tensor<8x8xf32>) outs(%arg0 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, steps = [#qk.rope<style = neox, rotary_dim = 8, cos = 0, sin = 1, per_pair = false>, #qk.rms<epsilon = 9.99999974E-6>]>]
// CHECK-NOT: linalg.generic
// CHECK: return %[[F]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @rope_then_norm(%qkv: tensor<8x32xbf16>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> (tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 16] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 3 heads rotated in place before the norm (neox, rotary_dim 8 of 8, cos/sin per token, rounded once){{.*}}}}
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f : tensor<8x32xbf16>
}

// -----

// Negative: the base qkv (un-rotated) is also returned; rotating it in
// place would change that result.
// CHECK-LABEL: func.func @base_read_elsewhere
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(
// CHECK-NOT: #qk.rope
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @base_read_elsewhere(%qkv: tensor<8x32xbf16>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> (tensor<8x32xbf16>, tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 16] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: func.return reads the qkv before the rotation, which the fused op would overwrite in place", reason=unrotated-read{{.*}}}}
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f, %qkv : tensor<8x32xbf16>, tensor<8x32xbf16>
}

// -----

// Negative: k's rotation is inserted over the v columns (24..32) instead
// of its own (16..24): the rebuilt qkv moves columns, which no step does.
// CHECK-LABEL: func.func @inserted_elsewhere
// CHECK: tensor.insert_slice
// CHECK-NOT: #qk.rope
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @inserted_elsewhere(%qkv: tensor<8x32xbf16>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> (tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 24] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: {{.*}}}}
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f : tensor<8x32xbf16>
}

// -----

// Negative: the norm's range covers the v columns too (4 groups), which
// no rotation writes: a range is rotated whole or not at all.
// CHECK-LABEL: func.func @range_partly_rotated
// CHECK-NOT: #qk.rope
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @range_partly_rotated(%qkv: tensor<8x32xbf16>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> (tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x8xf32>, tensor<8x8xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 16] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: some heads of a normalised range are rotated before the norm, others not", reason=partial-range{{.*}}}}
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f : tensor<8x32xbf16>
}

// -----

// Negative (found by fuzz/mutate.py: a division by the stride crashed the
// matcher): the rotated q goes back into qkv with a column stride of 0,
// which the verifier accepts.
// CHECK-LABEL: func.func @insert_stride_zero
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @insert_stride_zero(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %n = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %cnt = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x24xbf16> to tensor<?x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%n, 2, 8] : tensor<?x16xbf16> into tensor<?x2x8xbf16>
  %qr_e = tensor.empty(%n) : tensor<?x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<?x2x8xbf16>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%qr_e : tensor<?x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<?x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<?x2x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<?x2x8xbf16> into tensor<?x16xbf16>
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c1 : index
      %row = arith.select %is1, %c4, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 0] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: an insert_slice with a stride below 1{{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}

// -----

// Negative (found by fuzz/mutate.py: the fused op failed its verifier):
// cos/sin of 0 columns, which the rotation reads at columns 0..8 (the
// generic verifier does not bound them).
// CHECK-LABEL: func.func @table_without_columns
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @table_without_columns(%qkv: tensor<8x32xbf16>, %cos: tensor<8x0xf32>, %sin: tensor<8x0xf32>) -> (tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x0xf32>, tensor<8x0xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x0xf32>, tensor<8x0xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 16] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: a table read at column 0 of a table of 0 columns{{.*}}}}
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f : tensor<8x32xbf16>
}
