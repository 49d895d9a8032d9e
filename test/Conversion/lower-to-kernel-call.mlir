// RUN: qk-opt %s --qk-lower-to-kernel-call --canonicalize --cse | FileCheck %s
// RUN: qk-opt %s --qk-lower-to-kernel-call | FileCheck %s --check-prefix=DECL

// Runtime ABI version 2: one entry point per activation type; the ranges
// are the rows of a memref<Nx12xi64> table (qk_ciface_range_t of
// include/qk/Runtime/QKNormRuntime.h), whose columns are
//   0 column_offset  1 num_groups  2 group_size  3 group_stride
//   4 epsilon (f32 bits: 897988541 = 1e-6, 925353388 = 1e-5)
//   5 weight_offset (f32 bits: 1065353216 = 1.0)  6 rounding (0 once,
//   1 before_weight)  7 weight dtype (0 f32, 1 f16, 2 bf16)
//   8..11 the weight's view: aligned pointer, offset, size (0: none), stride.

// Entry points are declared once, private, with a C interface, and the
// error reporter once without.
// DECL-DAG: func.func private @qk_fused_rms_norm_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x12xi64>, !llvm.ptr) -> i32 attributes {llvm.emit_c_interface}
// DECL-DAG: func.func private @qk_report_error(i32, !llvm.ptr){{$}}
// DECL-DAG: llvm.mlir.global internal constant @__qk_site_0("{{.*}}lower-to-kernel-call.mlir:[[#]]:3\00")

// Qwen3 layout: a [T, C] buffer passes as its own view (in = out), one call
// for both ranges, each a row of the table with its weight's view and
// scalars; default stream. The table lives at the function's entry.
// CHECK-LABEL: func.func @fused_2d_two_weights(
// CHECK-SAME: %[[QKV:.*]]: memref<?x6144xbf16>, %[[WQ:.*]]: memref<128xbf16>, %[[WK:.*]]: memref<128xbf16>)
// CHECK-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : i64
// CHECK-DAG: %[[C4096:.*]] = arith.constant 4096 : i64
// CHECK-DAG: %[[EPS:.*]] = arith.constant 897988541 : i64
// CHECK: %[[T:.*]] = memref.alloca() : memref<2x12xi64>
// CHECK: %[[V:.*]] = memref.cast %[[QKV]] : memref<?x6144xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK: %[[PQ:.*]] = memref.extract_aligned_pointer_as_index %[[WQ]] : memref<128xbf16> -> index
// CHECK: %[[WQP:.*]] = arith.index_cast %[[PQ]] : index to i64
// CHECK-NEXT: memref.store %[[C0]], %[[T]][%c0, %c0] : memref<2x12xi64>
// CHECK-NEXT: memref.store %[[C32]], %[[T]][%c0, %c1] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c0, %c2] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c0, %c3] :
// CHECK-NEXT: memref.store %[[EPS]], %[[T]][%c0, %c4] :
// CHECK-NEXT: memref.store %[[C0]], %[[T]][%c0, %c5] :
// CHECK-NEXT: memref.store %[[C1]], %[[T]][%c0, %c6] :
// CHECK-NEXT: memref.store %[[C2]], %[[T]][%c0, %c7] :
// CHECK-NEXT: memref.store %[[WQP]], %[[T]][%c0, %c8] :
// CHECK-NEXT: memref.store %[[C0]], %[[T]][%c0, %c9] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c0, %c10] :
// CHECK-NEXT: memref.store %[[C1]], %[[T]][%c0, %c11] :
// CHECK-NEXT: %[[PK:.*]] = memref.extract_aligned_pointer_as_index %[[WK]] : memref<128xbf16> -> index
// CHECK-NEXT: %[[WKP:.*]] = arith.index_cast %[[PK]] : index to i64
// CHECK-NEXT: memref.store %[[C4096]], %[[T]][%c1, %c0] :
// CHECK-NEXT: memref.store %[[C8]], %[[T]][%c1, %c1] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c1, %c2] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c1, %c3] :
// CHECK-NEXT: memref.store %[[EPS]], %[[T]][%c1, %c4] :
// CHECK-NEXT: memref.store %[[C0]], %[[T]][%c1, %c5] :
// CHECK-NEXT: memref.store %[[C1]], %[[T]][%c1, %c6] :
// CHECK-NEXT: memref.store %[[C2]], %[[T]][%c1, %c7] :
// CHECK-NEXT: memref.store %[[WKP]], %[[T]][%c1, %c8] :
// CHECK-NEXT: memref.store %[[C0]], %[[T]][%c1, %c9] :
// CHECK-NEXT: memref.store %[[C128]], %[[T]][%c1, %c10] :
// CHECK-NEXT: memref.store %[[C1]], %[[T]][%c1, %c11] :
// CHECK-NEXT: %[[TABLE:.*]] = memref.cast %[[T]] : memref<2x12xi64> to memref<?x12xi64>
// CHECK-NEXT: %[[S:.*]] = call @qk_fused_rms_norm_bf16(%[[V]], %[[V]], %[[TABLE]], %[[NULL]]) : (memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>, memref<?x12xi64>, !llvm.ptr) -> i32
// CHECK: %[[FAILED:.*]] = arith.cmpi ne, %[[S]]
// CHECK: scf.if %[[FAILED]]
// CHECK: func.call @qk_report_error(%[[S]],
// CHECK: cf.assert {{.*}}"qk.fused_qk_norm: runtime call @qk_fused_rms_norm_bf16 failed"
// CHECK-NOT: qk.fused_qk_norm outs
// CHECK: return
func.func @fused_2d_two_weights(%qkv: memref<?x6144xbf16>, %wq: memref<128xbf16>, %wk: memref<128xbf16>) {
  qk.fused_qk_norm ins(%wq, %wk : memref<128xbf16>, memref<128xbf16>) outs(%qkv : memref<?x6144xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 32, group_size = 128, epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.range<column_offset = 4096, num_groups = 8, group_size = 128, epsilon = 1.0e-06, weight = 1, rounding = before_weight>]
  return
}

