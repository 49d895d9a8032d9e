//===- FuseStridedQKNorm.cpp - QK norms on qkv views -> fused_qk_norm -----===//
//
// What it matches: the qk.rms_norms whose input is a row-major
// reinterpretation of a view of a qkv tensor, each a site
// (qk/Analysis/NormSites.h: matchNormSite, with its legality and the copies
// bufferization makes before and after), grouped by qkv value and block.
//
// Legality of a block (each failure is a missed remark with its reason):
// the sites of one qkv in one block that fuse together have disjoint
// ranges, at most QK_MAX_RANGES of them, and weights defined before the
// first norm (selectSites); if the pre-norm q/k columns of qkv are still
// read elsewhere, bufferization would copy the whole qkv, which is only
// worth it when that replaces at least as many copies (checkCopies).
//
// The rewrite: one qk.fused_qk_norm with the whole qkv as init, placed right
// after qkv and the weights are defined. Every read of a norm result gets
// the same values as a view of the fused result (QKVViews.h: the plan of
// expand/collapse ops), so the reshape chains of the producer (tensor.reshape
// with a runtime shape included) disappear; readers of columns no norm
// touches (v, Qwen3-Next's gate) are re-read from the fused result.
//
// One driver: the pass and the per-norm pattern (transform.apply_patterns.
// qk.fuse_strided_qk_norm) check and fuse a group of sites the same way,
// with the same Fused / NotFused remarks (Fuser). The pass fuses a whole
// block at once and counts (the Summary remark); the pattern fuses one norm
// at a time and MergeNestedFusedQKNorm joins q and k of a block afterwards.
//
//===----------------------------------------------------------------------===//

#include "qk/Analysis/NormSites.h"
#include "qk/Transforms/Passes.h"
#include "qk/Transforms/Remarks.h"
#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
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
// Program order
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

//===----------------------------------------------------------------------===//
// Legality of a block
//===----------------------------------------------------------------------===//

/// Chooses, among the legal norms of one qkv in one block, those that fuse
/// together: disjoint ranges, at most QK_MAX_RANGES, weights visible.
std::vector<NormSite>
selectSites(MutableArrayRef<NormSite> candidates, const OpOrder &order,
            function_ref<void(Location, const MatchFailure &)> missed) {
  auto reject = [&](const NormSite &site, StringRef code, const Twine &text,
                    Figures figures) {
    MatchFailure why;
    (void)why.fail(code, text, std::move(figures));
    missed(site.norm.getLoc(), why);
  };
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
      reject(c, "overlapping-columns",
             "columns from " + Twine(r.columnOffset) +
                 " overlap another norm of the same qkv",
             {{"column_offset", std::to_string(r.columnOffset)}});
      continue;
    }
    if (numRanges + c.ranges.size() > QK_MAX_RANGES) {
      reject(c, "too-many-ranges",
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
    Value w = s.norm.getNormWeight();
    Operation *def = w ? w.getDefiningOp() : nullptr;
    Operation *inBlock = def ? block->findAncestorOpInBlock(*def) : nullptr;
    if (inBlock && !order.isBefore(inBlock, firstNorm)) {
      reject(s, "weight-defined-late",
             "the weight is defined after the first norm of the attention "
             "block",
             {});
      continue;
    }
    placeable.push_back(s);
  }
  return placeable;
}

/// What bufferization copies for a block of sites once they are fused.
struct BlockCopies {
  /// Copies before and after fusion, summed over the sites.
  int copiesBefore = 0, copiesAfter = 0;
  /// The first reader that bufferization copies the normalised values for.
  Operation *copyingReader = nullptr;
  /// What still reads pre-norm q/k columns, making bufferization copy qkv.
  Operation *preNormReader = nullptr;
};

