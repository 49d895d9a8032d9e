// positive.mlir after `mlir-opt --linalg-fuse-elementwise-ops` (LLVM/MLIR 22.1.8), unedited apart
// from this header. Regenerate with:
//   mlir-opt --linalg-fuse-elementwise-ops positive.mlir   (then re-add this header)
// Every function is still an RMSNorm and must be raised. What the pass produced:
//  - f32 inputs: 2 generics: a reduction (square fused into its body: mulf/powf/fpowi then addf
//    into the linalg.fill 0.0 init) and one elementwise tail.
//  - bf16/f16 inputs: 3 generics: the `extf x` generic is NOT fused, because it has two users (the
//    square and the x * r multiply) and the pass only fuses single-use producers; both the reduction
//    and the tail read its f32 result.
//  - The per-row chain (divf by N, addf eps, rsqrt) is pulled into the elementwise tail and reads the
//    reduction result through the broadcast map ((d0, d1) -> (d0, 0) or (d0, d1) -> (d0)): it is
//    recomputed per element, not per row.
//  - The 1-D weight generics (extf w, 1.0 + w) are fused into the tail; the tail's operand order
//    follows the original multiplies (HF forms read the weight first).
//  - Block arguments are renamed (%in, %in_2, ...) and function arguments become %arg0, %arg1.
// Input file (no RUN lines).
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d0, 0)>
#map2 = affine_map<(d0, d1) -> (d1)>
#map3 = affine_map<(d0, d1) -> (d0)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map5 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map6 = affine_map<(d0, d1, d2) -> (d2)>
module {
  func.func @torch_aten_rms_norm_bf16_keepdim_const0(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
      %7 = arith.divf %in_2, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.extf %in_3 : bf16 to f32
      %12 = arith.mulf %10, %11 : f32
      %13 = arith.truncf %12 : f32 to bf16
      linalg.yield %13 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @torch_aten_rms_norm_bf16_keepdim_dropped(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?xf32>) -> tensor<?xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map3], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map3, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?xf32>, tensor<128xbf16>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
      %7 = arith.divf %in_2, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.extf %in_3 : bf16 to f32
      %12 = arith.mulf %10, %11 : f32
      %13 = arith.truncf %12 : f32 to bf16
      linalg.yield %13 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @torch_aten_rms_norm_bf16_weight_extf_generic(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
      %7 = arith.extf %in_3 : bf16 to f32
      %8 = arith.divf %in_2, %cst_0 : f32
      %9 = arith.addf %8, %cst_1 : f32
      %10 = math.rsqrt %9 : f32
      %11 = arith.mulf %in, %10 : f32
      %12 = arith.mulf %11, %7 : f32
      %13 = arith.truncf %12 : f32 to bf16
      linalg.yield %13 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @hf_rms_norm_bf16_powf_round_before_weight(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 2.000000e+00 : f32
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant 1.280000e+02 : f32
    %cst_2 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = math.powf %in, %cst : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map2, #map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg1, %1, %4 : tensor<128xbf16>, tensor<?x128xf32>, tensor<?x1xf32>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_3: f32, %in_4: f32, %out: bf16):
      %7 = arith.divf %in_4, %cst_1 : f32
      %8 = arith.addf %7, %cst_2 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in_3, %9 : f32
      %11 = arith.truncf %10 : f32 to bf16
      %12 = arith.mulf %in, %11 : bf16
      linalg.yield %12 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @hf_rms_norm_bf16_fpowi_round_before_weight(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %c2_i32 = arith.constant 2 : i32
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = math.fpowi %in, %c2_i32 : f32, i32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map2, #map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg1, %1, %4 : tensor<128xbf16>, tensor<?x128xf32>, tensor<?x1xf32>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_2: f32, %in_3: f32, %out: bf16):
      %7 = arith.divf %in_3, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in_2, %9 : f32
      %11 = arith.truncf %10 : f32 to bf16
      %12 = arith.mulf %in, %11 : bf16
      linalg.yield %12 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @hf_rms_norm_bf16_mulf_round_before_weight(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map2, #map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%arg1, %1, %4 : tensor<128xbf16>, tensor<?x128xf32>, tensor<?x1xf32>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: bf16, %in_2: f32, %in_3: f32, %out: bf16):
      %7 = arith.divf %in_3, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in_2, %9 : f32
      %11 = arith.truncf %10 : f32 to bf16
      %12 = arith.mulf %in, %11 : bf16
      linalg.yield %12 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @gemma3_rms_norm_bf16_one_plus_w(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %cst_2 = arith.constant 1.000000e+00 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xbf16>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_3: f32, %in_4: bf16, %out: bf16):
      %7 = arith.extf %in_4 : bf16 to f32
      %8 = arith.addf %7, %cst_2 : f32
      %9 = arith.divf %in_3, %cst_0 : f32
      %10 = arith.addf %9, %cst_1 : f32
      %11 = math.rsqrt %10 : f32
      %12 = arith.mulf %in, %11 : f32
      %13 = arith.mulf %12, %8 : f32
      %14 = arith.truncf %13 : f32 to bf16
      linalg.yield %14 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @llama4_l2_norm_bf16_no_weight(%arg0: tensor<?x128xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 2.000000e+00 : f32
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_1 = arith.constant 1.280000e+02 : f32
    %cst_2 = arith.constant 9.99999974E-6 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst_0 : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = math.powf %in, %cst : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4 : tensor<?x128xf32>, tensor<?x1xf32>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_3: f32, %out: bf16):
      %7 = arith.divf %in_3, %cst_1 : f32
      %8 = arith.addf %7, %cst_2 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.truncf %10 : f32 to bf16
      linalg.yield %11 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
  func.func @torch_aten_rms_norm_f32_static_64x128(%arg0: tensor<64x128xf32>, %arg1: tensor<128xf32>) -> tensor<64x128xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %0 = tensor.empty() : tensor<64x1xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<64x1xf32>) -> tensor<64x1xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<64x128xf32>) outs(%1 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %5 = arith.mulf %in, %in : f32
      %6 = arith.addf %5, %out : f32
      linalg.yield %6 : f32
    } -> tensor<64x1xf32>
    %3 = tensor.empty() : tensor<64x128xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %2, %arg1 : tensor<64x128xf32>, tensor<64x1xf32>, tensor<128xf32>) outs(%3 : tensor<64x128xf32>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: f32):
      %5 = arith.divf %in_2, %cst_0 : f32
      %6 = arith.addf %5, %cst_1 : f32
      %7 = math.rsqrt %6 : f32
      %8 = arith.mulf %in, %7 : f32
      %9 = arith.mulf %8, %in_3 : f32
      linalg.yield %9 : f32
    } -> tensor<64x128xf32>
    return %4 : tensor<64x128xf32>
  }
  func.func @torch_aten_rms_norm_f32_dynamic(%arg0: tensor<?x128xf32>, %arg1: tensor<128xf32>) -> tensor<?x128xf32> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xf32>
    %0 = tensor.empty(%dim) : tensor<?x1xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<?x128xf32>) outs(%1 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %5 = arith.mulf %in, %in : f32
      %6 = arith.addf %5, %out : f32
      linalg.yield %6 : f32
    } -> tensor<?x1xf32>
    %3 = tensor.empty(%dim) : tensor<?x128xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0, %2, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xf32>) outs(%3 : tensor<?x128xf32>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: f32):
      %5 = arith.divf %in_2, %cst_0 : f32
      %6 = arith.addf %5, %cst_1 : f32
      %7 = math.rsqrt %6 : f32
      %8 = arith.mulf %in, %7 : f32
      %9 = arith.mulf %8, %in_3 : f32
      linalg.yield %9 : f32
    } -> tensor<?x128xf32>
    return %4 : tensor<?x128xf32>
  }
  func.func @torch_aten_rms_norm_f16_static_64x128(%arg0: tensor<64x128xf16>, %arg1: tensor<128xf16>) -> tensor<64x128xf16> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %0 = tensor.empty() : tensor<64x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<64x128xf16>) outs(%0 : tensor<64x128xf32>) {
    ^bb0(%in: f16, %out: f32):
      %7 = arith.extf %in : f16 to f32
      linalg.yield %7 : f32
    } -> tensor<64x128xf32>
    %2 = tensor.empty() : tensor<64x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<64x1xf32>) -> tensor<64x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<64x128xf32>) outs(%3 : tensor<64x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<64x1xf32>
    %5 = tensor.empty() : tensor<64x128xf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<64x128xf32>, tensor<64x1xf32>, tensor<128xf16>) outs(%5 : tensor<64x128xf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: f16, %out: f16):
      %7 = arith.divf %in_2, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.extf %in_3 : f16 to f32
      %12 = arith.mulf %10, %11 : f32
      %13 = arith.truncf %12 : f32 to f16
      linalg.yield %13 : f16
    } -> tensor<64x128xf16>
    return %6 : tensor<64x128xf16>
  }
  func.func @torch_aten_rms_norm_bf16_3d_keepdim_const0(%arg0: tensor<?x8x128xbf16>, %arg1: tensor<128xbf16>) -> tensor<?x8x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x8x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x8x128xf32>
    %1 = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0 : tensor<?x8x128xbf16>) outs(%0 : tensor<?x8x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x8x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x8x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x8x1xf32>) -> tensor<?x8x1xf32>
    %4 = linalg.generic {indexing_maps = [#map4, #map5], iterator_types = ["parallel", "parallel", "reduction"]} ins(%1 : tensor<?x8x128xf32>) outs(%3 : tensor<?x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x8x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x8x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map4, #map5, #map6, #map4], iterator_types = ["parallel", "parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x8x128xf32>, tensor<?x8x1xf32>, tensor<128xbf16>) outs(%5 : tensor<?x8x128xbf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: bf16, %out: bf16):
      %7 = arith.divf %in_2, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.extf %in_3 : bf16 to f32
      %12 = arith.mulf %10, %11 : f32
      %13 = arith.truncf %12 : f32 to bf16
      linalg.yield %13 : bf16
    } -> tensor<?x8x128xbf16>
    return %6 : tensor<?x8x128xbf16>
  }
  func.func @torch_aten_rms_norm_bf16_act_f32_weight(%arg0: tensor<?x128xbf16>, %arg1: tensor<128xf32>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 1.280000e+02 : f32
    %cst_1 = arith.constant 9.99999997E-7 : f32
    %dim = tensor.dim %arg0, %c0 : tensor<?x128xbf16>
    %0 = tensor.empty(%dim) : tensor<?x128xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%arg0 : tensor<?x128xbf16>) outs(%0 : tensor<?x128xf32>) {
    ^bb0(%in: bf16, %out: f32):
      %7 = arith.extf %in : bf16 to f32
      linalg.yield %7 : f32
    } -> tensor<?x128xf32>
    %2 = tensor.empty(%dim) : tensor<?x1xf32>
    %3 = linalg.fill ins(%cst : f32) outs(%2 : tensor<?x1xf32>) -> tensor<?x1xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "reduction"]} ins(%1 : tensor<?x128xf32>) outs(%3 : tensor<?x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %7 = arith.mulf %in, %in : f32
      %8 = arith.addf %7, %out : f32
      linalg.yield %8 : f32
    } -> tensor<?x1xf32>
    %5 = tensor.empty(%dim) : tensor<?x128xbf16>
    %6 = linalg.generic {indexing_maps = [#map, #map1, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%1, %4, %arg1 : tensor<?x128xf32>, tensor<?x1xf32>, tensor<128xf32>) outs(%5 : tensor<?x128xbf16>) {
    ^bb0(%in: f32, %in_2: f32, %in_3: f32, %out: bf16):
      %7 = arith.divf %in_2, %cst_0 : f32
      %8 = arith.addf %7, %cst_1 : f32
      %9 = math.rsqrt %8 : f32
      %10 = arith.mulf %in, %9 : f32
      %11 = arith.mulf %10, %in_3 : f32
      %12 = arith.truncf %11 : f32 to bf16
      linalg.yield %12 : bf16
    } -> tensor<?x128xbf16>
    return %6 : tensor<?x128xbf16>
  }
}

