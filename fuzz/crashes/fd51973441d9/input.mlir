func.func @qkv_3d_heads(%qkv: tensor<?x8x16xf16>, %wq: tensor<?xf16>, %wk: tensor<?xf16>) -> (tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x8x16xf16>
  %q = tensor.extract_slice %qkv[0, 0, 0] [%T, 4, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x4x16xf16>
  %k = tensor.extract_slice %qkv[0, 4, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %v = tensor.extract_slice %qkv[0, 6, 0] [%T, 2, 16] [1, 1, 1] : tensor<?x8x16xf16> to tensor<?x2x16xf16>
  %q2 = tensor.collapse_shape %q [[0, 1], [2]] : tensor<?x4x16xf16> into tensor<?x16xf16>
  %k2 = tensor.collapse_shape %k [[0, 1], [2]] : tensor<?x2x16xf16> into tensor<?x16xf16>
  %c4 = arith.constant 3 : index
  %c2 = arith.constant 2 : index
  %TQ = arith.muli %T, %c4 : index
  %TK = arith.muli %T, %c2 : index
  %eq = tensor.empty(%TQ) : tensor<?x16xf16>
  %ek = tensor.empty(%TK) : tensor<?x16xf16>
  %qn = qk.rms_norm ins(%q2 : tensor<?x16xf16>) weight(%wq : tensor<?xf16>) outs(%eq : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  %kn = qk.rms_norm ins(%k2 : tensor<?x16xf16>) weight(%wk : tensor<?xf16>) outs(%ek : tensor<?x16xf16>) epsilon(1.0e-06) -> tensor<?x16xf16>
  return %qn, %kn, %v : tensor<?x16xf16>, tensor<?x16xf16>, tensor<?x2x16xf16>
}
