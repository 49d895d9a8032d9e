// The pattern path reports like the passes: transform.apply_patterns.qk.*
// run the passes' step (match, legality, rewrite) and emit the same Raised /
// NotRaised and Fused / NotFused remarks, with the same text and structured
// arguments. What differs: the fuse pattern fuses one norm at a time, so it
// reports one Fused remark per norm (q and k of a block are merged into one
// op afterwards, without a remark); there is no Summary remark (a pattern
// set has no end to count at); and a greedy driver tries an op again after
// the IR around it changed, so a rejected candidate reports once per attempt
// (`--remark-policy=final` keeps the last remark per location and name).
//
// RUN: qk-opt %s --transform-interpreter --remarks-filter='qk-.*' --remark-policy=final --remark-format=emitRemark -verify-diagnostics -o /dev/null
// RUN: mlir-opt %s --load-dialect-plugin=%qk_libs/QKPlugin.so --transform-interpreter --remarks-filter='qk-.*' --remark-policy=final --remark-format=emitRemark -verify-diagnostics -o /dev/null
// RUN: qk-opt %s --transform-interpreter --remarks-filter='qk-.*' --remark-format=yaml --remarks-output-file=%t.yaml -o /dev/null
// RUN: FileCheck %s --check-prefix=YAML --implicit-check-not=Summary --input-file=%t.yaml
// The passes on the same functions: the same remarks, one Fused remark for
// q and k together, and the Summary remarks.
// RUN: qk-opt %s --qk-raise-rms-norm --qk-fuse-strided-qk-norm --remarks-filter='qk-.*' --remark-format=emitRemark -o /dev/null 2>&1 | FileCheck %s --check-prefix=PASS

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
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

