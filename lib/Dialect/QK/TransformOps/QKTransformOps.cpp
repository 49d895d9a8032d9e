//===- QKTransformOps.cpp - qk transform dialect ops ----------------------===//
//
// The ops only select patterns; transform.apply_patterns owns the greedy
// driver, the payload scope and handle tracking, exactly as for the upstream
// apply_patterns.tensor.* ops.
//
//===----------------------------------------------------------------------===//

#include "qk/Dialect/QK/TransformOps/QKTransformOps.h"
#include "qk/Dialect/QK/IR/QKDialect.h"
#include "qk/Transforms/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

//===----------------------------------------------------------------------===//
// Pattern descriptors
//===----------------------------------------------------------------------===//

void transform::ApplyQKRaiseRMSNormPatternsOp::populatePatterns(
    RewritePatternSet &patterns) {
  qk::populateRaiseRMSNormPatterns(patterns);
}

void transform::ApplyQKFuseStridedQKNormPatternsOp::populatePatterns(
    RewritePatternSet &patterns) {
  qk::populateFuseStridedQKNormPatterns(patterns);
}

//===----------------------------------------------------------------------===//
// Extension
//===----------------------------------------------------------------------===//

namespace {
class QKTransformDialectExtension
    : public transform::TransformDialectExtension<QKTransformDialectExtension> {
public:
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(QKTransformDialectExtension)

  using Base::Base;

  void init() {
    // The patterns create ops of these dialects, and a dialect cannot be
    // loaded once the interpreter runs (the context may be multithreaded),
    // so they are loaded with the transform dialect.
    declareGeneratedDialect<qk::QKDialect>();
    declareGeneratedDialect<tensor::TensorDialect>();

    registerTransformOps<
#define GET_OP_LIST
#include "qk/Dialect/QK/TransformOps/QKTransformOps.cpp.inc"
        >();
  }
};
} // namespace

#define GET_OP_CLASSES
#include "qk/Dialect/QK/TransformOps/QKTransformOps.cpp.inc"

void mlir::qk::registerTransformDialectExtension(DialectRegistry &registry) {
  registry.addExtensions<QKTransformDialectExtension>();
}
