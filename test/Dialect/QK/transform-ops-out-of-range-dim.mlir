// Valid IR that is outside the contract of upstream analyses must not crash
// the fuse pass: `tensor.dim %qkv, %c` with an out-of-range constant `%c`
// verifies, but ValueBoundsConstraintSet segfaults on it (Debian's LLVM has
// no assertions). The pass checks the IR first and leaves the norm alone.
// The same through the transform op transform.apply_patterns.qk.fuse_strided_qk_norm.
// RUN: qk-opt %s --split-input-file --transform-interpreter | FileCheck %s --check-prefix=TRANSFORM

// TRANSFORM-LABEL: func.func @dim_index_minus_one(
// TRANSFORM: qk.rms_norm
func.func @dim_index_minus_one(%qkv: tensor<?x128xf32>) -> tensor<?x4x16xf32> {
  %c = arith.constant -1 : index
  %T = tensor.dim %qkv, %c : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e = tensor.empty(%T) : tensor<?x4x16xf32>
  // remark @+1 {{not fused: the slice does not cover every token row}}
  %n = qk.rms_norm ins(%q3 : tensor<?x4x16xf32>) outs(%e : tensor<?x4x16xf32>) epsilon(1.0e-06) -> tensor<?x4x16xf32>
  return %n : tensor<?x4x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.qk.fuse_strided_qk_norm
    } : !transform.any_op
    transform.yield
  }
}

// -----

// An out-of-range index computed from another dim: the size is
// `dim %qkv, (dim %qkv, 0)`, a runtime index that may exceed the rank.
// TRANSFORM-LABEL: func.func @dim_index_from_runtime_value(
// TRANSFORM: qk.rms_norm
func.func @dim_index_from_runtime_value(%qkv: tensor<?x128xf32>) -> tensor<?x4x16xf32> {
  %c0 = arith.constant 0 : index
  %i = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %T = tensor.dim %qkv, %i : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e = tensor.empty(%T) : tensor<?x4x16xf32>
  // remark @+1 {{not fused: the slice does not cover every token row}}
  %n = qk.rms_norm ins(%q3 : tensor<?x4x16xf32>) outs(%e : tensor<?x4x16xf32>) epsilon(1.0e-06) -> tensor<?x4x16xf32>
  return %n : tensor<?x4x16xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.qk.fuse_strided_qk_norm
    } : !transform.any_op
    transform.yield
  }
}
