//===- RMSNormMatcher.cpp - Is this linalg.generic an RMSNorm? ------------===//

#include "qk/Analysis/RMSNormMatcher.h"
#include "qk/Analysis/ScalarExpr.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::qk;

namespace {

/// Matches the DAG of one root; `why` says why it is not an RMSNorm.
class RMSNormMatcher {
public:
  RMSNormMatcher(Type elementType, int64_t normSize, MatchFailure &why)
      : elementType(elementType), normSize(normSize), why(why) {}

  FailureOr<RMSNormMatch> match(ScalarExpr *root) {
    if (root->type != elementType)
      return fail("result-type-mismatch",
                  "the result element type differs from the input's");
    // before_weight with the weight multiply in the element type:
    //   trunc(n) * w   (HF: weight * x.to(input_dtype))
    if (!elementType.isF32() && root->kind == ScalarExpr::Mul) {
      for (int i = 0; i < 2; ++i) {
        ScalarExpr *t = root->operands[i], *w = root->operands[1 - i];
        if (t->kind == ScalarExpr::Trunc && w->kind == ScalarExpr::ColumnRead) {
          if (w->type != elementType)
            return fail("weight-type-mismatch",
                        "a weight of another type is multiplied in the "
                        "element type");
          result.weight = w->tensor;
          result.rounding = RoundingMode::BeforeWeight;
          if (failed(matchNormalized(t->operands[0])))
            return failure();
          return result;
        }
      }
    }
    ScalarExpr *f32Value = root;
    if (!elementType.isF32()) {
      if (root->kind != ScalarExpr::Trunc)
        return fail("not-rounded-from-f32",
                    "the result is not rounded from f32 (arithmetic in the "
                    "element type)");
      f32Value = root->operands[0];
    }
    if (failed(matchScaled(f32Value)))
      return failure();
    return result;
  }

private:
  Type elementType;
  int64_t normSize;
  MatchFailure &why;
  ScalarExpr *x = nullptr;
  RMSNormMatch result;

  LogicalResult fail(StringRef code, const Twine &text, Figures figures = {}) {
    return why.fail(code, text, std::move(figures));
  }

  /// n * weightFactor, or n alone (no weight), in f32.
  LogicalResult matchScaled(ScalarExpr *e) {
    if (!e->type.isF32())
      return fail("norm-not-f32", "the norm is not computed in f32");
    if (e->kind == ScalarExpr::Mul) {
      for (int i = 0; i < 2; ++i) {
        ScalarExpr *n = e->operands[i], *w = e->operands[1 - i];
        if (!isWeightFactor(w))
          continue;
        // ext(trunc(n)) * w is the before_weight order spelled in f32.
        if (n->kind == ScalarExpr::Ext &&
            n->operands[0]->kind == ScalarExpr::Trunc &&
            n->operands[0]->type == elementType) {
          result.rounding = RoundingMode::BeforeWeight;
          n = n->operands[0]->operands[0];
        }
        matchWeightFactor(w);
        return matchNormalized(n);
      }
    }
    return matchNormalized(e);
  }

  /// w, ext(w), c + w or c + ext(w), in f32.
  bool isWeightFactor(ScalarExpr *w, bool allowOffset = true) {
    if (w->kind == ScalarExpr::Add) {
      if (!allowOffset || !w->type.isF32())
        return false;
      ScalarExpr *a = w->operands[0], *b = w->operands[1];
      return (isConst(a) && isWeightFactor(b, false)) ||
             (isConst(b) && isWeightFactor(a, false));
    }
    if (!w->type.isF32())
      return false;
    if (w->kind == ScalarExpr::Ext)
      w = w->operands[0];
    return w->kind == ScalarExpr::ColumnRead;
  }

  /// Records the weight and offset of a factor isWeightFactor accepted.
  void matchWeightFactor(ScalarExpr *w) {
    if (w->kind == ScalarExpr::Add) {
      double c = 0.0;
      ScalarExpr *rest = nullptr;
      if (isConst(w->operands[0], &c))
        rest = w->operands[1];
      else if (isConst(w->operands[1], &c))
        rest = w->operands[0];
      result.weightOffset = static_cast<float>(c);
      w = rest;
    }
    if (w->kind == ScalarExpr::Ext)
      w = w->operands[0];
    result.weight = w->tensor;
  }

