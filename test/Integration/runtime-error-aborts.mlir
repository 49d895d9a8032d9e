// A call the runtime rejects must not write anything and must stop the
// program with the runtime's message and the op's location. Here the qkv
// view has a column stride of 2 (every other column of a buffer), which the
// ABI does not take; the static layout says nothing about it, so only the
// runtime can catch it.
// REQUIRES: qk-runtime
// RUN: qk-opt %s --qk-lower-to-kernel-call %upstream_cpu_lowering \
// RUN:   | not --crash %mlir_run_host_runtime 2>&1 | FileCheck %s

// CHECK: runtime-error-aborts.mlir:[[#@LINE+4]]:3: qk runtime (host): invalid argument: in column stride is 2, expected 1
// CHECK-NOT: data =

func.func @norm(%qkv: memref<?x8xf32, strided<[?, ?], offset: ?>>) {
  qk.fused_qk_norm outs(%qkv : memref<?x8xf32, strided<[?, ?], offset: ?>>) ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 4, epsilon = 1.0e-06>]
  return
}

func.func private @printMemrefF32(memref<*xf32>)

func.func @main() {
  %one = arith.constant 1.0 : f32
  %buf = memref.alloc() : memref<3x16xf32>
  linalg.fill ins(%one : f32) outs(%buf : memref<3x16xf32>)
  %every_other = memref.subview %buf[0, 0] [3, 8] [1, 2] : memref<3x16xf32> to memref<3x8xf32, strided<[16, 2]>>
  %view = memref.cast %every_other : memref<3x8xf32, strided<[16, 2]>> to memref<?x8xf32, strided<[?, ?], offset: ?>>
  func.call @norm(%view) : (memref<?x8xf32, strided<[?, ?], offset: ?>>) -> ()
  %u = memref.cast %buf : memref<3x16xf32> to memref<*xf32>
  func.call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %buf : memref<3x16xf32>
  return
}
