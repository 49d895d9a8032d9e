//===- RewriteUtils.cpp - Helpers shared by the qk rewrites ---------------===//

#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

/// isOpTriviallyDead for an op without uses; for a linalg op on tensors
/// whose body is flat and free of memory effects (the generics a decomposed
/// norm leaves) the answer is known without the generic interface walk,
/// which was half of the raise pass's time.
static bool isDead(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    if (linalgOp.hasPureTensorSemantics() && op->getNumRegions() == 1 &&
        llvm::all_of(op->getRegion(0).getOps(), [](Operation &bodyOp) {
          return bodyOp.getNumRegions() == 0 && isMemoryEffectFree(&bodyOp);
        }))
      return true;
  return isOpTriviallyDead(op);
}

void mlir::qk::eraseDeadOps(RewriterBase &rewriter,
                            SmallVector<Operation *> worklist,
                            DenseSet<Operation *> *erased) {
  DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (seen.contains(op) || !op->use_empty() || !isDead(op))
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
