// RUN: qk-opt %s --split-input-file --qk-fuse-rope | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-fuse-rope --remarks-filter='^qk-fuse-rope$' --remark-format=emitRemark -verify-diagnostics -o /dev/null

// qk-fuse-rope, RoPE before the norm at a dynamic token count, with the
// rotated heads copied back into qkv the way torch-mlir writes Llama4's
// `copy_` at dynamic T: a broadcast generic whose row index is
// select(rows == 1, 0, t). That index is t for every t in [0, rows) when
// rows is the token loop's extent (with one row the only t is 0); the
// matcher proves rows equal to the token count (a tensor.dim of the rows,
// through casts and torch-mlir's "inferred dimension" select) and treats
// the broadcast as a plain copy. qkv [T, 24]: q = 2 heads of 8 at [0, 16),
// v at [16, 24).


// The count is the rows of qkv: the broadcast is the identity.
// CHECK-LABEL: func.func @broadcast_rows_dim
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[F:.*]] = qk.fused_qk_norm tables(%arg1, %arg2 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%arg0 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, steps = [#qk.rope<style = neox, rotary_dim = 8, cos = 0, sin = 1, per_pair = false>, #qk.rms<epsilon = 9.99999974E-6>]>]
// CHECK: return %[[F]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_rows_dim(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
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
  // torch-mlir's copy_ into the projection: a broadcast of row
  // select(rows == 1, 0, t).
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c1 : index
      %row = arith.select %is1, %c0, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 2 heads rotated in place before the norm (neox, rotary_dim 8 of 8, cos/sin per token, rounded once){{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}

// -----

// torch-mlir's form: the count is the reshape's size, select(n < 0,
// inferred, n) of n = index_cast(tensor.dim), cast back to index.
// CHECK-LABEL: func.func @broadcast_inferred_dim
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor.insert_slice
// CHECK: %[[F:.*]] = qk.fused_qk_norm tables(%arg1, %arg2 : tensor<?x8xf32>, tensor<?x8xf32>) outs(%arg0 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, steps = [#qk.rope<style = neox, rotary_dim = 8, cos = 0, sin = 1, per_pair = false>, #qk.rms<epsilon = 9.99999974E-6>]>]
// CHECK: return %[[F]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_inferred_dim(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %n = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %n64 = arith.index_cast %n : index to i64
  %c0_i64 = arith.constant 0 : i64
  %c7_i64 = arith.constant 7 : i64
  %isneg = arith.cmpi slt, %n64, %c0_i64 : i64
  %inf = arith.select %isneg, %c7_i64, %n64 : i64
  %cnt = arith.index_cast %inf : i64 to index
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
  // torch-mlir's copy_ into the projection: a broadcast of row
  // select(rows == 1, 0, t).
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c1 : index
      %row = arith.select %is1, %c0, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{fused RoPE into the QK norm: 2 heads rotated in place before the norm (neox, rotary_dim 8 of 8, cos/sin per token, rounded once){{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}

// -----

// Negative: the count is the rows of the cos table, not provably the
// token count: with one cos row the broadcast would repeat row 0.
// CHECK-LABEL: func.func @broadcast_other_count
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(%{{.*}} : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 9.99999974E-6>]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_other_count(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %n = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %cnt = tensor.dim %cos, %c0 : tensor<?x8xf32>
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
  // torch-mlir's copy_ into the projection: a broadcast of row
  // select(rows == 1, 0, t).
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c1 : index
      %row = arith.select %is1, %c0, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: a scalar captured from outside the generic{{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}

// -----

// Negative: select(rows == 2, 0, t) is not t when there are two rows.
// CHECK-LABEL: func.func @broadcast_compares_two
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(%{{.*}} : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 9.99999974E-6>]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_compares_two(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
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
  // torch-mlir's copy_ into the projection: a broadcast of row
  // select(rows == 1, 0, t).
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c4 : index
      %row = arith.select %is1, %c0, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: a comparison of the token count with 4{{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}

// -----

// Negative: select(rows == 1, 4, t) reads row 4 with one row: not t.
// CHECK-LABEL: func.func @broadcast_other_row
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
// CHECK: qk.fused_qk_norm outs(%{{.*}} : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 9.99999974E-6>]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_other_row(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
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
  // torch-mlir's copy_ into the projection: a broadcast of row
  // select(rows == 1, 0, t).
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
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x16xbf16> into tensor<?x24xbf16>
  // expected-remark-re @+1 {{RoPE before the QK norm not fused: a select on the token count other than a broadcast of the token's row{{.*}}}}
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}
