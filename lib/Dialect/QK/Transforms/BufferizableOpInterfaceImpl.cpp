//===- BufferizableOpInterfaceImpl.cpp - qk ops and bufferization ---------===//
//
// Both ops are destination-style and bufferize like upstream linalg.softmax:
// the result is the init's buffer. They differ in what they read:
// qk.rms_norm never reads its init (a fresh buffer will do), while
// qk.fused_qk_norm reads its init (the columns outside the ranges survive),
// which is what lets one-shot bufferization write it in place into qkv.
//
//===----------------------------------------------------------------------===//

#include "qk/Dialect/QK/Transforms/BufferizableOpInterfaceImpl.h"
#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {
/// Replaces `op` by a clone whose tensor operands are their buffers.
LogicalResult bufferizeDestinationStyle(Operation *op, RewriterBase &rewriter,
                                        const BufferizationOptions &options,
                                        BufferizationState &state) {
  auto dst = cast<DestinationStyleOpInterface>(op);
  SmallVector<Value> operands;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<TensorType>(operand.get().getType())) {
      operands.push_back(operand.get());
      continue;
    }
    FailureOr<Value> buffer =
        getBuffer(rewriter, operand.get(), options, state);
    if (failed(buffer))
      return failure();
    operands.push_back(*buffer);
  }
  rewriter.setInsertionPoint(op);
  OperationState newState(op->getLoc(), op->getName(), operands, TypeRange{},
                          op->getAttrs(), {}, {});
  rewriter.create(newState);
  SmallVector<Value> replacements;
  for (OpOperand &init : dst.getDpsInitsMutable())
    replacements.push_back(operands[init.getOperandNumber()]);
  replaceOpWithBufferizedValues(rewriter, op, replacements);
  return success();
}

struct RMSNormOpInterface
    : public DstBufferizableOpInterfaceExternalModel<RMSNormOpInterface,
                                                     qk::RMSNormOp> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &state) const {
    return &opOperand != &cast<qk::RMSNormOp>(op).getInitMutable();
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    return bufferizeDestinationStyle(op, rewriter, options, state);
  }
};

struct FusedQKNormOpInterface
    : public DstBufferizableOpInterfaceExternalModel<FusedQKNormOpInterface,
                                                     qk::FusedQKNormOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    return bufferizeDestinationStyle(op, rewriter, options, state);
  }
};
} // namespace

void mlir::qk::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, qk::QKDialect *) {
    qk::RMSNormOp::attachInterface<RMSNormOpInterface>(*ctx);
    qk::FusedQKNormOp::attachInterface<FusedQKNormOpInterface>(*ctx);
  });
}
