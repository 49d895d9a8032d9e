// Differential test on the CPU: a Qwen3-style block (separate q/k weights,
// 2 q heads + 1 k head of 16, v untouched) with the norm decomposed in
// upstream linalg. Reference: stock mlir-opt lowering of the unfused graph.
// Ours: raise + fuse + decompose of the fused op, then the same lowering.
// f32, same operation order in both: the outputs must be identical, and the
// fused graph must really have been fused (checked separately).
// RUN: mlir-opt %s --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-math-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void --shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so > %t.ref
// RUN: qk-opt %s --inline --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=FUSED
// RUN: qk-opt %s --inline --qk-raise-rms-norm --qk-fuse-strided-qk-norm --qk-decompose --one-shot-bufferize=bufferize-function-boundaries --convert-linalg-to-loops --expand-strided-metadata --lower-affine --convert-scf-to-cf --convert-math-to-llvm --finalize-memref-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void --shared-libs=%mlir_lib_dir/libmlir_runner_utils.so,%mlir_lib_dir/libmlir_c_runner_utils.so > %t.out
// RUN: FileCheck %s --check-prefix=PRINTED < %t.out
// The data must agree to the bit (the header line holds the buffer address).
// RUN: grep -v "base@" %t.ref > %t.ref.data
// RUN: grep -v "base@" %t.out > %t.out.data
// RUN: diff %t.ref.data %t.out.data

// FUSED-LABEL: func.func @block(
// FUSED: qk.fused_qk_norm
// FUSED-SAME: column_offset = 0, num_groups = 2, group_size = 16
// FUSED-SAME: column_offset = 32, num_groups = 1, group_size = 16
// PRINTED: Unranked Memref {{.*}} sizes = [3, 64]

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#col = affine_map<(d0, d1) -> (d1)>

// x * rsqrt(mean(x^2) + eps) * w over rows of 16, torch-mlir style.
func.func private @rms_norm(%x: tensor<?x16xf32>, %w: tensor<16xf32>) -> tensor<?x16xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x16xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty(%n) : tensor<?x1xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x1xf32>) -> tensor<?x1xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<?x16xf32>) outs(%z : tensor<?x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<?x1xf32>
  %e2 = tensor.empty(%n) : tensor<?x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %sum, %w : tensor<?x16xf32>, tensor<?x1xf32>, tensor<16xf32>) outs(%e2 : tensor<?x16xf32>) {
  ^bb0(%a: f32, %s: f32, %wv: f32, %o: f32):
    %cn = arith.constant 16.0 : f32
    %eps = arith.constant 1.0e-06 : f32
    %m = arith.divf %s, %cn : f32
    %me = arith.addf %m, %eps : f32
    %r = math.rsqrt %me : f32
    %nx = arith.mulf %a, %r : f32
    %yw = arith.mulf %nx, %wv : f32
    linalg.yield %yw : f32
  } -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// q, k, v = qkv.split; q/k normed per head; returns the block's qkv view.
