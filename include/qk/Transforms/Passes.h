//===- Passes.h - qk transformation passes ----------------------*- C++ -*-===//

#ifndef QK_TRANSFORMS_PASSES_H
#define QK_TRANSFORMS_PASSES_H

#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
namespace qk {

#define GEN_PASS_DECL
#include "qk/Transforms/Passes.h.inc"

// The pattern entry points take the passes' step (match, legality, rewrite)
// and emit the passes' remarks with the same text and arguments, except the
// Summary remark (a pattern set has no end to count at). A greedy driver
// tries an op again after the IR around it changed, so a rejected candidate
// may report more than once; `--remark-policy=final` keeps the last remark
// per location and name.

/// Patterns that raise decomposed linalg RMSNorms to qk.rms_norm, with the
/// Raised / NotRaised remarks of qk-raise-rms-norm. A root whose only user
/// is a larger RMSNorm is left for that user.
void populateRaiseRMSNormPatterns(RewritePatternSet &patterns);

/// Patterns that fuse qk.rms_norm on strided views of a qkv value into
/// qk.fused_qk_norm: one norm at a time, with the legality and the Fused /
/// NotFused remarks of qk-fuse-strided-qk-norm (a Fused remark per norm),
/// then nested fused ops of one qkv with disjoint ranges merged into one.
void populateFuseStridedQKNormPatterns(RewritePatternSet &patterns);

/// Patterns that decompose qk ops into upstream linalg.
void populateDecomposeQKPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "qk/Transforms/Passes.h.inc"

} // namespace qk
} // namespace mlir

#endif // QK_TRANSFORMS_PASSES_H
