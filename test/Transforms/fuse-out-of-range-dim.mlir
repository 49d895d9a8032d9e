// Valid IR that is outside the contract of upstream analyses must not crash
// the fuse pass: `tensor.dim %qkv, %c` with an out-of-range constant `%c`
// verifies, but ValueBoundsConstraintSet segfaults on it (Debian's LLVM has
// no assertions). The pass checks the IR first and leaves the norm alone.
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file | FileCheck %s
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --split-input-file --remarks-filter='^qk-fuse-strided-qk-norm$' --remark-format=emitRemark -verify-diagnostics -o /dev/null
// RUN: qk-opt %s --split-input-file --qk-norm-pipeline=target=cpu -o /dev/null
// RUN: qk-opt %s --split-input-file --qk-norm-pipeline=target=cuda -o /dev/null
// (The transform op's path: test/Dialect/QK/transform-ops-out-of-range-dim.mlir.)

// CHECK-LABEL: func.func @dim_index_minus_one(
// CHECK-NOT: qk.fused_qk_norm
// CHECK: qk.rms_norm
func.func @dim_index_minus_one(%qkv: tensor<?x128xf32>) -> tensor<?x4x16xf32> {
  %c = arith.constant -1 : index
  %T = tensor.dim %qkv, %c : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e = tensor.empty(%T) : tensor<?x4x16xf32>
  // expected-remark @+1 {{not fused: the slice does not cover every token row}}
  %n = qk.rms_norm ins(%q3 : tensor<?x4x16xf32>) outs(%e : tensor<?x4x16xf32>) epsilon(1.0e-06) -> tensor<?x4x16xf32>
  return %n : tensor<?x4x16xf32>
}

// -----

// An out-of-range index computed from another dim: the size is
// `dim %qkv, (dim %qkv, 0)`, a runtime index that may exceed the rank.
// CHECK-LABEL: func.func @dim_index_from_runtime_value(
// CHECK-NOT: qk.fused_qk_norm
func.func @dim_index_from_runtime_value(%qkv: tensor<?x128xf32>) -> tensor<?x4x16xf32> {
  %c0 = arith.constant 0 : index
  %i = tensor.dim %qkv, %c0 : tensor<?x128xf32>
  %T = tensor.dim %qkv, %i : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e = tensor.empty(%T) : tensor<?x4x16xf32>
  // expected-remark @+1 {{not fused: the slice does not cover every token row}}
  %n = qk.rms_norm ins(%q3 : tensor<?x4x16xf32>) outs(%e : tensor<?x4x16xf32>) epsilon(1.0e-06) -> tensor<?x4x16xf32>
  return %n : tensor<?x4x16xf32>
}

// -----

// A norm over rows of zero elements verifies; it is no QK norm to fuse (and
// must not divide by its row size).
// CHECK-LABEL: func.func @empty_rows(
// CHECK-NOT: qk.fused_qk_norm
func.func @empty_rows(%qkv: tensor<8x128xf32>) -> tensor<8x0xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 0] [1, 1] : tensor<8x128xf32> to tensor<8x0xf32>
  %e = tensor.empty() : tensor<8x0xf32>
  // expected-remark @+1 {{not fused: the normalised dimension is empty}}
  %n = qk.rms_norm ins(%q : tensor<8x0xf32>) outs(%e : tensor<8x0xf32>) epsilon(1.0e-06) -> tensor<8x0xf32>
  return %n : tensor<8x0xf32>
}
