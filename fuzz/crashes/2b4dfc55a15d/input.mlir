func.func @qwen3_separate_weights_dynamic_T(%qkv: tensor<?x128xbf16>, %wq: tensor<16xbf16>, %wk: tensor<16xbf16>) -> (tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>) {
  %c0 = arith.constant 1 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x128xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<?x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %v = tensor.extract_slice %qkv[0, 96] [%T, 32] [1, 1] : tensor<?x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<?x4x16xbf16> into tensor<?x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<?x2x16xbf16> into tensor<?x16xbf16>
  %TQ = tensor.dim %q2, %c0 : tensor<?x16xbf16>
  %eq = tensor.empty(%TQ) : tensor<?x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xbf16>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) {rounding = #qk.rounding<before_weight>} -> tensor<?x16xbf16>
  %TK = tensor.dim %k2, %c0 : tensor<?x16xbf16>
  %ek = tensor.empty(%TK) : tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xbf16>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-05) {rounding = #qk.rounding<before_weight>} -> tensor<?x16xbf16>
  %qo = tensor.expand_shape %qn [[0, 1], [2]] output_shape [%T, 4, 16] : tensor<?x16xbf16> into tensor<?x4x16xbf16>
  %ko = tensor.expand_shape %kn [[0, 1], [2]] output_shape [%T, 2, 16] : tensor<?x16xbf16> into tensor<?x2x16xbf16>
  return %qo, %ko, %v : tensor<?x4x16xbf16>, tensor<?x2x16xbf16>, tensor<?x32xbf16>
}
