// The transform-dialect pattern ops schedule the qk rewrites on the payload a
// script selects: here every func.func carrying {schedule_qk_norm}, first
// raise_rms_norm, then fuse_strided_qk_norm (with canonicalization, which
// folds the reshape pairs the fusion leaves). The plugin registers the same
// extension into the stock mlir-opt.
// RUN: qk-opt %s --transform-interpreter | FileCheck %s
// RUN: mlir-opt %s --load-dialect-plugin=%qk_libs/QKPlugin.so --transform-interpreter | FileCheck %s

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} attributes {schedule_qk_norm} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.qk.raise_rms_norm
    } : !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.qk.fuse_strided_qk_norm
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}

//===----------------------------------------------------------------------===//
// raise_rms_norm
//===----------------------------------------------------------------------===//

// One generic per step (test/Inputs/rmsnorm/positive.mlir,
// @torch_aten_rms_norm_f32_static_64x128): the whole norm, weight included,
// is raised, never the partial x * r that feeds the weight multiply.
// CHECK-LABEL: func.func @raise_one_generic_per_step(
// CHECK-SAME: %[[X:.*]]: tensor<64x128xf32>, %[[W:.*]]: tensor<128xf32>
// CHECK-NOT: linalg
// CHECK: %[[N:.*]] = qk.rms_norm ins(%[[X]] : tensor<64x128xf32>) weight(%[[W]] : tensor<128xf32>) outs(%{{.*}} : tensor<64x128xf32>) epsilon(9.99999997E-7) -> tensor<64x128xf32>
// CHECK-NOT: linalg
// CHECK: return %[[N]]
func.func @raise_one_generic_per_step(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> attributes {schedule_qk_norm} {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<64x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e6 = tensor.empty() : tensor<64x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<64x1xf32>) outs(%e6 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e8 = tensor.empty() : tensor<64x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<64x1xf32>) outs(%e8 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e10 = tensor.empty() : tensor<64x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<64x1xf32>) outs(%e10 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e12 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<64x128xf32>, tensor<128xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  return %r15 : tensor<64x128xf32>
}

// After --linalg-fuse-elementwise-ops (test/Inputs/rmsnorm/positive-fused.mlir,
// @torch_aten_rms_norm_bf16_keepdim_const0): three generics, bf16 rounded once.
// CHECK-LABEL: func.func @raise_fused_generics(
// CHECK-SAME: %[[X:.*]]: tensor<?x128xbf16>, %[[W:.*]]: tensor<128xbf16>
// CHECK-NOT: linalg
// CHECK: %[[N:.*]] = qk.rms_norm ins(%[[X]] : tensor<?x128xbf16>) weight(%[[W]] : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return %[[N]]
func.func @raise_fused_generics(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> attributes {schedule_qk_norm} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.000000e+00 : f32
  %cst_0 = arith.constant 1.280000e+02 : f32
  %cst_1 = arith.constant 9.99999997E-7 : f32
  %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
  %0 = tensor.empty(%dim) : tensor<?x128xf32>
  %1 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %7 = arith.extf %in : bf16 to f32
    linalg.yield %7 : f32
  } -> tensor<?x128xf32>
  %2 = tensor.empty(%dim) : tensor<?x1xf32>
  %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %4 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %7 = arith.mulf %in, %in : f32
    %8 = arith.addf %7, %out : f32
    linalg.yield %8 : f32
  } -> tensor<?x1xf32>
  %5 = tensor.empty(%dim) : tensor<?x128xbf16>
  %6 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%5 : tensor<?x128xbf16>) {
  ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
    %7 = arith.divf %in_2, %cst_0 : f32
    %8 = arith.addf %7, %cst_1 : f32
    %9 = math.rsqrt %8 : f32
    %10 = arith.mulf %in, %9 : f32
    %11 = arith.extf %in_3 : bf16 to f32
    %12 = arith.mulf %10, %11 : f32
    %13 = arith.truncf %12 : f32 to bf16
    linalg.yield %13 : bf16
  } -> tensor<?x128xbf16>
  return %6 : tensor<?x128xbf16>
}

