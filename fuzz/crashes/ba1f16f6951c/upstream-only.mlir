module {
  func.func @dim_index_minus_one(%arg0: memref<?x128xf32, strided<[?, ?], offset: ?>>) -> memref<?x4x16xf32> {
    %c-16 = arith.constant -16 : index
    %dim = memref.dim %arg0, %c-16 : memref<?x128xf32, strided<[?, ?], offset: ?>>
    %subview = memref.subview %arg0[0, 0] [%dim, 64] [1, 1] : memref<?x128xf32, strided<[?, ?], offset: ?>> to memref<?x64xf32, strided<[?, ?], offset: ?>>
    %expand_shape = memref.expand_shape %subview [[0], [1, 2]] output_shape [%dim, 4, 16] : memref<?x64xf32, strided<[?, ?], offset: ?>> into memref<?x4x16xf32, strided<[?, ?, ?], offset: ?>>
    %alloc = memref.alloc(%dim) {alignment = 64 : i64} : memref<?x4x16xf32>
    memref.copy %expand_shape, %alloc : memref<?x4x16xf32, strided<[?, ?, ?], offset: ?>> to memref<?x4x16xf32>
    %cast = memref.cast %alloc : memref<?x4x16xf32> to memref<?x4x16xf32, strided<[?, ?, ?], offset: ?>>
    return %alloc : memref<?x4x16xf32>
  }
  module attributes {transform.with_named_sequence} {
    transform.named_sequence @__transform_main(%arg0: !transform.any_op {transform.readonly}) {
      %0 = transform.structured.match ops{["func.func"]} in %arg0 : (!transform.any_op) -> !transform.any_op
      transform.apply_patterns to %0 {
      } : !transform.any_op
      transform.yield 
    }
  }
}

