//===- FuseStridedQKNorm.cpp - QK norms on qkv slices -> fused_qk_norm ----===//
//
// What it matches: qk.rms_norm whose input is
//
//   [copy] (reshape)* tensor.extract_slice %qkv
//
// i.e. q = qkv[:, a:b]; q.reshape(-1, D).contiguous(); rms_norm(q), with the
// copy written as linalg.copy into tensor.empty or as
// bufferization.materialize_in_destination, and any chain of
// tensor.expand_shape / tensor.collapse_shape (they all keep the row-major
// element order). All such norms of one qkv value in one block form one
// attention block's site.
//
// Legality (each failure is a missed remark with its reason):
//   - the slice has unit strides, covers every token row (dim 0) and is one
//     contiguous column range of the row-major qkv;
//   - the normalised group size divides the range width, so groups never
//     cross token rows (then the reshapes only regroup columns);
//   - bf16 / f16 / f32, weights of the group size, ranges disjoint, at most
//     QK_MAX_RANGES per site; for a [T, H, D] qkv, ranges cover whole heads;
//   - the weights are available where the fused op goes.
//
// The rewrite: one qk.fused_qk_norm with the whole qkv as init, placed right
// after qkv and the weights are defined. Each norm result becomes the same
// slice + reshapes of the fused result (the pairs fold away), and slices of
// qkv that the norm does not touch (v) are re-read from the fused result, so
// nothing reads the pre-norm qkv and one-shot bufferization writes in place.
// Readers of the pre-norm values that remain (qkv returned, raw q re-read)
// are reported: bufferization then keeps a copy and results stay right.
//
//===----------------------------------------------------------------------===//

#include "qk/Transforms/Passes.h"
#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "qk/Runtime/QKNormRuntime.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FormatVariadic.h"

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

/// One qk.rms_norm that reads a column range of a qkv tensor.
struct NormSite {
  // Op handles are cheap and their accessors are not const.
  mutable RMSNormOp norm;
  mutable tensor::ExtractSliceOp slice;
  /// Reshapes from the slice to the norm input, in program order.
  SmallVector<Operation *> reshapes;
  /// Whether the input chain copies (explicitly, or by a reshape that is
  /// not a view of a strided slice).
  bool hadCopy = false;
  int64_t columnOffset = 0;
  int64_t width = 0;
  int64_t groupSize = 0;

  Value qkv() const { return slice.getSource(); }
  int64_t columnEnd() const { return columnOffset + width; }
};

/// Why a norm is not fused. `isCandidate` is false for norms that do not
/// read a slice at all (nothing to report).
struct SiteFailure {
  std::string reason;
  bool isCandidate = true;
};

/// Peels the copies a frontend emits for .contiguous(), and tensor.casts
/// (static <-> dynamic shapes) that change no data.
Value skipCopy(Value v, bool &hadCopy) {
  while (true) {
    if (auto cast = v.getDefiningOp<tensor::CastOp>()) {
      v = cast.getSource();
      continue;
    }
    if (auto copy = v.getDefiningOp<linalg::CopyOp>()) {
      if (copy.hasPureTensorSemantics() &&
          copy.getOutputs()[0].getDefiningOp<tensor::EmptyOp>()) {
        v = copy.getInputs()[0];
        hadCopy = true;
        continue;
      }
    }
    if (auto mat = v.getDefiningOp<bufferization::MaterializeInDestinationOp>()) {
      if (mat.getResult() &&
          mat.getDest().getDefiningOp<tensor::EmptyOp>()) {
        v = mat.getSource();
        hadCopy = true;
        continue;
      }
    }
    return v;
  }
}

