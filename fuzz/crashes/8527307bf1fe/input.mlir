#map = affine_map<()[s0] -> (s0 * 128)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (d0, 0)>
#map3 = affine_map<(d0, d1) -> (d1)>
#map4 = affine_map<()[s0] -> (s0 * 32)>
#map5 = affine_map<(d0, d1) -> (d0)>
#map6 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map7 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
#map8 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map9 = affine_map<(d0, d1) -> (0, d1)>
#map10 = affine_map<(d0, d1, d2) -> (d1, d2)>
#map11 = affine_map<(d0, d1, d2) -> ()>
#map12 = affine_map<(d0, d1, d2) -> (d0, d1)>
#map13 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
module {
  func.func @qwen3_moe_sglang_f32_dynamic(%arg0: tensor<?xi64>, %arg1: tensor<?x64xf32>) -> tensor<?x64xf32> {
    %c2_i64 = arith.constant 2 : i64
    %c32_i64 = arith.constant 32 : i64
    %c1_i64 = arith.constant 1 : i64
    %c0_i64 = arith.constant 0 : i64
    %c1 = arith.constant 1 : index
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %c128 = arith.constant 128 : index
    %c32 = arith.constant 32 : index
    %c4_i64 = arith.constant 4 : i64
    %true = arith.constant true
    %cst_0 = arith.constant 0xFF800000 : f32
    %cst_1 = arith.constant dense<0xFF800000> : tensor<f32>
    %cst_2 = arith.constant dense_resource<torch_tensor_64_128_torch.float32> : tensor<64x128xf32>
    %cst_3 = arith.constant 0.17677669529663689 : f64
    %cst_4 = arith.constant dense_resource<torch_tensor_64_32_torch.float32> : tensor<64x32xf32>
    %cst_5 = arith.constant dense_resource<torch_tensor_32_torch.float32_1> : tensor<32xf32>
    %cst_6 = arith.constant dense_resource<torch_tensor_32_torch.float32> : tensor<32xf32>
    %cst_7 = arith.constant 9.9999999999999995E-7 : f64
    %cst_8 = arith.constant dense_resource<torch_tensor_192_64_torch.float32> : tensor<192x64xf32>
    %cst_9 = arith.constant 3.200000e+01 : f32
    %c128_i64 = arith.constant 128 : i64
    %dim = tensor.dim %arg1, %c0 : tensor<?x64xf32>
    %0 = arith.index_cast %dim : index to i64
    %1 = tensor.empty() : tensor<64x192xf32>
    %transposed = linalg.transpose ins(%cst_8 : tensor<192x64xf32>) outs(%1 : tensor<64x192xf32>) permutation = [1, 0] 
    %2 = tensor.empty(%dim) : tensor<?x192xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x192xf32>) -> tensor<?x192xf32>
    %4 = linalg.matmul ins(%arg1, %transposed : tensor<?x64xf32>, tensor<64x192xf32>) outs(%3 : tensor<?x192xf32>) -> tensor<?x192xf32>
    %extracted_slice = tensor.extract_slice %4[0, 0] [%dim, 128] [1, 1] : tensor<?x192xf32> to tensor<?x128xf32>
    %extracted_slice_10 = tensor.extract_slice %4[0, 128] [%dim, 32] [1, 1] : tensor<?x192xf32> to tensor<?x32xf32>
    %extracted_slice_11 = tensor.extract_slice %4[0, 160] [%dim, 32] [1, 1] : tensor<?x192xf32> to tensor<?x32xf32>
    %collapsed = tensor.collapse_shape %extracted_slice [[0, 1]] : tensor<?x128xf32> into tensor<?xf32>
    %5 = affine.apply #map()[%dim]
    %6 = arith.divsi %5, %c32 : index
    %expanded = tensor.expand_shape %collapsed [[0, 1]] output_shape [%6, 32] : tensor<?xf32> into tensor<?x32xf32>
    %7 = tensor.empty(%6) : tensor<?x32xf32>
    %8 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%expanded : tensor<?x32xf32>) outs(%7 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %9 = tensor.empty(%6) : tensor<?x1xf32>
    %10 = linalg.fill ins(%cst : f32) outs(%9 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %11 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "reduction"]} ins(%8 : tensor<?x32xf32>) outs(%10 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.addf %in, %out : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %12 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%11 : tensor<?x1xf32>) outs(%9 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.divf %in, %cst_9 : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %13 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%12 : tensor<?x1xf32>) outs(%9 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.truncf %cst_7 : f64 to f32
      %122 = arith.addf %in, %121 : f32
      linalg.yield %122 : f32
    } -> tensor<?x1xf32>
    %14 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%13 : tensor<?x1xf32>) outs(%9 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = math.rsqrt %in : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %15 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%expanded, %14 : tensor<?x32xf32>, tensor<?x1xf32>) outs(%7 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %16 = linalg.generic {indexing_maps = [#map1, #map3, #map1], iterator_types = ["parallel", "parallel"]} ins(%15, %cst_6 : tensor<?x32xf32>, tensor<32xf32>) outs(%7 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %17 = tensor.empty(%dim) : tensor<?x32xf32>
    %18 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%extracted_slice_10 : tensor<?x32xf32>) outs(%17 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = math.fpowi %in, %c2_i64 : f32, i64
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %19 = tensor.empty(%dim) : tensor<?x1xf32>
    %20 = linalg.fill ins(%cst : f32) outs(%19 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %21 = linalg.generic {indexing_maps = [#map1, #map2], iterator_types = ["parallel", "reduction"]} ins(%18 : tensor<?x32xf32>) outs(%20 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.addf %in, %out : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %22 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%21 : tensor<?x1xf32>) outs(%19 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.divf %in, %cst_9 : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %23 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%22 : tensor<?x1xf32>) outs(%19 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.truncf %cst_7 : f64 to f32
      %122 = arith.addf %in, %121 : f32
      linalg.yield %122 : f32
    } -> tensor<?x1xf32>
    %24 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%23 : tensor<?x1xf32>) outs(%19 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = math.rsqrt %in : f32
      linalg.yield %121 : f32
    } -> tensor<?x1xf32>
    %25 = linalg.generic {indexing_maps = [#map1, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%extracted_slice_10, %24 : tensor<?x32xf32>, tensor<?x1xf32>) outs(%17 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %26 = linalg.generic {indexing_maps = [#map1, #map3, #map1], iterator_types = ["parallel", "parallel"]} ins(%25, %cst_5 : tensor<?x32xf32>, tensor<32xf32>) outs(%17 : tensor<?x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x32xf32>
    %collapsed_12 = tensor.collapse_shape %16 [[0, 1]] : tensor<?x32xf32> into tensor<?xf32>
    %27 = affine.apply #map4()[%6]
    %28 = arith.divsi %27, %c128 : index
    %expanded_13 = tensor.expand_shape %collapsed_12 [[0, 1]] output_shape [%28, 128] : tensor<?xf32> into tensor<?x128xf32>
    %dim_14 = tensor.dim %arg0, %c0 : tensor<?xi64>
    %29 = tensor.empty(%dim_14) : tensor<?x32xf32>
    %30 = linalg.generic {indexing_maps = [#map5, #map1], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?xi64>) outs(%29 : tensor<?x32xf32>) {
    ^bb0(%in: i64, %out: f32):
      %121 = arith.index_cast %in : i64 to index
      %122 = linalg.index 1 : index
      %extracted = tensor.extract %cst_4[%121, %122] : tensor<64x32xf32>
      linalg.yield %extracted : f32
    } -> tensor<?x32xf32>
    %extracted_slice_15 = tensor.extract_slice %30[0, 0] [%dim_14, 16] [1, 1] : tensor<?x32xf32> to tensor<?x16xf32>
    %extracted_slice_16 = tensor.extract_slice %30[0, 16] [%dim_14, 16] [1, 1] : tensor<?x32xf32> to tensor<?x16xf32>
    %31 = arith.cmpi slt, %0, %c0_i64 : i64
    %32 = arith.select %31, %c1_i64, %0 : i64
    %33 = arith.extui %31 : i1 to i64
    %34 = arith.addi %33, %c1_i64 : i64
    %35 = arith.muli %32, %c32_i64 : i64
    %37 = arith.index_cast %28 : index to i64
    %38 = arith.muli %37, %c128_i64 : i64
    %39 = arith.divsi %38, %35 : i64
    %40 = arith.select %31, %39, %0 : i64
    %from_elements = tensor.from_elements %40, %39, %c32_i64 : tensor<3xi64>
    %reshape = tensor.reshape %expanded_13(%from_elements) : (tensor<?x128xf32>, tensor<3xi64>) -> tensor<?x4x32xf32>
    %concat = tensor.concat dim(1) %extracted_slice_15, %extracted_slice_15 : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
    %expanded_17 = tensor.expand_shape %concat [[0], [1, 2]] output_shape [%dim_14, 1, 32] : tensor<?x32xf32> into tensor<?x1x32xf32>
    %concat_18 = tensor.concat dim(1) %extracted_slice_16, %extracted_slice_16 : (tensor<?x16xf32>, tensor<?x16xf32>) -> tensor<?x32xf32>
    %expanded_19 = tensor.expand_shape %concat_18 [[0], [1, 2]] output_shape [%dim_14, 1, 32] : tensor<?x32xf32> into tensor<?x1x32xf32>
    %41 = arith.index_cast %40 : i64 to index
    %43 = tensor.empty(%41) : tensor<?x4x32xf32>
    %44 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%reshape, %expanded_17 : tensor<?x4x32xf32>, tensor<?x1x32xf32>) outs(%43 : tensor<?x4x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x4x32xf32>
    %extracted_slice_20 = tensor.extract_slice %reshape[0, 0, 0] [%41, 4, 16] [1, 1, 1] : tensor<?x4x32xf32> to tensor<?x4x16xf32>
    %extracted_slice_21 = tensor.extract_slice %reshape[0, 0, 16] [%41, 4, 16] [1, 1, 1] : tensor<?x4x32xf32> to tensor<?x4x16xf32>
    %45 = tensor.empty(%41) : tensor<?x4x16xf32>
    %46 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%extracted_slice_21 : tensor<?x4x16xf32>) outs(%45 : tensor<?x4x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.negf %in : f32
      linalg.yield %121 : f32
    } -> tensor<?x4x16xf32>
    %concat_22 = tensor.concat dim(2) %46, %extracted_slice_20 : (tensor<?x4x16xf32>, tensor<?x4x16xf32>) -> tensor<?x4x32xf32>
    %dim_23 = tensor.dim %46, %c0 : tensor<?x4x16xf32>
    %48 = tensor.empty(%dim_23) : tensor<?x4x32xf32>
    %49 = linalg.generic {indexing_maps = [#map6, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat_22, %expanded_19 : tensor<?x4x32xf32>, tensor<?x1x32xf32>) outs(%48 : tensor<?x4x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x4x32xf32>
    %51 = linalg.generic {indexing_maps = [#map6, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%44, %49 : tensor<?x4x32xf32>, tensor<?x4x32xf32>) outs(%43 : tensor<?x4x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.addf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x4x32xf32>
    %52 = arith.muli %0, %c32_i64 : i64
    %53 = arith.divsi %52, %35 : i64
    %54 = arith.select %31, %53, %0 : i64
    %from_elements_24 = tensor.from_elements %54, %53, %c32_i64 : tensor<3xi64>
    %reshape_25 = tensor.reshape %26(%from_elements_24) : (tensor<?x32xf32>, tensor<3xi64>) -> tensor<?x1x32xf32>
    %55 = arith.index_cast %54 : i64 to index
    %57 = tensor.empty(%55) : tensor<?x1x32xf32>
    %58 = linalg.generic {indexing_maps = [#map6, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%reshape_25, %expanded_17 : tensor<?x1x32xf32>, tensor<?x1x32xf32>) outs(%57 : tensor<?x1x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x1x32xf32>
    %extracted_slice_26 = tensor.extract_slice %reshape_25[0, 0, 0] [%55, 1, 16] [1, 1, 1] : tensor<?x1x32xf32> to tensor<?x1x16xf32>
    %extracted_slice_27 = tensor.extract_slice %reshape_25[0, 0, 16] [%55, 1, 16] [1, 1, 1] : tensor<?x1x32xf32> to tensor<?x1x16xf32>
    %59 = tensor.empty(%55) : tensor<?x1x16xf32>
    %60 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%extracted_slice_27 : tensor<?x1x16xf32>) outs(%59 : tensor<?x1x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.negf %in : f32
      linalg.yield %121 : f32
    } -> tensor<?x1x16xf32>
    %concat_28 = tensor.concat dim(2) %60, %extracted_slice_26 : (tensor<?x1x16xf32>, tensor<?x1x16xf32>) -> tensor<?x1x32xf32>
    %dim_29 = tensor.dim %60, %c0 : tensor<?x1x16xf32>
    %62 = tensor.empty(%dim_29) : tensor<?x1x32xf32>
    %63 = linalg.generic {indexing_maps = [#map6, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%concat_28, %expanded_19 : tensor<?x1x32xf32>, tensor<?x1x32xf32>) outs(%62 : tensor<?x1x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.mulf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x1x32xf32>
    %65 = linalg.generic {indexing_maps = [#map6, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%58, %63 : tensor<?x1x32xf32>, tensor<?x1x32xf32>) outs(%57 : tensor<?x1x32xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.addf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<?x1x32xf32>
    %66 = tensor.empty(%41) : tensor<4x?x32xf32>
    %transposed_30 = linalg.transpose ins(%51 : tensor<?x4x32xf32>) outs(%66 : tensor<4x?x32xf32>) permutation = [1, 0, 2] 
    %67 = tensor.empty(%55) : tensor<1x?x32xf32>
    %transposed_31 = linalg.transpose ins(%65 : tensor<?x1x32xf32>) outs(%67 : tensor<1x?x32xf32>) permutation = [1, 0, 2] 
    %expanded_32 = tensor.expand_shape %extracted_slice_11 [[0], [1, 2]] output_shape [%dim, 1, 32] : tensor<?x32xf32> into tensor<?x1x32xf32>
    %68 = tensor.empty(%dim) : tensor<1x?x32xf32>
    %transposed_33 = linalg.transpose ins(%expanded_32 : tensor<?x1x32xf32>) outs(%68 : tensor<1x?x32xf32>) permutation = [1, 0, 2] 
    %expanded_34 = tensor.expand_shape %transposed_31 [[0], [1, 2], [3]] output_shape [1, 1, %55, 32] : tensor<1x?x32xf32> into tensor<1x1x?x32xf32>
    %70 = tensor.empty(%dim) : tensor<1x4x?x32xf32>
    %71 = linalg.generic {indexing_maps = [#map8], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%70 : tensor<1x4x?x32xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 2 : index
      %122 = linalg.index 3 : index
      %123 = arith.cmpi eq, %55, %c1 : index
      %124 = arith.select %123, %c0, %121 : index
      %extracted = tensor.extract %expanded_34[%c0, %c0, %124, %122] : tensor<1x1x?x32xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x4x?x32xf32>
    %collapsed_35 = tensor.collapse_shape %71 [[0, 1], [2], [3]] : tensor<1x4x?x32xf32> into tensor<4x?x32xf32>
    %expanded_36 = tensor.expand_shape %transposed_33 [[0], [1, 2], [3]] output_shape [1, 1, %dim, 32] : tensor<1x?x32xf32> into tensor<1x1x?x32xf32>
    %72 = linalg.generic {indexing_maps = [#map8], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%70 : tensor<1x4x?x32xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 2 : index
      %122 = linalg.index 3 : index
      %123 = arith.cmpi eq, %dim, %c1 : index
      %124 = arith.select %123, %c0, %121 : index
      %extracted = tensor.extract %expanded_36[%c0, %c0, %124, %122] : tensor<1x1x?x32xf32>
      linalg.yield %extracted : f32
    } -> tensor<1x4x?x32xf32>
    %collapsed_37 = tensor.collapse_shape %72 [[0, 1], [2], [3]] : tensor<1x4x?x32xf32> into tensor<4x?x32xf32>
    %73 = tensor.empty(%dim) : tensor<4x32x?xf32>
    %transposed_38 = linalg.transpose ins(%collapsed_35 : tensor<4x?x32xf32>) outs(%73 : tensor<4x32x?xf32>) permutation = [0, 2, 1] 
    %74 = tensor.empty(%dim) : tensor<4x?x32xf32>
    %75 = linalg.generic {indexing_maps = [#map6], iterator_types = ["parallel", "parallel", "parallel"]} outs(%74 : tensor<4x?x32xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 0 : index
      %122 = linalg.index 1 : index
      %123 = linalg.index 2 : index
      %124 = arith.cmpi eq, %41, %c1 : index
      %125 = arith.select %124, %c0, %122 : index
      %extracted = tensor.extract %transposed_30[%121, %125, %123] : tensor<4x?x32xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x?x32xf32>
    %76 = linalg.generic {indexing_maps = [#map6], iterator_types = ["parallel", "parallel", "parallel"]} outs(%73 : tensor<4x32x?xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 0 : index
      %122 = linalg.index 1 : index
      %123 = linalg.index 2 : index
      %124 = arith.cmpi eq, %dim, %c1 : index
      %125 = arith.select %124, %c0, %123 : index
      %extracted = tensor.extract %transposed_38[%121, %122, %125] : tensor<4x32x?xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x32x?xf32>
    %77 = tensor.empty(%dim, %dim) : tensor<4x?x?xf32>
    %78 = linalg.fill ins(%cst : f32) outs(%77 : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
    %79 = linalg.batch_matmul ins(%75, %76 : tensor<4x?x32xf32>, tensor<4x32x?xf32>) outs(%78 : tensor<4x?x?xf32>) -> tensor<4x?x?xf32>
    %80 = arith.muli %0, %c4_i64 : i64
    %81 = arith.select %31, %c4_i64, %80 : i64
    %82 = arith.muli %81, %0 : i64
    %83 = arith.select %31, %c4_i64, %82 : i64
    %84 = arith.select %31, %34, %33 : i64
    %86 = arith.muli %80, %0 : i64
    %87 = arith.divsi %86, %83 : i64
    %88 = arith.select %31, %87, %0 : i64
    %from_elements_39 = tensor.from_elements %c4_i64, %88, %88 : tensor<3xi64>
    %reshape_40 = tensor.reshape %79(%from_elements_39) : (tensor<4x?x?xf32>, tensor<3xi64>) -> tensor<4x?x?xf32>
    %89 = arith.index_cast %88 : i64 to index
    %90 = tensor.empty(%89, %89) : tensor<4x?x?xf32>
    %91 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%reshape_40 : tensor<4x?x?xf32>) outs(%90 : tensor<4x?x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.truncf %cst_3 : f64 to f32
      %122 = arith.mulf %in, %121 : f32
      linalg.yield %122 : f32
    } -> tensor<4x?x?xf32>
    %expanded_41 = tensor.expand_shape %arg0 [[0, 1]] output_shape [1, %dim_14] : tensor<?xi64> into tensor<?x?xi64>
    %expanded_42 = tensor.expand_shape %arg0 [[0, 1]] output_shape [%dim_14, 1] : tensor<?xi64> into tensor<?x1xi64>
    %92 = tensor.empty(%dim_14, %dim_14) : tensor<?x?xi1>
    %93 = linalg.generic {indexing_maps = [#map9, #map2, #map1], iterator_types = ["parallel", "parallel"]} ins(%expanded_41, %expanded_42 : tensor<?x?xi64>, tensor<?x1xi64>) outs(%92 : tensor<?x?xi1>) {
    ^bb0(%in: i64, %in_48: i64, %out: i1):
      %121 = arith.cmpi sle, %in, %in_48 : i64
      linalg.yield %121 : i1
    } -> tensor<?x?xi1>
    %94 = linalg.generic {indexing_maps = [#map1, #map1], iterator_types = ["parallel", "parallel"]} ins(%93 : tensor<?x?xi1>) outs(%92 : tensor<?x?xi1>) {
    ^bb0(%in: i1, %out: i1):
      %121 = arith.xori %in, %true : i1
      linalg.yield %121 : i1
    } -> tensor<?x?xi1>
    %96 = tensor.empty(%dim_14, %dim_14) : tensor<4x?x?xf32>
    %97 = linalg.generic {indexing_maps = [#map10, #map11, #map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%94, %cst_1, %91 : tensor<?x?xi1>, tensor<f32>, tensor<4x?x?xf32>) outs(%96 : tensor<4x?x?xf32>) {
    ^bb0(%in: i1, %in_48: f32, %in_49: f32, %out: f32):
      %121 = arith.select %in, %in_48, %in_49 : f32
      linalg.yield %121 : f32
    } -> tensor<4x?x?xf32>
    %98 = tensor.empty(%dim_14) : tensor<4x?xi64>
    %99 = linalg.fill ins(%c0_i64 : i64) outs(%98 : tensor<4x?xi64>) -> tensor<4x?xi64>
    %100 = tensor.empty(%dim_14) : tensor<4x?xf32>
    %101 = linalg.fill ins(%cst_0 : f32) outs(%100 : tensor<4x?xf32>) -> tensor<4x?xf32>
    %102:2 = linalg.generic {indexing_maps = [#map6, #map12, #map12], iterator_types = ["parallel", "parallel", "reduction"]} ins(%97 : tensor<4x?x?xf32>) outs(%101, %99 : tensor<4x?xf32>, tensor<4x?xi64>) {
    ^bb0(%in: f32, %out: f32, %out_48: i64):
      %121 = linalg.index 2 : index
      %122 = arith.index_cast %121 : index to i64
      %123 = arith.maximumf %in, %out : f32
      %124 = arith.cmpf ogt, %in, %out : f32
      %125 = arith.select %124, %122, %out_48 : i64
      linalg.yield %123, %125 : f32, i64
    } -> (tensor<4x?xf32>, tensor<4x?xi64>)
    %expanded_43 = tensor.expand_shape %102#0 [[0], [1, 2]] output_shape [4, %dim_14, 1] : tensor<4x?xf32> into tensor<4x?x1xf32>
    %103 = linalg.generic {indexing_maps = [#map6, #map13, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%97, %expanded_43 : tensor<4x?x?xf32>, tensor<4x?x1xf32>) outs(%96 : tensor<4x?x?xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.subf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<4x?x?xf32>
    %104 = linalg.generic {indexing_maps = [#map6, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%103 : tensor<4x?x?xf32>) outs(%96 : tensor<4x?x?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = math.exp %in : f32
      linalg.yield %121 : f32
    } -> tensor<4x?x?xf32>
    %105 = tensor.empty(%dim_14) : tensor<4x?x1xf32>
    %106 = linalg.fill ins(%cst : f32) outs(%105 : tensor<4x?x1xf32>) -> tensor<4x?x1xf32>
    %107 = linalg.generic {indexing_maps = [#map6, #map13], iterator_types = ["parallel", "parallel", "reduction"]} ins(%104 : tensor<4x?x?xf32>) outs(%106 : tensor<4x?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %121 = arith.addf %in, %out : f32
      linalg.yield %121 : f32
    } -> tensor<4x?x1xf32>
    %108 = linalg.generic {indexing_maps = [#map6, #map13, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%104, %107 : tensor<4x?x?xf32>, tensor<4x?x1xf32>) outs(%96 : tensor<4x?x?xf32>) {
    ^bb0(%in: f32, %in_48: f32, %out: f32):
      %121 = arith.divf %in, %in_48 : f32
      linalg.yield %121 : f32
    } -> tensor<4x?x?xf32>
    %109 = linalg.generic {indexing_maps = [#map6], iterator_types = ["parallel", "parallel", "parallel"]} outs(%77 : tensor<4x?x?xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 0 : index
      %122 = linalg.index 1 : index
      %123 = linalg.index 2 : index
      %124 = arith.cmpi eq, %dim_14, %c1 : index
      %125 = arith.select %124, %c0, %122 : index
      %126 = arith.select %124, %c0, %123 : index
      %extracted = tensor.extract %108[%121, %125, %126] : tensor<4x?x?xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x?x?xf32>
    %reshape_44 = tensor.reshape %109(%from_elements_39) : (tensor<4x?x?xf32>, tensor<3xi64>) -> tensor<4x?x?xf32>
    %110 = linalg.generic {indexing_maps = [#map6], iterator_types = ["parallel", "parallel", "parallel"]} outs(%74 : tensor<4x?x32xf32>) {
    ^bb0(%out: f32):
      %121 = linalg.index 0 : index
      %122 = linalg.index 1 : index
      %123 = linalg.index 2 : index
      %124 = arith.cmpi eq, %dim, %c1 : index
      %125 = arith.select %124, %c0, %122 : index
      %extracted = tensor.extract %collapsed_37[%121, %125, %123] : tensor<4x?x32xf32>
      linalg.yield %extracted : f32
    } -> tensor<4x?x32xf32>
    %112 = tensor.empty(%89) : tensor<4x?x32xf32>
    %113 = linalg.fill ins(%cst : f32) outs(%112 : tensor<4x?x32xf32>) -> tensor<4x?x32xf32>
    %114 = linalg.batch_matmul ins(%reshape_44, %110 : tensor<4x?x?xf32>, tensor<4x?x32xf32>) outs(%113 : tensor<4x?x32xf32>) -> tensor<4x?x32xf32>
    %115 = tensor.empty(%89) : tensor<?x4x32xf32>
    %transposed_45 = linalg.transpose ins(%114 : tensor<4x?x32xf32>) outs(%115 : tensor<?x4x32xf32>) permutation = [1, 0, 2] 
    %collapsed_46 = tensor.collapse_shape %transposed_45 [[0], [1, 2]] : tensor<?x4x32xf32> into tensor<?x128xf32>
    %116 = tensor.empty() : tensor<128x64xf32>
    %transposed_47 = linalg.transpose ins(%cst_2 : tensor<64x128xf32>) outs(%116 : tensor<128x64xf32>) permutation = [1, 0] 
    %117 = arith.index_cast %88 : i64 to index
    %118 = tensor.empty(%117) : tensor<?x64xf32>
    %119 = linalg.fill ins(%cst : f32) outs(%118 : tensor<?x64xf32>) -> tensor<?x64xf32>
    %120 = linalg.matmul ins(%collapsed_46, %transposed_47 : tensor<?x128xf32>, tensor<128x64xf32>) outs(%119 : tensor<?x64xf32>) -> tensor<?x64xf32>
    return %120 : tensor<?x64xf32>
  }
}
{-#
  dialect_resources: {
    builtin: {
    }
  }
#-}
