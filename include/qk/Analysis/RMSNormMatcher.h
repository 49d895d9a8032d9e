//===- RMSNormMatcher.h - Is this linalg.generic an RMSNorm? ----*- C++ -*-===//
//
// What it matches: an all-parallel linalg.generic (the root) whose value,
// followed backwards through the bodies of the generics that produce its
// operands (ScalarExpr.h), is exactly
//
//   round(float(x) * rsqrt(sum(float(x)^2 over the last dim) / N + eps)
//         [* (offset + float(w))])
//
// in one of the two rounding orders of qk.rms_norm. This is the form
// torch-mlir emits for aten.rms_norm and for a hand-written PyTorch RMSNorm,
// one generic per step, or two generics after --linalg-fuse-elementwise-ops.
//
// Exactly: the reduction is a sum with a zero init over exactly the last
// dimension, the divisor is the static size of that dimension, epsilon is a
// constant inside the rsqrt, all arithmetic but the final rounding is fp32,
// and the result has x's element type. Every other form fails with a reason
// (a code and a sentence, MatchFailure.h). Whether qk.rms_norm can hold what
// matched (element type, weight type, finite constants) is the raise pass's
// legality, not part of the match.
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_RMSNORMMATCHER_H
#define QK_ANALYSIS_RMSNORMMATCHER_H

#include "qk/Analysis/MatchFailure.h"
#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::qk {

/// What the root computes: everything qk.rms_norm needs.
struct RMSNormMatch {
  /// x, read per element.
  Value input;
  /// w, read per column; null without a weight.
  Value weight;
  /// eps as qk.rms_norm holds it (f32).
  float epsilon = 0.0f;
  /// c in (c + w), as f32 (possibly not finite).
  float weightOffset = 0.0f;
  RoundingMode rounding = RoundingMode::Once;
};

/// Why a root is not an RMSNorm.
struct RMSNormMismatch : MatchFailure {
  /// Whether the root looks like a norm at all (a reduction, and an rsqrt
  /// or a square, feed it): a near miss worth reporting. False for
  /// elementwise generics that involve no reduction (and for softmax).
  bool isCandidate = false;
};

/// Matches `root` (one init, no reduction loops, on tensors; anything else
/// fails with no reason and is no candidate) against RMSNorm.
FailureOr<RMSNormMatch> matchRMSNorm(linalg::GenericOp root,
                                     RMSNormMismatch &why);

} // namespace mlir::qk

#endif // QK_ANALYSIS_RMSNORMMATCHER_H
