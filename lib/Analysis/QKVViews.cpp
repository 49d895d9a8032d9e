//===- QKVViews.cpp - What bufferization makes of views of qkv ------------===//

#include "qk/Analysis/QKVViews.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::qk;

bool mlir::qk::isReinterpretingView(Operation *op) {
  return isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::ReshapeOp,
             tensor::CastOp>(op);
}

MemRefType mlir::qk::identityBufferType(RankedTensorType type) {
  return MemRefType::get(type.getShape(), type.getElementType());
}

FailureOr<MemRefType> mlir::qk::bufferizedViewType(Operation *op,
                                                   MemRefType source,
                                                   std::string *whyCopy) {
  auto copies = [&](const Twine &why) -> FailureOr<MemRefType> {
    if (whyCopy)
      *whyCopy = why.str();
    return failure();
  };
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (source.getRank() != slice.getSourceType().getRank())
      return copies("the slice's source has another rank");
    return memref::SubViewOp::inferRankReducedResultType(
        resultType.getShape(), source, slice.getStaticOffsets(),
        slice.getStaticSizes(), slice.getStaticStrides());
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    FailureOr<MemRefType> t = memref::ExpandShapeOp::computeExpandedType(
        source, resultType.getShape(), expand.getReassociationIndices());
    if (failed(t))
      return copies("the expanded layout is not strided");
    return t;
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    SmallVector<ReassociationIndices> reassociation =
        collapse.getReassociationIndices();
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(source,
                                                          reassociation))
      return copies("it merges dimensions that are not adjacent in memory");
    return memref::CollapseShapeOp::computeCollapsedType(source, reassociation);
  }
  if (isa<tensor::ReshapeOp>(op)) {
    if (!source.getLayout().isIdentity())
      return copies("tensor.reshape needs an identity-layout buffer");
    return identityBufferType(resultType);
  }
  if (isa<tensor::CastOp>(op))
    return MemRefType::get(resultType.getShape(), source.getElementType(),
                           source.getLayout());
  return copies("not a view op");
}

FailureOr<ColumnPattern> mlir::qk::getColumnPattern(MemRefType view) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (view.getRank() < 1 || failed(view.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset))
    return failure();
  ColumnPattern pattern;
  pattern.offset = offset;
  // Innermost first, then reversed.
  SmallVector<std::pair<int64_t, int64_t>> inner;
  for (int64_t d = view.getRank() - 1; d >= 1; --d) {
    int64_t size = view.getDimSize(d), stride = strides[d];
    if (ShapedType::isDynamic(size) || ShapedType::isDynamic(stride))
      return failure();
    if (size == 1)
      continue;
    if (!inner.empty() && stride == inner.back().first * inner.back().second) {
      inner.back().first *= size;
      continue;
    }
    inner.push_back({size, stride});
  }
  pattern.dims.assign(inner.rbegin(), inner.rend());
  return pattern;
}

FailureOr<SmallVector<GroupRange>> mlir::qk::getNormGroups(MemRefType view,
                                                           int64_t groupSize,
                                                           int64_t maxRanges,
                                                           MatchFailure &why) {
  auto fail = [&](StringRef code, const Twine &text,
                  Figures figures = {}) -> FailureOr<SmallVector<GroupRange>> {
    figures.insert(figures.begin(),
                   std::pair<StringRef, std::string>(
                       "group_size", std::to_string(groupSize)));
    return why.fail(code, text, std::move(figures));
  };
  if (groupSize <= 0)
    return fail("empty-row", "the normalised dimension is empty");
  FailureOr<ColumnPattern> pattern = getColumnPattern(view);
  if (failed(pattern))
    return fail("columns-not-strided",
                "the columns of the slice are not a static strided pattern");
  int64_t width = 1;
  for (auto [size, stride] : pattern->dims)
    width *= size;
  if (width % groupSize != 0)
    return fail("groups-cross-rows",
                "groups of " + Twine(groupSize) +
                    " elements cross token rows (range width " + Twine(width) +
                    ")",
                {{"width", std::to_string(width)}});
  SmallVector<std::pair<int64_t, int64_t>> outer(pattern->dims);
  std::pair<int64_t, int64_t> run = {1, 1};
  if (!outer.empty())
    run = outer.pop_back_val();
  if (run.second != 1 || run.first % groupSize != 0) {
    int64_t apart = outer.empty() ? run.second : outer.back().second;
    return fail("groups-not-contiguous",
                "groups of " + Twine(groupSize) +
                    " elements are not contiguous in qkv (runs of " +
                    Twine(run.first) + " columns, " + Twine(apart) + " apart)",
                {{"run_columns", std::to_string(run.first)},
                 {"run_stride", std::to_string(apart)}});
  }
  GroupRange base{pattern->offset, run.first / groupSize, groupSize, groupSize};
  if (base.numGroups == 1 && !outer.empty()) {
    auto [count, stride] = outer.pop_back_val();
    base.numGroups = count;
    base.groupStride = stride;
  }
  // The remaining outer dims enumerate ranges.
  int64_t numRanges = 1;
  for (auto [size, stride] : outer)
    numRanges *= size;
  if (numRanges > maxRanges)
    return fail("groups-need-too-many-ranges",
                "the groups need " + Twine(numRanges) +
                    " ranges of one stride (at most " + Twine(maxRanges) + ")",
                {{"ranges", std::to_string(numRanges)},
                 {"max_ranges", std::to_string(maxRanges)}});
  SmallVector<GroupRange> ranges;
  for (int64_t r = 0; r < numRanges; ++r) {
    GroupRange range = base;
    int64_t rest = r;
    for (auto [size, stride] : llvm::reverse(outer)) {
      range.columnOffset += (rest % size) * stride;
      rest /= size;
    }
    ranges.push_back(range);
  }
  llvm::sort(ranges, [](const GroupRange &a, const GroupRange &b) {
    return a.columnOffset < b.columnOffset;
  });
  return ranges;
}

