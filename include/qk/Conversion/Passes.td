//===- Passes.td - qk lowering passes ----------------------*- tablegen -*-===//

#ifndef QK_CONVERSION_PASSES_TD
#define QK_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QKLowerToKernelCall : Pass<"qk-lower-to-kernel-call", "::mlir::ModuleOp"> {
  let summary = "Lower qk ops on memrefs to calls of the QK-norm runtime C ABI";
  let description = [{
    After bufferization, replaces every `qk.fused_qk_norm` and `qk.rms_norm`
    on memrefs with ONE `func.call` of the runtime entry point
    `qk_fused_rms_norm_<act>` (`act` in f32, f16, bf16: the element types
    of `include/qk/Runtime/Codes.def`; declared `private` with
    `llvm.emit_c_interface`, so the LLVM lowering calls
    `_mlir_ciface_qk_fused_rms_norm_<act>` with pointers to memref
    descriptors; runtime ABI version 2, see
    `include/qk/Runtime/QKNormRuntime.h`).

    Arguments: the activation as a rank-2 `[tokens, columns]` view, once as
    input and once as output (the same view for the in-place fused op), the
    range table, and the stream (`!llvm.ptr`). The range table is a
    `memref<?x12xi64>` whose row `r` is range `r` as a `qk_ciface_range_t`:
    `column_offset, num_groups, group_size, group_stride`, the bit patterns
    of the f32 `epsilon` and `weight_offset`, the `rounding` and weight
    dtype codes, and the weight's rank-1 view (aligned pointer from
    `memref.extract_aligned_pointer_as_index`, offset, size, stride; a
    range without weight has size 0). The table is a `memref.alloca` at the
    start of the enclosing function (or parallel loop body: serial loops
    are skipped, so a call in a loop reuses one slot), filled with
    `memref.store`s right before the call; everything stays at the
    memref/func level. A `[T, H, D]` qkv or a rank-3 norm input becomes a
    rank-2 view whose groups are `H` heads `strides[1]` elements apart, so
    interleaved layouts need no copy.

    The stream is the enclosing function's argument marked `{qk.stream}`
    (type `!llvm.ptr`, e.g. a `cudaStream_t` from the host framework), else
    null, the default stream. A non-zero status aborts the program after
    `qk_report_error` printed the runtime's message and the op's location.

    Each row carries its weight's dtype, so a fused op whose weights mix the
    activation type and f32 is one call. What cannot be expressed as a call
    (an element type the runtime lacks; weights of another type; more than
    4 ranges; a norm whose leading dimensions cannot be viewed as tokens; a
    multi-head group over padded heads; a non-pointer stream argument; an
    entry-point name taken by another declaration) is an error at the op's
    location.

    Implemented as a dialect conversion: both ops on memrefs are illegal,
    one `OpConversionPattern` per op, `applyPartialConversion`.

    ```mlir
    // before (bufferized Qwen3 block)
    qk.fused_qk_norm ins(%wq, %wk : memref<128xbf16>, memref<128xbf16>)
      outs(%qkv : memref<?x6144xbf16>) ranges [...]
    // after
    %t = memref.alloca() : memref<2x12xi64>            // function entry
    memref.store %c0, %t[%c0, %c0] : memref<2x12xi64>  // column_offset
    memref.store %c32, %t[%c0, %c1] : memref<2x12xi64> // num_groups, ...
    %table = memref.cast %t : memref<2x12xi64> to memref<?x12xi64>
    %status = func.call @qk_fused_rms_norm_bf16(%view, %view, %table,
      %stream) : (...) -> i32
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::cf::ControlFlowDialect",
    "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"
  ];
}

def QKEmitCInterface : Pass<"qk-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Give every public function a C entry point";
  let description = [{
    Sets `llvm.emit_c_interface` on every public `func.func` with a body, so
    that `convert-func-to-llvm` also emits `_mlir_ciface_<name>`, which takes
    pointers to memref descriptors (and returns results through a descriptor
    pointer passed first). This is the entry a C or C++ host (or Python's
    ctypes) calls after the AOT path `mlir-translate --mlir-to-llvmir | llc`.
  }];
}

#endif // QK_CONVERSION_PASSES_TD