/// Whether size `size` of dim 0 is the whole dim 0 of `source`.
bool coversAllRows(tensor::ExtractSliceOp slice) {
  OpFoldResult size = slice.getMixedSizes()[0];
  std::optional<int64_t> staticSize = getConstantIntValue(size);
  int64_t sourceRows = slice.getSourceType().getDimSize(0);
  if (staticSize && !ShapedType::isDynamic(sourceRows))
    return *staticSize == sourceRows;
  FailureOr<bool> equal = ValueBoundsConstraintSet::areEqual(
      ValueBoundsConstraintSet::Variable(size),
      ValueBoundsConstraintSet::Variable(slice.getSource(), 0));
  return succeeded(equal) && *equal;
}

FailureOr<NormSite> matchNormSite(RMSNormOp norm, SiteFailure &why) {
  auto fail = [&](const Twine &reason) -> FailureOr<NormSite> {
    why.reason = reason.str();
    return failure();
  };
  NormSite site;
  site.norm = norm;
  if (!norm.hasPureTensorSemantics()) {
    why.isCandidate = false;
    return failure();
  }
  Value v = skipCopy(norm.getInput(), site.hadCopy);
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
      break;
    if (isa<tensor::CollapseShapeOp>(def))
      site.hadCopy = true;
    site.reshapes.push_back(def);
    v = skipCopy(def->getOperand(0), site.hadCopy);
  }
  std::reverse(site.reshapes.begin(), site.reshapes.end());
  site.slice = v.getDefiningOp<tensor::ExtractSliceOp>();
  if (!site.slice) {
    why.isCandidate = false;
    return failure();
  }
  // The copy-peeling above may have skipped copies between reshapes; the
  // replacement re-applies the reshapes only, which is what we want.

  tensor::ExtractSliceOp slice = site.slice;
  RankedTensorType qkvType = slice.getSourceType();
  Type elementType = qkvType.getElementType();
  if (!isSupportedElementType(elementType)) {
    std::string name;
    llvm::raw_string_ostream os(name);
    os << elementType;
    return fail("unsupported element type " + name + " (bf16, f16 or f32)");
  }
  int64_t rank = qkvType.getRank();
  if (rank != 2 && rank != 3)
    return fail("qkv of rank " + Twine(rank) + " (expected [T, C] or "
                "[T, H, D])");
  if (!slice.hasUnitStride())
    return fail("the slice of qkv has a non-unit stride");
  if (qkvType.isDynamicDim(1) || (rank == 3 && qkvType.isDynamicDim(2)))
    return fail("qkv has dynamic columns");
  std::optional<int64_t> rowOffset =
      getConstantIntValue(slice.getMixedOffsets()[0]);
  if (!rowOffset || *rowOffset != 0 || !coversAllRows(slice))
    return fail("the slice does not cover every token row");
  if (slice.getResultType().getRank() != rank)
    return fail("the slice drops dimensions");

  // One contiguous column range of the row-major rows of qkv.
  SmallVector<int64_t> offsets, sizes;
  for (int64_t d = 1; d < rank; ++d) {
    std::optional<int64_t> o = getConstantIntValue(slice.getMixedOffsets()[d]);
    std::optional<int64_t> s = getConstantIntValue(slice.getMixedSizes()[d]);
    if (!o || !s)
      return fail("the slice has a dynamic column offset or size");
    offsets.push_back(*o);
    sizes.push_back(*s);
  }
  if (rank == 3 && sizes[1] != qkvType.getDimSize(2))
    return fail("the slice takes part of each head (not a contiguous column "
                "range)");
  int64_t headDim = rank == 3 ? qkvType.getDimSize(2) : 1;
  site.columnOffset = offsets[0] * headDim + (rank == 3 ? offsets[1] : 0);
  site.width = sizes[0] * headDim;

  // Groups of the norm must tile every token's range exactly.
  auto inputType = cast<RankedTensorType>(norm.getInput().getType());
  site.groupSize = inputType.getShape().back();
  if (ShapedType::isDynamic(site.groupSize))
    return fail("the normalised dimension is dynamic");
  if (site.width % site.groupSize != 0)
    return fail("groups of " + Twine(site.groupSize) +
                " elements cross token rows (range width " +
                Twine(site.width) + ")");
  if (rank == 3 && site.groupSize % headDim != 0)
    return fail("groups of " + Twine(site.groupSize) +
                " elements split the heads of a [T, H, D] qkv (D = " +
                Twine(headDim) + ")");
  return site;
}