// Negative twin (test/Inputs/rmsnorm/negative.mlir, @not_rms_norm_reduce_dim0):
// the sum of squares runs over dim 0, so this normalises columns and is not
// an RMSNorm; every generic stays.
// CHECK-LABEL: func.func @raise_not_rms_norm_reduce_dim0(
// CHECK-NOT: qk.rms_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK-NOT: qk.rms_norm
// CHECK: return
func.func @raise_not_rms_norm_reduce_dim0(%x: tensor<64x128xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> attributes {schedule_qk_norm} {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 6.400000e+01 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<1x128xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<1x128xf32>) -> tensor<1x128xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e6 = tensor.empty() : tensor<1x128xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<1x128xf32>) outs(%e6 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e8 = tensor.empty() : tensor<1x128xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<1x128xf32>) outs(%e8 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e10 = tensor.empty() : tensor<1x128xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<1x128xf32>) outs(%e10 : tensor<1x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<1x128xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<1x128xf32>) outs(%e12 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<64x128xf32>, tensor<128xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  return %r15 : tensor<64x128xf32>
}

//===----------------------------------------------------------------------===//
// fuse_strided_qk_norm
//===----------------------------------------------------------------------===//

// OLMo2 (test/Transforms/fuse-strided-qk-norm.mlir): q and k norms of one qkv
// are fused one at a time and the two fused ops merged into one, whose init
// is the whole qkv; each range keeps its own weight.
// CHECK-LABEL: func.func @fuse_q_and_k_into_one_op(
// CHECK-SAME: %[[QKV:.*]]: tensor<?x128xf32>, %[[WQ:.*]]: tensor<64xf32>, %[[WK:.*]]: tensor<32xf32>
// CHECK-NOT: qk.rms_norm
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[WK]], %[[WQ]] : tensor<32xf32>, tensor<64xf32>) outs(%[[QKV]] : tensor<?x128xf32>)
// CHECK-SAME: ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 64, epsilon = 9.99999997E-7, weight = 1>, #qk.range<column_offset = 64, num_groups = 1, group_size = 32, epsilon = 9.99999997E-7, weight = 0>]
// CHECK-NOT: qk.fused_qk_norm
// CHECK-NOT: qk.rms_norm
// CHECK-DAG: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [%{{.*}}, 64] [1, 1]
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[F]][0, 64] [%{{.*}}, 32] [1, 1]
// CHECK: return %[[Q]], %[[K]]
func.func @fuse_q_and_k_into_one_op(%qkv: tensor<?x128xf32>, %wq: tensor<64xf32>, %wk: tensor<32xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>) attributes {schedule_qk_norm} {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xf32> to tensor<?x32xf32>
  %eq = tensor.empty(%T) : tensor<?x64xf32>
  %ek = tensor.empty(%T) : tensor<?x32xf32>
  %qn = qk.rms_norm ins(%q : tensor<?x64xf32>) weight(%wq : tensor<64xf32>) outs(%eq : tensor<?x64xf32>) epsilon(1.0e-06) -> tensor<?x64xf32>
  %kn = qk.rms_norm ins(%k : tensor<?x32xf32>) weight(%wk : tensor<32xf32>) outs(%ek : tensor<?x32xf32>) epsilon(1.0e-06) -> tensor<?x32xf32>
  return %qn, %kn : tensor<?x64xf32>, tensor<?x32xf32>
}

