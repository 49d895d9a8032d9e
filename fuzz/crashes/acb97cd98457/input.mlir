func.func @gemma3_one_plus_w(%qkv: tensor<2x128xbf16>, %wq: tensor<16xf32>, %wk: tensor<16xf32>) -> (tensor<?x16xbf16>, tensor<?x16xbf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<2x128xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%T, 64] [1, 1] : tensor<2x128xbf16> to tensor<?x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [%T, 32] [1, 1] : tensor<2x128xbf16> to tensor<?x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [%T, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<?x4x16xbf16> into tensor<?x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%T, 2, 16] : tensor<?x32xbf16> into tensor<?x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<?x2x16xbf16> into tensor<?x16xbf16>
  %c4 = arith.constant 4 : index
  %c2 = arith.constant 2 : index
  %TQ = arith.muli %T, %c4 : index
  %TK = arith.muli %T, %c2 : index
  %eq = tensor.empty(%TQ) : tensor<?x16xbf16>
  %ek = tensor.empty(%TK) : tensor<?x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xbf16>) weight(%wq : tensor<16xf32>) outs(%eq : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xbf16>) weight(%wk : tensor<16xf32>) outs(%ek : tensor<?x16xbf16>) epsilon(1.0e-06) {weight_offset = 1.0 : f32} -> tensor<?x16xbf16>
  return %qn, %kn : tensor<?x16xbf16>, tensor<?x16xbf16>
}
