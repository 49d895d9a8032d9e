//===- Pipelines.cpp - qk-norm-pipeline -----------------------------------===//

#include "qk/Pipelines/Pipelines.h"
#include "qk/Conversion/Passes.h"
#include "qk/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void qk::buildQKNormPipeline(OpPassManager &pm,
                             const QKNormPipelineOptions &options) {
  pm.addPass(createQKRaiseRMSNorm());
  pm.addPass(createQKFuseStridedQKNorm());
  pm.addPass(createQKFuseRoPE());

  // Function arguments keep fully dynamic layouts (the upstream default),
  // so strided q/k/v views reach callees such as the attention kernel
  // without a copy; the C entry point reads the strides from the
  // descriptors either way.
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Temporaries are freed; a result that aliases an argument is returned
  // as a clone (MLIR's ownership model for returned buffers).
  if (options.bufferDeallocation) {
    bufferization::buildBufferDeallocationPipeline(pm);
    pm.addPass(createConvertBufferizationToMemRefPass());
  }

  if (options.target == NormTarget::Cpu)
    pm.addPass(createQKDecompose());
  else
    pm.addPass(createQKLowerToKernelCall());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (!options.lowerToLLVM)
    return;

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  // bf16 <-> f32 as integer arithmetic (round to nearest even): the object
  // then needs no compiler-runtime helper (__truncsfbf2 is missing from
  // GCC 12's libgcc), so AOT objects link with any C/C++ toolchain.
  // bf16 arithmetic the graph keeps (e.g. a RoPE no pass fused) becomes
  // f32 arithmetic between extf/truncf, which round as the bf16 operation
  // would (f32 has more than twice bf16's precision), so that nothing is
  // left for a compiler-runtime helper either.
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  emulate.targetTypeStr = "f32";
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (options.cInterface)
    pm.addPass(createQKEmitCInterface());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void qk::registerQKNormPipeline() {
  PassPipelineRegistration<QKNormPipelineOptions>(
      "qk-norm-pipeline",
      "QK norm end to end: raise, fuse, bufferize, lower the qk ops for "
      "target=cpu (loops) or target=cuda (runtime calls), then to LLVM",
      buildQKNormPipeline);
}
