//===- FuseStridedQKNorm.cpp - QK norms on qkv views -> fused_qk_norm -----===//
//
// What it matches: qk.rms_norm whose input is a row-major reinterpretation
// of a view of a qkv tensor:
//
//   [copy | reshape]* (extract_slice | token-keeping expand/collapse)+ %qkv
//
// e.g. q = qkv[:, a:b]; q.reshape(-1, D).contiguous(); rms_norm(q) (copies
// written as linalg.copy into tensor.empty or as materialize_in_destination;
// reshapes as expand_shape / collapse_shape / tensor.reshape / tensor.cast),
// or Qwen3-Next's q = chunk(qkv[:, :2HD].view(T, H, 2D), 2)[0]: heads D wide
// and 2D apart. All such norms of one qkv value in one block form a site.
//
// Legality (each failure is a missed remark with its reason):
//   - the views of qkv are slices with unit strides and static columns that
//     cover every token row, and reshapes that keep the token dim alone;
//   - the normalised rows are whole groups of contiguous columns of one
//     token, `group_stride` apart (QKVViews.h: getNormGroups);
//   - bf16 / f16 / f32, ranges disjoint, at most QK_MAX_RANGES per site; for
//     a [T, H, D] qkv, groups start at heads and hold whole heads;
//   - the weights are available where the fused op goes;
//   - bufferization copies no more afterwards than before: every read of a
//     norm result must be rebuilt as a view of qkv (it is, when it keeps
//     tokens apart from heads), and the pre-norm q/k columns must not be
//     read any more (else bufferization would copy the whole qkv).
//
// The rewrite: one qk.fused_qk_norm with the whole qkv as init, placed right
// after qkv and the weights are defined. Every read of a norm result gets
// the same values as a view of the fused result (QKVViews.h: the plan of
// expand/collapse ops), so the reshape chains of the producer (tensor.reshape
// with a runtime shape included) disappear; readers of columns no norm
// touches (v, Qwen3-Next's gate) are re-read from the fused result.
//
//===----------------------------------------------------------------------===//

#include "qk/Transforms/Passes.h"
#include "qk/Transforms/QKVViews.h"
#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "qk/Runtime/QKNormRuntime.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>

namespace mlir::qk {
#define GEN_PASS_DEF_QKFUSESTRIDEDQKNORM
#include "qk/Transforms/Passes.h.inc"
} // namespace mlir::qk

using namespace mlir;
using namespace mlir::qk;

