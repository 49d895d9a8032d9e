//===- RaiseRMSNorm.cpp - decomposed linalg RMSNorm -> qk.rms_norm --------===//
//
// What it matches: an all-parallel linalg.generic (the root) that, with the
// generics feeding it, computes exactly an RMSNorm
//
//   round(float(x) * rsqrt(sum(float(x)^2 over the last dim) / N + eps)
//         [* (offset + float(w))])
//
// (qk/Analysis/RMSNormMatcher.h, which evaluates the generics symbolically
// with qk/Analysis/ScalarExpr.h; every failure carries a reason).
//
// Legality: qk.rms_norm can hold what matched: x has the result's shape and
// a supported element type, the weight is 1-D of the row size in x's type
// or f32, the weight offset is finite.
//
// The rewrite: one qk.rms_norm replaces the root; the generics that fed it
// die unless something else uses them.
//
// One driver: the pass and the pattern (transform.apply_patterns.qk.
// raise_rms_norm) take the same step at a root (Raiser::visit): match,
// legality, rewrite, and the same Raised / NotRaised remarks. The pass
// visits consumers before producers and counts (the Summary remark).
//
//===----------------------------------------------------------------------===//

#include "qk/Analysis/RMSNormMatcher.h"
#include "qk/Transforms/Passes.h"
#include "qk/Transforms/Remarks.h"
#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::qk {
#define GEN_PASS_DEF_QKRAISERMSNORM
#include "qk/Transforms/Passes.h.inc"
} // namespace mlir::qk

using namespace mlir;
using namespace mlir::qk;

namespace {

//===----------------------------------------------------------------------===//
// What it matches, and legality
//===----------------------------------------------------------------------===//

/// Whether qk.rms_norm can hold what `root` computes (`match`).
LogicalResult checkLegality(linalg::GenericOp root, const RMSNormMatch &match,
                            MatchFailure &why) {
  auto resultType = cast<RankedTensorType>(root.getResult(0).getType());
  auto inputType = cast<RankedTensorType>(match.input.getType());
  if (inputType.getRank() != resultType.getRank() ||
      failed(
          verifyCompatibleShape(inputType.getShape(), resultType.getShape())))
    return why.fail("shape-mismatch",
                    "the input shape differs from the result shape");
  if (!isSupportedElementType(inputType.getElementType()))
    return why.fail("unsupported-element-type", "unsupported element type",
                    {{"element_type", typeString(inputType.getElementType())}});
  if (!std::isfinite(match.weightOffset))
    return why.fail("non-finite-weight-offset",
                    "the weight offset (c in (c + w)) is not finite");
  if (match.weight) {
    auto wType = cast<RankedTensorType>(match.weight.getType());
    if (wType.getRank() != 1 ||
        wType.getDimSize(0) != resultType.getShape().back() ||
        (wType.getElementType() != inputType.getElementType() &&
         !wType.getElementType().isF32()))
      return why.fail("bad-weight-type",
                      "the weight is not 1-D of the row size in the "
                      "input type or f32",
                      {{"weight_type", typeString(wType)}});
  }
  return success();
}

/// An RMSNorm at `root` that qk.rms_norm can hold, or why not.
FailureOr<RMSNormMatch> matchRaisable(linalg::GenericOp root,
                                      RMSNormMismatch &why) {
  FailureOr<RMSNormMatch> match = matchRMSNorm(root, why);
  if (failed(match) || failed(checkLegality(root, *match, why)))
    return failure();
  return match;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

RMSNormOp raiseRoot(RewriterBase &rewriter, linalg::GenericOp root,
                    const RMSNormMatch &match) {
  rewriter.setInsertionPoint(root);
  auto norm = RMSNormOp::create(
      rewriter, root.getLoc(), root.getResult(0).getType(), match.input,
      match.weight, root.getDpsInits()[0],
      rewriter.getF32FloatAttr(match.epsilon),
      rewriter.getF32FloatAttr(match.weightOffset),
      RoundingModeAttr::get(rewriter.getContext(), match.rounding));
  rewriter.replaceOp(root, norm.getResults());
  return norm;
}

//===----------------------------------------------------------------------===//
// Remarks
//===----------------------------------------------------------------------===//

std::string describe(RMSNormOp norm) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "raised RMSNorm to qk.rms_norm: rows of " << norm.getNormalizedSize()
     << " " << norm.getInputType().getElementType() << ", epsilon "
     << norm.getEpsilon().convertToFloat();
  if (!norm.getWeight())
    os << ", no weight";
  else if (norm.getWeightOffset().convertToFloat() != 0.0f)
    os << ", weight (" << norm.getWeightOffset().convertToFloat() << " + w)";
  else
    os << ", weight";
  os << ", rounding " << stringifyRoundingMode(norm.getRounding());
  return s;
}

/// The figures of describe(), as structured remark arguments.
Figures figures(RMSNormOp norm) {
  Figures f;
  f.push_back({"row_size", std::to_string(norm.getNormalizedSize())});
  f.push_back(
      {"element_type", typeString(norm.getInputType().getElementType())});
  f.push_back({"epsilon", numberString(norm.getEpsilon().convertToFloat())});
  f.push_back({"weight", norm.getWeight() ? "true" : "false"});
  if (norm.getWeight())
    f.push_back({"weight_offset",
                 numberString(norm.getWeightOffset().convertToFloat())});
  f.push_back({"rounding", stringifyRoundingMode(norm.getRounding()).str()});
  return f;
}

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

/// A root whose only user is a larger RMSNorm (the weight multiply or the
/// final rounding in a later generic) is left for that user.
bool feedsLargerNorm(linalg::GenericOp root) {
  if (!root->hasOneUse())
    return false;
  auto user = dyn_cast<linalg::GenericOp>(*root->user_begin());
  RMSNormMismatch ignored;
  return user && succeeded(matchRaisable(user, ignored));
}

/// Elementwise producers of a failed candidate that also fail would repeat
/// its remark: only the outermost candidate of a chain reports.
bool feedsCandidate(linalg::GenericOp root) {
  if (!root->hasOneUse())
    return false;
  auto user = dyn_cast<linalg::GenericOp>(*root->user_begin());
  if (!user || user.getNumReductionLoops() != 0)
    return false;
  RMSNormMismatch why;
  (void)matchRaisable(user, why);
  return why.isCandidate;
}

/// The step at one root, whichever driver visits it: raises an RMSNorm
/// that is not part of a larger one, with a Raised remark; reports a
/// rejected candidate (the outermost of a chain) with a NotRaised remark.
class Raiser {
public:
  /// `consumersFirst`: the driver visits every consumer before its producers
  /// (the pass), so a root that feeds a larger norm is gone by the time it
  /// would be visited; otherwise (a greedy driver) such a root is left alone.
  Raiser(StringRef category, bool consumersFirst)
      : category(category), consumersFirst(consumersFirst) {}