//===----------------------------------------------------------------------===//
// Building one fused site
//===----------------------------------------------------------------------===//

/// Where the fused op can go: right after qkv and all weights are defined,
/// in the block of the norms. Null if a weight is defined later than a norm
/// that uses it could see.
Operation *insertionPointAfterOperands(Block *block, ArrayRef<Value> values) {
  Operation *last = nullptr;
  for (Value v : values) {
    Operation *def = v.getDefiningOp();
    if (!def)
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*def);
    if (!inBlock)
      continue; // Defined in an enclosing region: dominates the block.
    if (!last || last->isBeforeInBlock(inBlock))
      last = inBlock;
  }
  return last;
}

std::string describeSite(ArrayRef<NormSite> sites) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "fused QK RMSNorm: ";
  static const char *names[] = {"q", "k"};
  auto name = [&](size_t i) {
    return sites.size() == 2 ? std::string(" ") + names[i] : std::string();
  };
  bool fullWidth = llvm::all_of(
      sites, [](const NormSite &x) { return x.groupSize == x.width; });
  bool sameGroup = llvm::all_of(sites, [&](const NormSite &x) {
    return x.groupSize == sites[0].groupSize;
  });
  if (fullWidth) {
    for (auto [i, site] : llvm::enumerate(sites))
      os << (i ? " + " : "") << site.width << name(i);
    os << " columns, each normalised over its full width";
  } else {
    for (auto [i, site] : llvm::enumerate(sites)) {
      os << (i ? " + " : "") << site.width / site.groupSize << name(i);
      if (!sameGroup)
        os << " groups of " << site.groupSize;
    }
    os << " heads";
    if (sameGroup)
      os << ", head_dim " << sites[0].groupSize;
  }
  bool copy = llvm::any_of(sites, [](const NormSite &x) { return x.hadCopy; });
  os << (copy ? ", copy removed" : ", in place");
  return s;
}

class SiteFuser {
public:
  SiteFuser(RewriterBase &rewriter, DominanceInfo &dom)
      : rewriter(rewriter), dom(dom) {}