  /// float(x) * rsqrt(mean + eps).
  LogicalResult matchNormalized(ScalarExpr *e) {
    if (!e->type.isF32())
      return fail("normalized-not-f32",
                  "the normalised value is not computed in f32");
    if (e->kind != ScalarExpr::Mul)
      return fail("no-rsqrt-scale",
                  "the input is not multiplied by rsqrt(mean(x^2) + eps)");
    for (int i = 0; i < 2; ++i) {
      ScalarExpr *xf = e->operands[i], *r = e->operands[1 - i];
      if (r->kind == ScalarExpr::Add &&
          llvm::any_of(
              r->operands,
              [](ScalarExpr *t) { return t->kind == ScalarExpr::Rsqrt; }) &&
          llvm::any_of(r->operands, [](ScalarExpr *t) { return isConst(t); }))
        return fail("epsilon-outside-rsqrt",
                    "epsilon is added after the rsqrt (x * (rsqrt(mean(x^2)) "
                    "+ eps)), not inside it");
      if (r->kind != ScalarExpr::Rsqrt)
        continue;
      if (failed(matchInput(xf)))
        return failure();
      return matchRsqrt(r);
    }
    return fail("no-rsqrt-scale",
                "the input is not multiplied by rsqrt(mean(x^2) + eps)");
  }

  LogicalResult matchInput(ScalarExpr *e) {
    if (e->kind == ScalarExpr::Sub)
      return fail("mean-subtracted",
                  "a value is subtracted from the input before it is "
                  "normalised (x - mean(x): a LayerNorm, not an RMSNorm)");
    ScalarExpr *leaf = e;
    if (!elementType.isF32()) {
      if (e->kind != ScalarExpr::Ext || !e->type.isF32())
        return fail("input-not-extended", "the input is not extended to f32");
      leaf = e->operands[0];
    }
    if (leaf->kind != ScalarExpr::ElementRead || leaf->type != elementType)
      return fail("normalized-not-input",
                  "the normalised value is not the reduced input");
    if (!x) {
      x = leaf;
      result.input = leaf->tensor;
      return success();
    }
    if (!sameExpr(x, leaf))
      return fail("different-inputs",
                  "the sum of squares and the scaled value read different "
                  "inputs");
    return success();
  }

  LogicalResult matchRsqrt(ScalarExpr *r) {
    ScalarExpr *add = r->operands[0];
    if (!r->type.isF32() || !add->type.isF32())
      return fail("rsqrt-not-f32", "rsqrt(mean + eps) is not computed in f32");
    if (add->kind != ScalarExpr::Add)
      return fail("rsqrt-not-of-sum", "rsqrt is not applied to mean + eps");
    for (int i = 0; i < 2; ++i) {
      double eps;
      if (!isConst(add->operands[1 - i], &eps))
        continue;
      // qk.rms_norm carries epsilon as f32: it must be finite there too.
      result.epsilon = static_cast<float>(eps);
      if (!std::isfinite(result.epsilon) || eps < 0)
        return fail("bad-epsilon", "epsilon is negative or not a finite f32",
                    {{"epsilon", numberString(eps)}});
      return matchMean(add->operands[i]);
    }
    return fail("non-constant-epsilon",
                "rsqrt is not applied to mean + a constant epsilon");
  }

  LogicalResult matchMean(ScalarExpr *mean) {
    if (mean->kind != ScalarExpr::Div || !mean->type.isF32())
      return fail("mean-not-division",
                  "the mean is not an f32 sum divided by the row size");
    double divisor;
    if (!isConst(mean->operands[1], &divisor))
      return fail("non-constant-divisor",
                  "the mean's divisor is not a constant");
    if (ShapedType::isDynamic(normSize))
      return fail("dynamic-row-size", "the normalised dimension is dynamic");
    if (divisor != static_cast<double>(normSize))
      return fail("wrong-divisor",
                  "the mean divides by " + llvm::formatv("{0}", divisor).str() +
                      " instead of the row size " + Twine(normSize),
                  {{"divisor", numberString(divisor)},
                   {"row_size", std::to_string(normSize)}});
    ScalarExpr *sum = mean->operands[0];
    if (sum->kind != ScalarExpr::RowSum)
      return fail("mean-not-of-row-sum",
                  "the mean is not taken over a row sum");
    ScalarExpr *sq = sum->operands[0];
    if (sq->kind != ScalarExpr::Mul ||
        !sameExpr(sq->operands[0], sq->operands[1]))
      return fail("not-sum-of-squares", "the row sum is not a sum of squares");
    return matchInput(sq->operands[0]);
  }
};

} // namespace

FailureOr<RMSNormMatch> mlir::qk::matchRMSNorm(linalg::GenericOp root,
                                               RMSNormMismatch &why) {
  why = RMSNormMismatch();
  if (root.getOutputs().size() != 1 || root.getNumReductionLoops() != 0 ||
      !root.hasPureTensorSemantics())
    return failure();
  auto resultType = cast<RankedTensorType>(root.getResult(0).getType());
  ScalarExprBuilder builder(resultType.getRank());
  FailureOr<ScalarExpr *> expr = builder.build(root);
  why.isCandidate =
      builder.sawReduction() && (builder.sawRsqrt() || builder.sawSquare());
  if (failed(expr)) {
    static_cast<MatchFailure &>(why) = builder.why;
    return failure();
  }
  RMSNormMatcher matcher(resultType.getElementType(),
                         resultType.getShape().back(), why);
  return matcher.match(*expr);
}