namespace {

//===----------------------------------------------------------------------===//
// Matching one norm
//===----------------------------------------------------------------------===//

/// A value that reads a norm result, and how to rebuild it from qkv.
struct ResultRead {
  Value value;
  /// Set when the value keeps tokens apart from heads: a plan of views.
  std::optional<ReinterpretPlan> plan;
  /// Otherwise: the reinterpreting ops from the norm result to `value`,
  /// replayed on the rebuilt norm result (bufferization copies there).
  SmallVector<Operation *> path;
};

/// One qk.rms_norm that reads groups of columns of a qkv tensor.
struct NormSite {
  // Op handles are cheap and their accessors are not const.
  mutable RMSNormOp norm;
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

//===----------------------------------------------------------------------===//
// Remark arguments
//===----------------------------------------------------------------------===//

/// Figures of a remark (key, value), emitted as structured arguments next to
/// the message: MLIR's YAML remark output carries them as `Args`, so that
/// tools read them instead of the message text.
using RemarkFigures = SmallVector<std::pair<StringRef, std::string>, 2>;

/// `loc` as structured arguments, where MLIR's YAML remark output cannot
/// carry it (it keeps a plain file:line:col location only; the call-site and
/// fused locations of torch-mlir's IR become "<unknown file>"): `loc` is the
/// location a diagnostic shows (the first file:line:col inside), and
/// `called_from_<i>` the callers of a call-site location, innermost first,
/// like the "called from" notes of a diagnostic. Nothing for a plain
/// file:line:col location (YAML's DebugLoc). Same as in RaiseRMSNorm.cpp.
void appendLocation(remark::detail::InFlightRemark &r, Location loc) {
  if (!r || isa<FileLineColLoc>(loc))
    return;
  auto text = [](FileLineColLoc l) {
    return llvm::formatv("{0}:{1}:{2}", l.getFilename().getValue(), l.getLine(),
                         l.getColumn())
        .str();
  };
  if (auto shown = LocationAttr(loc).findInstanceOf<FileLineColLoc>())
    r << remark::metric("loc", text(shown));
  std::function<CallSiteLoc(Location)> callSite = [&](Location l) {
    if (auto name = dyn_cast<NameLoc>(l))
      return callSite(name.getChildLoc());
    if (auto call = dyn_cast<CallSiteLoc>(l))
      return call;
    if (auto fused = dyn_cast<FusedLoc>(l))
      for (Location sub : fused.getLocations())
        if (CallSiteLoc call = callSite(sub))
          return call;
    return CallSiteLoc();
  };
  int depth = 0;
  for (CallSiteLoc call = callSite(loc); call;
       call = callSite(call.getCaller())) {
    auto caller =
        LocationAttr(call.getCaller()).findInstanceOf<FileLineColLoc>();
    if (!caller)
      continue;
    std::string key = "called_from_" + std::to_string(++depth);
    r << remark::metric(key, text(caller));
  }
}

void appendFigures(remark::detail::InFlightRemark &r,
                   const RemarkFigures &figures) {
  for (const auto &[key, value] : figures)
    r << remark::metric(key, value);
}

/// Why a norm is not fused. `isCandidate` is false for norms that do not
/// read a slice at all (nothing to report).
struct SiteFailure {
  std::string reason;
  /// A stable identifier of the reason and its figures: the structured
  /// arguments of the NotFused remark.
  StringRef code;
  RemarkFigures figures;
  bool isCandidate = true;
};

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

std::string opName(Operation *op) { return op->getName().getStringRef().str(); }

/// The value an explicit copy (`.contiguous()`) copies, or null.
Value copiedValue(Operation *op) {
  if (auto copy = dyn_cast<linalg::CopyOp>(op))
    if (copy.hasPureTensorSemantics() &&
        copy.getOutputs()[0].getDefiningOp<tensor::EmptyOp>())
      return copy.getInputs()[0];
  if (auto mat = dyn_cast<bufferization::MaterializeInDestinationOp>(op))
    if (mat.getResult() && mat.getDest().getDefiningOp<tensor::EmptyOp>())
      return mat.getSource();
  return {};
}

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

/// Whether `size` equals dim 0 of `source`.
bool isTokenCount(OpFoldResult size, Value source) {
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

FailureOr<NormSite> matchNormSite(RMSNormOp norm, SiteFailure &why) {
  auto fail = [&](StringRef code, const Twine &reason,
                  RemarkFigures figures = {}) -> FailureOr<NormSite> {
    why.reason = reason.str();
    why.code = code;
    why.figures = std::move(figures);
    return failure();
  };
  NormSite site;
  site.norm = norm;
  if (!norm.hasPureTensorSemantics()) {
    why.isCandidate = false;
    return failure();
  }
  // Backwards from the input: reshapes and copies, then views of qkv.
  Value v = norm.getInput();
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

  auto inputType = cast<RankedTensorType>(norm.getInput().getType());
  site.groupSize = inputType.getShape().back();
  if (ShapedType::isDynamic(site.groupSize))
    return fail("dynamic-row-size", "the normalised dimension is dynamic");
  if (site.groupSize <= 0)
    return fail("empty-row", "the normalised dimension is empty");
  std::string reason;
  FailureOr<SmallVector<GroupRange>> ranges =
      getNormGroups(site.baseLayout, site.groupSize, QK_MAX_RANGES, reason);
  if (failed(ranges))
    return fail("column-pattern", reason,
                {{"group_size", std::to_string(site.groupSize)}});
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
      {norm.getResult()[0], {}}};
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

/// The columns of one token row that the ranges of `sites` normalise.
llvm::BitVector normalisedColumns(ArrayRef<NormSite> sites,
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
bool readsNoneOf(MemRefType layout, const llvm::BitVector &columns) {
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

/// The first op under `use` of qkv that may read a normalised column other
/// than through the norms `norms` (whose input chains die with the
/// rewrite), or null.
Operation *findNormalisedReader(OpOperand &use, const llvm::BitVector &columns,
                                const DenseSet<Operation *> &norms) {
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

/// Inputs of findNormalisedReader for the norms of `sites`.
struct NormalisedColumns {
  llvm::BitVector columns;
  DenseSet<Operation *> norms;
  NormalisedColumns(ArrayRef<NormSite> sites) {
    auto qkvType = cast<RankedTensorType>(sites.front().qkv.getType());
    int64_t numColumns = 1;
    for (int64_t d : qkvType.getShape().drop_front())
      numColumns *= d;
    columns = normalisedColumns(sites, numColumns);
    for (const NormSite &s : sites)
      norms.insert(s.norm);
  }
};

/// The first reader of pre-norm q/k columns of qkv outside the norms.
Operation *findPreNormReader(ArrayRef<NormSite> sites) {
  NormalisedColumns normalised(sites);
  for (OpOperand &use : sites.front().qkv.getUses())
    if (Operation *reader =
            findNormalisedReader(use, normalised.columns, normalised.norms))
      return reader;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Building one fused site
//===----------------------------------------------------------------------===//

/// Program order of the ops that existed when the pass started, numbered
/// once: Operation::isBeforeInBlock renumbers a block after every insertion,
/// which made the pass quadratic in the number of attention blocks. Ops the
/// rewrite creates are not numbered; queries about them fall back.
class OpOrder {
public:
  /// No numbering: every query asks the IR (for one-off rewrites).
  OpOrder() = default;
  explicit OpOrder(Operation *root) {
    int64_t next = 0;
    root->walk<WalkOrder::PreOrder>([&](Operation *op) { index[op] = next++; });
  }
  /// Whether `a` comes before `b` (same block).
  bool isBefore(Operation *a, Operation *b) const {
    auto ia = index.find(a), ib = index.find(b);
    if (ia == index.end() || ib == index.end())
      return a->isBeforeInBlock(b);
    return ia->second < ib->second;
  }
  /// Whether `op` (not in a nested region of another block) comes after
  /// `point` of `block`, or `point` is null (the start of `block`).
  bool isAfter(Block *block, Operation *point, Operation *op,
               DominanceInfo &dom, Operation *fused) const {
    Operation *inBlock = block->findAncestorOpInBlock(*op);
    if (!inBlock)
      return dom.properlyDominates(fused, op);
    return !point || (inBlock != point && isBefore(point, inBlock));
  }

private:
  DenseMap<Operation *, int64_t> index;
};

/// Where the fused op can go: right after qkv and all weights are defined,
/// in the block of the norms. Null if every operand dominates the block.
Operation *insertionPointAfterOperands(Block *block, ArrayRef<Value> values,
                                       const OpOrder &order) {
  Operation *last = nullptr;
  for (Value v : values) {
    Operation *def = v.getDefiningOp();
    if (!def)
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*def);
    if (!inBlock)
      continue; // Defined in an enclosing region: dominates the block.
    if (!last || order.isBefore(last, inBlock))
      last = inBlock;
  }
  return last;
}

std::string describeSite(ArrayRef<NormSite> sites, int copiesBefore,
                         int copiesAfter, Operation *copyingReader,
                         Operation *preNormReader) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "fused QK RMSNorm: ";
  static const char *names[] = {"q", "k"};
  auto name = [&](size_t i) {
    return sites.size() == 2 ? std::string(" ") + names[i] : std::string();
  };
  auto width = [](const NormSite &x) { return x.numGroups() * x.groupSize; };
  bool fullWidth =
      llvm::all_of(sites, [](const NormSite &x) { return x.numGroups() == 1; });
  bool sameGroup = llvm::all_of(sites, [&](const NormSite &x) {
    return x.groupSize == sites[0].groupSize;
  });
  if (fullWidth) {
    for (auto [i, site] : llvm::enumerate(sites))
      os << (i ? " + " : "") << width(site) << name(i);
    os << " columns, each normalised over its full width";
  } else {
    for (auto [i, site] : llvm::enumerate(sites)) {
      os << (i ? " + " : "") << site.numGroups() << name(i);
      if (!sameGroup)
        os << " groups of " << site.groupSize;
    }
    os << " heads";
    if (sameGroup)
      os << ", head_dim " << sites[0].groupSize;
  }
  for (auto [i, site] : llvm::enumerate(sites))
    if (site.isStrided())
      for (const GroupRange &r : site.ranges)
        if (r.groupStride != r.groupSize) {
          os << ";" << name(i) << " heads " << r.groupStride << " apart";
          break;
        }
  if (preNormReader)
    os << "; bufferization copies qkv once because '"
       << preNormReader->getName()
       << "' still reads its pre-norm q/k columns (the unfused block copied "
       << copiesBefore << " times)";
  else if (copiesAfter > 0)
    os << "; bufferization still copies the normalised values for '"
       << copyingReader->getName() << "' (it reads them in a shape that is "
       << "not a view of qkv)";
  else if (copiesBefore > 0)
    os << ", copy removed";
  else
    os << ", in place";
  return s;
}

/// The distance of strided heads ("q heads 64 apart" in describeSite).
std::optional<int64_t> headStride(const NormSite &site) {
  if (site.isStrided())
    for (const GroupRange &r : site.ranges)
      if (r.groupStride != r.groupSize)
        return r.groupStride;
  return std::nullopt;
}

/// The figures of describeSite(), as structured remark arguments: totals
/// (`norms`, `groups`, `columns`, `ranges`), per norm with the q / k names of
/// a two-norm site (`q_groups`, `k_group_size`, `q_group_stride`...), and
/// what bufferization does (`bufferization`: in_place, copy_removed,
/// copies_result or copies_qkv, `reader`, `copies_before`, `copies_after`).
RemarkFigures siteFigures(ArrayRef<NormSite> sites, int copiesBefore,
                          int copiesAfter, Operation *copyingReader,
                          Operation *preNormReader) {
  RemarkFigures f;
  auto add = [&](StringRef key, int64_t value) {
    f.push_back({key, std::to_string(value)});
  };
  int64_t groups = 0, columns = 0, ranges = 0;
  for (const NormSite &s : sites) {
    groups += s.numGroups();
    columns += s.numGroups() * s.groupSize;
    ranges += s.ranges.size();
  }
  add("norms", sites.size());
  add("groups", groups);
  add("columns", columns);
  add("ranges", ranges);
  bool sameGroup = llvm::all_of(sites, [&](const NormSite &x) {
    return x.groupSize == sites[0].groupSize;
  });
  if (sameGroup)
    add("group_size", sites[0].groupSize);
  bool fullWidth =
      llvm::all_of(sites, [](const NormSite &x) { return x.numGroups() == 1; });
  f.push_back({"full_width", fullWidth ? "true" : "false"});
  if (sites.size() == 2) {
    static const StringRef keys[2][4] = {
        {"q_groups", "q_group_size", "q_columns", "q_group_stride"},
        {"k_groups", "k_group_size", "k_columns", "k_group_stride"}};
    for (auto [i, site] : llvm::enumerate(sites)) {
      add(keys[i][0], site.numGroups());
      add(keys[i][1], site.groupSize);
      add(keys[i][2], site.numGroups() * site.groupSize);
      if (std::optional<int64_t> stride = headStride(site))
        add(keys[i][3], *stride);
    }
  } else {
    for (const NormSite &site : sites)
      if (std::optional<int64_t> stride = headStride(site)) {
        add("group_stride", *stride);
        break;
      }
  }
  StringRef bufferization = "in_place";
  Operation *reader = nullptr;
  if (preNormReader) {
    bufferization = "copies_qkv";
    reader = preNormReader;
  } else if (copiesAfter > 0) {
    bufferization = "copies_result";
    reader = copyingReader;
  } else if (copiesBefore > 0) {
    bufferization = "copy_removed";
  }
  f.push_back({"bufferization", bufferization.str()});
  if (reader)
    f.push_back({"reader", opName(reader)});
  add("copies_before", copiesBefore);
  add("copies_after", copiesAfter);
  return f;
}

/// `view` (a slice or reshape that keeps the token dim) applied to `source`
/// at the insertion point: its token count is read from `source`, because
/// the size operands of the original may be defined later.
Value rebuildTokenView(RewriterBase &rewriter, Operation *view, Value source) {
  Location loc = view->getLoc();
  auto resultType = cast<RankedTensorType>(view->getResult(0).getType());
  // A static count where the original result type has one, else a value
  // (even of a static source: the result type must stay the original's).
  auto tokens = [&]() -> OpFoldResult {
    int64_t rows = cast<RankedTensorType>(source.getType()).getDimSize(0);
    if (!ShapedType::isDynamic(rows) &&
        !ShapedType::isDynamic(resultType.getDimSize(0)))
      return rewriter.getIndexAttr(rows);
    return tensor::DimOp::create(rewriter, loc, source, 0).getResult();
  };
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(view)) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [d, offset, size] :
         llvm::enumerate(slice.getStaticOffsets(), slice.getStaticSizes())) {
      offsets.push_back(rewriter.getIndexAttr(d == 0 ? 0 : offset));
      sizes.push_back(d == 0 ? tokens() : rewriter.getIndexAttr(size));
      strides.push_back(rewriter.getIndexAttr(1));
    }
    return tensor::ExtractSliceOp::create(rewriter, loc, resultType, source,
                                          offsets, sizes, strides);
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(view)) {
    SmallVector<OpFoldResult> outputShape;
    for (int64_t d : resultType.getShape())
      outputShape.push_back(
          ShapedType::isDynamic(d) ? tokens() : rewriter.getIndexAttr(d));
    return tensor::ExpandShapeOp::create(rewriter, loc, resultType, source,
                                         expand.getReassociationIndices(),
                                         outputShape);
  }
  IRMapping map;
  map.map(view->getOperand(0), source);
  return rewriter.clone(*view, map)->getResult(0);
}

/// Replaces the norms of `sites` (same qkv, same block, disjoint, legal) by
/// one fused op; readers of columns no norm touches read its result.
FusedQKNormOp fuseSites(RewriterBase &rewriter, ArrayRef<NormSite> sites,
                        DominanceInfo &dom, const OpOrder &order) {
  NormalisedColumns normalised(sites);
  Value qkv = sites[0].qkv;
  Block *block = sites[0].norm->getBlock();
  Location loc = rewriter.getFusedLoc(llvm::to_vector(llvm::map_range(
      sites, [](const NormSite &s) { return s.norm.getLoc(); })));

  // Weights, deduplicated; ranges in column order.
  SmallVector<Value> weights;
  SmallVector<NormRangeAttr> ranges;
  for (const NormSite &site : sites) {
    int64_t weightIndex = -1;
    if (Value w = site.norm.getWeight()) {
      auto it = llvm::find(weights, w);
      weightIndex = it - weights.begin();
      if (it == weights.end())
        weights.push_back(w);
    }
    for (const GroupRange &r : site.ranges)
      ranges.push_back(NormRangeAttr::get(
          rewriter.getContext(), r.columnOffset, r.numGroups, r.groupSize,
          site.norm.getEpsilon(), weightIndex, site.norm.getWeightOffset(),
          site.norm.getRounding(),
          r.groupStride == r.groupSize ? 0 : r.groupStride));
  }
  llvm::sort(ranges, [](NormRangeAttr a, NormRangeAttr b) {
    return a.getColumnOffset() < b.getColumnOffset();
  });

  SmallVector<Value> operands(weights);
  operands.push_back(qkv);
  Operation *after = insertionPointAfterOperands(block, operands, order);
  if (after)
    rewriter.setInsertionPointAfter(after);
  else
    rewriter.setInsertionPointToStart(block);
  auto fused = FusedQKNormOp::create(
      rewriter, loc, TypeRange{qkv.getType()}, weights, qkv,
      rewriter.getArrayAttr(
          SmallVector<Attribute>(ranges.begin(), ranges.end())));
  Value result = fused.getResult()[0];

  for (const NormSite &site : sites) {
    // The base view of the fused result, right after it.
    rewriter.setInsertionPointAfter(fused);
    Value base = result;
    if (site.insert) {
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (auto [d, offset, size] : llvm::enumerate(
               site.insert.getStaticOffsets(), site.insert.getStaticSizes())) {
        offsets.push_back(rewriter.getIndexAttr(d == 0 ? 0 : offset));
        sizes.push_back(
            d != 0 ? OpFoldResult(rewriter.getIndexAttr(size))
            : ShapedType::isDynamic(size)
                ? OpFoldResult(
                      tensor::DimOp::create(rewriter, fused.getLoc(), result, 0)
                          .getResult())
                : OpFoldResult(rewriter.getIndexAttr(size)));
        strides.push_back(rewriter.getIndexAttr(1));
      }
      base = tensor::ExtractSliceOp::create(rewriter, fused.getLoc(),
                                            site.insert.getSourceType(), result,
                                            offsets, sizes, strides);
    }
    for (auto [op, layout] : llvm::zip(site.prefix, site.prefixLayouts)) {
      if (isTokenRowReshape(op)) {
        FailureOr<ReinterpretPlan> plan = planReinterpretation(
            cast<RankedTensorType>(base.getType()), layout,
            cast<RankedTensorType>(op->getResult(0).getType()));
        base = materializeReinterpretation(rewriter, op->getLoc(), base, *plan);
      } else {
        base = rebuildTokenView(rewriter, op, base);
      }
    }
    // The norm result itself, for reads that are not views: the input
    // chain without its copies, at the norm.
    Value normResult;
    auto rebuiltNormResult = [&]() -> Value {
      if (normResult)
        return normResult;
      rewriter.setInsertionPoint(site.norm);
      Value v = base;
      for (Operation *op : site.suffix) {
        if (copiedValue(op))
          continue;
        IRMapping m;
        m.map(op->getOperand(0), v);
        v = rewriter.clone(*op, m)->getResult(0);
      }
      Type type = site.norm.getResult()[0].getType();
      if (v.getType() != type)
        v = tensor::CastOp::create(rewriter, site.norm.getLoc(), type, v);
      return normResult = v;
    };
    SmallVector<Operation *> dying = {site.norm};
    for (const ResultRead &read : site.reads) {
      Value replacement;
      if (read.plan) {
        rewriter.setInsertionPointAfterValue(read.value);
        replacement = materializeReinterpretation(rewriter, read.value.getLoc(),
                                                  base, *read.plan);
      } else {
        replacement = rebuiltNormResult();
        for (Operation *op : read.path) {
          rewriter.setInsertionPoint(op);
          IRMapping m;
          m.map(op->getOperand(0), replacement);
          replacement = rewriter.clone(*op, m)->getResult(0);
        }
      }
      rewriter.replaceUsesWithIf(read.value, replacement, [](OpOperand &use) {
        return !isReinterpretingView(use.getOwner());
      });
      if (Operation *def = read.value.getDefiningOp())
        dying.push_back(def);
    }
    eraseDeadOps(rewriter, dying);
  }

  // Readers of columns no norm touches (v, a gate) read the fused result:
  // the same values, and no read of the pre-norm buffer after the write.
  for (OpOperand &use : llvm::make_early_inc_range(qkv.getUses())) {
    Operation *user = use.getOwner();
    if (user == fused || isa<tensor::DimOp>(user) ||
        !order.isAfter(block, after, user, dom, fused) ||
        findNormalisedReader(use, normalised.columns, normalised.norms))
      continue;
    rewriter.modifyOpInPlace(user, [&] { use.set(result); });
  }
  return fused;
}

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

struct FuseStats {
  int64_t fusedSites = 0, fusedNorms = 0, rejected = 0, copiesKept = 0;
};

/// Chooses, among the legal norms of one qkv in one block, those that fuse
/// together: disjoint ranges, at most QK_MAX_RANGES, weights visible.
std::vector<NormSite> selectSites(
    MutableArrayRef<NormSite> candidates, const OpOrder &order,
    function_ref<void(Location, StringRef, const Twine &, RemarkFigures)>
        missed) {
  llvm::sort(candidates, [](const NormSite &a, const NormSite &b) {
    return a.ranges.front().columnOffset < b.ranges.front().columnOffset;
  });
  auto qkvType = cast<RankedTensorType>(candidates.front().qkv.getType());
  int64_t numColumns = 1;
  for (int64_t d : qkvType.getShape().drop_front())
    numColumns *= d;
  std::vector<NormSite> sites;
  size_t numRanges = 0;
  for (NormSite &c : candidates) {
    llvm::BitVector taken = normalisedColumns(sites, numColumns);
    if (taken.anyCommon(normalisedColumns(c, numColumns))) {
      const GroupRange &r = c.ranges.front();
      missed(c.norm.getLoc(), "overlapping-columns",
             "columns from " + Twine(r.columnOffset) +
                 " overlap another norm of the same qkv",
             {{"column_offset", std::to_string(r.columnOffset)}});
      continue;
    }
    if (numRanges + c.ranges.size() > QK_MAX_RANGES) {
      missed(c.norm.getLoc(), "too-many-ranges",
             "more than " + Twine(QK_MAX_RANGES) + " column ranges for one qkv",
             {{"ranges", std::to_string(numRanges + c.ranges.size())},
              {"max_ranges", std::to_string(QK_MAX_RANGES)}});
      continue;
    }
    numRanges += c.ranges.size();
    sites.push_back(c);
  }
  Block *block = sites.front().norm->getBlock();
  Operation *firstNorm = nullptr;
  for (NormSite &s : sites)
    if (!firstNorm || order.isBefore(s.norm, firstNorm))
      firstNorm = s.norm;
  std::vector<NormSite> placeable;
  for (NormSite &s : sites) {
    Value w = s.norm.getWeight();
    Operation *def = w ? w.getDefiningOp() : nullptr;
    Operation *inBlock = def ? block->findAncestorOpInBlock(*def) : nullptr;
    if (inBlock && !order.isBefore(inBlock, firstNorm)) {
      missed(s.norm.getLoc(), "weight-defined-late",
             "the weight is defined after the first norm of the attention "
             "block",
             {});
      continue;
    }
    placeable.push_back(s);
  }
  return placeable;
}

/// Fuses every site under `root`. With `report`, emits one remark per fused
/// site and per rejected candidate.
void fuseAll(Operation *root, bool report, StringRef category,
             FuseStats &stats) {
  auto missed = [&](Location loc, StringRef code, const Twine &reason,
                    RemarkFigures figures) {
    ++stats.rejected;
    if (!report)
      return;
    auto r = remark::missed(
        loc, remark::RemarkOpts::name("NotFused").category(category));
    r << ("not fused: " + reason).str() << remark::metric("reason", code);
    appendFigures(r, figures);
    appendLocation(r, loc);
  };

  // Group the candidates by (qkv, block), in program order.
  llvm::MapVector<std::pair<Value, Block *>, std::vector<NormSite>> groups;
  root->walk([&](RMSNormOp norm) {
    SiteFailure why;
    FailureOr<NormSite> site = matchNormSite(norm, why);
    if (succeeded(site))
      groups[{site->qkv, norm->getBlock()}].push_back(std::move(*site));
    else if (why.isCandidate)
      missed(norm.getLoc(), why.code, why.reason, std::move(why.figures));
  });

  IRRewriter rewriter(root->getContext());
  DominanceInfo dom(root);
  OpOrder order(root);
  for (auto &[key, candidates] : groups) {
    std::vector<NormSite> sites = selectSites(candidates, order, missed);
    if (sites.empty())
      continue;
    int copiesBefore = 0, copiesAfter = 0;
    Operation *copyingReader = nullptr, *preNormReader = nullptr;
    for (const NormSite &s : sites) {
      copiesBefore += s.copiesBefore;
      copiesAfter += s.copiesAfter;
      if (!copyingReader)
        copyingReader = s.copyingReader;
    }
    // Normalising in place while the pre-norm columns are still read makes
    // bufferization copy the whole qkv: only worth it when that replaces
    // at least as many copies.
    if (Operation *reader = findPreNormReader(sites)) {
      if (copiesAfter + 1 > copiesBefore) {
        for (const NormSite &s : sites)
          missed(s.norm.getLoc(), "pre-norm-reader",
                 "'" + reader->getName().getStringRef() +
                     "' still reads the pre-norm q/k columns of qkv; "
                     "normalising in place would make bufferization copy "
                     "qkv",
                 {{"reader", opName(reader)},
                  {"copies_before", std::to_string(copiesBefore)},
                  {"copies_after", std::to_string(copiesAfter + 1)}});
        continue;
      }
      ++copiesAfter;
      preNormReader = reader;
      ++stats.copiesKept;
    }
    std::string description = describeSite(sites, copiesBefore, copiesAfter,
                                           copyingReader, preNormReader);
    RemarkFigures figures = siteFigures(sites, copiesBefore, copiesAfter,
                                        copyingReader, preNormReader);
    FusedQKNormOp fused = fuseSites(rewriter, sites, dom, order);
    ++stats.fusedSites;
    stats.fusedNorms += sites.size();
    if (report) {
      auto r = remark::passed(
          fused.getLoc(), remark::RemarkOpts::name("Fused").category(category));
      r << description;
      appendFigures(r, figures);
      appendLocation(r, fused.getLoc());
    }
  }
}

/// torch-mlir writes `x.view(T, -1, D)` with a runtime shape as
/// tensor.reshape, which one-shot bufferization can only do with a copy when
/// x is a strided view (a slice of qkv, before or after the norm). A reshape
/// whose types prove that it keeps the token count (isTokenRowReshape) is
/// the same as expand/collapse ops, which stay views where the layout
/// allows and are never worse. Returns how many were rewritten.
int64_t rewriteTokenRowReshapes(Operation *root) {
  SmallVector<tensor::ReshapeOp> reshapes;
  root->walk([&](tensor::ReshapeOp op) {
    if (isTokenRowReshape(op))
      reshapes.push_back(op);
  });
  IRRewriter rewriter(root->getContext());
  for (tensor::ReshapeOp op : reshapes) {
    auto source = cast<RankedTensorType>(op.getSource().getType());
    FailureOr<ReinterpretPlan> plan =
        planReinterpretation(source, identityBufferType(source),
                             cast<RankedTensorType>(op.getResult().getType()));
    if (failed(plan))
      continue;
    rewriter.setInsertionPoint(op);
    Value views = materializeReinterpretation(rewriter, op.getLoc(),
                                              op.getSource(), *plan);
    rewriter.replaceOp(op, views);
  }
  return reshapes.size();
}

struct QKFuseStridedQKNormPass
    : public qk::impl::QKFuseStridedQKNormBase<QKFuseStridedQKNormPass> {
  void runOnOperation() override {
    FuseStats stats;
    fuseAll(getOperation(), /*report=*/true, getArgument(), stats);
    rewriteTokenRowReshapes(getOperation());
    numFusedSites += stats.fusedSites;
    numFusedNorms += stats.fusedNorms;
    numRejected += stats.rejected;
    numCopiesKept += stats.copiesKept;
    // Pass statistics compile to no-ops in release builds of LLVM (Debian's
    // included), so the counts are also reported as one analysis remark.
    if (stats.fusedSites || stats.rejected)
      remark::analysis(getOperation()->getLoc(),
                       remark::RemarkOpts::name("Summary")
                           .category("qk-summary")
                           .subCategory(getArgument()))
          << llvm::formatv("{0} site(s) fused ({1} norms), {2} rejected, {3} "
                           "with a copy kept",
                           stats.fusedSites, stats.fusedNorms, stats.rejected,
                           stats.copiesKept)
                 .str()
          << remark::metric("sites_fused", stats.fusedSites)
          << remark::metric("norms_fused", stats.fusedNorms)
          << remark::metric("rejected", stats.rejected)
          << remark::metric("copies_kept", stats.copiesKept);
  }
};

/// The rewrite as a pattern for other compilers' greedy drivers: fuses one
/// norm at a time; MergeNestedFusedQKNorm then joins q and k of a block.
struct FuseStridedQKNormOfSlice : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp norm,
                                PatternRewriter &rewriter) const override {
    SiteFailure why;
    FailureOr<NormSite> site = matchNormSite(norm, why);
    if (failed(site))
      return rewriter.notifyMatchFailure(norm, why.reason);
    std::vector<NormSite> sites = {*site};
    if (findPreNormReader(sites) && site->copiesAfter + 1 > site->copiesBefore)
      return rewriter.notifyMatchFailure(norm, "pre-norm columns still read");
    DominanceInfo dom(norm->getParentOp());
    fuseSites(rewriter, sites, dom, OpOrder());
    return success();
  }
};

