#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#tok = affine_map<(d0, d1, d2) -> (d0, d2)>
#out2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @broadcast_other_row(%qkv: tensor<?x24xbf16>, %cos: tensor<?x8xf32>, %sin: tensor<?x8xf32>) -> (tensor<?x24xbf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %n = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %cnt = tensor.dim %qkv, %c0 : tensor<?x24xbf16>
  %q = tensor.extract_slice %qkv[0, 0] [%n, 16] [1, 1] : tensor<?x24xbf16> to tensor<?x16xbf16>
  %qh = tensor.expand_shape %q [[0], [1, 2]] output_shape [%n, 2, 8] : tensor<?x16xbf16> into tensor<?x2x8xbf16>
  %qr_e = tensor.empty(%n) : tensor<?x2x8xbf16>
  %qr = linalg.generic {indexing_maps = [#id, #tok, #tok, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%qh, %cos, %sin : tensor<?x2x8xbf16>, tensor<?x8xf32>, tensor<?x8xf32>) outs(%qr_e : tensor<?x2x8xbf16>) {
    ^bb0(%in: bf16, %c: f32, %s: f32, %out: bf16):
      %t = linalg.index 0 : index
      %hh = linalg.index 1 : index
      %j = linalg.index 2 : index
      %js = arith.addi %j, %c4 : index
      %jp = arith.remui %js, %c8 : index
      %xp = tensor.extract %qh[%t, %hh, %jp] : tensor<?x2x8xbf16>
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
    } -> tensor<?x2x8xbf16>
  %qc = tensor.collapse_shape %qr [[0], [1, 2]] : tensor<?x2x8xbf16> into tensor<?x16xbf16>
  %bc_e = tensor.empty(%n) : tensor<?x16xbf16>
  %bc = linalg.generic {indexing_maps = [#out2], iterator_types = ["parallel", "parallel"]} outs(%bc_e : tensor<?x16xbf16>) {
    ^bb0(%out: bf16):
      %t = linalg.index 0 : index
      %j = linalg.index 1 : index
      %is1 = arith.cmpi eq, %cnt, %c1 : index
      %row = arith.select %is1, %c4, %t : index
      %x = tensor.extract %qc[%row, %j] : tensor<?x16xbf16>
      linalg.yield %x : bf16
    } -> tensor<?x16xbf16>
  %i1 = tensor.insert_slice %bc into %qkv[0, 0] [%n, 16] [1, 0] : tensor<?x16xbf16> into tensor<?x24xbf16>
  %f = qk.fused_qk_norm outs(%i1 : tensor<?x24xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 8, epsilon = 1.0e-05>] -> tensor<?x24xbf16>
  return %f : tensor<?x24xbf16>
}
