//===- RoPEMatcher.cpp - Rotary embeddings on the heads of a qkv ----------===//

#include "qk/Analysis/RoPEMatcher.h"
#include "qk/Analysis/ScalarExpr.h"

#include "qk/Analysis/NormSites.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::qk;

//===----------------------------------------------------------------------===//
// ElementEvaluator
//===----------------------------------------------------------------------===//

/// An index-valued scalar inside a body: a constant, the token, the token's
/// position (`positions[token]`, any integer width), or anything else.
struct ElementEvaluator::IndexValue {
  // TokenCount: the extent of the token loop (a size captured from outside
  // the generic); CountIsOne: the condition `TokenCount == 1` (value 1) or
  // `!= 1` (value 0).
  enum Kind {
    Const,
    Token,
    Position,
    TokenCount,
    CountIsOne,
    Unknown
  } kind = Unknown;
  int64_t value = 0;
  Value positions;
};

/// `v` peeled to the size it carries: integer casts, and torch-mlir's
/// "inferred dimension" select(x < 0, inferred, x) of a size x that cannot
/// be negative (a tensor.dim, possibly cast).
static Value peelSize(Value v) {
  auto peelCasts = [](Value x) {
    while (auto cast = x.getDefiningOp<arith::IndexCastOp>())
      x = cast.getIn();
    return x;
  };
  for (;;) {
    v = peelCasts(v);
    auto select = v.getDefiningOp<arith::SelectOp>();
    if (!select)
      return v;
    auto cmp = select.getCondition().getDefiningOp<arith::CmpIOp>();
    if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::slt ||
        !matchPattern(cmp.getRhs(), m_Zero()) ||
        cmp.getLhs() != select.getFalseValue() ||
        !peelCasts(cmp.getLhs()).getDefiningOp<tensor::DimOp>())
      return v;
    v = select.getFalseValue();
  }
}

/// A scalar of a body: a float expression or an index value.
struct ElementEvaluator::Scalar {
  ElementExpr *f = nullptr;
  IndexValue i;
};

ElementEvaluator::ElementEvaluator(Value qkv) : qkv(qkv) {
  auto type = cast<ShapedType>(qkv.getType());
  qkvHeadDim = type.getRank() == 3 ? type.getDimSize(2) : 1;
}

ElementExpr *ElementEvaluator::make(ElementExpr::Kind kind, Type type,
                                    ElementExpr *lhs, ElementExpr *rhs) {
  arena.push_back(ElementExpr{kind, type, lhs, rhs});
  return &arena.back();
}

ElementExpr *ElementEvaluator::fail(StringRef code, const Twine &text) {
  (void)why.fail(code, text);
  return nullptr;
}

ElementExpr *ElementEvaluator::evaluate(Value value, ArrayRef<int64_t> index) {
  std::vector<int64_t> key(index.begin(), index.end());
  if (!key.empty())
    key[0] = 0;
  auto memoKey = std::make_pair(value.getAsOpaquePointer(), key);
  auto it = memo.find(memoKey);
  if (it != memo.end())
    return it->second;
  ElementExpr *e = evaluateImpl(value, key);
  if (e)
    memo.emplace(std::move(memoKey), e);
  return e;
}

/// Why a read of `column` of a [rows, columns] table lies outside its static
/// width, if it does: the generic verifier does not bound the reads of a
/// static input, and the fused op would reject the column.
static std::optional<std::string> tableColumnOutside(RankedTensorType type,
                                                     int64_t column) {
  if (type.isDynamicDim(1) || (column >= 0 && column < type.getDimSize(1)))
    return std::nullopt;
  return "a table read at column " + std::to_string(column) +
         " of a table of " + std::to_string(type.getDimSize(1)) + " columns";
}

/// The static sizes of `type`'s dims in `dims` (failure if one is dynamic).
static bool staticSizes(ShapedType type, ArrayRef<int64_t> dims,
                        SmallVectorImpl<int64_t> &sizes) {
  for (int64_t d : dims) {
    if (type.isDynamicDim(d))
      return false;
    sizes.push_back(type.getDimSize(d));
  }
  return true;
}

