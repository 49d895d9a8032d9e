//===- Decompose.cpp - qk ops -> upstream linalg --------------------------===//
//
// Replaces every qk op by its AggregatedOpInterface decomposition: the CPU
// lowering and the fallback when no kernel is called.
//
//===----------------------------------------------------------------------===//

#include "qk/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::qk {
#define GEN_PASS_DEF_QKDECOMPOSE
#include "qk/Transforms/Passes.h.inc"
} // namespace mlir::qk

using namespace mlir;
using namespace mlir::qk;

namespace {
// qk.rms_norm / qk.fused_qk_norm -> linalg.generic (+ slices, reshapes)
template <typename OpTy>
struct DecomposeQKOp : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    rewriter.setInsertionPoint(op);
    FailureOr<SmallVector<Value>> results =
        cast<linalg::AggregatedOpInterface>(op.getOperation())
            .decomposeOperation(rewriter);
    if (failed(results))
      return failure();
    if (results->empty())
      rewriter.eraseOp(op);
    else
      rewriter.replaceOp(op, *results);
    return success();
  }
};

struct QKDecomposePass : public qk::impl::QKDecomposeBase<QKDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposeQKPatterns(patterns);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace

void mlir::qk::populateDecomposeQKPatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeQKOp<RMSNormOp>, DecomposeQKOp<FusedQKNormOp>>(
      patterns.getContext());
}