// [T, H, D] with a dynamic head stride: one view over the heads, ranges
// start at head * stride and groups are one head stride apart (interleaved
// layouts need no copy). No weights: zero-size views of the activation
// dtype (f16 = 1) with a null pointer.
// CHECK-LABEL: func.func @fused_3d_heads(
// CHECK: %[[T:.*]] = memref.alloca() : memref<2x12xi64>
// CHECK: %{{.*}}, %[[OFFSET:.*]], %[[SIZES:.*]]:3, %[[STRIDES:.*]]:3 = memref.extract_strided_metadata
// CHECK: %[[SPAN:.*]] = arith.muli %[[STRIDES]]#1, %{{.*}} : index
// CHECK: %[[COLS:.*]] = arith.addi %[[SPAN]], %{{.*}} : index
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [%[[OFFSET]]], sizes: [%[[SIZES]]#0, %[[COLS]]], strides: [%[[STRIDES]]#0, 1]
// CHECK: %[[HS:.*]] = arith.index_cast %[[STRIDES]]#1 : index to i64
// CHECK: %[[K0:.*]] = arith.muli %[[HS]], %c40_i64 : i64
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c0]
// CHECK: memref.store %[[HS]], %[[T]][%c0, %c3]
// CHECK: memref.store %c925353388_i64, %[[T]][%c0, %c4]
// CHECK: memref.store %c1_i64, %[[T]][%c0, %c7]
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c8]
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c10]
// CHECK: memref.store %[[K0]], %[[T]][%c1, %c0]
// CHECK: memref.store %c8_i64, %[[T]][%c1, %c1]
// CHECK: memref.store %[[HS]], %[[T]][%c1, %c3]
// CHECK: call @qk_fused_rms_norm_f16(%[[V:.*]], %[[V]], %{{.*}}, %{{.*}})
// CHECK-NOT: cf.assert {{.*}}head stride
func.func @fused_3d_heads(%qkv: memref<?x48x128xf16, strided<[?, ?, 1], offset: ?>>) {
  qk.fused_qk_norm outs(%qkv : memref<?x48x128xf16, strided<[?, ?, 1], offset: ?>>) ranges [#qk.range<column_offset = 0, num_groups = 40, group_size = 128, epsilon = 1.0e-05>, #qk.range<column_offset = 5120, num_groups = 8, group_size = 128, epsilon = 1.0e-05>]
  return
}

// A group of several heads of a [T, H, D] buffer is one contiguous run only
// when heads are packed: a dynamic head stride is checked at run time.
// CHECK-LABEL: func.func @fused_3d_full_width(
// CHECK: %[[HS:.*]] = arith.index_cast %{{.*}}#1 : index to i64
// CHECK: %[[PACKED:.*]] = arith.cmpi eq, %[[HS]], %{{.*}} : i64
// CHECK: cf.assert %[[PACKED]], "qk.fused_qk_norm: a multi-head group needs a qkv head stride equal to head_dim"
// CHECK: call @qk_fused_rms_norm_f32(
func.func @fused_3d_full_width(%qkv: memref<?x3x64xf32, strided<[?, ?, 1], offset: ?>>, %w: memref<128xf32>) {
  qk.fused_qk_norm ins(%w : memref<128xf32>) outs(%qkv : memref<?x3x64xf32, strided<[?, ?, 1], offset: ?>>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06, weight = 0>]
  return
}

// bf16 activations with one f32 and one bf16 weight: ONE call (ABI 1 made
// one per weight type), each row naming its weight's dtype (f32 = 0,
// bf16 = 2); the second range's (1 + w) offset is 1.0.
// CHECK-LABEL: func.func @fused_mixed_weight_types(
// CHECK: %[[T:.*]] = memref.alloca() : memref<2x12xi64>
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c7]
// CHECK: memref.store %c1065353216_i64, %[[T]][%c1, %c5]
// CHECK: memref.store %c2_i64, %[[T]][%c1, %c7]
// CHECK: call @qk_fused_rms_norm_bf16(
// CHECK-NOT: = call @qk_fused_rms_norm
func.func @fused_mixed_weight_types(%qkv: memref<?x512xbf16>, %wq: memref<128xf32>, %wk: memref<128xbf16>) {
  qk.fused_qk_norm ins(%wq, %wk : memref<128xf32>, memref<128xbf16>) outs(%qkv : memref<?x512xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 128, epsilon = 1.0e-06, weight = 0>, #qk.range<column_offset = 256, num_groups = 1, group_size = 128, epsilon = 1.0e-06, weight = 1, weight_offset = 1.0>]
  return
}

// A qk.rms_norm left alone by the fuser: input and output are different
// views; one range of one group of D columns per row.
// CHECK-LABEL: func.func @rms_norm_out_of_place(
// CHECK-SAME: %[[X:.*]]: memref<?x128xf16, strided<[?, 1], offset: ?>>, %[[Y:.*]]: memref<?x128xf16>)
// CHECK-DAG: %[[IN:.*]] = memref.cast %[[X]]
// CHECK-DAG: %[[OUT:.*]] = memref.cast %[[Y]]
// CHECK: call @qk_fused_rms_norm_f16(%[[IN]], %[[OUT]],
// CHECK-NOT: qk.rms_norm ins
func.func @rms_norm_out_of_place(%x: memref<?x128xf16, strided<[?, 1], offset: ?>>, %y: memref<?x128xf16>) {
  qk.rms_norm ins(%x : memref<?x128xf16, strided<[?, 1], offset: ?>>) outs(%y : memref<?x128xf16>) epsilon(1.0e-06)
  return
}

// [A, B, D] input: A tokens of B groups, dimension-1 stride apart; the
// output view keeps its own offset (64). The weight's view is static.
// CHECK-LABEL: func.func @rms_norm_3d(
// CHECK: %[[T:.*]] = memref.alloca() : memref<1x12xi64>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [4, 960], strides: [1024, 1]
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [64], sizes: [4, 960], strides: [1024, 1]
// CHECK: memref.store %c8_i64, %[[T]][%c0, %c1]
// CHECK: memref.store %c64_i64, %[[T]][%c0, %c2]
// CHECK: memref.store %c128_i64, %[[T]][%c0, %c3]
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c9]
// CHECK: memref.store %c64_i64, %[[T]][%c0, %c10]
// CHECK: memref.store %c1_i64, %[[T]][%c0, %c11]
// CHECK: call @qk_fused_rms_norm_bf16(
func.func @rms_norm_3d(%x: memref<4x8x64xbf16, strided<[1024, 128, 1]>>, %w: memref<64xbf16>, %y: memref<4x8x64xbf16, strided<[1024, 128, 1], offset: 64>>) {
  qk.rms_norm ins(%x : memref<4x8x64xbf16, strided<[1024, 128, 1]>>) weight(%w : memref<64xbf16>) outs(%y : memref<4x8x64xbf16, strided<[1024, 128, 1], offset: 64>>) epsilon(1.0e-06)
  return
}

