//===- RoPEMatcher.h - Rotary embeddings on the heads of a qkv --*- C++ -*-===//
//
// Finds rotary position embeddings (RoPE) applied to heads of a fused qkv
// tensor, in whatever form a producer spells them: NeoX `rotate_half` (two
// slices, a negation and a `tensor.concat`), GPT-J interleaved pairs
// (strided slices and a stack), one generic that reads the partner element,
// partial rotary (the rest of the head concatenated back unchanged), cos and
// sin as per-token tensors or gathered from a cache by positions.
//
// How: every element of a candidate value is evaluated symbolically
// (ElementEvaluator) into a small expression over qkv columns and table
// entries, following extract_slice / expand_shape / collapse_shape / concat
// and the bodies of elementwise linalg.generics (tensor.extract of a table
// at a row that is the token or positions[token] included), with the token
// dimension symbolic and every other index concrete. An element is then
// either a qkv column passed through or `a * c + sign * b * s` of two qkv
// columns and two table entries (matchRotation), and the elements of a head
// together fix the style, the rotary dim and the table columns. Nothing in
// here knows the fuse pass: it answers "is this value RoPE of these qkv
// columns, exactly, and how".
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_ROPEMATCHER_H
#define QK_ANALYSIS_ROPEMATCHER_H

#include "qk/Analysis/MatchFailure.h"
#include "qk/Dialect/QK/IR/QKOps.h"

#include "llvm/ADT/SetVector.h"

#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace mlir::qk {

/// One scalar of an element's value.
struct ElementExpr {
  enum Kind {
    /// Column `column` of the token's qkv row.
    Qkv,
    /// `table[row, column]`, row = the token, or `positions[token]`.
    Table,
    Const,
    Neg,
    Ext,
    Trunc,
    Add,
    Sub,
    Mul,
    /// Anything else.
    Other
  };
  Kind kind;
  Type type;
  ElementExpr *lhs = nullptr, *rhs = nullptr;
  int64_t column = 0;
  Value table, positions;
  double constant = 0.0;
};

/// Evaluates elements of values computed from `qkv` (a [T, C] or [T, H, D]
/// tensor: its elements are the `Qkv` leaves).
class ElementEvaluator {
public:
  explicit ElementEvaluator(Value qkv);

  /// Element `index` of `value` (index[0], the token, is ignored: the token
  /// is symbolic). Null on failure, with `why` set.
  ElementExpr *evaluate(Value value, ArrayRef<int64_t> index);

  /// The ops whose results were evaluated, in the order first met.
  const llvm::SetVector<Operation *> &visitedOps() const { return visited; }
  /// The tensor values evaluated.
  const llvm::SetVector<Value> &visitedValues() const { return values; }

  MatchFailure why;

  /// An index inside a body: a constant, the token, the token's position.
  struct IndexValue;
  /// A scalar inside a body: a float expression or an index.
  struct Scalar;

private:
  Value qkv;
  int64_t qkvHeadDim;
  std::deque<ElementExpr> arena;
  std::map<std::pair<const void *, std::vector<int64_t>>, ElementExpr *> memo;
  llvm::SetVector<Operation *> visited;
  llvm::SetVector<Value> values;

  ElementExpr *make(ElementExpr::Kind kind, Type type,
                    ElementExpr *lhs = nullptr, ElementExpr *rhs = nullptr);
  ElementExpr *fail(StringRef code, const Twine &text);
  ElementExpr *evaluateImpl(Value value, ArrayRef<int64_t> index);
  ElementExpr *fromGeneric(linalg::GenericOp generic, unsigned result,
                           ArrayRef<int64_t> index);
  FailureOr<Scalar> scalar(Value v, linalg::GenericOp generic,
                           ArrayRef<IndexValue> loops);
};

/// What one rotation does to every head of a site (the parameters of a
/// #qk.rope step, with its tables and positions as values).
struct RotationMatch {
  RopeStyle style;
  RopeRounding rounding;
  int64_t headDim;   ///< elements per rotated head
  int64_t rotaryDim; ///< rotated elements per head, a prefix
  Value cos, sin;    ///< the tables
  Value positions;   ///< null: rows are tokens
  int64_t cosColumn, sinColumn;
  bool perPair;

  bool operator==(const RotationMatch &o) const;
};

/// A value whose every element is RoPE (or a pass-through) of one qkv
/// column: `value` is [T, ..., headDim], head h (the middle indices in
/// row-major order) starts at column `headStarts[h]`.
struct RoPESite {
  Value value;
  RotationMatch rotation;
  SmallVector<int64_t> headStarts;
  /// A value computed before `value` (inside its DAG) that holds the
  /// un-rotated qkv columns in the same places: `value`'s readers read it
  /// after the rewrite, which rotates those columns in place.
  Value unrotated;
};

/// Whether `value` (a tensor computed from `eval`'s qkv) is RoPE of heads of
/// qkv, every element of it evaluated. The last dimension is the head.
FailureOr<RoPESite> matchRoPESite(Value value, ElementEvaluator &eval,
                                  MatchFailure &why);

/// Whether columns [start, start + headDim) of `value` ([T, C] or [T, H, D],
/// computed from `eval`'s qkv) are one head of qkv rotated in place (the
/// rotation), the same columns unchanged (none), or neither (failure).
FailureOr<std::optional<RotationMatch>>
matchRotatedColumns(Value value, int64_t start, int64_t headDim,
                    ElementEvaluator &eval, MatchFailure &why);

/// Whether column `column` of `value` is the same column of `eval`'s qkv.
bool isColumnOf(Value value, int64_t column, ElementEvaluator &eval);

} // namespace mlir::qk

#endif // QK_ANALYSIS_ROPEMATCHER_H