  /// Fuses `sites` (same qkv, same block, disjoint). Returns the op and the
  /// users that still read the pre-norm qkv.
  FusedQKNormOp fuse(ArrayRef<NormSite> sites,
                     SmallVectorImpl<Operation *> &preNormReaders) {
    Value qkv = sites[0].qkv();
    Block *block = sites[0].norm->getBlock();
    Location loc = rewriter.getFusedLoc(llvm::to_vector(llvm::map_range(
        sites, [](const NormSite &s) { return s.norm.getLoc(); })));

    // Weights, deduplicated; ranges in column order.
    SmallVector<Value> weights;
    SmallVector<Attribute> ranges;
    for (const NormSite &site : sites) {
      int64_t weightIndex = -1;
      if (Value w = site.norm.getWeight()) {
        auto it = llvm::find(weights, w);
        weightIndex = it - weights.begin();
        if (it == weights.end())
          weights.push_back(w);
      }
      ranges.push_back(NormRangeAttr::get(
          rewriter.getContext(), site.columnOffset,
          site.width / site.groupSize, site.groupSize, site.norm.getEpsilon(),
          weightIndex, site.norm.getWeightOffset(), site.norm.getRounding(),
          /*groupStride=*/0));
    }

    SmallVector<Value> operands(weights);
    operands.push_back(qkv);
    if (Operation *after = insertionPointAfterOperands(block, operands))
      rewriter.setInsertionPointAfter(after);
    else
      rewriter.setInsertionPointToStart(block);
    auto fused = FusedQKNormOp::create(rewriter, loc, TypeRange{qkv.getType()},
                                       weights, qkv,
                                       rewriter.getArrayAttr(ranges));
    Value result = fused.getResult()[0];

    // Each norm result is its own slice of the fused result, reshaped as
    // before. Built at the norm, where the sizes it needs are defined.
    for (const NormSite &site : sites) {
      rewriter.setInsertionPoint(site.norm);
      IRMapping map;
      map.map(site.qkv(), result);
      Value v = rewriter.clone(*site.slice, map)->getResult(0);
      for (Operation *reshape : site.reshapes) {
        map.map(reshape->getOperand(0), v);
        v = rewriter.clone(*reshape, map)->getResult(0);
      }
      // Copies the chain skipped change nothing but the types' identity.
      if (v.getType() != site.norm.getResult()[0].getType())
        v = tensor::CastOp::create(rewriter, site.norm.getLoc(),
                                   site.norm.getResult()[0].getType(), v);
      SmallVector<Operation *> inputs = operandProducers(site.norm);
      rewriter.replaceOp(site.norm, v);
      eraseDeadOps(rewriter, inputs);
    }

    // Slices of qkv outside every range (v) read the fused result: the
    // same values, and no read of the pre-norm buffer after the write.
    for (OpOperand &use : llvm::make_early_inc_range(qkv.getUses())) {
      Operation *user = use.getOwner();
      if (user == fused)
        continue;
      auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
      if (slice && disjointFromRanges(slice, sites) &&
          dom.properlyDominates(fused.getOperation(), slice)) {
        rewriter.modifyOpInPlace(slice, [&] { use.set(result); });
        continue;
      }
      if (!isa<tensor::DimOp>(user))
        preNormReaders.push_back(user);
    }
    return fused;
  }

private:
  RewriterBase &rewriter;
  DominanceInfo &dom;

