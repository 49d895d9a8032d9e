// RUN: qk-opt %s --split-input-file --qk-lower-to-kernel-call --canonicalize --cse | FileCheck %s
// RUN: qk-opt %s --split-input-file --qk-lower-to-kernel-call | FileCheck %s --check-prefix=DECL

// Runtime ABI version 3: a qk.fused_qk_norm with a #qk.rope step calls
// @qk_fused_rms_norm_rope_<act> with the range table of version 2 and one
// memref<27xi64> rope row (qk_ciface_rope_t of
// include/qk/Runtime/QKNormRuntime.h), whose words are
//   0 style (0 neox, 1 gptj)  1 rounding (0 per_op, 1 once)  2 before_norm
//   3 per_pair  4 head_dim  5 rotary_dim  6 rotated_ranges (bit r: range r)
//   7 table dtype (0 f32, 1 f16, 2 bf16)
//   8..13 cos: aligned pointer, offset, rows, columns, row stride, column stride
//   14..19 sin: the same   20 cos_column  21 sin_column
//   22 positions dtype (0 i32, 1 i64)  23..26 positions: aligned pointer
//   (0: none), offset, size, stride.

// DECL-DAG: func.func private @qk_fused_rms_norm_rope_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x12xi64>, memref<27xi64>, !llvm.ptr) -> i32 attributes {llvm.emit_c_interface}
// DECL-DAG: func.func private @qk_report_error(i32, !llvm.ptr){{$}}
// DECL-NOT: @qk_fused_rms_norm_bf16

