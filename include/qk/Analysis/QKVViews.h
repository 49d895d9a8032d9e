//===- QKVViews.h - What bufferization makes of views of qkv ----*- C++ -*-===//
//
// A small analysis library shared by the fuse pass and anyone who wants to
// reason about tensor views of a fused qkv buffer before bufferization:
//
//  - the buffer layout one-shot bufferization gives a view op's result when
//    its source has a known strided layout, or the fact that it copies there
//    (mirrors upstream tensor bufferization: expand_shape is always a view,
//    collapse_shape only when memref::CollapseShapeOp::isGuaranteedCollapsible,
//    tensor.reshape only of an identity layout);
//  - the column pattern of a [T, ...] view of a row-major [T, C] buffer, and
//    the groups a row-wise norm of its row-major reinterpretation touches;
//  - a plan that rebuilds a row-major reinterpretation of such a view with
//    expand/collapse ops only where bufferization keeps them views. The plan
//    is data: the fuse pass counts its copies before it rewrites anything.
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_QKVVIEWS_H
#define QK_ANALYSIS_QKVVIEWS_H

#include "qk/Analysis/MatchFailure.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <string>

namespace mlir::qk {

/// Ops that reinterpret their operand's elements in row-major order without
/// selecting any: tensor.expand_shape, tensor.collapse_shape, tensor.reshape
/// and tensor.cast.
bool isReinterpretingView(Operation *op);

/// The identity-layout buffer type of `type`.
MemRefType identityBufferType(RankedTensorType type);

/// The buffer type one-shot bufferization gives the result of `op`
/// (extract_slice with static column offsets and unit strides, or a
/// reinterpreting view) when its source buffer has type `source`. Failure
/// when bufferization copies instead; `whyCopy` then says why.
FailureOr<MemRefType> bufferizedViewType(Operation *op, MemRefType source,
                                         std::string *whyCopy = nullptr);

/// The buffer layout of `op`'s result as the fuse pass leaves it: as
/// bufferizedViewType, except that a tensor.reshape that keeps the token dim
/// (rewritten into expand/collapse views) has the layout of its plan.
FailureOr<MemRefType> getViewLayout(Operation *op, MemRefType source);

/// Whether `op` is a tensor.reshape of a [T, ...] value into [T, ...] with
/// the same T: the fuse pass rewrites it into views (planReinterpretation).
bool isTokenRowReshape(Operation *op);

/// The columns that every token row of a view of a row-major buffer reads:
/// `offset + sum_i idx_i * stride_i` for idx_i < size_i, with dims of size 1
/// dropped and contiguous neighbours merged (outermost first). Only for a
/// layout whose dim 0 is the token dimension.
struct ColumnPattern {
  int64_t offset = 0;
  SmallVector<std::pair<int64_t, int64_t>> dims; // (size, stride)
};
FailureOr<ColumnPattern> getColumnPattern(MemRefType view);

/// Column groups of one token row: `numGroups` groups of `groupSize`
/// columns, `groupStride` apart, starting at `columnOffset`.
struct GroupRange {
  int64_t columnOffset, numGroups, groupSize, groupStride;
};

/// The groups that a norm over rows of `groupSize` elements of the row-major
/// reinterpretation of `view` normalises, as at most `maxRanges` ranges.
/// Fails when the groups are not contiguous columns of one token; `why`
/// then holds the reason, `group_size` and the figures of its message:
///  - `empty-row`: groupSize is not positive;
///  - `columns-not-strided`: the view's columns are not a static strided
///    pattern;
///  - `groups-cross-rows`: groupSize does not divide the row width
///    (`width`);
///  - `groups-not-contiguous`: the view's runs of contiguous columns
///    (`run_columns`, `run_stride` apart) do not hold whole groups;
///  - `groups-need-too-many-ranges`: the groups need `ranges` ranges of one
///    stride, more than `max_ranges`.
FailureOr<SmallVector<GroupRange>> getNormGroups(MemRefType view,
                                                 int64_t groupSize,
                                                 int64_t maxRanges,
                                                 MatchFailure &why);

/// Index `j` such that `shape` is a row-major reinterpretation of
/// [tokens, width] that keeps tokens apart from columns: the product of
/// shape[0..j] is `tokens` and of shape[j+1..] is `width`. `tokens` may be
/// dynamic (then exactly one dim of `shape` is dynamic and holds it).
std::optional<unsigned> getTokenPrefixEnd(ArrayRef<int64_t> shape,
                                          int64_t tokens, int64_t width);

/// How to rebuild a row-major reinterpretation of a [T, ...] base view as
/// `target` with expand/collapse ops, and how many of them copy.
struct ReinterpretPlan {
  struct Step {
    bool expand; // expand_shape, else collapse_shape
    SmallVector<ReassociationIndices> reassociation;
    RankedTensorType resultType;
  };
  SmallVector<Step> steps;
  RankedTensorType target;
  int copies = 0;
  /// The bufferized layout of the result (when it is a view).
  MemRefType layout;
};

/// Plans `target` from `base` (tensor type, buffer layout `baseLayout`).
/// Failure when `target` merges tokens with columns (no plan of views).
FailureOr<ReinterpretPlan> planReinterpretation(RankedTensorType base,
                                                MemRefType baseLayout,
                                                RankedTensorType target);

/// Builds `plan` on `base`.
Value materializeReinterpretation(OpBuilder &b, Location loc, Value base,
                                  const ReinterpretPlan &plan);

} // namespace mlir::qk

#endif // QK_ANALYSIS_QKVVIEWS_H
