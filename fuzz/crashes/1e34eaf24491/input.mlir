#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @rope_then_norm(%qkv: tensor<8x32xbf16>, %cos: tensor<8x0xf32>, %sin: tensor<8x0xf32>) -> (tensor<8x32xbf16>) {
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %q = tensor.extract_slice %qkv[0, 0] [8, 16] [1, 1] : tensor<8x32xbf16> to tensor<8x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 2, 8] : tensor<8x16xbf16> into tensor<8x2x8xbf16>
  %k = tensor.extract_slice %qkv[0, 16] [8, 8] [1, 1] : tensor<8x32xbf16> to tensor<8x8xbf16>
  %kh = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 1, 8] : tensor<8x8xbf16> into tensor<8x1x8xbf16>
  %qr_e = tensor.empty() : tensor<8x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<8x2x8xbf16>, tensor<8x0xf32>, tensor<8x0xf32>) outs(%qr_e : tensor<8x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<8x2x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x2x8xbf16>
  %kr_e = tensor.empty() : tensor<8x1x8xbf16>
  %kr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%kh, %cos, %sin : tensor<8x1x8xbf16>, tensor<8x0xf32>, tensor<8x0xf32>) outs(%kr_e : tensor<8x1x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %kh[%t, %hh, %jp] : tensor<8x1x8xbf16>
      %lo = arith.cmpi ult, %j, %c4 : index
      %xpf = arith.extf %xp : bf16 to f32
      %neg = arith.negf %xpf : f32
      %rot = arith.select %lo, %neg, %xpf : f32
      %xf = arith.extf %in : bf16 to f32
      %a = arith.mulf %xf, %c : f32
      %b = arith.mulf %rot, %s : f32
      %sum = arith.addf %a, %b : f32
      %o = arith.truncf %sum : f32 to bf16
      linalg.yield %o : bf16
    } -> tensor<8x1x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<8x2x8xbf16> into tensor<8x16xbf16>
  %kc = tensor.collapse_shape %kr [[0], [1, 2]] : tensor<8x1x8xbf16> into tensor<8x8xbf16>
  %i1 = tensor.insert_slice %qc into %qkv[0, 0] [8, 16] [1, 1] : tensor<8x16xbf16> into tensor<8x32xbf16>
  %i2 = tensor.insert_slice %kc into %i1[0, 16] [8, 8] [1, 1] : tensor<8x8xbf16> into tensor<8x32xbf16>
  %f = qk.fused_qk_norm outs(%i2 : tensor<8x32xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 3, group_size = 8, epsilon = 1.0e-05>] -> tensor<8x32xbf16>
  return %f : tensor<8x32xbf16>
}
