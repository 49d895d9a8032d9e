//===- FuseRoPE.cpp - RoPE after a fused QK norm -> a #qk.rope step
//--------===//
//
// What it matches: for every qk.fused_qk_norm on tensors, the values
// computed from its result by views, concatenations and elementwise generics
// that are rotary embeddings of whole heads of its ranges
// (qk/Analysis/RoPEMatcher.h: every element evaluated), latest first, so
// that the value a rotation ends in is taken rather than one of its parts.
//
// Legality (each failure is a missed remark with its reason): the sites of
// one op rotate the same way (style, rotary dim, tables, columns, rows,
// rounding: one kernel launch carries one rotation); every head lies in a
// group of a range and the heads of a rotated range cover all its groups
// exactly once; the tables and positions are defined before the norm; no
// value computed from the un-rotated heads is read outside the rotations
// (the rewrite rotates them in place), and every other reader of the norm's
// result reads only columns no rotation touches (v, a gate).
//
// The rewrite: the ranges whose heads are rotated get a #qk.rope step after
// their #qk.rms, the op gets the tables and positions as operands, each
// rotation's readers read the un-rotated view it rotated (now rotated in
// place), and the rotations' ops are erased: the gather of the cos/sin
// cache, rotate_half's slices, negation and concatenation, the products.
//
//===----------------------------------------------------------------------===//

#include "qk/Analysis/QKVViews.h"
#include "qk/Analysis/RoPEMatcher.h"
#include "qk/Transforms/Passes.h"
#include "qk/Transforms/Remarks.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::qk {
#define GEN_PASS_DEF_QKFUSEROPE
#include "qk/Transforms/Passes.h.inc"
} // namespace mlir::qk

using namespace mlir;
using namespace mlir::qk;

