//===- NormSites.cpp - Norms that read groups of columns of qkv -----------===//

#include "qk/Analysis/NormSites.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "qk/Runtime/QKNormRuntime.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>

using namespace mlir;
using namespace mlir::qk;

Value mlir::qk::copiedValue(Operation *op) {
  if (auto copy = dyn_cast<linalg::CopyOp>(op))
    if (copy.hasPureTensorSemantics() &&
        copy.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
      return copy.getInputs()[0];
  if (auto mat = dyn_cast<bufferization::MaterializeInDestinationOp>(op))
    if (mat.getResult() && mat.getDest().getDefiningOp<tensor::EmptyOp>())
      return mat.getSource();
  return {};
}

//===----------------------------------------------------------------------===//
// Matching one norm
//===----------------------------------------------------------------------===//

namespace {

/// Whether every dim query in the backward slice of `v` has an in-range
/// constant index: ValueBoundsConstraintSet crashes on `tensor.dim %t, %c`
/// with an out-of-range `%c` (valid IR), and Debian's LLVM has no
/// assertions. Conservative: non-destination-style ops with regions, or a
/// slice deeper than the analysis would usefully go, answer false.
bool isSafeForValueBounds(Value v, DenseSet<Value> &seen, int depth = 0) {
  if (!seen.insert(v).second)
    return true;
  Operation *def = v.getDefiningOp();
  if (!def)
    return true;
  // The analysis reads a destination-style op's result sizes off its
  // inits, never its body; other ops with regions (loops) it may enter.
  if (depth > 32 ||
      (def->getNumRegions() != 0 && !isa<DestinationStyleOpInterface>(def)))
    return false;
  if (auto dim = dyn_cast<tensor::DimOp>(def)) {
    std::optional<int64_t> index = dim.getConstantIndex();
    auto type = dyn_cast<RankedTensorType>(dim.getSource().getType());
    if (!index || !type || *index < 0 || *index >= type.getRank())
      return false;
  }
  return llvm::all_of(def->getOperands(), [&](Value operand) {
    return isSafeForValueBounds(operand, seen, depth + 1);
  });
}

} // namespace

bool mlir::qk::isTokenCount(OpFoldResult size, Value source) {
  std::optional<int64_t> staticSize = getConstantIntValue(size);
  int64_t sourceRows = cast<RankedTensorType>(source.getType()).getDimSize(0);
  if (staticSize)
    return *staticSize == sourceRows;
  // The common forms, answered without the upstream analysis.
  Value sizeValue = cast<Value>(size);
  if (auto dim = sizeValue.getDefiningOp<tensor::DimOp>())
    if (dim.getSource() == source && dim.getConstantIndex() == 0)
      return true;
  // torch-mlir: the source is tensor.reshape(%x, from_elements(%n, ...)) and
  // the size is index_cast(%n), the reshape's own dim 0.
  if (auto reshape = source.getDefiningOp<tensor::ReshapeOp>())
    if (auto shape =
            reshape.getShape().getDefiningOp<tensor::FromElementsOp>()) {
      Value n = sizeValue;
      if (auto cast = n.getDefiningOp<arith::IndexCastOp>())
        n = cast.getIn();
      if (n == shape.getElements()[0])
        return true;
    }
  DenseSet<Value> seen;
  if (!isSafeForValueBounds(sizeValue, seen) ||
      !isSafeForValueBounds(source, seen))
    return false;
  FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(
      ValueBoundsConstraintSet::Variable(size),
      ValueBoundsConstraintSet::Variable(source, 0));
  return succeeded(equal) && *equal;
}

namespace {

/// Whether `slice` covers every row (dim 0) of its source.
bool coversAllRows(tensor::ExtractSliceOp slice) {
  std::optional<int64_t> offset =
      getConstantIntValue(slice.getMixedOffsets()[0]);
  return offset && *offset == 0 &&
         isTokenCount(slice.getMixedSizes()[0], slice.getSource());
}

/// The insert_slice that writes `v` over every row of a qkv tensor, when
/// nothing but the norm's input chain (`site.suffix`) reads `v` otherwise.
tensor::InsertSliceOp insertedWhole(Value v, const NormSite &site) {
  Operation *chainHead =
      site.suffix.empty() ? site.norm.getOperation() : site.suffix.front();
  tensor::InsertSliceOp insert;
  for (Operation *user : v.getUsers()) {
    if (user == chainHead)
      continue;
    auto candidate = dyn_cast<tensor::InsertSliceOp>(user);
    if (!candidate || candidate.getSource() != v || insert)
      return {};
    insert = candidate;
  }
  if (!insert)
    return {};
  std::optional<int64_t> offset =
      getConstantIntValue(insert.getMixedOffsets()[0]);
  if (!offset || *offset != 0 ||
      !isTokenCount(insert.getMixedSizes()[0], insert.getDest()))
    return {};
  return insert;
}

/// Whether `op` is a view of qkv that keeps dim 0 as the token dim.
bool keepsTokenDim(Operation *op) {
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op))
    return slice.getResultType().getRank() == slice.getSourceType().getRank();
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return expand.getReassociationIndices()[0] == ReassociationIndices{0};
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return collapse.getReassociationIndices()[0] == ReassociationIndices{0};
  return isTokenRowReshape(op);
}

} // namespace

