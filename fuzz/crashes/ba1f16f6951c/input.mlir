func.func @dim_index_minus_one(%qkv: tensor<?x128xf32>) -> tensor<?x4x16xf32> {
  %c = arith.constant -16 : index
  %T = tensor.dim %qkv, %c : tensor<?x128xf32>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xf32> to tensor<?x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xf32> into tensor<?x4x16xf32>
  %e = tensor.empty(%T) : tensor<?x4x16xf32>
  %n = qk.rms_norm ins(%q3 : tensor<?x4x16xf32>) outs(%e : tensor<?x4x16xf32>) epsilon(1.0e-06) -> tensor<?x4x16xf32>
  return %n : tensor<?x4x16xf32>
}
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
    } : !transform.any_op
    transform.yield
  }
}