namespace {

constexpr StringLiteral kCategory = "qk-fuse-rope";

//===----------------------------------------------------------------------===//
// What it matches
//===----------------------------------------------------------------------===//

/// Ops through which a rotation is followed forward from the norm.
bool isRotationOp(Operation *op) {
  if (isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
          tensor::CollapseShapeOp, tensor::CastOp, tensor::ConcatOp>(op))
    return true;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return generic && generic.getNumReductionLoops() == 0 &&
         generic->getNumResults() == 1;
}

/// The values a rotation may end in: results of concatenations, reshapes
/// and elementwise generics reached from `result` through rotation ops,
/// latest first.
SmallVector<Value> candidateRoots(Value result) {
  // Depth-first over the readers, each op listed when all its readers are
  // (post-order): readers come before what they read, so a rotation's last
  // op is tried before its parts, without comparing program positions
  // (Operation::isBeforeInBlock renumbers a block after every rewrite).
  SmallVector<Value> roots;
  DenseSet<Operation *> seen;
  SmallVector<std::pair<Operation *, Operation::user_iterator>> stack;
  auto push = [&](Operation *op) {
    if (isRotationOp(op) && seen.insert(op).second)
      stack.push_back({op, op->user_begin()});
  };
  // One reader of `result` at a time: an op is marked when its own search
  // starts, so that a later reader of it is always searched first.
  for (Operation *first : result.getUsers()) {
    push(first);
    while (!stack.empty()) {
      auto &[op, next] = stack.back();
      if (next != op->user_end()) {
        Operation *user = *next;
        ++next;
        push(user);
        continue;
      }
      // A reshape ends a rotation whose last op works on another shape
      // (GPT-J's stack of the pairs, then flatten).
      if (isa<tensor::ConcatOp, linalg::GenericOp, tensor::CollapseShapeOp,
              tensor::ExpandShapeOp>(op))
        roots.push_back(op->getResult(0));
      stack.pop_back();
    }
  }
  return roots;
}

/// A matched rotation with the ops it reads through.
struct Site {
  RoPESite rope;
  llvm::SetVector<Operation *> ops;
};

//===----------------------------------------------------------------------===//
// Legality
//===----------------------------------------------------------------------===//

/// Where the heads of the sites sit in the op's ranges: for every range, the
/// rope step it gets (null: none).
FailureOr<SmallVector<bool>>
rotatedRanges(FusedQKNormOp op, ArrayRef<Site> sites, MatchFailure &why) {
  SmallVector<NormRangeAttr> ranges = op.getNormRanges();
  SmallVector<int64_t> covered(ranges.size(), 0);
  int64_t d = sites.front().rope.rotation.headDim;
  for (const Site &s : sites) {
    for (int64_t start : s.rope.headStarts) {
      bool placed = false;
      for (auto [r, range] : llvm::enumerate(ranges)) {
        int64_t rel = start - range.getColumnOffset();
        if (rel < 0)
          continue;
        int64_t g = rel / range.getGroupPitch();
        int64_t in = rel % range.getGroupPitch();
        if (g >= range.getNumGroups() || in >= range.getGroupSize())
          continue;
        if (in % d || range.getGroupSize() % d)
          return why.fail("heads-not-groups",
                          "a rotated head does not start at a head of a "
                          "normalised group",
                          {{"head_start", std::to_string(start)}});
        ++covered[r];
        placed = true;
        break;
      }
      if (!placed)
        return why.fail("outside-ranges",
                        "a rotated head is not normalised by the fused op",
                        {{"head_start", std::to_string(start)}});
    }
  }
  SmallVector<bool> rotated(ranges.size(), false);
  for (auto [r, range] : llvm::enumerate(ranges)) {
    int64_t heads = range.getNumGroups() * (range.getGroupSize() / d);
    if (covered[r] == 0)
      continue;
    if (covered[r] != heads)
      return why.fail("partial-range",
                      llvm::formatv("{0} of the {1} heads of a normalised "
                                    "range are rotated; the rest would need "
                                    "another launch",
                                    covered[r], heads)
                          .str());
    rotated[r] = true;
  }
  return rotated;
}

/// `op`, or the op of `ops` that holds it in a region (a tensor.extract in
/// a rotation's body reads for that rotation); null if neither.
Operation *ownerIn(Operation *op, const llvm::SetVector<Operation *> &ops) {
  for (; op; op = op->getParentOp())
    if (ops.contains(op))
      return op;
  return nullptr;
}

/// The columns of a row that the view `op` (of a buffer with layout
/// `layout`) and its view users read, into `columns`; false when a reader
/// reads through something other than a view.
bool readColumns(Value value, MemRefType layout, llvm::DenseSet<int64_t> &out,
                 const llvm::SetVector<Operation *> &skip) {
  for (Operation *user : value.getUsers()) {
    // tensor.dim reads the shape, not the elements.
    if (ownerIn(user, skip) || isa<tensor::DimOp>(user))
      continue;
    if (isa<tensor::ExtractSliceOp, tensor::ExpandShapeOp,
            tensor::CollapseShapeOp, tensor::CastOp>(user)) {
      FailureOr<MemRefType> next = getViewLayout(user, layout);
      if (succeeded(next)) {
        if (!readColumns(user->getResult(0), *next, out, skip))
          return false;
        continue;
      }
    }
    FailureOr<ColumnPattern> pattern = getColumnPattern(layout);
    if (failed(pattern))
      return false;
    SmallVector<int64_t> cols = {pattern->offset};
    for (auto [size, stride] : pattern->dims) {
      SmallVector<int64_t> next;
      for (int64_t c : cols)
        for (int64_t i = 0; i < size; ++i)
          next.push_back(c + i * stride);
      cols = std::move(next);
    }
    out.insert(cols.begin(), cols.end());
  }
  return true;
}

/// The rotations rewrite the heads in place: nothing else may read them.
LogicalResult checkReaders(FusedQKNormOp op, ArrayRef<Site> sites,
                           ArrayRef<bool> rotated, MatchFailure &why) {
  llvm::SetVector<Operation *> dag;
  DenseSet<Operation *> roots;
  for (const Site &s : sites) {
    dag.insert(s.ops.begin(), s.ops.end());
    roots.insert(s.rope.value.getDefiningOp());
  }
  // Ops of the rotations that compute from the heads: every reader of
  // theirs is a rotation op too (the roots' readers move to the view).
  llvm::SetVector<Operation *> fromHeads;
  SmallVector<Value> work = {op.getResult()[0]};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers())
      if (Operation *owner = ownerIn(user, dag))
        if (fromHeads.insert(owner))
          llvm::append_range(work, owner->getResults());
  }
  for (Operation *o : fromHeads) {
    if (roots.contains(o))
      continue;
    for (Operation *user : o->getUsers())
      if (!ownerIn(user, dag) && !isa<tensor::DimOp>(user))
        return why.fail("unrotated-read",
                        opName(user) +
                            " reads the heads before their rotation, which "
                            "the fused op would overwrite in place");
  }
  // Other readers of the norm's result: columns no rotation touches.
  DenseSet<int64_t> read;
  auto qkvType = cast<RankedTensorType>(op.getResult()[0].getType());
  if (!readColumns(op.getResult()[0], identityBufferType(qkvType), read, dag))
    return why.fail("unrotated-read",
                    "the normalised qkv is read through something other than "
                    "a view, which would see the rotated heads");
  for (auto [r, range] : llvm::enumerate(op.getNormRanges())) {
    if (!rotated[r])
      continue;
    for (int64_t g = 0; g < range.getNumGroups(); ++g)
      for (int64_t c = 0; c < range.getGroupSize(); ++c)
        if (read.contains(range.getColumnOffset() + g * range.getGroupPitch() +
                          c))
          return why.fail(
              "unrotated-read",
              "the normalised q/k columns are read elsewhere "
              "without the rotation",
              {{"column", std::to_string(range.getColumnOffset() +
                                         g * range.getGroupPitch() + c)}});
  }
  return success();
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