FailureOr<NormSite> mlir::qk::matchNormSite(RowNormOpInterface norm,
                                            NormSiteMismatch &why) {
  why = NormSiteMismatch();
  auto fail = [&](StringRef code, const Twine &reason,
                  Figures figures = {}) -> FailureOr<NormSite> {
    return why.fail(code, reason, std::move(figures));
  };
  NormSite site;
  site.norm = norm;
  auto dps = cast<DestinationStyleOpInterface>(norm.getOperation());
  if (!dps.hasPureTensorSemantics()) {
    why.isCandidate = false;
    return failure();
  }
  // Backwards from the input: reshapes and copies, then views of qkv.
  Value v = norm.getNormInput();
  while (Operation *def = v.getDefiningOp()) {
    if (Value copied = copiedValue(def)) {
      site.suffix.push_back(def);
      v = copied;
    } else if (isReinterpretingView(def)) {
      site.suffix.push_back(def);
      v = def->getOperand(0);
    } else {
      break;
    }
  }
  std::reverse(site.suffix.begin(), site.suffix.end());
  SmallVector<Operation *> views;
  for (Operation *def = v.getDefiningOp(); def && keepsTokenDim(def);
       def = def->getOperand(0).getDefiningOp())
    views.push_back(def);
  // qkv is the source of the outermost slice; a [T, ..] expand of a [T, C]
  // buffer above it is looked through when the fused op needs rank <= 3.
  auto outermostSlice = llvm::find_if(llvm::reverse(views), [](Operation *op) {
    return isa<tensor::ExtractSliceOp>(op);
  });
  if (outermostSlice != views.rend()) {
    size_t keep = views.rend() - outermostSlice;
    while (
        keep < views.size() &&
        cast<ShapedType>(views[keep - 1]->getOperand(0).getType()).getRank() >
            3 &&
        isa<tensor::ExpandShapeOp>(views[keep]))
      ++keep;
    views.resize(keep);
    site.prefix.assign(views.rbegin(), views.rend());
    site.qkv = site.prefix.front()->getOperand(0);
    site.base = site.prefix.back()->getResult(0);
  } else if (tensor::InsertSliceOp insert = insertedWhole(v, site)) {
    // Functionalised in-place writes (Llama4's RoPE rotates q and k in
    // place before the norm): after the insert, v is qkv[:, a:b].
    site.insert = insert;
    site.qkv = insert.getResult();
    site.base = v;
  } else {
    why.isCandidate = false;
    return failure();
  }

  auto qkvType = dyn_cast<RankedTensorType>(site.qkv.getType());
  if (!qkvType)
    return fail("unranked-qkv", "qkv is not a ranked tensor");
  Type elementType = qkvType.getElementType();
  if (!isSupportedElementType(elementType))
    return fail("unsupported-element-type",
                "unsupported element type " + typeString(elementType) +
                    " (bf16, f16 or f32)",
                {{"element_type", typeString(elementType)}});
  int64_t rank = qkvType.getRank();
  if (rank != 2 && rank != 3)
    return fail("unsupported-qkv-rank",
                "qkv of rank " + Twine(rank) +
                    " (expected [T, C] or [T, H, D])",
                {{"rank", std::to_string(rank)}});
  if (llvm::any_of(qkvType.getShape().drop_front(), ShapedType::isDynamic))
    return fail("dynamic-columns", "qkv has dynamic columns");

  // The layout of every view, from qkv's identity layout.
  MemRefType layout = identityBufferType(qkvType);
  for (Operation *op : site.prefix) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      if (!slice.hasUnitStride())
        return fail("non-unit-stride",
                    "the slice of qkv has a non-unit stride");
      if (!coversAllRows(slice))
        return fail("partial-rows", "the slice does not cover every token row");
      for (int64_t d = 1; d < slice.getSourceType().getRank(); ++d)
        if (ShapedType::isDynamic(slice.getStaticOffsets()[d]) ||
            ShapedType::isDynamic(slice.getStaticSizes()[d]))
          return fail("dynamic-slice",
                      "the slice has a dynamic column offset or size");
    }
    std::string whyCopy;
    FailureOr<MemRefType> next = isTokenRowReshape(op)
                                     ? getViewLayout(op, layout)
                                     : bufferizedViewType(op, layout, &whyCopy);
    if (failed(next))
      return fail("not-a-view",
                  "'" + op->getName().getStringRef() +
                      "' of qkv is not a view: " + whyCopy,
                  {{"op", opName(op)}});
    site.prefixLayouts.push_back(layout);
    layout = *next;
  }
  if (site.insert) {
    if (!site.insert.hasUnitStride() ||
        site.insert.getSourceType().getRank() != rank ||
        llvm::any_of(site.insert.getStaticOffsets().drop_front(),
                     ShapedType::isDynamic) ||
        llvm::any_of(site.insert.getStaticSizes().drop_front(),
                     ShapedType::isDynamic))
      return fail("strided-insert",
                  "the values are inserted into qkv with strides or dynamic "
                  "columns");
    layout = memref::SubViewOp::inferRankReducedResultType(
        site.insert.getSourceType().getShape(), layout,
        site.insert.getStaticOffsets(), site.insert.getStaticSizes(),
        site.insert.getStaticStrides());
  }
  site.baseLayout = layout;

  // Copies the input chain costs today: explicit ones, and reshapes that
  // bufferization cannot express as views of the strided slice.
  for (Operation *op : site.suffix) {
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    FailureOr<MemRefType> next = failure();
    if (!copiedValue(op))
      next = bufferizedViewType(op, layout);
    if (failed(next)) {
      ++site.copiesBefore;
      next = identityBufferType(resultType);
    }
    layout = *next;
  }

  auto inputType = cast<RankedTensorType>(norm.getNormInput().getType());
  site.groupSize = inputType.getShape().back();
  if (ShapedType::isDynamic(site.groupSize))
    return fail("dynamic-row-size", "the normalised dimension is dynamic");
  if (site.groupSize <= 0)
    return fail("empty-row", "the normalised dimension is empty");
  FailureOr<SmallVector<GroupRange>> ranges =
      getNormGroups(site.baseLayout, site.groupSize, QK_MAX_RANGES, why);
  if (failed(ranges))
    return failure();
  site.ranges = std::move(*ranges);
  if (rank == 3) {
    int64_t headDim = qkvType.getDimSize(2);
    for (const GroupRange &r : site.ranges)
      if (r.columnOffset % headDim || r.groupSize % headDim ||
          r.groupStride % headDim)
        return fail("groups-split-heads",
                    "groups of " + Twine(site.groupSize) +
                        " elements split the heads of a [T, H, D] qkv (D = " +
                        Twine(headDim) + ")",
                    {{"group_size", std::to_string(site.groupSize)},
                     {"head_dim", std::to_string(headDim)}});
  }

  // The reads of the result, through reinterpreting views.
  auto baseType = cast<RankedTensorType>(site.base.getType());
  SmallVector<std::pair<Value, SmallVector<Operation *>>> worklist = {
      {norm->getResult(0), {}}};
  while (!worklist.empty()) {
    auto [value, path] = worklist.pop_back_val();
    bool readDirectly = false;
    for (Operation *user : value.getUsers()) {
      if (isReinterpretingView(user)) {
        SmallVector<Operation *> next(path);
        next.push_back(user);
        worklist.push_back({user->getResult(0), std::move(next)});
      } else {
        readDirectly = true;
      }
    }
    if (!readDirectly)
      continue;
    ResultRead read{value, std::nullopt, path};
    Operation *reader = *llvm::find_if(value.getUsers(), [](Operation *u) {
      return !isReinterpretingView(u);
    });
    FailureOr<ReinterpretPlan> plan = planReinterpretation(
        baseType, site.baseLayout, cast<RankedTensorType>(value.getType()));
    int copies = succeeded(plan) ? plan->copies : 1;
    if (succeeded(plan))
      read.plan = std::move(*plan);
    if (copies && !site.copyingReader)
      site.copyingReader = reader;
    site.copiesAfter += copies;
    site.reads.push_back(std::move(read));
  }
  if (site.copiesAfter > site.copiesBefore)
    return fail("result-read-copies",
                "'" + site.copyingReader->getName().getStringRef() +
                    "' reads the normalised values in a shape that is not a "
                    "view of their columns in qkv, so bufferization would "
                    "copy them there; unfused, the norm writes a fresh buffer",
                {{"reader", opName(site.copyingReader)},
                 {"copies_before", std::to_string(site.copiesBefore)},
                 {"copies_after", std::to_string(site.copiesAfter)}});
  return site;
}