ElementExpr *ElementEvaluator::evaluateImpl(Value value,
                                            ArrayRef<int64_t> index) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != static_cast<int64_t>(index.size()))
    return fail("unsupported-value", "a value that is not a ranked tensor");
  if (value == qkv) {
    int64_t column =
        type.getRank() == 2 ? index[1] : index[1] * qkvHeadDim + index[2];
    ElementExpr *e = make(ElementExpr::Qkv, type.getElementType());
    e->column = column;
    return e;
  }
  values.insert(value);
  Operation *def = value.getDefiningOp();
  // A per-token tensor read at (token, column) that is none of the ops
  // below: a table (cos or sin as the model passes them, say).
  auto tableLeaf = [&]() -> ElementExpr * {
    if (type.getRank() != 2 || !isa<FloatType>(type.getElementType()))
      return fail("unsupported-op",
                  "the value is computed by " +
                      (def ? opName(def) : std::string("a block argument")) +
                      ", which the RoPE matcher does not follow");
    if (std::optional<std::string> why = tableColumnOutside(type, index[1]))
      return fail("table-bounds", *why);
    ElementExpr *e = make(ElementExpr::Table, type.getElementType());
    e->table = value;
    e->column = index[1];
    return e;
  };
  if (!def)
    return tableLeaf();
  visited.insert(def);

  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
    // The token dim must be read in place: row t of the slice is row t of
    // its source (a slice that starts at another token reads another
    // token's columns).
    ArrayRef<int64_t> offsets = slice.getStaticOffsets();
    ArrayRef<int64_t> strides = slice.getStaticStrides();
    if (llvm::any_of(offsets, ShapedType::isDynamic) ||
        llvm::any_of(strides, ShapedType::isDynamic))
      return fail("dynamic-slice", "a slice with a dynamic offset or stride");
    if (llvm::any_of(strides, [](int64_t st) { return st < 1; }))
      return fail("unsupported-slice", "a slice with a stride below 1");
    if (offsets[0] != 0 || strides[0] != 1)
      return fail("other-token",
                  "a slice reads other tokens' rows (offset or stride on the "
                  "token dimension)");
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    std::vector<int64_t> source(offsets.size());
    size_t k = 0;
    for (size_t d = 0; d < offsets.size(); ++d)
      source[d] = offsets[d] + (dropped.test(d) ? 0 : index[k++] * strides[d]);
    return evaluate(slice.getSource(), source);
  }
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(def)) {
    auto groups = expand.getReassociationIndices();
    if (groups.empty() || groups[0].size() != 1)
      return fail("token-reshape", "a reshape that merges the token dimension");
    std::vector<int64_t> source(groups.size(), 0);
    for (size_t g = 1; g < groups.size(); ++g) {
      SmallVector<int64_t> sizes;
      if (!staticSizes(type, groups[g], sizes))
        return fail("dynamic-reshape", "a reshape with a dynamic size");
      int64_t linear = 0;
      for (auto [d, size] : llvm::zip(groups[g], sizes))
        linear = linear * size + index[d];
      source[g] = linear;
    }
    return evaluate(expand.getSrc(), source);
  }
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(def)) {
    auto groups = collapse.getReassociationIndices();
    auto srcType = collapse.getSrcType();
    if (groups.empty() || groups[0].size() != 1)
      return fail("token-reshape", "a reshape that merges the token dimension");
    std::vector<int64_t> source(srcType.getRank(), 0);
    for (size_t g = 1; g < groups.size(); ++g) {
      SmallVector<int64_t> sizes;
      if (!staticSizes(srcType, groups[g], sizes))
        return fail("dynamic-reshape", "a reshape with a dynamic size");
      int64_t linear = index[g];
      for (int64_t k = groups[g].size() - 1; k >= 0; --k) {
        source[groups[g][k]] = linear % sizes[k];
        linear /= sizes[k];
      }
    }
    return evaluate(collapse.getSrc(), source);
  }
  if (auto cast = dyn_cast<tensor::CastOp>(def))
    return evaluate(cast.getSource(), index);
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(def)) {
    // Row t of the result is row t of the source where it was inserted
    // (every row: a slice of all tokens), else of the destination.
    ArrayRef<int64_t> offsets = insert.getStaticOffsets();
    ArrayRef<int64_t> sizes = insert.getStaticSizes();
    ArrayRef<int64_t> strides = insert.getStaticStrides();
    if (llvm::any_of(offsets, ShapedType::isDynamic) ||
        llvm::any_of(strides, ShapedType::isDynamic) ||
        llvm::any_of(sizes.drop_front(), ShapedType::isDynamic))
      return fail("dynamic-slice", "an insert_slice with a dynamic offset, "
                                   "stride or column size");
    // (A stride of 0 passes the verifier; the index arithmetic below divides
    // by it.)
    if (llvm::any_of(strides, [](int64_t st) { return st < 1; }))
      return fail("unsupported-slice", "an insert_slice with a stride below 1");
    if (offsets[0] != 0 || strides[0] != 1 ||
        !isTokenCount(insert.getMixedSizes()[0], insert.getDest()))
      return fail("other-token",
                  "an insert_slice that does not cover every token row");
    llvm::SmallBitVector dropped = insert.getDroppedDims();
    std::vector<int64_t> source;
    bool inside = true;
    for (size_t d = 0; d < offsets.size() && inside; ++d) {
      if (d == 0) {
        source.push_back(0);
        continue;
      }
      int64_t rel = index[d] - offsets[d];
      inside = rel >= 0 && rel % strides[d] == 0 && rel / strides[d] < sizes[d];
      if (inside && !dropped.test(d))
        source.push_back(rel / strides[d]);
    }
    if (inside)
      return evaluate(insert.getSource(), source);
    return evaluate(insert.getDest(), index);
  }
  if (auto concat = dyn_cast<tensor::ConcatOp>(def)) {
    int64_t dim = concat.getDim();
    if (dim == 0)
      return fail("other-token", "a concatenation along the token dimension");
    int64_t at = index[dim];
    for (Value input : concat.getInputs()) {
      auto inputType = cast<RankedTensorType>(input.getType());
      if (inputType.isDynamicDim(dim))
        return fail("dynamic-reshape", "a concatenation of dynamic sizes");
      if (at < inputType.getDimSize(dim)) {
        std::vector<int64_t> source(index.begin(), index.end());
        source[dim] = at;
        return evaluate(input, source);
      }
      at -= inputType.getDimSize(dim);
    }
    return fail("unsupported-op", "a concatenation index out of range");
  }
  if (auto generic = dyn_cast<linalg::GenericOp>(def))
    return fromGeneric(generic, cast<OpResult>(value).getResultNumber(), index);
  return tableLeaf();
}

