//===- RewriteUtils.cpp - Helpers shared by the qk rewrites ---------------===//

#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

void mlir::qk::eraseDeadOps(RewriterBase &rewriter,
                            SmallVector<Operation *> worklist,
                            DenseSet<Operation *> *erased) {
  DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (seen.contains(op) || !op->use_empty() || !isOpTriviallyDead(op))
      continue;
    llvm::append_range(worklist, operandProducers(op));
    seen.insert(op);
    if (erased)
      erased->insert(op);
    rewriter.eraseOp(op);
  }
}

SmallVector<Operation *> mlir::qk::operandProducers(Operation *op) {
  SmallVector<Operation *> producers;
  for (Value operand : op->getOperands())
    if (Operation *def = operand.getDefiningOp())
      producers.push_back(def);
  return producers;
}