// Qwen3: q and k (ranges 0 and 1) normalised, then rotated NeoX over the
// whole head of 32, cos|sin cache [64, 32] of bf16 gathered by i64
// positions, sin from column 16, per_op.
// CHECK-LABEL: func.func @norm_rope_neox_positions(
// CHECK-SAME: %[[QKV:[^:]*]]: memref<?x256xbf16>, %[[WQ:[^:]*]]: memref<32xbf16>, %[[WK:[^:]*]]: memref<32xbf16>, %[[CACHE:[^:]*]]: memref<64x32xbf16>, %[[POS:[^:]*]]: memref<?xi64>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : i64
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : i64
// CHECK: %[[ROPE:.*]] = memref.alloca() : memref<27xi64>
// CHECK: %[[TABLE:.*]] = memref.alloca() : memref<2x12xi64>
// CHECK: %[[V:.*]] = memref.cast %[[QKV]] : memref<?x256xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK: %[[RANGES:.*]] = memref.cast %[[TABLE]] : memref<2x12xi64> to memref<?x12xi64>
// CHECK: %[[CP:.*]] = memref.extract_aligned_pointer_as_index %[[CACHE]] : memref<64x32xbf16> -> index
// CHECK-DAG: %[[CPI:.*]] = arith.index_cast %[[CP]] : index to i64
// CHECK-DAG: %[[PP:.*]] = memref.extract_aligned_pointer_as_index %[[POS]] : memref<?xi64> -> index
// CHECK-DAG: %[[PPI:.*]] = arith.index_cast %[[PP]] : index to i64
// CHECK-DAG: %{{.*}}, %{{.*}}, %[[PSIZE:.*]], %{{.*}} = memref.extract_strided_metadata %[[POS]]
// CHECK-DAG: %[[PSIZEI:.*]] = arith.index_cast %[[PSIZE]] : index to i64
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c0] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c1] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c2] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c3] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c4] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c5] : memref<27xi64>
// CHECK-DAG: memref.store %[[C3]], %[[ROPE]][%c6] : memref<27xi64>
// CHECK-DAG: memref.store %[[C2]], %[[ROPE]][%c7] : memref<27xi64>
// CHECK-DAG: memref.store %[[CPI]], %[[ROPE]][%c8] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c9] : memref<27xi64>
// CHECK-DAG: memref.store %[[C64]], %[[ROPE]][%c10] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c11] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c12] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c13] : memref<27xi64>
// CHECK-DAG: memref.store %[[CPI]], %[[ROPE]][%c14] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c15] : memref<27xi64>
// CHECK-DAG: memref.store %[[C64]], %[[ROPE]][%c16] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c17] : memref<27xi64>
// CHECK-DAG: memref.store %[[C32]], %[[ROPE]][%c18] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c19] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c20] : memref<27xi64>
// CHECK-DAG: memref.store %[[C16]], %[[ROPE]][%c21] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c22] : memref<27xi64>
// CHECK-DAG: memref.store %[[PPI]], %[[ROPE]][%c23] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c24] : memref<27xi64>
// CHECK-DAG: memref.store %[[PSIZEI]], %[[ROPE]][%c25] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c26] : memref<27xi64>
// CHECK: %[[S:.*]] = call @qk_fused_rms_norm_rope_bf16(%[[V]], %[[V]], %[[RANGES]], %[[ROPE]], %{{.*}}) : (memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x12xi64>, memref<27xi64>, !llvm.ptr) -> i32
// CHECK: arith.cmpi ne, %[[S]]
// CHECK: func.call @qk_report_error(%[[S]]
// CHECK: cf.assert %{{.*}}, "qk.fused_qk_norm: runtime call @qk_fused_rms_norm_rope_bf16 failed"
// CHECK-NOT: qk.fused_qk_norm {{(ins|tables|outs)}}(
// CHECK: return
func.func @norm_rope_neox_positions(%qkv: memref<?x256xbf16>, %wq: memref<32xbf16>, %wk: memref<32xbf16>, %cache: memref<64x32xbf16>, %pos: memref<?xi64>) {
  qk.fused_qk_norm ins(%wq, %wk : memref<32xbf16>, memref<32xbf16>) tables(%cache : memref<64x32xbf16>) positions(%pos : memref<?xi64>) outs(%qkv : memref<?x256xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 32, steps = [#qk.rms<epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 32, cos = 0, sin = 0, sin_column = 16, rounding = per_op>]>, #qk.range<column_offset = 128, num_groups = 2, group_size = 32, steps = [#qk.rms<epsilon = 1.0e-06, weight = 1, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 32, cos = 0, sin = 0, sin_column = 16, rounding = per_op>]>]
  return
}

// -----

// OLMo2-like full-width ranges in f16; only k (range 1) rotated, GPT-J
// per 16-element head (head_dim = 16 inside the group of 32), per-token f32
// cos and sin tables (two tables, one column per element), once, no
// positions (word 23 = 0).
// CHECK-LABEL: func.func @norm_rope_gptj_once_k_only(
// CHECK-SAME: %[[QKV:[^:]*]]: memref<?x128xf16>, %[[WQ:[^:]*]]: memref<64xf32>, %[[WK:[^:]*]]: memref<32xf32>, %[[COS:[^:]*]]: memref<?x16xf32>, %[[SIN:[^:]*]]: memref<?x16xf32>)
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : i64
// CHECK: %[[ROPE:.*]] = memref.alloca() : memref<27xi64>
// CHECK: %[[CP:.*]] = memref.extract_aligned_pointer_as_index %[[COS]]
// CHECK-DAG: %{{.*}}, %{{.*}}, %[[CSIZES:.*]]:2, %{{.*}}:2 = memref.extract_strided_metadata %[[COS]]
// CHECK-DAG: %[[CPI:.*]] = arith.index_cast %[[CP]] : index to i64
// CHECK-DAG: %[[CROWS:.*]] = arith.index_cast %[[CSIZES]]#0 : index to i64
// CHECK-DAG: %[[SP:.*]] = memref.extract_aligned_pointer_as_index %[[SIN]]
// CHECK-DAG: %{{.*}}, %{{.*}}, %[[SSIZES:.*]]:2, %{{.*}}:2 = memref.extract_strided_metadata %[[SIN]]
// CHECK-DAG: %[[SPI:.*]] = arith.index_cast %[[SP]] : index to i64
// CHECK-DAG: %[[SROWS:.*]] = arith.index_cast %[[SSIZES]]#0 : index to i64
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c0] : memref<27xi64>
// CHECK-DAG: memref.store %[[C1]], %[[ROPE]][%c1] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c2] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c3] : memref<27xi64>
// CHECK-DAG: memref.store %[[C16]], %[[ROPE]][%c4] : memref<27xi64>
// CHECK-DAG: memref.store %[[C16]], %[[ROPE]][%c5] : memref<27xi64>
// CHECK-DAG: memref.store %[[C2]], %[[ROPE]][%c6] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c7] : memref<27xi64>
// CHECK-DAG: memref.store %[[CPI]], %[[ROPE]][%c8] : memref<27xi64>
// CHECK-DAG: memref.store %[[CROWS]], %[[ROPE]][%c10] : memref<27xi64>
// CHECK-DAG: memref.store %[[C16]], %[[ROPE]][%c11] : memref<27xi64>
// CHECK-DAG: memref.store %[[SPI]], %[[ROPE]][%c14] : memref<27xi64>
// CHECK-DAG: memref.store %[[SROWS]], %[[ROPE]][%c16] : memref<27xi64>
// CHECK-DAG: memref.store %[[C16]], %[[ROPE]][%c17] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c20] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c21] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c23] : memref<27xi64>
// CHECK-DAG: memref.store %[[C0]], %[[ROPE]][%c25] : memref<27xi64>
// CHECK: call @qk_fused_rms_norm_rope_f16(%{{.*}}, %{{.*}}, %{{.*}}, %[[ROPE]], %{{.*}}) : (memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?x12xi64>, memref<27xi64>, !llvm.ptr) -> i32
// CHECK-NOT: qk.fused_qk_norm {{(ins|tables|outs)}}(
// CHECK: return
func.func @norm_rope_gptj_once_k_only(%qkv: memref<?x128xf16>, %wq: memref<64xf32>, %wk: memref<32xf32>, %cos: memref<?x16xf32>, %sin: memref<?x16xf32>) {
  qk.fused_qk_norm ins(%wq, %wk : memref<64xf32>, memref<32xf32>) tables(%cos, %sin : memref<?x16xf32>, memref<?x16xf32>) outs(%qkv : memref<?x128xf16>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 64, epsilon = 1.0e-06, weight = 0>, #qk.range<column_offset = 64, num_groups = 1, group_size = 32, steps = [#qk.rms<epsilon = 1.0e-06, weight = 1>, #qk.rope<style = gptj, rotary_dim = 16, head_dim = 16, cos = 0, sin = 1, per_pair = false>]>]
  return
}