ElementExpr *ElementEvaluator::fromGeneric(linalg::GenericOp generic,
                                           unsigned result,
                                           ArrayRef<int64_t> index) {
  if (generic.getNumReductionLoops() != 0)
    return fail("reduction", "a reduction (" + opName(generic) +
                                 " with reduction loops) between the heads "
                                 "and the rotation");
  AffineMap outMap =
      generic.getMatchingIndexingMap(initOperand(generic, result));
  if (!outMap.isPermutation())
    return fail("unsupported-map",
                "a generic whose result is not indexed by a permutation");
  SmallVector<IndexValue> loops(generic.getNumLoops());
  for (unsigned k = 0; k < outMap.getNumResults(); ++k) {
    unsigned loop = outMap.getDimPosition(k);
    loops[loop].kind = k == 0 ? IndexValue::Token : IndexValue::Const;
    loops[loop].value = index[k];
  }
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  FailureOr<Scalar> s = scalar(yield.getOperand(result), generic, loops);
  if (failed(s))
    return nullptr;
  if (!s->f)
    return fail("unsupported-op", "a generic that yields an integer");
  return s->f;
}

/// The value of affine expression `e` at `loops`: a constant, the token (the
/// token loop itself), or unknown (the token inside arithmetic).
static ElementEvaluator::IndexValue
evaluateAffine(AffineExpr e, ArrayRef<ElementEvaluator::IndexValue> loops);

