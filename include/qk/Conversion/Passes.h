//===- Passes.h - qk lowering passes ----------------------------*- C++ -*-===//

#ifndef QK_CONVERSION_PASSES_H
#define QK_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace qk {

#define GEN_PASS_DECL
#include "qk/Conversion/Passes.h.inc"

/// Name of the unit attribute that marks the `!llvm.ptr` function argument
/// carrying the stream for the runtime calls.
inline constexpr llvm::StringLiteral kStreamArgAttrName = "qk.stream";

#define GEN_PASS_REGISTRATION
#include "qk/Conversion/Passes.h.inc"

} // namespace qk
} // namespace mlir

#endif // QK_CONVERSION_PASSES_H