// fused_qk_norm(fused_qk_norm(qkv)) with disjoint ranges -> one fused_qk_norm
// (what the per-norm pattern above leaves for q and k of one block).
struct MergeNestedFusedQKNorm : OpRewritePattern<FusedQKNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(FusedQKNormOp outer,
                                PatternRewriter &rewriter) const override {
    auto inner = outer.getQkv().getDefiningOp<FusedQKNormOp>();
    if (!inner || !inner->hasOneUse() || !outer.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(outer, "init is not a fused norm");
    SmallVector<NormRangeAttr> ranges = inner.getNormRanges();
    SmallVector<Value> weights(inner.getWeights());
    for (NormRangeAttr r : outer.getNormRanges()) {
      for (NormRangeAttr other : ranges)
        if (r.overlaps(other))
          return rewriter.notifyMatchFailure(outer, "ranges overlap");
      int64_t weight = -1;
      if (r.hasWeight()) {
        Value w = outer.getWeights()[r.getWeight()];
        if (Operation *def = w.getDefiningOp())
          if (def->getBlock() == inner->getBlock() &&
              !def->isBeforeInBlock(inner))
            return rewriter.notifyMatchFailure(outer, "weight defined later");
        auto it = llvm::find(weights, w);
        weight = it - weights.begin();
        if (it == weights.end())
          weights.push_back(w);
      }
      ranges.push_back(NormRangeAttr::get(
          r.getContext(), r.getColumnOffset(), r.getNumGroups(),
          r.getGroupSize(), r.getEpsilon(), weight, r.getWeightOffset(),
          r.getRounding(), r.getGroupStride()));
    }
    if (ranges.size() > QK_MAX_RANGES)
      return rewriter.notifyMatchFailure(outer, "too many ranges");
    llvm::sort(ranges, [](NormRangeAttr a, NormRangeAttr b) {
      return a.getColumnOffset() < b.getColumnOffset();
    });
    rewriter.setInsertionPoint(inner);
    auto merged = FusedQKNormOp::create(
        rewriter, rewriter.getFusedLoc({inner.getLoc(), outer.getLoc()}),
        outer->getResultTypes(), weights, inner.getQkv(),
        rewriter.getArrayAttr(
            SmallVector<Attribute>(ranges.begin(), ranges.end())));
    rewriter.replaceOp(inner, merged.getResults());
    rewriter.replaceOp(outer, merged.getResults());
    return success();
  }
};
} // namespace

void mlir::qk::populateFuseStridedQKNormPatterns(RewritePatternSet &patterns) {
  patterns.add<FuseStridedQKNormOfSlice, MergeNestedFusedQKNorm>(
      patterns.getContext());
}