  /// Whether `slice` of qkv reads no column of any range.
  static bool disjointFromRanges(tensor::ExtractSliceOp slice,
                                 ArrayRef<NormSite> sites) {
    RankedTensorType qkvType = slice.getSourceType();
    int64_t rank = qkvType.getRank();
    if (!slice.hasUnitStride())
      return false;
    // Column interval [begin, end) covered by the slice in the row-major
    // layout of a row (conservative: the hull of the slice's columns).
    int64_t begin = 0, end = 0, stride = 1;
    for (int64_t d = rank - 1; d >= 1; --d) {
      std::optional<int64_t> o = getConstantIntValue(slice.getMixedOffsets()[d]);
      std::optional<int64_t> s = getConstantIntValue(slice.getMixedSizes()[d]);
      if (!o || !s)
        return false;
      begin += *o * stride;
      end += (*o + *s - 1) * stride;
      stride *= qkvType.getDimSize(d);
    }
    end += 1;
    return llvm::all_of(sites, [&](const NormSite &site) {
      return end <= site.columnOffset || site.columnEnd() <= begin;
    });
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Folds the reshape pairs the rewrite leaves (expand(collapse(x)) -> x),
/// so that the norm results are views of qkv.
LogicalResult foldReshapes(Operation *root) {
  MLIRContext *ctx = root->getContext();
  RewritePatternSet patterns(ctx);
  tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::ExtractSliceOp::getCanonicalizationPatterns(patterns, ctx);
  tensor::CastOp::getCanonicalizationPatterns(patterns, ctx);
  GreedyRewriteConfig config;
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  return applyPatternsGreedily(root, std::move(patterns), config);
}

struct FuseStats {
  int64_t fusedSites = 0, fusedNorms = 0, rejected = 0, copiesKept = 0;
};

/// Fuses every site under `root`. With `report`, emits one remark per fused
/// site and per rejected candidate.
void fuseAll(Operation *root, bool report, StringRef category,
             FuseStats &stats) {
  auto missed = [&](Location loc, const Twine &reason) {
    ++stats.rejected;
    if (report)
      remark::missed(loc, remark::RemarkOpts::name("NotFused")
                              .category(category))
          << ("not fused: " + reason).str();
  };

  // Group the candidates by (qkv, block), in program order.
  llvm::MapVector<std::pair<Value, Block *>, SmallVector<NormSite>> groups;
  root->walk([&](RMSNormOp norm) {
    SiteFailure why;
    FailureOr<NormSite> site = matchNormSite(norm, why);
    if (succeeded(site))
      groups[{site->qkv(), norm->getBlock()}].push_back(*site);
    else if (why.isCandidate)
      missed(norm.getLoc(), why.reason);
  });

  IRRewriter rewriter(root->getContext());
  DominanceInfo dom(root);
  SiteFuser fuser(rewriter, dom);
  for (auto &[key, candidates] : groups) {
    // Disjoint ranges, at most QK_MAX_RANGES, weights visible at the site.
    llvm::sort(candidates, [](const NormSite &a, const NormSite &b) {
      return a.columnOffset < b.columnOffset;
    });
    SmallVector<NormSite> sites;
    for (NormSite &c : candidates) {
      if (!sites.empty() && c.columnOffset < sites.back().columnEnd()) {
        missed(c.norm.getLoc(),
               "columns [" + Twine(c.columnOffset) + ", " +
                   Twine(c.columnEnd()) +
                   ") overlap another norm of the same qkv");
        continue;
      }
      if (sites.size() == QK_MAX_RANGES) {
        missed(c.norm.getLoc(), "more than " + Twine(QK_MAX_RANGES) +
                                    " norms of one qkv");
        continue;
      }
      sites.push_back(c);
    }
    Block *block = key.second;
    Operation *firstNorm = nullptr;
    for (NormSite &s : sites)
      if (!firstNorm || s.norm->isBeforeInBlock(firstNorm))
        firstNorm = s.norm;
    SmallVector<NormSite> placeable;
    for (NormSite &s : sites) {
      Value w = s.norm.getWeight();
      Operation *def = w ? w.getDefiningOp() : nullptr;
      Operation *inBlock = def ? block->findAncestorOpInBlock(*def) : nullptr;
      if (inBlock && !inBlock->isBeforeInBlock(firstNorm)) {
        missed(s.norm.getLoc(), "the weight is defined after the first norm "
                                "of the attention block");
        continue;
      }
      placeable.push_back(s);
    }
    if (placeable.empty())
      continue;

    SmallVector<Operation *> readers;
    std::string description = describeSite(placeable);
    FusedQKNormOp fused = fuser.fuse(placeable, readers);
    ++stats.fusedSites;
    stats.fusedNorms += placeable.size();
    if (!readers.empty()) {
      ++stats.copiesKept;
      if (report)
        remark::analysis(fused.getLoc(), remark::RemarkOpts::name("CopyKept")
                                             .category(category))
            << ("the pre-norm qkv is still read (by '" +
                readers.front()->getName().getStringRef() +
                "'): bufferization keeps a copy of qkv")
                   .str();
    }
    if (report)
      remark::passed(fused.getLoc(),
                     remark::RemarkOpts::name("Fused").category(category))
          << description;
  }
}

struct QKFuseStridedQKNormPass
    : public qk::impl::QKFuseStridedQKNormBase<QKFuseStridedQKNormPass> {
  void runOnOperation() override {
    FuseStats stats;
    fuseAll(getOperation(), /*report=*/true, getArgument(), stats);
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
                 .str();
    if (stats.fusedSites && failed(foldReshapes(getOperation())))
      return signalPassFailure();
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
    SmallVector<NormSite> sites = {*site};
    DominanceInfo dom(norm->getParentOp());
    SiteFuser fuser(rewriter, dom);
    SmallVector<Operation *> readers;
    fuser.fuse(sites, readers);
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
        if (r.getColumnOffset() < other.getColumnEnd() &&
            other.getColumnOffset() < r.getColumnEnd())
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
        rewriter.getArrayAttr(SmallVector<Attribute>(ranges.begin(),
                                                     ranges.end())));
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
