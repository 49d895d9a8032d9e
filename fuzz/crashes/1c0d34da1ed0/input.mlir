func.func @qwen3_next_q_between_gates(%qkv: tensor<?x384xf32>) -> (tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>) {
  %c0 = arith.constant 0 : index
  %qg = tensor.extract_slice %qkv[0, 0] [%c0, 256] [1, 1] : tensor<?x384xf32> to tensor<?x256xf32>
  %qg3 = tensor.expand_shape %qg [[0], [1, 2]] output_shape [%c0, 4, 64] : tensor<?x256xf32> into tensor<?x4x64xf32>
  %q = tensor.extract_slice %qg3[0, 0, 0] [%c0, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
  %gate = tensor.extract_slice %qg3[0, 0, 32] [%c0, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
  %k = tensor.extract_slice %qkv[0, 256] [%c0, 64] [1, 1] : tensor<?x384xf32> to tensor<?x64xf32>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [%c0, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
  %eq = tensor.empty(%c0) : tensor<?x4x32xf32>
  %ek = tensor.empty(%c0) : tensor<?x2x32xf32>
  %qn = qk.rms_norm ins(%q : tensor<?x4x32xf32>) outs(%eq : tensor<?x4x32xf32>) epsilon(1.0e-06) -> tensor<?x4x32xf32>
  %kn = qk.rms_norm ins(%k3 : tensor<?x2x32xf32>) outs(%ek : tensor<?x2x32xf32>) epsilon(1.0e-06) -> tensor<?x2x32xf32>
  return %qn, %kn, %gate : tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>
}