// An RMSNorm after --linalg-fuse-elementwise-ops, and its twin that divides
// by 127 instead of the row size 128.
// YAML:      --- !Missed
// YAML-NEXT: Pass: qk-raise-rms-norm
// YAML-NEXT: Name: NotRaised
// YAML:      Args:
// YAML-NEXT:   - Remark: 'not raised to qk.rms_norm: the mean divides by 127.00 instead of the row size 128'
// YAML-NEXT:   - reason: wrong-divisor
// YAML-NEXT:   - divisor: '1.270000e+02'
// YAML-NEXT:   - row_size: '128'
// YAML-NEXT: ...
// YAML:      --- !Passed
// YAML-NEXT: Pass: qk-raise-rms-norm
// YAML-NEXT: Name: Raised
// YAML:      Args:
// YAML-NEXT:   - Remark: 'raised RMSNorm to qk.rms_norm: rows of 128 bf16, epsilon 1.000000e-06, weight, rounding once'
// YAML-NEXT:   - row_size: '128'
// YAML-NEXT:   - element_type: bf16
// YAML-NEXT:   - epsilon: '1.000000e-06'
// YAML-NEXT:   - weight: 'true'
// YAML-NEXT:   - weight_offset: '0.000000e+00'
// YAML-NEXT:   - rounding: once
// YAML-NEXT: ...
// PASS-DAG: transform-ops-remarks.mlir:[[@LINE+26]]:8: remark: [Passed] Raised | Category:qk-raise-rms-norm | Remark="raised RMSNorm to qk.rms_norm: rows of 128 bf16, epsilon 1.000000e-06, weight, rounding once", element_type=bf16, epsilon=1.000000e-06, rounding=once, row_size=128, weight=true, weight_offset=0.000000e+00
// PASS-DAG: transform-ops-remarks.mlir:[[@LINE+52]]:11: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the mean divides by 127.00 instead of the row size 128", divisor=1.270000e+02, reason=wrong-divisor, row_size=128
// PASS-DAG: remark: [Analysis] Summary | Category:qk-summary:qk-raise-rms-norm | Remark="1 RMSNorm(s) raised, 1 candidate(s) rejected", raised=1, rejected=1
func.func @raise_and_reject(%x: tensor<?x128xbf16>, %w: tensor<128xbf16>) -> (tensor<?x128xbf16>, tensor<?x128xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.000000e+00 : f32
  %n = arith.constant 1.280000e+02 : f32
  %n127 = arith.constant 1.270000e+02 : f32
  %eps = arith.constant 9.99999997E-7 : f32
  %T = tensor.dim %x, %c0 : tensor<?x128xbf16>
  %e0 = tensor.empty(%T) : tensor<?x128xf32>
  %xf = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x128xbf16>) outs(%e0 : tensor<?x128xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<?x128xf32>
  %e1 = tensor.empty(%T) : tensor<?x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %ss = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%xf : tensor<?x128xf32>) outs(%init : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %out : f32
    linalg.yield %1 : f32
  } -> tensor<?x1xf32>
  %e2 = tensor.empty(%T) : tensor<?x128xbf16>
  // expected-remark @below {{Remark="raised RMSNorm to qk.rms_norm: rows of 128 bf16, epsilon 1.000000e-06, weight, rounding once", element_type=bf16, epsilon=1.000000e-06, rounding=once, row_size=128, weight=true, weight_offset=0.000000e+00}}
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%xf, %ss, %w : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%e2 : tensor<?x128xbf16>) {
  ^bb0(%in: f32, %sum: f32, %win: bf16, %out: bf16):
    %0 = arith.divf %sum, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %in, %2 : f32
    %4 = arith.extf %win : bf16 to f32
    %5 = arith.mulf %3, %4 : f32
    %6 = arith.truncf %5 : f32 to bf16
    linalg.yield %6 : bf16
  } -> tensor<?x128xbf16>
  %e3 = tensor.empty(%T) : tensor<?x128xf32>
  %xf2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<?x128xbf16>) outs(%e3 : tensor<?x128xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %0 = arith.extf %in : bf16 to f32
    linalg.yield %0 : f32
  } -> tensor<?x128xf32>
  %e4 = tensor.empty(%T) : tensor<?x1xf32>
  %init2 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %ss2 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>], iterator_types = ["parallel", "reduction"]} ins(%xf2 : tensor<?x128xf32>) outs(%init2 : tensor<?x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.addf %0, %out : f32
    linalg.yield %1 : f32
  } -> tensor<?x1xf32>
  %e5 = tensor.empty(%T) : tensor<?x128xbf16>
  // expected-remark @below {{Remark="not raised to qk.rms_norm: the mean divides by 127.00 instead of the row size 128", divisor=1.270000e+02, reason=wrong-divisor, row_size=128}}
  %y127 = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, 0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%xf2, %ss2, %w : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%e5 : tensor<?x128xbf16>) {
  ^bb0(%in: f32, %sum: f32, %win: bf16, %out: bf16):
    %0 = arith.divf %sum, %n127 : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    %3 = arith.mulf %in, %2 : f32
    %4 = arith.extf %win : bf16 to f32
    %5 = arith.mulf %3, %4 : f32
    %6 = arith.truncf %5 : f32 to bf16
    linalg.yield %6 : bf16
  } -> tensor<?x128xbf16>
  return %y, %y127 : tensor<?x128xbf16>, tensor<?x128xbf16>
}