func.func @block(%qkv: tensor<3x64xf32>, %wq: tensor<16xf32>, %wk: tensor<16xf32>) -> (tensor<3x2x16xf32>, tensor<3x1x16xf32>, tensor<3x16xf32>) {
  %q = tensor.extract_slice %qkv[0, 0] [3, 32] [1, 1] : tensor<3x64xf32> to tensor<3x32xf32>
  %k = tensor.extract_slice %qkv[0, 32] [3, 16] [1, 1] : tensor<3x64xf32> to tensor<3x16xf32>
  %v = tensor.extract_slice %qkv[0, 48] [3, 16] [1, 1] : tensor<3x64xf32> to tensor<3x16xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [3, 2, 16] : tensor<3x32xf32> into tensor<3x2x16xf32>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<3x2x16xf32> into tensor<6x16xf32>
  %k2 = tensor.cast %k : tensor<3x16xf32> to tensor<?x16xf32>
  %q2d = tensor.cast %q2 : tensor<6x16xf32> to tensor<?x16xf32>
  %qn = func.call @rms_norm(%q2d, %wq) : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %kn = func.call @rms_norm(%k2, %wk) : (tensor<?x16xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  %qs = tensor.cast %qn : tensor<?x16xf32> to tensor<6x16xf32>
  %ks = tensor.cast %kn : tensor<?x16xf32> to tensor<3x16xf32>
  %qo = tensor.expand_shape %qs [[0, 1], [2]] output_shape [3, 2, 16] : tensor<6x16xf32> into tensor<3x2x16xf32>
  %ko = tensor.expand_shape %ks [[0], [1, 2]] output_shape [3, 1, 16] : tensor<3x16xf32> into tensor<3x1x16xf32>
  return %qo, %ko, %v : tensor<3x2x16xf32>, tensor<3x1x16xf32>, tensor<3x16xf32>
}

func.func private @printMemrefF32(memref<*xf32>)

// Deterministic, non-repeating, never zero: sin-based values in [0.5, 2.5].
func.func private @fill(%t: tensor<?x?xf32>, %seed: f32) -> tensor<?x?xf32> {
  %r = linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]} outs(%t : tensor<?x?xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %jj = arith.index_cast %j : index to i64
    %fi = arith.sitofp %ii : i64 to f32
    %fj = arith.sitofp %jj : i64 to f32
    %a = arith.constant 0.731 : f32
    %b = arith.constant 0.197 : f32
    %one5 = arith.constant 1.5 : f32
    %x0 = arith.mulf %fi, %a : f32
    %x1 = arith.mulf %fj, %b : f32
    %x2 = arith.addf %x0, %x1 : f32
    %x3 = arith.addf %x2, %seed : f32
    %s = math.sin %x3 : f32
    %v = arith.addf %s, %one5 : f32
    linalg.yield %v : f32
  } -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

func.func @main() {
  %cst0 = arith.constant 0.0 : f32
  %cst1 = arith.constant 0.5 : f32
  %cst2 = arith.constant 1.3 : f32
  %e = tensor.empty() : tensor<3x64xf32>
  %ed = tensor.cast %e : tensor<3x64xf32> to tensor<?x?xf32>
  %qkvd = func.call @fill(%ed, %cst0) : (tensor<?x?xf32>, f32) -> tensor<?x?xf32>
  %qkv = tensor.cast %qkvd : tensor<?x?xf32> to tensor<3x64xf32>
  %ew = tensor.empty() : tensor<1x16xf32>
  %ewd = tensor.cast %ew : tensor<1x16xf32> to tensor<?x?xf32>
  %wq2 = func.call @fill(%ewd, %cst1) : (tensor<?x?xf32>, f32) -> tensor<?x?xf32>
  %wk2 = func.call @fill(%ewd, %cst2) : (tensor<?x?xf32>, f32) -> tensor<?x?xf32>
  %wq2s = tensor.cast %wq2 : tensor<?x?xf32> to tensor<1x16xf32>
  %wk2s = tensor.cast %wk2 : tensor<?x?xf32> to tensor<1x16xf32>
  %wq = tensor.collapse_shape %wq2s [[0, 1]] : tensor<1x16xf32> into tensor<16xf32>
  %wk = tensor.collapse_shape %wk2s [[0, 1]] : tensor<1x16xf32> into tensor<16xf32>
  %q, %k, %v = func.call @block(%qkv, %wq, %wk) : (tensor<3x64xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<3x2x16xf32>, tensor<3x1x16xf32>, tensor<3x16xf32>)
  %q2 = tensor.collapse_shape %q [[0], [1, 2]] : tensor<3x2x16xf32> into tensor<3x32xf32>
  %k2 = tensor.collapse_shape %k [[0], [1, 2]] : tensor<3x1x16xf32> into tensor<3x16xf32>
  %all = tensor.concat dim(1) %q2, %k2, %v : (tensor<3x32xf32>, tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x64xf32>
  %m = bufferization.to_buffer %all : tensor<3x64xf32> to memref<3x64xf32>
  %u = memref.cast %m : memref<3x64xf32> to memref<*xf32>
  func.call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