struct Fusion {
  FusedQKNormOp op;
  SmallVector<Site> sites;
  SmallVector<bool> rotated;
};

/// The rotation's operands fit the op: positions one per token, and
/// without positions a table row per token (where the sizes are static;
/// the runtime checks the dynamic ones at the call).
LogicalResult checkRowsPerToken(FusedQKNormOp op, const RotationMatch &m,
                                MatchFailure &why) {
  int64_t tokens = op.getQkvType().getDimSize(0);
  if (ShapedType::isDynamic(tokens))
    return success();
  if (m.positions) {
    int64_t n = cast<ShapedType>(m.positions.getType()).getDimSize(0);
    if (!ShapedType::isDynamic(n) && n != tokens)
      return why.fail("positions-count",
                      llvm::formatv("the positions hold {0} entries for {1} "
                                    "tokens",
                                    n, tokens)
                          .str());
    return success();
  }
  for (Value t : {m.cos, m.sin}) {
    int64_t rows = cast<ShapedType>(t.getType()).getDimSize(0);
    if (!ShapedType::isDynamic(rows) && rows < tokens)
      return why.fail("table-rows",
                      llvm::formatv("a per-token cos/sin table has {0} rows "
                                    "for {1} tokens",
                                    rows, tokens)
                          .str());
  }
  return success();
}

/// Finds the rotations of `op`'s heads and checks them.
FailureOr<Fusion> analyze(FusedQKNormOp op, DominanceInfo &dom,
                          MatchFailure &why) {
  Fusion f;
  f.op = op;
  if (op->getNumResults() != 1)
    return why.fail("memref", "the fused op works on buffers");
  for (NormRangeAttr range : op.getNormRanges())
    if (range.getRopeStep())
      return why.fail("already-rotated", "the op rotates already");
  Value result = op.getResult()[0];
  DenseSet<Operation *> taken;
  MatchFailure lastMiss;
  for (Value root : candidateRoots(result)) {
    if (taken.contains(root.getDefiningOp()))
      continue;
    ElementEvaluator eval(result);
    MatchFailure miss;
    FailureOr<RoPESite> rope = matchRoPESite(root, eval, miss);
    if (failed(rope)) {
      // A view of the heads that rotates nothing is no candidate: its
      // "no" would hide the reason of the rotation next to it.
      if (!lastMiss.hasFailed() && miss.code != "unrotated")
        lastMiss = miss;
      continue;
    }
    Site s{*rope, eval.visitedOps()};
    taken.insert(s.ops.begin(), s.ops.end());
    f.sites.push_back(std::move(s));
  }
  if (f.sites.empty()) {
    if (lastMiss.hasFailed())
      return why.fail(lastMiss.code, lastMiss.message, lastMiss.figures);
    return why.fail("no-rotation", "no rotation reads the normalised heads");
  }
  const RotationMatch &m = f.sites.front().rope.rotation;
  for (const Site &s : f.sites)
    if (!(s.rope.rotation == m))
      return why.fail("rotations-differ",
                      "the heads of one fused op are rotated differently "
                      "(one launch carries one rotation)");
  Type elementType = op.getQkvType().getElementType();
  for (Value t : {m.cos, m.sin}) {
    auto type = cast<ShapedType>(t.getType());
    if (type.getElementType() != elementType && !type.getElementType().isF32())
      return why.fail("table-type", "a cos/sin table of " +
                                        typeString(type.getElementType()));
  }
  for (Value v : {m.cos, m.sin, m.positions})
    if (v && !dom.properlyDominates(v, op))
      return why.fail("tables-after-norm",
                      "the cos/sin tables or positions are computed after "
                      "the norm");
  if (m.positions) {
    auto type = cast<ShapedType>(m.positions.getType());
    if (!type.getElementType().isSignlessInteger(32) &&
        !type.getElementType().isSignlessInteger(64))
      return why.fail("positions-type",
                      "positions of " + typeString(type.getElementType()));
  }
  if (failed(checkRowsPerToken(op, m, why)))
    return failure();
  FailureOr<SmallVector<bool>> rotated = rotatedRanges(op, f.sites, why);
  if (failed(rotated))
    return failure();
  f.rotated = *rotated;
  if (failed(checkReaders(op, f.sites, f.rotated, why)))
    return failure();
  return f;
}

