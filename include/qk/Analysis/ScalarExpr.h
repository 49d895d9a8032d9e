//===- ScalarExpr.h - linalg.generic bodies as a DAG ------------*- C++ -*-===//
//
// Symbolic evaluation of the value one elementwise linalg.generic (the root)
// computes per element, followed backwards through the bodies of the
// generics that produce its operands: a small expression DAG whose leaves
// are tensors read per element or per column, row sums (a reduction
// generic over the last dimension), and constants. Constant subexpressions
// are folded as the graph would round them, so that producers' many
// spellings of one constant (an f64 literal and `arith.truncf`, `sitofp` of
// an integer) are one constant.
//
// The DAG knows nothing of any norm: a matcher (RMSNormMatcher.h; a
// LayerNorm or RoPE matcher alike) walks it from the root with predicates.
// Building fails, with a reason, only on constructs it cannot represent
// (reads through other indexing maps, captured non-constants, reductions
// that are not sums over the last dimension, ...); arithmetic it does not
// model becomes an opaque `Other` node, so that a matcher can name what it
// found instead of where building stopped.
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_SCALAREXPR_H
#define QK_ANALYSIS_SCALAREXPR_H

#include "qk/Analysis/MatchFailure.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "llvm/ADT/DenseMap.h"

#include <deque>
#include <optional>

namespace mlir::qk {

/// One node of the DAG: the value of one scalar of the root's iteration
/// space [rows..., N].
struct ScalarExpr {
  enum Kind {
    /// A tensor read per element (`tensor`): e.g. a norm's input.
    ElementRead,
    /// A tensor read per column (`tensor`, indexed by the last dim only):
    /// e.g. a norm's weight.
    ColumnRead,
    /// The sum over the last dimension of operands[0] (`reduction`: the
    /// generic that sums).
    RowSum,
    /// `constant`, in `type`.
    Const,
    Ext,
    Trunc,
    Add,
    Sub,
    Mul,
    Div,
    Rsqrt,
    /// Anything else (exp, max, a power other than 2, ...).
    Other
  };
  Kind kind;
  Type type;
  SmallVector<ScalarExpr *, 2> operands;
  double constant = 0.0;
  Value tensor;                // ElementRead / ColumnRead: the tensor read.
  linalg::GenericOp reduction; // RowSum: the reduction generic.
};

/// Init operand `result` of `generic`, and whether `operand` is an init.
/// The DestinationStyleOpInterface accessors (getDpsInitOperand, isDpsInit,
/// getNumDpsInits) build a MutableOperandRange, which uniques the operand
/// segment attribute on every call: a tenth of the raise pass on a 4000-layer
/// stack (benchmarks/compile_time.py). A generic's operands are its inputs,
/// then its inits.
inline OpOperand *initOperand(linalg::GenericOp generic, unsigned result) {
  return &generic->getOpOperand(generic.getInputs().size() + result);
}
inline bool isInit(linalg::GenericOp generic, OpOperand *operand) {
  return operand->getOperandNumber() >= generic.getInputs().size();
}

/// Whether `e` is a constant, and its value in `value` if given.
bool isConst(const ScalarExpr *e, double *value = nullptr);

/// Structural equality, so that x.float() computed in two generics is one
/// x. `Other` nodes are never equal.
bool sameExpr(const ScalarExpr *a, const ScalarExpr *b);

/// Builds the DAG of one root. The nodes live as long as the builder.
class ScalarExprBuilder {
public:
  /// `rank`: the rank of the root's iteration space.
  explicit ScalarExprBuilder(int64_t rank) : rank(rank) {}

  /// The value of result 0 of `root`, per element. Fails with `why` when a
  /// construct cannot be represented.
  FailureOr<ScalarExpr *> build(linalg::GenericOp root);

  /// The first construct that could not be represented.
  MatchFailure why;

  /// What building met on the way (matchers use them to tell a near miss
  /// worth a remark from an unrelated generic): a reduction generic, an
  /// rsqrt, a square (`x * x` or a power of 2).
  bool sawReduction() const { return sawReductionGeneric; }
  bool sawRsqrt() const { return sawRsqrtOp; }
  bool sawSquare() const { return sawSquareOp; }

private:
  /// How a tensor is indexed relative to the root's iteration space.
  enum class Level { Scalar, Row, Col, Full };

  int64_t rank;
  bool sawReductionGeneric = false;
  bool sawRsqrtOp = false, sawSquareOp = false;
  std::deque<ScalarExpr> arena;
  DenseMap<Value, ScalarExpr *> memo;
  /// The indexing maps of each generic met: LinalgOp::getMatchingIndexingMap
  /// rebuilds the whole map array on every call, which dominated matching.
  DenseMap<Operation *, SmallVector<AffineMap>> maps;

  ScalarExpr *make(ScalarExpr::Kind kind, Type type,
                   ArrayRef<ScalarExpr *> operands = {});
  ScalarExpr *makeConst(Type type, double value);
  FailureOr<ScalarExpr *> fail(StringRef code, const Twine &text);
  AffineMap indexingMap(linalg::GenericOp generic, OpOperand *operand);
  std::optional<Level> classify(AffineMap map, Level level, unsigned numLoops);
  FailureOr<ScalarExpr *> fromTensor(Value tensor, Level level);
  FailureOr<ScalarExpr *> fromGenericResult(linalg::GenericOp generic,
                                            unsigned resultNumber, Level level);
  FailureOr<ScalarExpr *> fromReduction(linalg::GenericOp generic,
                                        unsigned resultNumber);
  FailureOr<ScalarExpr *> fromScalar(Value v, linalg::GenericOp generic,
                                     Level level);
  FailureOr<ScalarExpr *> fromScalarImpl(Value v, linalg::GenericOp generic,
                                         Level level);
};

} // namespace mlir::qk

#endif // QK_ANALYSIS_SCALAREXPR_H