FailureOr<ElementEvaluator::Scalar>
ElementEvaluator::scalar(Value v, linalg::GenericOp generic,
                         ArrayRef<IndexValue> loops) {
  auto failed = [&](StringRef code, const Twine &text) -> FailureOr<Scalar> {
    (void)why.fail(code, text);
    return failure();
  };
  Scalar out;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != generic.getBody())
      return failed("captured-value", "a value captured from an outer region");
    if (arg.getArgNumber() >= generic.getNumDpsInputs())
      return failed("reads-init", opName(generic) + " reads its init");
    OpOperand *input = generic.getDpsInputOperand(arg.getArgNumber());
    AffineMap map = generic.getMatchingIndexingMap(input);
    SmallVector<IndexValue> at;
    for (AffineExpr e : map.getResults())
      at.push_back(evaluateAffine(e, loops));
    auto inputType = dyn_cast<RankedTensorType>(input->get().getType());
    if (!inputType)
      return failed("unsupported-value", "a generic input that is not a "
                                         "ranked tensor");
    if (inputType.getRank() == 0)
      return failed("unsupported-value", "a rank-0 generic input");
    if (at[0].kind != IndexValue::Token)
      return failed("other-token",
                    "a generic input is not read at the token's own row");
    if (isa<IntegerType, IndexType>(inputType.getElementType())) {
      // positions[token]: a 1-D integer tensor read per token.
      if (inputType.getRank() != 1)
        return failed("unsupported-value",
                      "an integer tensor read per element");
      out.i.kind = IndexValue::Position;
      out.i.positions = input->get();
      return out;
    }
    std::vector<int64_t> index(at.size(), 0);
    for (size_t d = 1; d < at.size(); ++d) {
      if (at[d].kind != IndexValue::Const)
        return failed("other-token",
                      "a generic input is read at an index computed from the "
                      "token");
      index[d] = at[d].value;
    }
    out.f = evaluate(input->get(), index);
    if (!out.f)
      return failure();
    return out;
  }
  Operation *op = v.getDefiningOp();
  if (!generic->isProperAncestor(op)) {
    FloatAttr f;
    IntegerAttr i;
    if (matchPattern(v, m_Constant(&f))) {
      out.f = make(ElementExpr::Const, v.getType());
      out.f->constant = f.getValueAsDouble();
      return out;
    }
    if (matchPattern(v, m_Constant(&i))) {
      out.i = IndexValue{IndexValue::Const, i.getInt(), Value()};
      return out;
    }
    // The token count (torch-mlir's broadcast of a row index:
    // select(rows == 1, 0, t), with rows the extent of the token loop).
    Value size = peelSize(v);
    Value init = initOperand(generic, 0)->get();
    AffineMap initMap =
        generic.getMatchingIndexingMap(initOperand(generic, 0));
    if (size.getType().isIndex() && initMap.isPermutation() &&
        loops[initMap.getDimPosition(0)].kind == IndexValue::Token &&
        isa<RankedTensorType>(init.getType()) && isTokenCount(size, init)) {
      out.i.kind = IndexValue::TokenCount;
      return out;
    }
    return failed("captured-value",
                  "a scalar captured from outside the generic");
  }
  auto unary = [&](ElementExpr::Kind kind) -> FailureOr<Scalar> {
    FailureOr<Scalar> a = scalar(op->getOperand(0), generic, loops);
    if (mlir::failed(a) || !a->f)
      return mlir::failed(a) ? a
                             : failed("unsupported-op", "an index as float");
    out.f = make(kind, v.getType(), a->f);
    return out;
  };
  // Two scalars, evaluated in order (the first failure is the reason).
  auto pair = [&](Value x, Value y) -> FailureOr<std::pair<Scalar, Scalar>> {
    FailureOr<Scalar> a = scalar(x, generic, loops);
    if (mlir::failed(a))
      return failure();
    FailureOr<Scalar> b = scalar(y, generic, loops);
    if (mlir::failed(b))
      return failure();
    return std::make_pair(*a, *b);
  };
  auto binary = [&](ElementExpr::Kind kind) -> FailureOr<Scalar> {
    FailureOr<std::pair<Scalar, Scalar>> ab =
        pair(op->getOperand(0), op->getOperand(1));
    if (mlir::failed(ab))
      return failure();
    const Scalar *a = &ab->first, *b = &ab->second;
    if (!a->f || !b->f)
      return failed("unsupported-op", "float arithmetic on an index");
    out.f = make(kind, v.getType(), a->f, b->f);
    return out;
  };
  if (auto c = dyn_cast<arith::ConstantOp>(op)) {
    if (auto f = dyn_cast<FloatAttr>(c.getValue())) {
      out.f = make(ElementExpr::Const, v.getType());
      out.f->constant = f.getValueAsDouble();
    } else if (auto i = dyn_cast<IntegerAttr>(c.getValue())) {
      out.i.kind = IndexValue::Const;
      out.i.value = i.getInt();
    } else {
      return failed("unsupported-op", "a constant that is not a scalar");
    }
    return out;
  }
  if (isa<arith::ExtFOp>(op))
    return unary(ElementExpr::Ext);
  if (isa<arith::TruncFOp>(op))
    return unary(ElementExpr::Trunc);
  if (isa<arith::NegFOp>(op))
    return unary(ElementExpr::Neg);
  if (isa<arith::AddFOp>(op))
    return binary(ElementExpr::Add);
  if (isa<arith::SubFOp>(op))
    return binary(ElementExpr::Sub);
  if (isa<arith::MulFOp>(op))
    return binary(ElementExpr::Mul);
  if (auto index = dyn_cast<linalg::IndexOp>(op)) {
    out.i = loops[index.getDim()];
    return out;
  }
  // Index arithmetic on constants (a generic that computes its partner's
  // index: (d + half) mod D), comparisons and selects between them.
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::RemUIOp,
          arith::RemSIOp, arith::DivUIOp, arith::DivSIOp, arith::CmpIOp>(op)) {
    FailureOr<std::pair<Scalar, Scalar>> ab =
        pair(op->getOperand(0), op->getOperand(1));
    if (mlir::failed(ab))
      return failure();
    const Scalar *a = &ab->first, *b = &ab->second;
    if (a->f || b->f)
      return failed("unsupported-op", "integer arithmetic on a float");
    // rows == 1 (or != 1) with rows the token count.
    if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      const IndexValue &x = a->i.kind == IndexValue::Const ? b->i : a->i;
      const IndexValue &c = a->i.kind == IndexValue::Const ? a->i : b->i;
      if (x.kind == IndexValue::TokenCount && c.kind == IndexValue::Const &&
          c.value == 1 &&
          (cmp.getPredicate() == arith::CmpIPredicate::eq ||
           cmp.getPredicate() == arith::CmpIPredicate::ne)) {
        out.i =
            IndexValue{IndexValue::CountIsOne,
                       cmp.getPredicate() == arith::CmpIPredicate::eq, Value()};
        return out;
      }
      if (x.kind == IndexValue::TokenCount)
        return failed("unsupported-op",
                      "a comparison of the token count with " +
                          (c.kind == IndexValue::Const
                               ? std::to_string(c.value)
                               : std::string("a non-constant")) +
                          " (only rows == 1 or != 1, a broadcast, is "
                          "understood)");
    }
    if (a->i.kind != IndexValue::Const || b->i.kind != IndexValue::Const) {
      // x + 0 and x * 1 keep the token (or a position) as it is.
      IndexValue x = a->i.kind == IndexValue::Const ? b->i : a->i;
      int64_t c = a->i.kind == IndexValue::Const ? a->i.value : b->i.value;
      bool keeps =
          (isa<arith::AddIOp>(op) && c == 0) ||
          (isa<arith::MulIOp>(op) && c == 1) ||
          (isa<arith::SubIOp>(op) && b->i.kind == IndexValue::Const && c == 0);
      out.i = keeps ? x : IndexValue{};
      return out;
    }
    int64_t x = a->i.value, y = b->i.value, r = 0;
    if (isa<arith::AddIOp>(op)) {
      r = x + y;
    } else if (isa<arith::SubIOp>(op)) {
      r = x - y;
    } else if (isa<arith::MulIOp>(op)) {
      r = x * y;
    } else if (isa<arith::CmpIOp>(op)) {
      switch (cast<arith::CmpIOp>(op).getPredicate()) {
      case arith::CmpIPredicate::eq:
        r = x == y;
        break;
      case arith::CmpIPredicate::ne:
        r = x != y;
        break;
      case arith::CmpIPredicate::slt:
      case arith::CmpIPredicate::ult:
        r = x < y;
        break;
      case arith::CmpIPredicate::sle:
      case arith::CmpIPredicate::ule:
        r = x <= y;
        break;
      case arith::CmpIPredicate::sgt:
      case arith::CmpIPredicate::ugt:
        r = x > y;
        break;
      case arith::CmpIPredicate::sge:
      case arith::CmpIPredicate::uge:
        r = x >= y;
        break;
      }
    } else {
      // Division and remainder of non-negative indices by a positive one.
      if (y <= 0 || x < 0)
        return failed("unsupported-op", "an index division by " +
                                            std::to_string(y) + " of " +
                                            std::to_string(x));
      r = isa<arith::RemUIOp, arith::RemSIOp>(op) ? x % y : x / y;
    }
    out.i = IndexValue{IndexValue::Const, r, Value()};
    return out;
  }
  if (auto select = dyn_cast<arith::SelectOp>(op)) {
    FailureOr<Scalar> c = scalar(select.getCondition(), generic, loops);
    if (mlir::failed(c))
      return c;
    if (!c->f && c->i.kind == IndexValue::CountIsOne) {
      // select(rows == 1, 0, t) is t for every t in [0, rows): with one
      // row the only t is 0. (And select(rows != 1, t, 0).)
      FailureOr<std::pair<Scalar, Scalar>> tf =
          pair(select.getTrueValue(), select.getFalseValue());
      if (mlir::failed(tf))
        return failure();
      const Scalar *t = &tf->first, *f = &tf->second;
      const IndexValue &zero = c->i.value ? t->i : f->i;
      const IndexValue &token = c->i.value ? f->i : t->i;
      if (!t->f && !f->f && zero.kind == IndexValue::Const && zero.value == 0 &&
          token.kind == IndexValue::Token) {
        out.i = token;
        return out;
      }
      return failed("unsupported-op", "a select on the token count other "
                                      "than a broadcast of the token's row");
    }
    if (c->f || c->i.kind != IndexValue::Const)
      return failed("unsupported-op",
                    "a select whose condition depends on the token");
    return scalar(c->i.value ? select.getTrueValue() : select.getFalseValue(),
                  generic, loops);
  }
  if (isa<arith::IndexCastOp, arith::ExtSIOp, arith::TruncIOp>(op)) {
    FailureOr<Scalar> a = scalar(op->getOperand(0), generic, loops);
    if (mlir::failed(a) || a->f)
      return mlir::failed(a) ? a : failed("unsupported-op", "a float as index");
    return a;
  }
  if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
    Value table = extract.getTensor();
    auto tableType = cast<RankedTensorType>(table.getType());
    if (generic->isAncestor(table.getParentBlock()->getParentOp()) ||
        tableType.getRank() < 1 || !isa<FloatType>(tableType.getElementType()))
      return failed("unsupported-gather",
                    "a tensor.extract of a tensor defined inside the generic "
                    "or not of floats");
    SmallVector<IndexValue> at;
    for (Value i : extract.getIndices()) {
      FailureOr<Scalar> s = scalar(i, generic, loops);
      if (mlir::failed(s))
        return s;
      at.push_back(s->i);
    }
    // An element of the token's own row (the partner element of a head,
    // or a per-token table): evaluated like any other read.
    if (at[0].kind == IndexValue::Token &&
        llvm::all_of(ArrayRef(at).drop_front(), [](const IndexValue &i) {
          return i.kind == IndexValue::Const;
        })) {
      std::vector<int64_t> index(at.size(), 0);
      for (size_t d = 1; d < at.size(); ++d)
        index[d] = at[d].value;
      out.f = evaluate(table, index);
      if (!out.f)
        return failure();
      return out;
    }
    // A gather: table[positions[token], column].
    if (tableType.getRank() != 2 || at[1].kind != IndexValue::Const ||
        at[0].kind != IndexValue::Position)
      return failed("unsupported-gather",
                    "a tensor read at a row other than the token or its "
                    "position, or at a column computed from the token");
    if (std::optional<std::string> why =
            tableColumnOutside(tableType, at[1].value))
      return failed("table-bounds", *why);
    out.f = make(ElementExpr::Table, tableType.getElementType());
    out.f->table = table;
    out.f->column = at[1].value;
    if (at[0].kind == IndexValue::Position)
      out.f->positions = at[0].positions;
    return out;
  }
  return failed("unsupported-op", opName(op) +
                                      " in an elementwise body, which the RoPE "
                                      "matcher does not follow");
}