void eraseUnread(RewriterBase &rewriter, llvm::SetVector<Operation *> &ops);

/// Rewrites `f`; returns the new op.
FusedQKNormOp rewrite(RewriterBase &rewriter, Fusion &f) {
  FusedQKNormOp op = f.op;
  const RotationMatch &m = f.sites.front().rope.rotation;
  SmallVector<Value> tables = {m.cos};
  if (m.sin != m.cos)
    tables.push_back(m.sin);
  SmallVector<NormRangeAttr> ranges = op.getNormRanges();
  bool perHead = true;
  for (auto [r, range] : llvm::enumerate(ranges))
    if (f.rotated[r] && range.getGroupSize() != m.headDim)
      perHead = false;
  auto step = RopeStepAttr::get(
      rewriter.getContext(), m.style, m.rotaryDim, perHead ? 0 : m.headDim,
      /*cos=*/0, /*sin=*/m.sin == m.cos ? 0 : 1, m.cosColumn, m.sinColumn,
      m.perPair, m.rounding);
  SmallVector<Attribute> newRanges;
  for (auto [r, range] : llvm::enumerate(ranges)) {
    if (!f.rotated[r]) {
      newRanges.push_back(range);
      continue;
    }
    SmallVector<Attribute> steps(range.getSteps());
    steps.push_back(step);
    newRanges.push_back(range.withSteps(steps));
  }
  rewriter.setInsertionPoint(op);
  auto fused = FusedQKNormOp::create(
      rewriter, op.getLoc(), op->getResultTypes(), op.getWeights(), tables,
      m.positions, op.getQkv(), rewriter.getArrayAttr(newRanges));
  rewriter.replaceOp(op, fused->getResults());
  // Readers of each rotation read the heads it rotated, now in place.
  for (Site &s : f.sites)
    rewriter.replaceAllUsesWith(s.rope.value, s.rope.unrotated);
  llvm::SetVector<Operation *> ops;
  for (Site &s : f.sites)
    ops.insert(s.ops.begin(), s.ops.end());
  eraseUnread(rewriter, ops);
  return fused;
}

/// Erases the rotations' ops that nothing reads any more (the cos/sin
/// gather included, unless something else reads it). A dynamic shape read
/// with tensor.dim keeps an op alive: those reads are resolved to the
/// shapes' sources first (tensor.dim of a DPS op's result is the dim of its
/// init, of tensor.empty its size operand, ...).
void eraseUnread(RewriterBase &rewriter, llvm::SetVector<Operation *> &ops) {
  SmallVector<Operation *> dims;
  for (Operation *o : ops)
    for (Operation *user : o->getUsers())
      if (isa<tensor::DimOp>(user))
        dims.push_back(user);
  if (!dims.empty()) {
    RewritePatternSet patterns(rewriter.getContext());
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    tensor::DimOp::getCanonicalizationPatterns(patterns, rewriter.getContext());
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps);
    (void)applyOpPatternsGreedily(dims, std::move(patterns), config);
  }
  DenseSet<Operation *> erased;
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation *o : llvm::reverse(ops)) {
      if (erased.contains(o) || !o->use_empty() || !isMemoryEffectFree(o))
        continue;
      rewriter.eraseOp(o);
      erased.insert(o);
      changed = true;
    }
  }
}

//===----------------------------------------------------------------------===//
// Rotation before the norm (Llama4)
//===----------------------------------------------------------------------===//

