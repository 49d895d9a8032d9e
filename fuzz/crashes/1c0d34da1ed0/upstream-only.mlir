#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1)>
module {
  func.func @qwen3_next_q_between_gates(%arg0: tensor<?x384xf32>) -> (tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>) {
    %c0 = arith.constant 0 : index
    %extracted_slice = tensor.extract_slice %arg0[0, 0] [%c0, 256] [1, 1] : tensor<?x384xf32> to tensor<?x256xf32>
    %expanded = tensor.expand_shape %extracted_slice [[0], [1, 2]] output_shape [%c0, 4, 64] : tensor<?x256xf32> into tensor<?x4x64xf32>
    %extracted_slice_0 = tensor.extract_slice %expanded[0, 0, 0] [%c0, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
    %extracted_slice_1 = tensor.extract_slice %expanded[0, 0, 32] [%c0, 4, 32] [1, 1, 1] : tensor<?x4x64xf32> to tensor<?x4x32xf32>
    %extracted_slice_2 = tensor.extract_slice %arg0[0, 256] [%c0, 64] [1, 1] : tensor<?x384xf32> to tensor<?x64xf32>
    %expanded_3 = tensor.expand_shape %extracted_slice_2 [[0], [1, 2]] output_shape [%c0, 2, 32] : tensor<?x64xf32> into tensor<?x2x32xf32>
    %0 = tensor.empty(%c0) : tensor<?x4x32xf32>
    %1 = tensor.empty(%c0) : tensor<?x2x32xf32>
    %cst = arith.constant 0.000000e+00 : f32
    %c0_4 = arith.constant 0 : index
    %2 = tensor.empty(%c0) : tensor<?x4xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x4xf32>) -> tensor<?x4xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%extracted_slice_0 : tensor<?x4x32xf32>) outs(%3 : tensor<?x4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = arith.mulf %in, %in : f32
      %11 = arith.addf %10, %out : f32
      linalg.yield %11 : f32
    } -> tensor<?x4xf32>
    %cst_5 = arith.constant 3.200000e+01 : f32
    %cst_6 = arith.constant 9.99999997E-7 : f32
    %5 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%extracted_slice_0, %4 : tensor<?x4x32xf32>, tensor<?x4xf32>) outs(%0 : tensor<?x4x32xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %10 = arith.divf %in_11, %cst_5 : f32
      %11 = arith.addf %10, %cst_6 : f32
      %12 = math.rsqrt %11 : f32
      %13 = arith.mulf %in, %12 : f32
      linalg.yield %13 : f32
    } -> tensor<?x4x32xf32>
    %cst_7 = arith.constant 0.000000e+00 : f32
    %c0_8 = arith.constant 0 : index
    %dim = tensor.dim %expanded_3, %c0_8 : tensor<?x2x32xf32>
    %6 = tensor.empty(%dim) : tensor<?x2xf32>
    %7 = linalg.fill ins(%cst_7 : f32) outs(%6 : tensor<?x2xf32>) -> tensor<?x2xf32>
    %8 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%expanded_3 : tensor<?x2x32xf32>) outs(%7 : tensor<?x2xf32>) {
    ^bb0(%in: f32, %out: f32):
      %10 = arith.mulf %in, %in : f32
      %11 = arith.addf %10, %out : f32
      linalg.yield %11 : f32
    } -> tensor<?x2xf32>
    %cst_9 = arith.constant 3.200000e+01 : f32
    %cst_10 = arith.constant 9.99999997E-7 : f32
    %9 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded_3, %8 : tensor<?x2x32xf32>, tensor<?x2xf32>) outs(%1 : tensor<?x2x32xf32>) {
    ^bb0(%in: f32, %in_11: f32, %out: f32):
      %10 = arith.divf %in_11, %cst_9 : f32
      %11 = arith.addf %10, %cst_10 : f32
      %12 = math.rsqrt %11 : f32
      %13 = arith.mulf %in, %12 : f32
      linalg.yield %13 : f32
    } -> tensor<?x2x32xf32>
    return %5, %9, %extracted_slice_1 : tensor<?x4x32xf32>, tensor<?x2x32xf32>, tensor<?x4x32xf32>
  }
}