static ElementEvaluator::IndexValue
evaluateAffine(AffineExpr e, ArrayRef<ElementEvaluator::IndexValue> loops) {
  using IV = ElementEvaluator::IndexValue;
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return loops[d.getPosition()];
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return IV{IV::Const, c.getValue(), Value()};
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin)
    return IV{};
  IV a = evaluateAffine(bin.getLHS(), loops);
  IV b = evaluateAffine(bin.getRHS(), loops);
  if (a.kind != IV::Const || b.kind != IV::Const)
    return IV{};
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return IV{IV::Const, a.value + b.value, Value()};
  case AffineExprKind::Mul:
    return IV{IV::Const, a.value * b.value, Value()};
  case AffineExprKind::Mod:
    return b.value > 0 ? IV{IV::Const,
                            ((a.value % b.value) + b.value) % b.value, Value()}
                       : IV{};
  case AffineExprKind::FloorDiv:
    return b.value > 0
               ? IV{IV::Const,
                    a.value >= 0 ? a.value / b.value
                                 : -((-a.value + b.value - 1) / b.value),
                    Value()}
               : IV{};
  default:
    return IV{};
  }
}

//===----------------------------------------------------------------------===//
// One element: a pass-through or a rotation
//===----------------------------------------------------------------------===//

namespace {
/// `x` without value-preserving casts: trunc(ext(x)) back to x's type.
ElementExpr *stripCasts(ElementExpr *e) {
  while (e->kind == ElementExpr::Trunc && e->lhs->kind == ElementExpr::Ext &&
         e->lhs->lhs->type == e->type)
    e = e->lhs->lhs;
  return e;
}

/// A qkv column read, extended and negated any number of times.
bool qkvRead(ElementExpr *e, int &sign, int64_t &column) {
  for (;;) {
    e = stripCasts(e);
    if (e->kind == ElementExpr::Ext) {
      e = e->lhs;
    } else if (e->kind == ElementExpr::Neg) {
      sign = -sign;
      e = e->lhs;
    } else {
      break;
    }
  }
  if (e->kind != ElementExpr::Qkv)
    return false;
  column = e->column;
  return true;
}

ElementExpr *tableRead(ElementExpr *e) {
  e = stripCasts(e);
  while (e->kind == ElementExpr::Ext)
    e = stripCasts(e->lhs);
  return e->kind == ElementExpr::Table ? e : nullptr;
}

/// One product of a rotation: sign * qkv[column] * table entry.
struct Term {
  int sign = 1;
  int64_t column = 0;
  ElementExpr *table = nullptr;
  Type type;
};

bool parseTerm(ElementExpr *e, Term &t) {
  e = stripCasts(e);
  // A product widened before the sum keeps its own type: the rounding
  // check then sees that the graph rounds the product and not the sum.
  while (e->kind == ElementExpr::Neg || e->kind == ElementExpr::Ext) {
    if (e->kind == ElementExpr::Neg)
      t.sign = -t.sign;
    e = stripCasts(e->lhs);
  }
  if (e->kind != ElementExpr::Mul)
    return false;
  t.type = e->type;
  for (auto [x, y] : {std::pair(e->lhs, e->rhs), std::pair(e->rhs, e->lhs)}) {
    int sign = t.sign;
    if (qkvRead(x, sign, t.column) && (t.table = tableRead(y))) {
      t.sign = sign;
      return true;
    }
  }
  return false;
}

/// An element: a qkv column passed through, or `t0 + t1` rounded as
/// `rounding` says.
struct Element {
  bool rotated = false;
  int64_t column = 0; // pass-through
  Term terms[2];
  RopeRounding rounding = RopeRounding::PerOp;
};

LogicalResult classify(ElementExpr *e, Type elementType, Element &out,
                       MatchFailure &why) {
  out = Element();
  ElementExpr *top = stripCasts(e);
  int sign = 1;
  if (qkvRead(top, sign, out.column)) {
    if (sign != 1)
      return why.fail("not-rope", "an element is a negated qkv column");
    return success();
  }
  out.rotated = true;
  ElementExpr *sum = top;
  bool once = false;
  if (top->kind == ElementExpr::Trunc && top->type == elementType) {
    sum = top->lhs;
    once = true;
  }
  if ((sum->kind != ElementExpr::Add && sum->kind != ElementExpr::Sub) ||
      !parseTerm(sum->lhs, out.terms[0]) || !parseTerm(sum->rhs, out.terms[1]))
    return why.fail("not-rope",
                    "an element is not `x * cos + rotate(x) * sin` of qkv "
                    "columns and table entries");
  if (sum->kind == ElementExpr::Sub)
    out.terms[1].sign = -out.terms[1].sign;
  Type f32 = Float32Type::get(e->type.getContext());
  auto all = [&](Type t) {
    return sum->type == t && out.terms[0].type == t && out.terms[1].type == t;
  };
  if (!once && all(elementType)) {
    out.rounding = RopeRounding::PerOp;
  } else if (once && all(f32)) {
    out.rounding = RopeRounding::Once;
  } else {
    return why.fail("rounding-points",
                    "the rotation rounds neither after every operation in " +
                        typeString(elementType) +
                        " nor once after f32 arithmetic");
  }
  return success();
}
} // namespace