/// A norm whose qkv is a base qkv with rotated heads inserted back (the
/// engine's in-place rotary kernel, functionalized): `qk.fused_qk_norm
/// outs(insert_slice(rope(q), insert_slice(rope(k), qkv)))`.
struct RopeFirst {
  FusedQKNormOp op;
  Value base;
  RotationMatch rotation;
  SmallVector<bool> rotated;
  int64_t heads = 0;
  llvm::SetVector<Operation *> ops;
};

FailureOr<RopeFirst> analyzeRopeFirst(FusedQKNormOp op, DominanceInfo &dom,
                                      MatchFailure &why) {
  RopeFirst f;
  f.op = op;
  Value init = op.getQkv();
  if (op->getNumResults() != 1 || !init.getDefiningOp<tensor::InsertSliceOp>())
    return why.fail("no-rotation", "no rotation writes the heads");
  for (NormRangeAttr range : op.getNormRanges())
    if (range.getRopeStep())
      return why.fail("already-rotated", "the op rotates already");
  f.base = init;
  while (auto insert = f.base.getDefiningOp<tensor::InsertSliceOp>())
    f.base = insert.getDest();
  if (f.base.getType() != init.getType())
    return why.fail("no-rotation", "the inserts do not rebuild the qkv");
  ElementEvaluator eval(f.base);
  SmallVector<NormRangeAttr> ranges = op.getNormRanges();
  llvm::BitVector inHead(op.getNumColumns());
  std::optional<RotationMatch> first;
  for (NormRangeAttr range : ranges) {
    bool rotated = false, unrotated = false;
    for (int64_t g = 0; g < range.getNumGroups(); ++g) {
      int64_t start = range.getColumnOffset() + g * range.getGroupPitch();
      FailureOr<std::optional<RotationMatch>> m =
          matchRotatedColumns(init, start, range.getGroupSize(), eval, why);
      if (failed(m))
        return failure();
      if (!*m) {
        unrotated = true;
        continue;
      }
      rotated = true;
      ++f.heads;
      inHead.set(start, start + range.getGroupSize());
      if (!first)
        first = **m;
      else if (!(**m == *first))
        return why.fail("rotations-differ",
                        "the heads of one fused op are rotated differently "
                        "(one launch carries one rotation)");
    }
    if (rotated && unrotated)
      return why.fail("partial-range", "some heads of a normalised range are "
                                       "rotated before the norm, others not");
    f.rotated.push_back(rotated);
  }
  if (!first)
    return why.fail("no-rotation", "no rotation writes the heads");
  // Every other column of the rebuilt qkv is the base's.
  for (int64_t c = 0, e = op.getNumColumns(); c < e; ++c)
    if (!inHead.test(c) && !isColumnOf(init, c, eval))
      return why.fail("moves-columns",
                      "the rebuilt qkv changes columns no norm reads",
                      {{"column", std::to_string(c)}});
  f.rotation = *first;
  if (failed(checkRowsPerToken(op, f.rotation, why)))
    return failure();
  for (Value v : {f.rotation.cos, f.rotation.sin, f.rotation.positions})
    if (v && !dom.properlyDominates(v, op))
      return why.fail("tables-after-norm",
                      "the cos/sin tables or positions are computed after "
                      "the norm");
  // The base is rewritten in place: a reader of it besides the rotation
  // would make bufferization copy the whole qkv.
  f.ops = eval.visitedOps();
  for (Operation *user : f.base.getUsers())
    if (!f.ops.contains(user) && !isa<tensor::DimOp>(user))
      return why.fail("unrotated-read",
                      opName(user) + " reads the qkv before the rotation, "
                                     "which the fused op would overwrite in "
                                     "place");
  return f;
}

void eraseUnread(RewriterBase &rewriter, llvm::SetVector<Operation *> &ops);