// Llama4 (test/Transforms/fuse-strided-qk-norm.mlir): one weight-less norm
// over the reshaped q|k heads; v is re-read from the fused result and the
// expand(collapse) pair is folded, so the norm result is a view of qkv.
// CHECK-LABEL: func.func @fuse_reshaped_heads(
// CHECK-SAME: %[[QKV:.*]]: tensor<8x128xbf16>
// CHECK: %[[F:.*]] = qk.fused_qk_norm outs(%[[QKV]] : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 6, group_size = 16, epsilon = 9.99999974E-6>] -> tensor<8x128xbf16>
// CHECK-NOT: qk.rms_norm
// CHECK-NOT: tensor.collapse_shape
// CHECK-DAG: tensor.extract_slice %[[F]][0, 0] [8, 96] [1, 1]
// CHECK-DAG: tensor.extract_slice %[[F]][0, 96] [8, 32] [1, 1]
// CHECK: return
func.func @fuse_reshaped_heads(%qkv: tensor<8x128xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) attributes {schedule_qk_norm} {
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xbf16> to tensor<8x96xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xbf16> into tensor<8x6x16xbf16>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xbf16> into tensor<48x16xbf16>
  %e = tensor.empty() : tensor<48x16xbf16>
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xbf16>) outs(%e : tensor<48x16xbf16>) epsilon(1.0e-05) -> tensor<48x16xbf16>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xbf16> into tensor<8x6x16xbf16>
  %q = tensor.extract_slice %n3[0, 0, 0] [8, 4, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x4x16xbf16>
  %k = tensor.extract_slice %n3[0, 4, 0] [8, 2, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x2x16xbf16>
  return %q, %k, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// Negative twin: every other column of qkv is not one contiguous column
// range, so the norm stays as it is.
// CHECK-LABEL: func.func @fuse_not_strided_slice(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 0] [8, 32] [1, 2]
// CHECK: qk.rms_norm ins(%[[S]] : tensor<8x32xf32>)
// CHECK-NOT: qk.fused_qk_norm
// CHECK: return
func.func @fuse_not_strided_slice(%qkv: tensor<8x128xf32>, %wq: tensor<32xf32>) -> tensor<8x32xf32> attributes {schedule_qk_norm} {
  %q = tensor.extract_slice %qkv[0, 0] [8, 32] [1, 2] : tensor<8x128xf32> to tensor<8x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  %qn = qk.rms_norm ins(%q : tensor<8x32xf32>) weight(%wq : tensor<32xf32>) outs(%e : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32>
  return %qn : tensor<8x32xf32>
}

//===----------------------------------------------------------------------===//
// Both, and scheduling
//===----------------------------------------------------------------------===//

// A decomposed norm (as in @raise_one_generic_per_step) of the q columns of
// qkv: raised by the first apply_patterns, fused by the second.
// CHECK-LABEL: func.func @raise_then_fuse(
// CHECK-SAME: %[[QKV:.*]]: tensor<64x256xf32>, %[[W:.*]]: tensor<128xf32>
// CHECK-NOT: linalg
// CHECK-NOT: qk.rms_norm
// CHECK: %[[F:.*]] = qk.fused_qk_norm ins(%[[W]] : tensor<128xf32>) outs(%[[QKV]] : tensor<64x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 9.99999997E-7, weight = 0>]
// CHECK-NOT: linalg
// CHECK-NOT: qk.rms_norm
// CHECK: %[[Q:.*]] = tensor.extract_slice %[[F]][0, 0] [64, 128] [1, 1]
// CHECK: return %[[Q]]
func.func @raise_then_fuse(%qkv: tensor<64x256xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> attributes {schedule_qk_norm} {
  %x = tensor.extract_slice %qkv[0, 0] [64, 128] [1, 1] : tensor<64x256xf32> to tensor<64x128xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<64x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e6 = tensor.empty() : tensor<64x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<64x1xf32>) outs(%e6 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e8 = tensor.empty() : tensor<64x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<64x1xf32>) outs(%e8 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e10 = tensor.empty() : tensor<64x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<64x1xf32>) outs(%e10 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e12 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<64x128xf32>, tensor<128xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  return %r15 : tensor<64x128xf32>
}

// The same function without {schedule_qk_norm}: the script does not target
// it, so neither rewrite touches it.
// CHECK-LABEL: func.func @not_scheduled(
// CHECK-NOT: qk.
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-NOT: qk.
// CHECK: return
func.func @not_scheduled(%qkv: tensor<64x256xf32>, %w: tensor<128xf32>) -> tensor<64x128xf32> {
  %x = tensor.extract_slice %qkv[0, 0] [64, 128] [1, 1] : tensor<64x256xf32> to tensor<64x128xf32>
  %cst = arith.constant 0.000000e+00 : f32
  %cst_1 = arith.constant 1.280000e+02 : f32
  %cst_2 = arith.constant 9.99999997E-7 : f32
  %e1 = tensor.empty() : tensor<64x128xf32>
  %r2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x128xf32>) outs(%e1 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.mulf %in, %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e3 = tensor.empty() : tensor<64x1xf32>
  %f4 = linalg.fill ins(%cst : f32) outs(%e3 : tensor<64x1xf32>) -> tensor<64x1xf32>
  %r5 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]}
      ins(%r2 : tensor<64x128xf32>) outs(%f4 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e6 = tensor.empty() : tensor<64x1xf32>
  %r7 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r5 : tensor<64x1xf32>) outs(%e6 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %cst_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e8 = tensor.empty() : tensor<64x1xf32>
  %r9 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r7 : tensor<64x1xf32>) outs(%e8 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %cst_2 : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e10 = tensor.empty() : tensor<64x1xf32>
  %r11 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r9 : tensor<64x1xf32>) outs(%e10 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<64x1xf32>
  %e12 = tensor.empty() : tensor<64x128xf32>
  %r13 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r11 : tensor<64x128xf32>, tensor<64x1xf32>) outs(%e12 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  %e14 = tensor.empty() : tensor<64x128xf32>
  %r15 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%r13, %w : tensor<64x128xf32>, tensor<128xf32>) outs(%e14 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_1: f32, %out: f32):
      %0 = arith.mulf %in, %in_1 : f32
      linalg.yield %0 : f32
    } -> tensor<64x128xf32>
  return %r15 : tensor<64x128xf32>
}