bool RotationMatch::operator==(const RotationMatch &o) const {
  return style == o.style && rounding == o.rounding && headDim == o.headDim &&
         rotaryDim == o.rotaryDim && cos == o.cos && sin == o.sin &&
         positions == o.positions && cosColumn == o.cosColumn &&
         sinColumn == o.sinColumn && perPair == o.perPair;
}

//===----------------------------------------------------------------------===//
// A site: every head of a value
//===----------------------------------------------------------------------===//

namespace {
/// The partner, sign and frequency index of element j of `style` with
/// `rot` rotated elements.
void pairOf(RopeStyle style, int64_t rot, int64_t j, int64_t &partner,
            int &sign, int64_t &freq) {
  int64_t half = rot / 2;
  if (style == RopeStyle::Neox) {
    bool first = j < half;
    partner = first ? j + half : j - half;
    sign = first ? -1 : 1;
    freq = first ? j : j - half;
  } else {
    bool first = j % 2 == 0;
    partner = first ? j + 1 : j - 1;
    sign = first ? -1 : 1;
    freq = j / 2;
  }
}

/// The rotation of one head from its elements (`base`: its first column).
FailureOr<RotationMatch> matchHead(ArrayRef<Element> head, int64_t base,
                                   MatchFailure &why) {
  int64_t d = head.size();
  int64_t rot = 0;
  while (rot < d && head[rot].rotated)
    ++rot;
  for (int64_t j = rot; j < d; ++j) {
    if (head[j].rotated)
      return why.fail("not-rope",
                      "the rotated elements of a head are not its first ones");
    if (head[j].column != base + j)
      return why.fail("moves-columns",
                      "an element of the result is another column of qkv");
  }
  if (rot < 2 || rot % 2)
    return why.fail("not-rope", "a head rotates " + std::to_string(rot) +
                                    " elements, not an even number >= 2");
  // The term that reads the element's own column, and its partner.
  SmallVector<int64_t> partner(rot);
  SmallVector<int> sign(rot);
  SmallVector<ElementExpr *> cosRead(rot), sinRead(rot);
  for (int64_t j = 0; j < rot; ++j) {
    const Element &e = head[j];
    int self = e.terms[0].column == base + j && e.terms[0].sign == 1   ? 0
               : e.terms[1].column == base + j && e.terms[1].sign == 1 ? 1
                                                                       : -1;
    if (self < 0)
      return why.fail("moves-columns",
                      "a rotated element does not read its own column with "
                      "a positive cos term");
    const Term &other = e.terms[1 - self];
    partner[j] = other.column - base;
    if (partner[j] < 0 || partner[j] >= rot)
      return why.fail("other-head",
                      "a rotated element reads a partner outside its head's "
                      "rotated columns");
    sign[j] = other.sign;
    cosRead[j] = e.terms[self].table;
    sinRead[j] = other.table;
    if (e.rounding != head[0].rounding)
      return why.fail("rounding-points",
                      "the elements of a head round differently");
  }
  RotationMatch m;
  m.rounding = head[0].rounding;
  m.headDim = d;
  m.rotaryDim = rot;
  bool found = false;
  for (RopeStyle style : {RopeStyle::Neox, RopeStyle::GPTJ}) {
    bool ok = true;
    for (int64_t j = 0; j < rot && ok; ++j) {
      int64_t p, f;
      int s;
      pairOf(style, rot, j, p, s, f);
      ok = p == partner[j] && s == sign[j];
    }
    if (ok) {
      m.style = style;
      found = true;
      break;
    }
  }
  if (!found)
    return why.fail("not-rope", "the rotated pairs are neither NeoX "
                                "(rotate_half) nor GPT-J (interleaved)");
  // The tables: one table each for cos and sin, one row (the token or its
  // position), columns at a fixed offset per frequency or per element.
  m.cos = cosRead[0]->table;
  m.sin = sinRead[0]->table;
  m.positions = cosRead[0]->positions;
  m.cosColumn = cosRead[0]->column;
  m.sinColumn = sinRead[0]->column;
  for (bool perPair : {true, false}) {
    bool ok = true;
    for (int64_t j = 0; j < rot && ok; ++j) {
      int64_t p, f;
      int s;
      pairOf(m.style, rot, j, p, s, f);
      int64_t col = perPair ? f : j;
      ok = cosRead[j]->table == m.cos && sinRead[j]->table == m.sin &&
           cosRead[j]->positions == m.positions &&
           sinRead[j]->positions == m.positions &&
           cosRead[j]->column == m.cosColumn + col &&
           sinRead[j]->column == m.sinColumn + col;
    }
    if (ok) {
      m.perPair = perPair;
      return m;
    }
  }
  return why.fail("tables",
                  "cos and sin are not read from one table each, at one row "
                  "per token and one column per frequency or element");
}
} // namespace