/// The copies of `sites` (one qkv, one block) after fusion. Normalising in
/// place while the pre-norm columns are still read makes bufferization copy
/// the whole qkv: only worth it when that replaces at least as many copies,
/// else failure with `why`.
FailureOr<BlockCopies> checkCopies(ArrayRef<NormSite> sites,
                                   MatchFailure &why) {
  BlockCopies c;
  for (const NormSite &s : sites) {
    c.copiesBefore += s.copiesBefore;
    c.copiesAfter += s.copiesAfter;
    if (!c.copyingReader)
      c.copyingReader = s.copyingReader;
  }
  if (Operation *reader = findPreNormReader(sites)) {
    if (c.copiesAfter + 1 > c.copiesBefore)
      return why.fail("pre-norm-reader",
                      "'" + reader->getName().getStringRef() +
                          "' still reads the pre-norm q/k columns of qkv; "
                          "normalising in place would make bufferization "
                          "copy qkv",
                      {{"reader", opName(reader)},
                       {"copies_before", std::to_string(c.copiesBefore)},
                       {"copies_after", std::to_string(c.copiesAfter + 1)}});
    ++c.copiesAfter;
    c.preNormReader = reader;
  }
  return c;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

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
    if (Value w = site.norm.getNormWeight()) {
      auto it = llvm::find(weights, w);
      weightIndex = it - weights.begin();
      if (it == weights.end())
        weights.push_back(w);
    }
    // What the norm does to a row becomes what happens to each group.
    Attribute step = site.norm.getGroupStep().withWeightIndex(weightIndex);
    for (const GroupRange &r : site.ranges)
      ranges.push_back(NormRangeAttr::get(
          rewriter.getContext(), r.columnOffset, r.numGroups, r.groupSize,
          r.groupStride == r.groupSize ? 0 : r.groupStride, step));
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
      Type type = site.norm->getResult(0).getType();
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
        findNormalisedReader(use, normalised))
      continue;
    rewriter.modifyOpInPlace(user, [&] { use.set(result); });
  }
  return fused;
}

//===----------------------------------------------------------------------===//
// Remarks
//===----------------------------------------------------------------------===//

/// The passed remark of a fused block, e.g. "fused QK RMSNorm: 32 q + 8 k
/// heads, head_dim 128, copy removed".
std::string describeSite(ArrayRef<NormSite> sites, const BlockCopies &copies) {
  int copiesBefore = copies.copiesBefore, copiesAfter = copies.copiesAfter;
  Operation *copyingReader = copies.copyingReader,
            *preNormReader = copies.preNormReader;
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
Figures siteFigures(ArrayRef<NormSite> sites, const BlockCopies &copies) {
  int copiesBefore = copies.copiesBefore, copiesAfter = copies.copiesAfter;
  Operation *copyingReader = copies.copyingReader,
            *preNormReader = copies.preNormReader;
  Figures f;
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

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

/// Fuses groups of sites and reports, whichever driver found them: one
/// Fused remark per fused op, one NotFused remark per rejected norm.
class Fuser {
public:
  explicit Fuser(StringRef category) : category(category) {}

  /// Reports a norm that is not fused.
  void missed(Location loc, const MatchFailure &why) {
    ++rejected;
    reportMissed(loc, remark::RemarkOpts::name("NotFused").category(category),
                 "not fused: ", why);
  }

  /// Fuses `sites` (one qkv, one block, disjoint, placeable) if bufferization
  /// copies no more afterwards; else reports each norm.
  FailureOr<FusedQKNormOp> fuse(RewriterBase &rewriter,
                                ArrayRef<NormSite> sites, DominanceInfo &dom,
                                const OpOrder &order, std::string &whyNot) {
    MatchFailure why;
    FailureOr<BlockCopies> c = checkCopies(sites, why);
    if (failed(c)) {
      for (const NormSite &s : sites)
        missed(s.norm.getLoc(), why);
      whyNot = why.message;
      return failure();
    }
    if (c->preNormReader)
      ++copiesKept;
    // Described before the rewrite, which consumes the sites; at the fused
    // op's location (fuseSites fuses the same norm locations).
    Location fusedLoc = rewriter.getFusedLoc(llvm::to_vector(llvm::map_range(
        sites, [](const NormSite &s) { return s.norm.getLoc(); })));
    reportPassed(fusedLoc, remark::RemarkOpts::name("Fused").category(category),
                 [&](std::string &message, Figures &f) {
                   message = describeSite(sites, *c);
                   f = siteFigures(sites, *c);
                 });
    FusedQKNormOp fused = fuseSites(rewriter, sites, dom, order);
    ++fusedSites;
    fusedNorms += sites.size();
    return fused;
  }

  int64_t fusedSites = 0, fusedNorms = 0, rejected = 0, copiesKept = 0;

private:
  StringRef category;
};

/// Fuses every block of sites under `root`.
void fuseAll(Operation *root, Fuser &fuser) {
  auto missed = [&](Location loc, const MatchFailure &why) {
    fuser.missed(loc, why);
  };
  // Group the candidates by (qkv, block), in program order.
  llvm::MapVector<std::pair<Value, Block *>, std::vector<NormSite>> groups;
  // Linalg bodies hold no norms: the walk skips them.
  root->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (isa<linalg::LinalgOp>(op))
      return WalkResult::skip();
    auto norm = dyn_cast<RowNormOpInterface>(op);
    if (!norm)
      return WalkResult::advance();
    NormSiteMismatch why;
    FailureOr<NormSite> site = matchNormSite(norm, why);
    if (succeeded(site))
      groups[{site->qkv, norm->getBlock()}].push_back(std::move(*site));
    else if (why.isCandidate)
      fuser.missed(norm.getLoc(), why);
    return WalkResult::skip();
  });

  IRRewriter rewriter(root->getContext());
  DominanceInfo dom(root);
  OpOrder order(root);
  for (auto &[key, candidates] : groups) {
    std::vector<NormSite> sites = selectSites(candidates, order, missed);
    if (sites.empty())
      continue;
    std::string whyNot;
    (void)fuser.fuse(rewriter, sites, dom, order, whyNot);
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
    Fuser fuser(getArgument());
    fuseAll(getOperation(), fuser);
    rewriteTokenRowReshapes(getOperation());
    numFusedSites += fuser.fusedSites;
    numFusedNorms += fuser.fusedNorms;
    numRejected += fuser.rejected;
    numCopiesKept += fuser.copiesKept;
    // Pass statistics compile to no-ops in release builds of LLVM (Debian's
    // included), so the counts are also reported as one analysis remark.
    if (fuser.fusedSites || fuser.rejected)
      remark::analysis(getOperation()->getLoc(),
                       remark::RemarkOpts::name("Summary")
                           .category("qk-summary")
                           .subCategory(getArgument()))
          << llvm::formatv("{0} site(s) fused ({1} norms), {2} rejected, {3} "
                           "with a copy kept",
                           fuser.fusedSites, fuser.fusedNorms, fuser.rejected,
                           fuser.copiesKept)
                 .str()
          << remark::metric("sites_fused", fuser.fusedSites)
          << remark::metric("norms_fused", fuser.fusedNorms)
          << remark::metric("rejected", fuser.rejected)
          << remark::metric("copies_kept", fuser.copiesKept);
  }
};

