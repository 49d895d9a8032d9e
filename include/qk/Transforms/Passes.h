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

/// Patterns that raise decomposed linalg RMSNorms to qk.rms_norm.
void populateRaiseRMSNormPatterns(RewritePatternSet &patterns);

/// Patterns that fuse qk.rms_norm on strided slices of one qkv value into
/// one qk.fused_qk_norm. The patterns work per qkv value; remarks are
/// emitted for every fused and rejected site.
void populateFuseStridedQKNormPatterns(RewritePatternSet &patterns);

/// Patterns that decompose qk ops into upstream linalg.
void populateDecomposeQKPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "qk/Transforms/Passes.h.inc"

} // namespace qk
} // namespace mlir

#endif // QK_TRANSFORMS_PASSES_H