FusedQKNormOp rewriteRopeFirst(RewriterBase &rewriter, RopeFirst &f) {
  FusedQKNormOp op = f.op;
  const RotationMatch &m = f.rotation;
  SmallVector<Value> tables = {m.cos};
  if (m.sin != m.cos)
    tables.push_back(m.sin);
  auto step = RopeStepAttr::get(rewriter.getContext(), m.style, m.rotaryDim,
                                /*headDim=*/0, /*cos=*/0,
                                /*sin=*/m.sin == m.cos ? 0 : 1, m.cosColumn,
                                m.sinColumn, m.perPair, m.rounding);
  SmallVector<Attribute> newRanges;
  for (auto [r, range] : llvm::enumerate(op.getNormRanges())) {
    if (!f.rotated[r]) {
      newRanges.push_back(range);
      continue;
    }
    SmallVector<Attribute> steps = {step};
    llvm::append_range(steps, range.getSteps());
    newRanges.push_back(range.withSteps(steps));
  }
  Value oldInit = op.getQkv();
  rewriter.setInsertionPoint(op);
  auto fused = FusedQKNormOp::create(
      rewriter, op.getLoc(), op->getResultTypes(), op.getWeights(), tables,
      m.positions, f.base, rewriter.getArrayAttr(newRanges));
  rewriter.replaceOp(op, fused->getResults());
  llvm::SetVector<Operation *> ops = f.ops;
  if (Operation *def = oldInit.getDefiningOp())
    ops.insert(def);
  eraseUnread(rewriter, ops);
  return fused;
}

std::string describeRotation(const RotationMatch &m, int64_t heads,
                             bool beforeNorm) {
  return llvm::formatv(
             "fused RoPE into the QK norm: {0} heads rotated in place {6} "
             "({1}, rotary_dim {2} of {3}, cos/sin {4}, rounded {5}); the "
             "rotation's slices, concatenations and products are gone",
             heads, stringifyRopeStyle(m.style), m.rotaryDim, m.headDim,
             m.positions ? "gathered by position" : "per token",
             m.rounding == RopeRounding::PerOp ? "after every operation"
                                               : "once",
             beforeNorm ? "before the norm" : "after the norm")
      .str();
}

std::string describe(const Fusion &f) {
  int64_t heads = 0;
  for (const Site &s : f.sites)
    heads += s.rope.headStarts.size();
  return describeRotation(f.sites.front().rope.rotation, heads,
                          /*beforeNorm=*/false);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct QKFuseRoPEPass : public qk::impl::QKFuseRoPEBase<QKFuseRoPEPass> {
  void runOnOperation() override {
    DominanceInfo dom(getOperation());
    SmallVector<FusedQKNormOp> ops;
    getOperation()->walk([&](FusedQKNormOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (FusedQKNormOp op : ops) {
      MatchFailure whyFirst;
      FailureOr<RopeFirst> first = analyzeRopeFirst(op, dom, whyFirst);
      if (succeeded(first)) {
        Location loc = op.getLoc();
        const RotationMatch m = first->rotation;
        int64_t heads = first->heads;
        rewriteRopeFirst(rewriter, *first);
        ++numFusedRotations;
        reportPassed(loc, remark::RemarkOpts::name("Fused").category(kCategory),
                     [&](std::string &message, Figures &figures) {
                       message =
                           describeRotation(m, heads, /*beforeNorm=*/true);
                       figures = {{"heads", std::to_string(heads)},
                                  {"style", stringifyRopeStyle(m.style).str()},
                                  {"rotary_dim", std::to_string(m.rotaryDim)},
                                  {"head_dim", std::to_string(m.headDim)},
                                  {"order", "rope_then_norm"}};
                     });
        continue;
      }
      if (whyFirst.code != "no-rotation" &&
          whyFirst.code != "already-rotated") {
        reportMissed(op.getLoc(),
                     remark::RemarkOpts::name("NotFused").category(kCategory),
                     "RoPE before the QK norm not fused: ", whyFirst);
        continue;
      }
      MatchFailure why;
      FailureOr<Fusion> f = analyze(op, dom, why);
      if (failed(f)) {
        if (why.code != "no-rotation" && why.code != "memref" &&
            why.code != "already-rotated")
          reportMissed(op.getLoc(),
                       remark::RemarkOpts::name("NotFused").category(kCategory),
                       "RoPE not fused into the QK norm: ", why);
        continue;
      }
      Location loc = op.getLoc();
      std::string text = describe(*f);
      int64_t heads = 0;
      for (const Site &s : f->sites)
        heads += s.rope.headStarts.size();
      const RotationMatch &m = f->sites.front().rope.rotation;
      rewrite(rewriter, *f);
      ++numFusedRotations;
      reportPassed(loc, remark::RemarkOpts::name("Fused").category(kCategory),
                   [&](std::string &message, Figures &figures) {
                     message = text;
                     figures = {{"heads", std::to_string(heads)},
                                {"style", stringifyRopeStyle(m.style).str()},
                                {"rotary_dim", std::to_string(m.rotaryDim)},
                                {"head_dim", std::to_string(m.headDim)}};
                   });
    }
  }
};

} // namespace