/// The pass's rewrite as a pattern for other compilers' greedy drivers, with
/// its remarks: fuses one norm at a time (a Fused remark per norm);
/// MergeNestedFusedQKNorm then joins q and k of a block. A greedy driver
/// tries an op again after its neighbourhood changed, so a rejected norm
/// reports once per attempt (`--remark-policy=final` keeps the last); the
/// Summary remark is the pass's, since a pattern set has no end to count at.
struct FuseStridedQKNormOfSlice
    : OpInterfaceRewritePattern<RowNormOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(RowNormOpInterface norm,
                                PatternRewriter &rewriter) const override {
    Fuser fuser(QKFuseStridedQKNormPass::getArgumentName());
    NormSiteMismatch why;
    FailureOr<NormSite> site = matchNormSite(norm, why);
    if (failed(site)) {
      if (why.isCandidate)
        fuser.missed(norm.getLoc(), why);
      return rewriter.notifyMatchFailure(norm, why.message);
    }
    std::vector<NormSite> sites = {*site};
    DominanceInfo dom(norm->getParentOp());
    std::string whyNot;
    if (failed(fuser.fuse(rewriter, sites, dom, OpOrder(), whyNot)))
      return rewriter.notifyMatchFailure(norm, whyNot);
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
      // Every step's weight, renumbered into the merged op's weights.
      SmallVector<Attribute> steps;
      for (auto step : r.getSteps()) {
        auto s = cast<GroupStepAttrInterface>(step);
        int64_t weight = -1;
        if (s.getWeightIndex() >= 0) {
          Value w = outer.getWeights()[s.getWeightIndex()];
          if (Operation *def = w.getDefiningOp())
            if (def->getBlock() == inner->getBlock() &&
                !def->isBeforeInBlock(inner))
              return rewriter.notifyMatchFailure(outer, "weight defined later");
          auto it = llvm::find(weights, w);
          weight = it - weights.begin();
          if (it == weights.end())
            weights.push_back(w);
        }
        steps.push_back(s.withWeightIndex(weight));
      }
      ranges.push_back(r.withSteps(steps));
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
