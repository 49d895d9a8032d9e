//===- Pipelines.h - qk-norm-pipeline ---------------------------*- C++ -*-===//
//
// The whole path from the input graph (upstream tensors and linalg) to the
// LLVM dialect, for other compilers to reuse in C++ and for qk-opt as
// `--qk-norm-pipeline=target=cpu|cuda`.
//
//===----------------------------------------------------------------------===//

#ifndef QK_PIPELINES_PIPELINES_H
#define QK_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
namespace qk {

enum class NormTarget {
  /// The qk ops decompose into loops; no library of ours is needed.
  Cpu,
  /// The qk ops become calls of the runtime C ABI (the CUDA kernel, or the
  /// host runtime that implements the same ABI).
  Cuda,
};

struct QKNormPipelineOptions
    : public PassPipelineOptions<QKNormPipelineOptions> {
  PassOptions::Option<NormTarget> target{
      *this, "target", llvm::cl::desc("Where the QK norms run"),
      llvm::cl::init(NormTarget::Cpu),
      llvm::cl::values(
          clEnumValN(NormTarget::Cpu, "cpu", "decompose into loops"),
          clEnumValN(NormTarget::Cuda, "cuda",
                     "call the runtime C ABI (qk_fused_rms_norm_*)"))};
  PassOptions::Option<bool> lowerToLLVM{
      *this, "lower-to-llvm",
      llvm::cl::desc("Lower to the LLVM dialect (false: stop after the qk "
                     "lowering, on memrefs, to inspect it)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> bufferDeallocation{
      *this, "buffer-deallocation",
      llvm::cl::desc("Free temporaries (MLIR's ownership-based deallocation; "
                     "returned views of arguments then become clones). "
                     "false: no frees, no clones; the host owns all memory"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> cInterface{
      *this, "c-interface",
      llvm::cl::desc("Give public functions a _mlir_ciface_ entry point"),
      llvm::cl::init(true)};
};

/// raise -> fuse -> one-shot bufferize (function boundaries) -> buffer
/// deallocation -> (cpu: decompose | cuda: kernel calls) -> LLVM dialect.
void buildQKNormPipeline(OpPassManager &pm,
                         const QKNormPipelineOptions &options);

/// Registers `qk-norm-pipeline`.
void registerQKNormPipeline();

} // namespace qk
} // namespace mlir

#endif // QK_PIPELINES_PIPELINES_H