static int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

std::optional<unsigned> mlir::qk::getTokenPrefixEnd(ArrayRef<int64_t> shape,
                                                    int64_t tokens,
                                                    int64_t width) {
  unsigned n = shape.size();
  if (n < 2)
    return std::nullopt;
  auto dynamicDims = llvm::count_if(shape, ShapedType::isDynamic);
  if (dynamicDims > 1)
    return std::nullopt;
  if (dynamicDims == 1) {
    // Numbers of elements agree, so the one dynamic dim holds the tokens
    // when every other dim before it is 1 and the ones after make a row.
    unsigned j = llvm::find_if(shape, ShapedType::isDynamic) - shape.begin();
    if (j + 1 == n || product(shape.take_front(j)) != 1 ||
        product(shape.drop_front(j + 1)) != width)
      return std::nullopt;
    return j;
  }
  if (ShapedType::isDynamic(tokens))
    return std::nullopt;
  int64_t prefix = 1;
  for (unsigned j = 0; j + 1 < n; ++j) {
    prefix *= shape[j];
    if (prefix == tokens && product(shape.drop_front(j + 1)) == width)
      return j;
    if (prefix > tokens)
      break;
  }
  return std::nullopt;
}

/// [[0], [1 + r0...], [1 + r1...], ...]: `columns` applied after a token dim.
static SmallVector<ReassociationIndices>
withTokenDim(ArrayRef<ReassociationIndices> columns) {
  SmallVector<ReassociationIndices> result = {{0}};
  for (const ReassociationIndices &group : columns) {
    ReassociationIndices shifted;
    for (int64_t d : group)
      shifted.push_back(d + 1);
    result.push_back(shifted);
  }
  return result;
}

static SmallVector<ReassociationIndices> allInOne(int64_t count) {
  ReassociationIndices group;
  for (int64_t d = 0; d < count; ++d)
    group.push_back(d);
  return {group};
}