  /// The raised norm, or failure with `whyNot` (for notifyMatchFailure).
  FailureOr<RMSNormOp> visit(RewriterBase &rewriter, linalg::GenericOp root,
                             std::string &whyNot) {
    RMSNormMismatch why;
    FailureOr<RMSNormMatch> match = matchRaisable(root, why);
    if (failed(match)) {
      if (why.isCandidate && !feedsCandidate(root)) {
        ++rejected;
        reportMissed(root.getLoc(),
                     remark::RemarkOpts::name("NotRaised").category(category),
                     "not raised to qk.rms_norm: ", why);
      }
      whyNot = why.message;
      return failure();
    }
    if (!consumersFirst && feedsLargerNorm(root)) {
      whyNot = "feeds a larger RMSNorm";
      return failure();
    }
    RMSNormOp norm = raiseRoot(rewriter, root, *match);
    ++raised;
    reportPassed(norm.getLoc(),
                 remark::RemarkOpts::name("Raised").category(category),
                 [&](std::string &message, Figures &f) {
                   message = describe(norm);
                   f = figures(norm);
                 });
    return norm;
  }

  int64_t raised = 0, rejected = 0;

private:
  StringRef category;
  bool consumersFirst;
};

struct QKRaiseRMSNormPass
    : public qk::impl::QKRaiseRMSNormBase<QKRaiseRMSNormPass> {
  void runOnOperation() override {
    // Consumers before producers, so that the largest norm is raised first
    // and a partial one (x * r without the weight) never is.
    // Generic bodies hold no generics: the walk skips them (a third of the
    // ops of a decomposed graph).
    SmallVector<linalg::GenericOp> roots;
    getOperation()->walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
        roots.push_back(generic);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    IRRewriter rewriter(&getContext());
    DenseSet<Operation *> erased;
    Raiser raiser(getArgument(), /*consumersFirst=*/true);
    for (linalg::GenericOp root : llvm::reverse(roots)) {
      if (erased.contains(root))
        continue;
      // The producers of a raised root die with it; remember them so that
      // the walk does not visit erased ops.
      SmallVector<Operation *> producers = operandProducers(root);
      std::string whyNot;
      if (succeeded(raiser.visit(rewriter, root, whyNot)))
        eraseDeadOps(rewriter, producers, &erased);
    }
    // Pass statistics compile to no-ops in release builds of LLVM (Debian's
    // included), so the counts are also reported as one analysis remark.
    numRaised += raiser.raised;
    numRejected += raiser.rejected;
    if (raiser.raised || raiser.rejected)
      remark::analysis(getOperation()->getLoc(),
                       remark::RemarkOpts::name("Summary")
                           .category("qk-summary")
                           .subCategory(getArgument()))
          << llvm::formatv("{0} RMSNorm(s) raised, {1} candidate(s) rejected",
                           raiser.raised, raiser.rejected)
                 .str()
          << remark::metric("raised", raiser.raised)
          << remark::metric("rejected", raiser.rejected);
  }
};

// x.float() * rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps) [* w]
//
// The pass's step as a pattern, with its remarks. A greedy driver tries an
// op again after its neighbourhood changed, so a rejected candidate reports
// once per attempt (`--remark-policy=final` keeps the last); the Summary
// remark is the pass's, since a pattern set has no end to count at.
struct RaiseDecomposedRMSNorm : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    Raiser raiser(QKRaiseRMSNormPass::getArgumentName(),
                  /*consumersFirst=*/false);
    std::string whyNot;
    if (failed(raiser.visit(rewriter, root, whyNot)))
      return rewriter.notifyMatchFailure(root, whyNot);
    return success();
  }
};
} // namespace

void mlir::qk::populateRaiseRMSNormPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseDecomposedRMSNorm>(patterns.getContext());
}