// Rank 4 with an identity layout: the leading dimensions fold into tokens.
// CHECK-LABEL: func.func @rms_norm_4d(
// CHECK: memref.collapse_shape %{{.*}} {{\[\[}}0, 1], [2], [3]] : memref<2x3x4x64xf32> into memref<6x4x64xf32>
// CHECK: call @qk_fused_rms_norm_f32(
func.func @rms_norm_4d(%x: memref<2x3x4x64xf32>, %y: memref<2x3x4x64xf32>) {
  qk.rms_norm ins(%x : memref<2x3x4x64xf32>) outs(%y : memref<2x3x4x64xf32>) epsilon(1.0e-06)
  return
}

// The host framework's stream: the {qk.stream} argument is the last operand.
// CHECK-LABEL: func.func @stream_argument(
// CHECK-SAME: %[[STREAM:[^:]*]]: !llvm.ptr {qk.stream})
// CHECK-NOT: llvm.mlir.zero
// CHECK: call @qk_fused_rms_norm_f32({{.*}}, %[[STREAM]])
func.func @stream_argument(%qkv: memref<?x256xf32>, %s: !llvm.ptr {qk.stream}) {
  qk.fused_qk_norm outs(%qkv : memref<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>]
  return
}

// Strided ranges of a [T, C] buffer (Qwen3-Next: q heads 2 * D apart between
// the gate heads, then packed k heads): the range's group_stride is the
// ABI's group_stride; a packed range passes group_size.
// CHECK-LABEL: func.func @fused_2d_strided(
// CHECK: %[[T:.*]] = memref.alloca() : memref<2x12xi64>
// CHECK: memref.store %c0_i64, %[[T]][%c0, %c0]
// CHECK-NEXT: memref.store %c16_i64, %[[T]][%c0, %c1]
// CHECK-NEXT: memref.store %c256_i64, %[[T]][%c0, %c2]
// CHECK-NEXT: memref.store %c512_i64, %[[T]][%c0, %c3]
// CHECK: memref.store %c8192_i64, %[[T]][%c1, %c0]
// CHECK-NEXT: memref.store %c2_i64, %[[T]][%c1, %c1]
// CHECK-NEXT: memref.store %c256_i64, %[[T]][%c1, %c2]
// CHECK-NEXT: memref.store %c256_i64, %[[T]][%c1, %c3]
// CHECK: call @qk_fused_rms_norm_bf16(
func.func @fused_2d_strided(%qkv: memref<?x9216xbf16>, %wq: memref<256xbf16>, %wk: memref<256xbf16>) {
  qk.fused_qk_norm ins(%wq, %wk : memref<256xbf16>, memref<256xbf16>) outs(%qkv : memref<?x9216xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 16, group_size = 256, epsilon = 1.0e-06, weight = 0, weight_offset = 1.0, group_stride = 512>, #qk.range<column_offset = 8192, num_groups = 2, group_size = 256, epsilon = 1.0e-06, weight = 1, weight_offset = 1.0>]
  return
}

// Strided one-head groups of a [T, H, D] buffer with a dynamic head stride:
// group_stride / D head strides between groups (here 3), the start at
// column_offset / D head strides (here 1).
// CHECK-LABEL: func.func @fused_3d_strided_heads(
// CHECK: %[[T:.*]] = memref.alloca() : memref<1x12xi64>
// CHECK: %{{.*}}, %{{.*}}, %{{.*}}:3, %[[STRIDES:.*]]:3 = memref.extract_strided_metadata
// CHECK: %[[HS:.*]] = arith.index_cast %[[STRIDES]]#1 : index to i64
// CHECK: %[[GS:.*]] = arith.muli %[[HS]], %c3_i64 : i64
// CHECK: memref.store %[[HS]], %[[T]][%c0, %c0]
// CHECK-NEXT: memref.store %c3_i64, %[[T]][%c0, %c1]
// CHECK-NEXT: memref.store %c64_i64, %[[T]][%c0, %c2]
// CHECK-NEXT: memref.store %[[GS]], %[[T]][%c0, %c3]
// CHECK: call @qk_fused_rms_norm_f32(
// CHECK-NOT: cf.assert {{.*}}head stride
func.func @fused_3d_strided_heads(%qkv: memref<?x9x64xf32, strided<[?, ?, 1], offset: ?>>) {
  qk.fused_qk_norm outs(%qkv : memref<?x9x64xf32, strided<[?, ?, 1], offset: ?>>) ranges [#qk.range<column_offset = 64, num_groups = 3, group_size = 64, epsilon = 1.0e-06, group_stride = 192>]
  return
}

// Strided groups of two heads: contiguous only with packed heads (a static
// head stride of D here), then group_stride columns apart.
// CHECK-LABEL: func.func @fused_3d_strided_multi_head_groups(
// CHECK-NOT: cf.assert
// CHECK: memref.store %c0_i64, %[[T:.*]][%c0, %c0]
// CHECK-NEXT: memref.store %c2_i64, %[[T]][%c0, %c1]
// CHECK-NEXT: memref.store %c128_i64, %[[T]][%c0, %c2]
// CHECK-NEXT: memref.store %c256_i64, %[[T]][%c0, %c3]
// CHECK: call @qk_fused_rms_norm_f32(
func.func @fused_3d_strided_multi_head_groups(%qkv: memref<?x8x64xf32>) {
  qk.fused_qk_norm outs(%qkv : memref<?x8x64xf32>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 128, epsilon = 1.0e-06, group_stride = 256>]
  return
}

// One range describes input and output, so their dimension-1 strides must
// agree; when they differ (an unfused norm of head-strided q into a fresh
// buffer) the input is copied into the init and normalised there in place.
// CHECK-LABEL: func.func @rms_norm_3d_strides_differ(
// CHECK-SAME: %[[X:.*]]: memref<4x8x64xf32, strided<[1024, 128, 1]>>, %[[Y:.*]]: memref<4x8x64xf32>
// CHECK: memref.copy %[[X]], %[[Y]]
// CHECK: call @qk_fused_rms_norm_f32(
// CHECK-NOT: %[[X]]
// CHECK: return
func.func @rms_norm_3d_strides_differ(%x: memref<4x8x64xf32, strided<[1024, 128, 1]>>, %y: memref<4x8x64xf32>) {
  qk.rms_norm ins(%x : memref<4x8x64xf32, strided<[1024, 128, 1]>>) outs(%y : memref<4x8x64xf32>) epsilon(1.0e-06)
  return
}

// In a loop the table is allocated once, at the function's entry (an
// alloca in the loop body would grow the stack every iteration), and its
// rows are written before every call.
// CHECK-LABEL: func.func @in_loop(
// CHECK: %[[T:.*]] = memref.alloca() : memref<1x12xi64>
// CHECK: scf.for
// CHECK-NOT: memref.alloca
// CHECK: memref.store %{{.*}}, %[[T]][%c0, %c0]
// CHECK: call @qk_fused_rms_norm_f32(
func.func @in_loop(%qkv: memref<?x256xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %i = %c0 to %n step %c1 {
    qk.fused_qk_norm outs(%qkv : memref<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>]
  }
  return
}
