//===- QKDialect.h - The qk dialect -----------------------------*- C++ -*-===//

#ifndef QK_DIALECT_QK_IR_QKDIALECT_H
#define QK_DIALECT_QK_IR_QKDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "qk/Dialect/QK/IR/QKOpsDialect.h.inc"

#endif // QK_DIALECT_QK_IR_QKDIALECT_H