//===----------------------------------------------------------------------===//
// Readers of qkv outside the norms
//===----------------------------------------------------------------------===//

llvm::BitVector mlir::qk::normalisedColumns(ArrayRef<NormSite> sites,
                                            int64_t numColumns) {
  llvm::BitVector columns(numColumns);
  for (const NormSite &site : sites)
    for (const GroupRange &r : site.ranges)
      for (int64_t g = 0; g < r.numGroups; ++g)
        columns.set(r.columnOffset + g * r.groupStride,
                    r.columnOffset + g * r.groupStride + r.groupSize);
  return columns;
}

/// Whether the view `layout` of qkv reads none of `columns`.
static bool readsNoneOf(MemRefType layout, const llvm::BitVector &columns) {
  FailureOr<ColumnPattern> pattern = getColumnPattern(layout);
  if (failed(pattern))
    return false;
  SmallVector<int64_t> starts = {pattern->offset};
  for (auto [size, stride] : pattern->dims) {
    SmallVector<int64_t> next;
    for (int64_t s : starts)
      for (int64_t i = 0; i < size; ++i)
        next.push_back(s + i * stride);
    starts = std::move(next);
  }
  return llvm::none_of(starts, [&](int64_t c) {
    return c < 0 || c >= static_cast<int64_t>(columns.size()) || columns[c];
  });
}