FailureOr<ReinterpretPlan>
mlir::qk::planReinterpretation(RankedTensorType base, MemRefType baseLayout,
                               RankedTensorType target) {
  if (base.getRank() < 2 || base.getElementType() != target.getElementType())
    return failure();
  int64_t tokens = base.getDimSize(0);
  ArrayRef<int64_t> baseColumns = base.getShape().drop_front();
  if (llvm::any_of(baseColumns, ShapedType::isDynamic))
    return failure();
  int64_t width = product(baseColumns);
  std::optional<unsigned> j =
      getTokenPrefixEnd(target.getShape(), tokens, width);
  if (!j)
    return failure();
  ArrayRef<int64_t> targetColumns = target.getShape().drop_front(*j + 1);

  ReinterpretPlan plan;
  plan.target = target;
  RankedTensorType current = base;
  MemRefType layout = baseLayout;
  Type element = base.getElementType();
  auto addStep = [&](bool expand, SmallVector<ReassociationIndices> reassoc,
                     ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, element);
    FailureOr<MemRefType> next;
    if (expand)
      next = memref::ExpandShapeOp::computeExpandedType(layout, shape, reassoc);
    else if (memref::CollapseShapeOp::isGuaranteedCollapsible(layout, reassoc))
      next = memref::CollapseShapeOp::computeCollapsedType(layout, reassoc);
    if (failed(next)) {
      ++plan.copies;
      next = identityBufferType(type);
    }
    layout = *next;
    current = type;
    plan.steps.push_back({expand, std::move(reassoc), type});
  };
  auto withTokens = [&](ArrayRef<int64_t> columns) {
    SmallVector<int64_t> shape = {tokens};
    llvm::append_range(shape, columns);
    return shape;
  };

  // Columns first: [T, baseColumns] -> [T, targetColumns].
  if (baseColumns != targetColumns) {
    std::optional<SmallVector<ReassociationIndices>> collapse, expand;
    if (baseColumns.size() > targetColumns.size())
      collapse = getReassociationIndicesForCollapse(baseColumns, targetColumns);
    else if (baseColumns.size() < targetColumns.size())
      expand = getReassociationIndicesForCollapse(targetColumns, baseColumns);
    if (collapse) {
      addStep(false, withTokenDim(*collapse), withTokens(targetColumns));
    } else if (expand) {
      addStep(true, withTokenDim(*expand), withTokens(targetColumns));
    } else {
      if (baseColumns.size() > 1)
        addStep(false, withTokenDim(allInOne(baseColumns.size())),
                withTokens({width}));
      if (targetColumns.size() > 1)
        addStep(true, withTokenDim(allInOne(targetColumns.size())),
                withTokens(targetColumns));
    }
  }
  // Then the token dim: [T, columns] -> [t0, .., tj, columns].
  if (*j > 0) {
    SmallVector<ReassociationIndices> reassoc = {{}};
    for (unsigned d = 0; d <= *j; ++d)
      reassoc[0].push_back(d);
    for (unsigned d = *j + 1; d < target.getRank(); ++d)
      reassoc.push_back({d});
    SmallVector<int64_t> shape(target.getShape().take_front(*j + 1));
    // The token count stays as dynamic as the base has it.
    if (ShapedType::isDynamic(tokens))
      for (int64_t &d : shape)
        if (d != 1)
          d = ShapedType::kDynamic;
    llvm::append_range(shape, targetColumns);
    addStep(true, std::move(reassoc), shape);
  }
  plan.layout = layout;
  return plan;
}

Value mlir::qk::materializeReinterpretation(OpBuilder &b, Location loc,
                                            Value base,
                                            const ReinterpretPlan &plan) {
  Value current = base;
  Value tokens;
  for (const ReinterpretPlan::Step &step : plan.steps) {
    if (!step.expand) {
      current = tensor::CollapseShapeOp::create(b, loc, step.resultType,
                                                current, step.reassociation);
      continue;
    }
    SmallVector<OpFoldResult> outputShape;
    for (int64_t d : step.resultType.getShape()) {
      if (!ShapedType::isDynamic(d)) {
        outputShape.push_back(b.getIndexAttr(d));
        continue;
      }
      // Only the token count is dynamic.
      if (!tokens)
        tokens = tensor::DimOp::create(b, loc, base, 0);
      outputShape.push_back(tokens);
    }
    current = tensor::ExpandShapeOp::create(b, loc, step.resultType, current,
                                            step.reassociation, outputShape);
  }
  if (current.getType() != plan.target)
    current = tensor::CastOp::create(b, loc, plan.target, current);
  return current;
}

bool mlir::qk::isTokenRowReshape(Operation *op) {
  auto reshape = dyn_cast<tensor::ReshapeOp>(op);
  if (!reshape)
    return false;
  auto source = dyn_cast<RankedTensorType>(reshape.getSource().getType());
  auto result = dyn_cast<RankedTensorType>(reshape.getResult().getType());
  if (!source || !result || source.getRank() < 2 ||
      llvm::any_of(source.getShape().drop_front(), ShapedType::isDynamic))
    return false;
  std::optional<unsigned> j =
      getTokenPrefixEnd(result.getShape(), source.getDimSize(0),
                        product(source.getShape().drop_front()));
  return j && *j == 0;
}

FailureOr<MemRefType> mlir::qk::getViewLayout(Operation *op,
                                              MemRefType source) {
  if (!isTokenRowReshape(op))
    return bufferizedViewType(op, source);
  FailureOr<ReinterpretPlan> plan = planReinterpretation(
      cast<RankedTensorType>(op->getOperand(0).getType()), source,
      cast<RankedTensorType>(op->getResult(0).getType()));
  if (failed(plan) || plan->copies)
    return failure();
  return plan->layout;
}
