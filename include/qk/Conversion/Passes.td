//===- Passes.td - qk lowering passes ----------------------*- tablegen -*-===//

#ifndef QK_CONVERSION_PASSES_TD
#define QK_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QKLowerToKernelCall : Pass<"qk-lower-to-kernel-call", "::mlir::ModuleOp"> {
  let summary = "Lower qk ops on memrefs to calls of the QK-norm runtime C ABI";
  let description = [{
    After bufferization, replaces every `qk.fused_qk_norm` and `qk.rms_norm`
    on memrefs with ONE `func.call` of the runtime entry point
    `qk_fused_rms_norm_<act>[_wf32]_r<n>` (declared `private` with
    `llvm.emit_c_interface`, so the LLVM lowering calls
    `_mlir_ciface_qk_fused_rms_norm_...` with pointers to memref
    descriptors; see `include/qk/Runtime/QKNormRuntime.h`).

    Arguments: the activation as a rank-2 `[tokens, columns]` view, once as
    input and once as output (the same view for the in-place fused op),
    then per range its weight (a rank-1 view; a zero-size view for no
    weight) and the scalars `column_offset, num_groups, group_size,
    group_stride` (i64), `epsilon, weight_offset` (f32) and `rounding`
    (i32, `QK_ROUNDING_*`), and last the stream (`!llvm.ptr`). A `[T, H, D]`
    qkv or a rank-3 norm input becomes a rank-2 view whose groups are `H`
    heads `strides[1]` elements apart, so interleaved layouts need no copy.

    The stream is the enclosing function's argument marked `{qk.stream}`
    (type `!llvm.ptr`, e.g. a `cudaStream_t` from the host framework), else
    null, the default stream. A non-zero status aborts the program after
    `qk_report_error` printed the runtime's message and the op's location.

    Ranges of a fused op whose weights have different element types (the
    activation type and f32) are split into one call per weight type.
    What cannot be expressed as a call (an element type other than f32,
    f16, bf16; a norm whose leading dimensions cannot be viewed as tokens)
    is an error at the op's location.

    ```mlir
    // before (bufferized Qwen3 block)
    qk.fused_qk_norm ins(%wq, %wk : memref<128xbf16>, memref<128xbf16>)
      outs(%qkv : memref<?x6144xbf16>) ranges [...]
    // after
    %status = func.call @qk_fused_rms_norm_bf16_r2(%view, %view, %wq_, %c0, %c32,
      %c128, %c128, %eps, %off, %round, %wk_, %c4096, %c8, ...) : (...) -> i32
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