Operation *mlir::qk::findNormalisedReader(OpOperand &use,
                                          const NormalisedColumns &normalised) {
  const llvm::BitVector &columns = normalised.columns;
  const DenseSet<Operation *> &norms = normalised.norms;
  // Whether `op`'s result is read by anything but the norms, possibly
  // through reinterpreting views.
  std::function<bool(Operation *)> readByOthers = [&](Operation *op) {
    return llvm::any_of(op->getResult(0).getUsers(), [&](Operation *u) {
      if (norms.contains(u) || isa<tensor::DimOp>(u))
        return false;
      return !(isReinterpretingView(u) || copiedValue(u)) || readByOthers(u);
    });
  };
  std::function<Operation *(Operation *, MemRefType)> visit =
      [&](Operation *user, MemRefType layout) -> Operation * {
    if (norms.contains(user) || isa<tensor::DimOp>(user))
      return nullptr;
    bool isView =
        isa<tensor::ExtractSliceOp>(user) || isReinterpretingView(user);
    FailureOr<MemRefType> next = failure();
    if (isView)
      next = getViewLayout(user, layout);
    if (failed(next)) {
      // Reads every column of its operand: a reader unless all of them are
      // untouched, or unless only the norms read what it makes (a copy).
      if ((isView || copiedValue(user)) && !readByOthers(user))
        return nullptr;
      return readsNoneOf(layout, columns) ? nullptr : user;
    }
    for (Operation *u : user->getResult(0).getUsers())
      if (Operation *reader = visit(u, *next))
        return reader;
    return nullptr;
  };
  auto qkvType = cast<RankedTensorType>(use.get().getType());
  return visit(use.getOwner(), identityBufferType(qkvType));
}

NormalisedColumns::NormalisedColumns(ArrayRef<NormSite> sites) {
  auto qkvType = cast<RankedTensorType>(sites.front().qkv.getType());
  int64_t numColumns = 1;
  for (int64_t d : qkvType.getShape().drop_front())
    numColumns *= d;
  columns = normalisedColumns(sites, numColumns);
  for (const NormSite &s : sites)
    norms.insert(s.norm);
}

Operation *mlir::qk::findPreNormReader(ArrayRef<NormSite> sites) {
  NormalisedColumns normalised(sites);
  for (OpOperand &use : sites.front().qkv.getUses())
    if (Operation *reader = findNormalisedReader(use, normalised))
      return reader;
  return nullptr;
}