/// The index of column `column` of a [T, C] or [T, H, D] value.
static std::vector<int64_t> columnIndex(RankedTensorType type, int64_t column) {
  if (type.getRank() == 2)
    return {0, column};
  int64_t d = type.getDimSize(2);
  return {0, column / d, column % d};
}

FailureOr<std::optional<RotationMatch>>
mlir::qk::matchRotatedColumns(Value value, int64_t start, int64_t headDim,
                              ElementEvaluator &eval, MatchFailure &why) {
  auto type = cast<RankedTensorType>(value.getType());
  Type elementType = type.getElementType();
  SmallVector<Element> head(headDim);
  bool any = false;
  for (int64_t j = 0; j < headDim; ++j) {
    ElementExpr *e = eval.evaluate(value, columnIndex(type, start + j));
    if (!e)
      return why.fail(eval.why.code, eval.why.message, eval.why.figures);
    if (failed(classify(e, elementType, head[j], why)))
      return failure();
    any |= head[j].rotated;
  }
  if (!any) {
    for (int64_t j = 0; j < headDim; ++j)
      if (head[j].column != start + j)
        return why.fail("moves-columns",
                        "a column of the normalised value is another column "
                        "of qkv");
    return std::optional<RotationMatch>();
  }
  FailureOr<RotationMatch> m = matchHead(head, start, why);
  if (failed(m))
    return failure();
  return std::optional<RotationMatch>(*m);
}