// Llama4: one norm over the reshaped q|k heads of qkv.
// YAML:      --- !Passed
// YAML-NEXT: Pass: qk-fuse-strided-qk-norm
// YAML-NEXT: Name: Fused
// YAML:      Args:
// YAML-NEXT:   - Remark: 'fused QK RMSNorm: 6 heads, head_dim 16, copy removed'
// YAML-NEXT:   - norms: '1'
// YAML-NEXT:   - groups: '6'
// YAML-NEXT:   - columns: '96'
// YAML-NEXT:   - ranges: '1'
// YAML-NEXT:   - group_size: '16'
// YAML-NEXT:   - full_width: 'false'
// YAML-NEXT:   - bufferization: copy_removed
// YAML-NEXT:   - copies_before: '1'
// YAML-NEXT:   - copies_after: '0'
// YAML-NEXT: ...
// PASS-DAG: transform-ops-remarks.mlir:[[@LINE+8]]:8: remark: [Passed] Fused | Category:qk-fuse-strided-qk-norm | Remark="fused QK RMSNorm: 6 heads, head_dim 16, copy removed", bufferization=copy_removed, columns=96, copies_after=0, copies_before=1, full_width=false, group_size=16, groups=6, norms=1, ranges=1
func.func @fuse_reshaped_heads(%qkv: tensor<8x128xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>) {
  %qk = tensor.extract_slice %qkv[0, 0] [8, 96] [1, 1] : tensor<8x128xbf16> to tensor<8x96xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %qk3 = tensor.expand_shape %qk [[0], [1, 2]] output_shape [8, 6, 16] : tensor<8x96xbf16> into tensor<8x6x16xbf16>
  %qk2 = tensor.collapse_shape %qk3 [[0, 1], [2]] : tensor<8x6x16xbf16> into tensor<48x16xbf16>
  %e = tensor.empty() : tensor<48x16xbf16>
  // expected-remark @below {{Remark="fused QK RMSNorm: 6 heads, head_dim 16, copy removed", bufferization=copy_removed, columns=96, copies_after=0, copies_before=1, full_width=false, group_size=16, groups=6, norms=1, ranges=1}}
  %n = qk.rms_norm ins(%qk2 : tensor<48x16xbf16>) outs(%e : tensor<48x16xbf16>) epsilon(1.0e-05) -> tensor<48x16xbf16>
  %n3 = tensor.expand_shape %n [[0, 1], [2]] output_shape [8, 6, 16] : tensor<48x16xbf16> into tensor<8x6x16xbf16>
  %q = tensor.extract_slice %n3[0, 0, 0] [8, 4, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x4x16xbf16>
  %k = tensor.extract_slice %n3[0, 4, 0] [8, 2, 16] [1, 1, 1] : tensor<8x6x16xbf16> to tensor<8x2x16xbf16>
  return %q, %k, %v : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>, tensor<8x32xbf16>
}

// Every other column of qkv: not a group of contiguous columns.
// YAML:      --- !Missed
// YAML-NEXT: Pass: qk-fuse-strided-qk-norm
// YAML-NEXT: Name: NotFused
// YAML:      Args:
// YAML-NEXT:   - Remark: 'not fused: the slice of qkv has a non-unit stride'
// YAML-NEXT:   - reason: non-unit-stride
// YAML-NEXT: ...
// PASS-DAG: transform-ops-remarks.mlir:[[@LINE+5]]:9: remark: [Missed] NotFused | Category:qk-fuse-strided-qk-norm | Remark="not fused: the slice of qkv has a non-unit stride", reason=non-unit-stride
func.func @fuse_not_strided_slice(%qkv: tensor<8x128xf32>, %wq: tensor<32xf32>) -> tensor<8x32xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 32] [1, 2] : tensor<8x128xf32> to tensor<8x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  // expected-remark @below {{Remark="not fused: the slice of qkv has a non-unit stride", reason=non-unit-stride}}
  %qn = qk.rms_norm ins(%q : tensor<8x32xf32>) weight(%wq : tensor<32xf32>) outs(%e : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32>
  return %qn : tensor<8x32xf32>
}

// q and k of one qkv: the pattern reports each norm as it fuses it, the
// pass the block once.
// PASS-DAG: remark: [Passed] Fused | Category:qk-fuse-strided-qk-norm | Remark="fused QK RMSNorm: 64 q + 32 k columns, each normalised over its full width, in place"
// PASS-DAG: remark: [Analysis] Summary | Category:qk-summary:qk-fuse-strided-qk-norm | Remark="2 site(s) fused (3 norms), 1 rejected, 0 with a copy kept"
func.func @fuse_q_and_k(%qkv: tensor<?x128xf32>, %wq: tensor<64xf32>, %wk: tensor<32xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xf32> to tensor<?x32xf32>
  %eq = tensor.empty(%T) : tensor<?x64xf32>
  %ek = tensor.empty(%T) : tensor<?x32xf32>
  // expected-remark @below {{Remark="fused QK RMSNorm: 64 columns, each normalised over its full width, in place"}}
  %qn = qk.rms_norm ins(%q : tensor<?x64xf32>) weight(%wq : tensor<64xf32>) outs(%eq : tensor<?x64xf32>) epsilon(1.0e-06) -> tensor<?x64xf32>
  // expected-remark @below {{Remark="fused QK RMSNorm: 32 columns, each normalised over its full width, in place"}}
  %kn = qk.rms_norm ins(%k : tensor<?x32xf32>) weight(%wk : tensor<32xf32>) outs(%ek : tensor<?x32xf32>) epsilon(1.0e-06) -> tensor<?x32xf32>
  return %qn, %kn : tensor<?x64xf32>, tensor<?x32xf32>
}
