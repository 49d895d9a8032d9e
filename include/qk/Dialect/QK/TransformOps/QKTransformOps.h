//===- QKTransformOps.h - qk transform dialect ops --------------*- C++ -*-===//

#ifndef QK_DIALECT_QK_TRANSFORMOPS_QKTRANSFORMOPS_H
#define QK_DIALECT_QK_TRANSFORMOPS_QKTRANSFORMOPS_H

#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
class DialectRegistry;
namespace qk {
/// Adds the transform.apply_patterns.qk.* pattern descriptors to the
/// transform dialect.
void registerTransformDialectExtension(DialectRegistry &registry);
} // namespace qk
} // namespace mlir

#define GET_OP_CLASSES
#include "qk/Dialect/QK/TransformOps/QKTransformOps.h.inc"

#endif // QK_DIALECT_QK_TRANSFORMOPS_QKTRANSFORMOPS_H
