func.func @llama4_rope_then_norm_inserted_whole(%qkv: tensor<?x256xf32>, %qk_rot: tensor<?x192xf32>) -> (tensor<?x192xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %T = tensor.dim %qkv, %c0 : tensor<?x256xf32>
  %all = tensor.insert_slice %qk_rot into %qkv[0, 0] [%T, 192] [1, 1] : tensor<?x192xf32> into tensor<?x256xf32>
  %v = tensor.extract_slice %all[0, 192] [%T, 64] [1, 1] : tensor<?x256xf32> to tensor<?x64xf32>
  %flat = tensor.collapse_shape %qk_rot [[0, 1]] : tensor<?x192xf32> into tensor<?xf32>
  %c6 = arith.constant 6 : index
  %rows = arith.muli %c6, %T : index
  %heads = tensor.expand_shape %flat [[0, 1]] output_shape [%rows, 32] : tensor<?xf32> into tensor<?x0xf32>
  %e = tensor.empty(%rows) : tensor<?x0xf32>
  %n = qk.rms_norm ins(%heads : tensor<?x0xf32>) outs(%e : tensor<?x0xf32>) epsilon(1.0e-05) -> tensor<?x0xf32>
  %nf = tensor.collapse_shape %n [[0, 1]] : tensor<?x0xf32> into tensor<?xf32>
  %out = tensor.expand_shape %nf [[0, 1]] output_shape [%T, 192] : tensor<?xf32> into tensor<?x192xf32>
  return %out, %v : tensor<?x192xf32>, tensor<?x64xf32>
}
