//===- NormSites.h - Norms that read groups of columns of qkv ---*- C++ -*-===//
//
// The analysis half of the strided QK-norm fusion, for the fuse pass, its
// patterns and anyone who wants to know which norms of a fused qkv buffer
// could run in place on it.
//
// A site is one qk.rms_norm whose input is a row-major reinterpretation of a
// view of a qkv tensor:
//
//   [copy | reshape]* (extract_slice | token-keeping expand/collapse)+ %qkv
//
// e.g. q = qkv[:, a:b]; q.reshape(-1, D).contiguous(); rms_norm(q) (copies
// written as linalg.copy into tensor.empty or as materialize_in_destination;
// reshapes as expand_shape / collapse_shape / tensor.reshape / tensor.cast),
// or Qwen3-Next's q = chunk(qkv[:, :2HD].view(T, H, 2D), 2)[0]: heads D wide
// and 2D apart.
//
// matchNormSite checks what one norm needs (each failure a reason code):
//   - the views of qkv are slices with unit strides and static columns that
//     cover every token row, and reshapes that keep the token dim alone;
//   - the normalised rows are whole groups of contiguous columns of one
//     token, `group_stride` apart (QKVViews.h: getNormGroups); for a
//     [T, H, D] qkv, groups start at heads and hold whole heads;
//   - bf16 / f16 / f32, at most QK_MAX_RANGES ranges;
//   - bufferization copies no more afterwards than before: every read of the
//     norm result can be rebuilt as a view of qkv with no more copies than
//     the input chain had.
// findPreNormReader finds what would still read the pre-norm q/k columns of
// qkv once the norms of a block write it in place (bufferization would then
// copy the whole qkv). Choosing the sites of one block that fuse together,
// and the rewrite, are the fuse pass's (FuseStridedQKNorm.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_NORMSITES_H
#define QK_ANALYSIS_NORMSITES_H

#include "qk/Analysis/MatchFailure.h"
#include "qk/Analysis/QKVViews.h"
#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::qk {

/// A value that reads a norm result, and how to rebuild it from qkv.
struct ResultRead {
  Value value;
  /// Set when the value keeps tokens apart from heads: a plan of views.
  std::optional<ReinterpretPlan> plan;
  /// Otherwise: the reinterpreting ops from the norm result to `value`,
  /// replayed on the rebuilt norm result (bufferization copies there).
  SmallVector<Operation *> path;
};

/// One row norm (RowNormOpInterface: qk.rms_norm today) that reads groups of
/// columns of a qkv tensor.
struct NormSite {
  // Op handles are cheap and their accessors are not const.
  mutable RowNormOpInterface norm;
  /// The whole buffer the fused op writes.
  Value qkv;
  /// Views from qkv to `base` (slices, token-keeping reshapes), in order.
  SmallVector<Operation *> prefix;
  /// The layout of each prefix op's source (token-row reshapes are rebuilt
  /// as views from it).
  SmallVector<MemRefType> prefixLayouts;
  /// The last view of qkv; the norm input reinterprets its elements.
  Value base;
  /// Its buffer layout relative to qkv's identity layout.
  MemRefType baseLayout;
  /// Set when the norm reads a value that is then inserted whole into qkv
  /// (prefix empty): base is that value, a view of qkv after the insert.
  mutable tensor::InsertSliceOp insert;
  /// Reshapes and copies from `base` to the norm input, in order.
  SmallVector<Operation *> suffix;
  SmallVector<GroupRange> ranges;
  int64_t groupSize = 0;
  /// The reads of the norm result and their rebuilding.
  SmallVector<ResultRead> reads;
  /// Copies bufferization makes for this norm, without and with fusion.
  int copiesBefore = 0, copiesAfter = 0;
  /// The first reader that bufferization copies for after fusion.
  Operation *copyingReader = nullptr;

  int64_t numGroups() const {
    int64_t n = 0;
    for (const GroupRange &r : ranges)
      n += r.numGroups;
    return n;
  }
  bool isStrided() const {
    return llvm::any_of(ranges, [](const GroupRange &r) {
      return r.numGroups > 1 && r.groupStride != r.groupSize;
    });
  }
};

/// Why a norm is not a site.
struct NormSiteMismatch : MatchFailure {
  /// False for norms that read no view of a qkv tensor at all (nothing to
  /// report).
  bool isCandidate = true;
};

/// Whether `size` is dim 0 of `source` (its token count): a static equal
/// size, `tensor.dim %source, 0`, torch-mlir's reshape size, or what
/// ValueBoundsConstraintSet proves (only on IR it cannot crash on).
bool isTokenCount(OpFoldResult size, Value source);

/// The site of `norm`, or why it is none.
FailureOr<NormSite> matchNormSite(RowNormOpInterface norm,
                                  NormSiteMismatch &why);

/// The value an explicit copy (`.contiguous()`: linalg.copy into
/// tensor.empty, materialize_in_destination into tensor.empty) copies, or
/// null.
Value copiedValue(Operation *op);

/// The columns of one token row of qkv that the norms of some sites
/// normalise, and those norms.
struct NormalisedColumns {
  llvm::BitVector columns;
  DenseSet<Operation *> norms;
  /// `sites` share one qkv.
  explicit NormalisedColumns(ArrayRef<NormSite> sites);
};

/// The columns of one token row (of `numColumns`) that the ranges of
/// `sites` normalise.
llvm::BitVector normalisedColumns(ArrayRef<NormSite> sites, int64_t numColumns);

/// The first op under `use` of qkv that may read a normalised column other
/// than through the norms (whose input chains die with the rewrite), or
/// null.
Operation *findNormalisedReader(OpOperand &use,
                                const NormalisedColumns &normalised);

/// The first reader of pre-norm q/k columns of qkv outside the norms of
/// `sites` (one qkv), or null.
Operation *findPreNormReader(ArrayRef<NormSite> sites);

} // namespace mlir::qk

#endif // QK_ANALYSIS_NORMSITES_H
