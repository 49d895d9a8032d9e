//===- RewriteUtils.h - Helpers shared by the qk rewrites -------*- C++ -*-===//

#ifndef QK_TRANSFORMS_REWRITEUTILS_H
#define QK_TRANSFORMS_REWRITEUTILS_H

#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::qk {
/// Erases the ops of `worklist` that are trivially dead, then the producers
/// that die with them, and records every erased op in `erased` if given.
void eraseDeadOps(RewriterBase &rewriter, SmallVector<Operation *> worklist,
                  DenseSet<Operation *> *erased = nullptr);

/// The defining ops of `op`'s operands.
SmallVector<Operation *> operandProducers(Operation *op);
} // namespace mlir::qk

#endif // QK_TRANSFORMS_REWRITEUTILS_H
