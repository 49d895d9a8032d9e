module {
  func.func @qwen3_separate_weights_dynamic_T(%arg0: memref<?x128xbf16, strided<[?, ?], offset: ?>>, %arg1: memref<16xbf16, strided<[?], offset: ?>>, %arg2: memref<16xbf16, strided<[?], offset: ?>>) -> (memref<?x4x16xbf16>, memref<?x2x16xbf16>, memref<?x32xbf16, strided<[?, ?], offset: ?>>) {
    %c1 = arith.constant 1 : index
    %dim = memref.dim %arg0, %c1 : memref<?x128xbf16, strided<[?, ?], offset: ?>>
    %subview = memref.subview %arg0[0, 0] [%dim, 64] [1, 1] : memref<?x128xbf16, strided<[?, ?], offset: ?>> to memref<?x64xbf16, strided<[?, ?], offset: ?>>
    %subview_0 = memref.subview %arg0[0, 64] [%dim, 32] [1, 1] : memref<?x128xbf16, strided<[?, ?], offset: ?>> to memref<?x32xbf16, strided<[?, ?], offset: ?>>
    %subview_1 = memref.subview %arg0[0, 96] [%dim, 32] [1, 1] : memref<?x128xbf16, strided<[?, ?], offset: ?>> to memref<?x32xbf16, strided<[?, ?], offset: ?>>
    %expand_shape = memref.expand_shape %subview [[0], [1, 2]] output_shape [%dim, 4, 16] : memref<?x64xbf16, strided<[?, ?], offset: ?>> into memref<?x4x16xbf16, strided<[?, ?, ?], offset: ?>>
    %c0 = arith.constant 0 : index
    %dim_2 = memref.dim %expand_shape, %c0 : memref<?x4x16xbf16, strided<[?, ?, ?], offset: ?>>
    %alloc = memref.alloc(%dim_2) {alignment = 64 : i64} : memref<?x4x16xbf16>
    memref.copy %expand_shape, %alloc : memref<?x4x16xbf16, strided<[?, ?, ?], offset: ?>> to memref<?x4x16xbf16>
    %collapse_shape = memref.collapse_shape %alloc [[0, 1], [2]] : memref<?x4x16xbf16> into memref<?x16xbf16>
    %expand_shape_3 = memref.expand_shape %subview_0 [[0], [1, 2]] output_shape [%dim, 2, 16] : memref<?x32xbf16, strided<[?, ?], offset: ?>> into memref<?x2x16xbf16, strided<[?, ?, ?], offset: ?>>
    %c0_4 = arith.constant 0 : index
    %dim_5 = memref.dim %expand_shape_3, %c0_4 : memref<?x2x16xbf16, strided<[?, ?, ?], offset: ?>>
    %alloc_6 = memref.alloc(%dim_5) {alignment = 64 : i64} : memref<?x2x16xbf16>
    memref.copy %expand_shape_3, %alloc_6 : memref<?x2x16xbf16, strided<[?, ?, ?], offset: ?>> to memref<?x2x16xbf16>
    %collapse_shape_7 = memref.collapse_shape %alloc_6 [[0, 1], [2]] : memref<?x2x16xbf16> into memref<?x16xbf16>
    %dim_8 = memref.dim %collapse_shape, %c1 : memref<?x16xbf16>
    %alloc_9 = memref.alloc(%dim_8) {alignment = 64 : i64} : memref<?x16xbf16>
    memref.copy %collapse_shape, %alloc_9 : memref<?x16xbf16> to memref<?x16xbf16>
    %dim_10 = memref.dim %collapse_shape_7, %c1 : memref<?x16xbf16>
    %alloc_11 = memref.alloc(%dim_10) {alignment = 64 : i64} : memref<?x16xbf16>
    memref.copy %collapse_shape_7, %alloc_11 : memref<?x16xbf16> to memref<?x16xbf16>
    %expand_shape_12 = memref.expand_shape %alloc_9 [[0, 1], [2]] output_shape [%dim, 4, 16] : memref<?x16xbf16> into memref<?x4x16xbf16>
    %expand_shape_13 = memref.expand_shape %alloc_11 [[0, 1], [2]] output_shape [%dim, 2, 16] : memref<?x16xbf16> into memref<?x2x16xbf16>
    %cast = memref.cast %expand_shape_12 : memref<?x4x16xbf16> to memref<?x4x16xbf16, strided<[?, ?, ?], offset: ?>>
    %cast_14 = memref.cast %expand_shape_13 : memref<?x2x16xbf16> to memref<?x2x16xbf16, strided<[?, ?, ?], offset: ?>>
    return %expand_shape_12, %expand_shape_13, %subview_1 : memref<?x4x16xbf16>, memref<?x2x16xbf16>, memref<?x32xbf16, strided<[?, ?], offset: ?>>
  }
}