bool mlir::qk::isColumnOf(Value value, int64_t column, ElementEvaluator &eval) {
  auto type = cast<RankedTensorType>(value.getType());
  ElementExpr *e = eval.evaluate(value, columnIndex(type, column));
  int sign = 1;
  int64_t read;
  return e && qkvRead(e, sign, read) && sign == 1 && read == column &&
         e->type == type.getElementType();
}

FailureOr<RoPESite> mlir::qk::matchRoPESite(Value value, ElementEvaluator &eval,
                                            MatchFailure &why) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() < 2)
    return why.fail("not-rope", "the value is not a [T, ..., D] tensor");
  for (int64_t d = 1; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      return why.fail("dynamic-reshape", "a head dimension is dynamic");
  Type elementType = type.getElementType();
  int64_t headDim = type.getShape().back();
  int64_t heads = 1;
  for (int64_t d = 1; d + 1 < type.getRank(); ++d)
    heads *= type.getDimSize(d);

  RoPESite site;
  site.value = value;
  std::vector<int64_t> index(type.getRank(), 0);
  SmallVector<Element> head(headDim);
  for (int64_t h = 0; h < heads; ++h) {
    int64_t rest = h;
    for (int64_t d = type.getRank() - 2; d >= 1; --d) {
      index[d] = rest % type.getDimSize(d);
      rest /= type.getDimSize(d);
    }
    for (int64_t j = 0; j < headDim; ++j) {
      index.back() = j;
      ElementExpr *e = eval.evaluate(value, index);
      if (!e)
        return why.fail(eval.why.code, eval.why.message, eval.why.figures);
      if (failed(classify(e, elementType, head[j], why)))
        return failure();
    }
    // The head's first column: the own column of element 0, the positive
    // term (its partner's term is negative for both styles).
    const Element &first = head[0];
    if (!first.rotated)
      return why.fail("unrotated", "the first element of a head is not "
                                   "rotated");
    int64_t base = first.terms[0].sign == 1 && first.terms[1].sign == -1
                       ? first.terms[0].column
                   : first.terms[1].sign == 1 && first.terms[0].sign == -1
                       ? first.terms[1].column
                       : -1;
    if (base < 0)
      return why.fail("not-rope", "the first element of a head is not "
                                  "`x * cos - partner * sin`");
    FailureOr<RotationMatch> m = matchHead(head, base, why);
    if (failed(m))
      return failure();
    if (h == 0)
      site.rotation = *m;
    else if (!(*m == site.rotation))
      return why.fail("heads-differ", "the heads are rotated differently");
    site.headStarts.push_back(base);
  }

  // The same columns, un-rotated, in the same places: what the readers of
  // `value` read after the rewrite rotates those columns in place.
  for (Value candidate : eval.visitedValues()) {
    if (candidate == value || candidate.getType() != value.getType())
      continue;
    bool same = true;
    for (int64_t h = 0; h < heads && same; ++h) {
      int64_t rest = h;
      for (int64_t d = type.getRank() - 2; d >= 1; --d) {
        index[d] = rest % type.getDimSize(d);
        rest /= type.getDimSize(d);
      }
      for (int64_t j = 0; j < headDim && same; ++j) {
        index.back() = j;
        ElementExpr *e = eval.evaluate(candidate, index);
        int sign = 1;
        int64_t column;
        same = e && qkvRead(e, sign, column) && sign == 1 &&
               column == site.headStarts[h] + j && e->type == elementType;
      }
    }
    if (same) {
      site.unrotated = candidate;
      return site;
    }
  }
  return why.fail("no-view",
                  "no view of the un-rotated heads in the same layout");
}
