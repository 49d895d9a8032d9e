//===- QKOps.h - qk dialect attributes and operations -----------*- C++ -*-===//

#ifndef QK_DIALECT_QK_IR_QKOPS_H
#define QK_DIALECT_QK_IR_QKOPS_H

#include "qk/Dialect/QK/IR/QKDialect.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "qk/Dialect/QK/IR/QKEnums.h.inc"

namespace mlir::qk {
/// Parses and prints the bare f32 literals of `#qk.range`.
FailureOr<llvm::APFloat> parseF32Parameter(AsmParser &parser);
void printF32Parameter(AsmPrinter &printer, const llvm::APFloat &value);

/// Element types the ops and the runtime support: bf16, f16, f32.
bool isSupportedElementType(Type type);
} // namespace mlir::qk

#include "qk/Dialect/QK/IR/QKAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "qk/Dialect/QK/IR/QKAttrs.h.inc"

#include "qk/Dialect/QK/IR/QKOpInterfaces.h.inc"

#define GET_OP_CLASSES
#include "qk/Dialect/QK/IR/QKOps.h.inc"

#endif // QK_DIALECT_QK_IR_QKOPS_H
