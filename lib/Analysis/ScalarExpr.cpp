//===- ScalarExpr.cpp - linalg.generic bodies as a DAG --------------------===//

#include "qk/Analysis/ScalarExpr.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qk;

//===----------------------------------------------------------------------===//
// The DAG
//===----------------------------------------------------------------------===//

bool mlir::qk::isConst(const ScalarExpr *e, double *value) {
  if (e->kind != ScalarExpr::Const)
    return false;
  if (value)
    *value = e->constant;
  return true;
}

bool mlir::qk::sameExpr(const ScalarExpr *a, const ScalarExpr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind || a->type != b->type ||
      a->operands.size() != b->operands.size())
    return false;
  switch (a->kind) {
  case ScalarExpr::ElementRead:
  case ScalarExpr::ColumnRead:
    return a->tensor == b->tensor;
  case ScalarExpr::Const:
    return a->constant == b->constant;
  case ScalarExpr::RowSum:
    if (a->reduction != b->reduction)
      return sameExpr(a->operands[0], b->operands[0]);
    return true;
  case ScalarExpr::Other:
    return false;
  default:
    break;
  }
  for (auto [x, y] : llvm::zip(a->operands, b->operands))
    if (!sameExpr(x, y))
      return false;
  return true;
}

/// Producers spell one constant many ways (torch-mlir: an f64 literal and
/// `arith.truncf` to f32, which --canonicalize does not fold because it is
/// inexact). Evaluates ext/trunc/add/sub/mul/div of constants exactly as the
/// graph would, in the result type's format, so that matchers see one
/// constant. Ops are rounded to their result type like the hardware does.
static std::optional<double> foldConstant(ScalarExpr::Kind kind, Type type,
                                          ArrayRef<ScalarExpr *> operands) {
  auto floatType = dyn_cast<FloatType>(type);
  if (!floatType || operands.empty() ||
      llvm::any_of(operands,
                   [](ScalarExpr *e) { return e->kind != ScalarExpr::Const; }))
    return std::nullopt;
  const llvm::fltSemantics &sem = floatType.getFloatSemantics();
  auto get = [&](unsigned i) {
    APFloat v(operands[i]->constant);
    bool lost;
    v.convert(sem, APFloat::rmNearestTiesToEven, &lost);
    return v;
  };
  APFloat r = get(0);
  switch (kind) {
  case ScalarExpr::Ext:
  case ScalarExpr::Trunc:
    break; // get() rounded the operand to the result format.
  case ScalarExpr::Add:
    r.add(get(1), APFloat::rmNearestTiesToEven);
    break;
  case ScalarExpr::Sub:
    r.subtract(get(1), APFloat::rmNearestTiesToEven);
    break;
  case ScalarExpr::Mul:
    r.multiply(get(1), APFloat::rmNearestTiesToEven);
    break;
  case ScalarExpr::Div:
    r.divide(get(1), APFloat::rmNearestTiesToEven);
    break;
  default:
    return std::nullopt;
  }
  bool lost;
  r.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return r.convertToDouble();
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

FailureOr<ScalarExpr *> ScalarExprBuilder::build(linalg::GenericOp root) {
  return fromGenericResult(root, 0, Level::Full);
}

ScalarExpr *ScalarExprBuilder::make(ScalarExpr::Kind kind, Type type,
                                    ArrayRef<ScalarExpr *> operands) {
  if (std::optional<double> folded = foldConstant(kind, type, operands))
    return makeConst(type, *folded);
  arena.push_back(ScalarExpr{kind, type, llvm::to_vector<2>(operands)});
  return &arena.back();
}

ScalarExpr *ScalarExprBuilder::makeConst(Type type, double value) {
  arena.push_back(ScalarExpr{ScalarExpr::Const, type, {}});
  arena.back().constant = value;
  return &arena.back();
}

FailureOr<ScalarExpr *> ScalarExprBuilder::fail(StringRef code,
                                                const Twine &text) {
  return why.fail(code, text);
}

AffineMap ScalarExprBuilder::indexingMap(linalg::GenericOp generic,
                                         OpOperand *operand) {
  auto [it, inserted] = maps.try_emplace(generic.getOperation());
  if (inserted)
    it->second = generic.getIndexingMapsArray();
  return it->second[operand->getOperandNumber()];
}

/// Classifies how `map` (of a generic whose iteration space is at `level`)
/// reads its operand.
std::optional<ScalarExprBuilder::Level>
ScalarExprBuilder::classify(AffineMap map, Level level, unsigned numLoops) {
  if (map.getNumResults() == 0)
    return Level::Scalar;
  if (map.isIdentity())
    return level;
  if (level != Level::Full || numLoops != rank)
    return std::nullopt;
  auto isDim = [](AffineExpr e, unsigned d) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    return dim && dim.getPosition() == d;
  };
  ArrayRef<AffineExpr> results = map.getResults();
  // (d0, ..., d_{n-1}) -> (d_{n-1}): a per-column weight.
  if (results.size() == 1 && isDim(results[0], rank - 1))
    return Level::Col;
  // (d0, ..., d_{n-1}) -> (d0, ..., d_{n-2} [, 0]): a per-row value,
  // keepdim written as a dropped dim or as a constant 0.
  unsigned lead = rank - 1;
  if (results.size() != lead && results.size() != static_cast<size_t>(rank))
    return std::nullopt;
  for (unsigned d = 0; d < lead; ++d)
    if (!isDim(results[d], d))
      return std::nullopt;
  if (results.size() == static_cast<size_t>(rank)) {
    auto c = dyn_cast<AffineConstantExpr>(results.back());
    if (!c || c.getValue() != 0)
      return std::nullopt;
  }
  return Level::Row;
}

/// The value `tensor` read at `level`.
FailureOr<ScalarExpr *> ScalarExprBuilder::fromTensor(Value tensor,
                                                      Level level) {
  auto type = dyn_cast<RankedTensorType>(tensor.getType());
  if (!type)
    return fail("unranked-operand", "operand is not a ranked tensor");
  if (level == Level::Scalar) {
    DenseFPElementsAttr dense;
    if (matchPattern(tensor, m_Constant(&dense)) && dense.isSplat())
      return makeConst(type.getElementType(),
                       dense.getSplatValue<APFloat>().convertToDouble());
    return fail("non-constant-scalar",
                "a 0-d tensor operand is not a constant");
  }
  if (auto expand = tensor.getDefiningOp<tensor::ExpandShapeOp>()) {
    // [rows] -> [rows, 1]: the keepdim form of a dropped-dim reduction.
    if (level == Level::Row && type.getRank() == rank &&
        type.getShape().back() == 1 &&
        expand.getSrcType().getRank() == rank - 1)
      return fromTensor(expand.getSrc(), level);
  }
  if (auto generic = tensor.getDefiningOp<linalg::GenericOp>())
    return fromGenericResult(generic, cast<OpResult>(tensor).getResultNumber(),
                             level);
  switch (level) {
  case Level::Full: {
    ScalarExpr *e = make(ScalarExpr::ElementRead, type.getElementType());
    e->tensor = tensor;
    return e;
  }
  case Level::Col: {
    ScalarExpr *e = make(ScalarExpr::ColumnRead, type.getElementType());
    e->tensor = tensor;
    return e;
  }
  default:
    return fail("row-value-not-reduced",
                "a per-row value is not computed by a reduction");
  }
}

/// Result `resultNumber` of `generic` read at `level`.
FailureOr<ScalarExpr *>
ScalarExprBuilder::fromGenericResult(linalg::GenericOp generic,
                                     unsigned resultNumber, Level level) {
  unsigned numLoops = generic.getNumLoops();
  if (generic.getNumReductionLoops() > 0) {
    sawReductionGeneric = true;
    if (level == Level::Col)
      return fail("reduction-read-per-column",
                  "a reduction result is read per column (the reduction "
                  "is not over the last dimension)");
    if (level != Level::Row)
      return fail("reduction-read-per-element",
                  "a reduction result is read per element (the reduction "
                  "does not keep one value per row of the last dimension)");
    return fromReduction(generic, resultNumber);
  }
  OpOperand *init = initOperand(generic, resultNumber);
  if (!indexingMap(generic, init).isIdentity())
    return fail("non-identity-result-map",
                "a generic writes its result through a non-identity map");
  if (level == Level::Full && numLoops != rank)
    return fail("rank-mismatch",
                "an elementwise generic has another rank than the norm");
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  return fromScalar(yield.getOperand(resultNumber), generic, level);
}

/// A sum over the last dimension, with a zero init, one value per row.
FailureOr<ScalarExpr *>
ScalarExprBuilder::fromReduction(linalg::GenericOp generic,
                                 unsigned resultNumber) {
  auto iterators = generic.getIteratorTypesArray();
  if (iterators.size() != static_cast<size_t>(rank) ||
      generic.getNumReductionLoops() != 1 ||
      iterators.back() != utils::IteratorType::reduction)
    return fail("reduction-not-last-dim",
                "the reduction is not over the last dimension");
  if (generic.getOutputs().size() != 1)
    return fail("multi-result-reduction", "the reduction has several results");
  OpOperand *init = initOperand(generic, resultNumber);
  std::optional<Level> outLevel =
      classify(indexingMap(generic, init), Level::Full, rank);
  if (outLevel != Level::Row)
    return fail("reduction-not-per-row",
                "the reduction does not keep one value per row");
  // The accumulator starts at 0.
  Value start = init->get();
  if (auto fill = start.getDefiningOp<linalg::FillOp>())
    start = fill.getInputs()[0];
  FloatAttr zero;
  DenseFPElementsAttr dense;
  bool isZero =
      (matchPattern(start, m_Constant(&zero)) && zero.getValue().isZero()) ||
      (matchPattern(start, m_Constant(&dense)) && dense.isSplat() &&
       dense.getSplatValue<APFloat>().isZero());
  if (!isZero)
    return fail("nonzero-init", "the reduction init is not zero");
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  auto add = yield.getOperand(resultNumber).getDefiningOp<arith::AddFOp>();
  if (!add)
    return fail("reduction-not-sum", "the reduction is not a sum");
  Value acc = generic.getMatchingBlockArgument(init);
  Value summand;
  if (add.getLhs() == acc)
    summand = add.getRhs();
  else if (add.getRhs() == acc)
    summand = add.getLhs();
  else
    return fail("reduction-not-sum", "the reduction is not a sum");
  if (!acc.getType().isF32())
    return fail("sum-not-f32", "the sum of squares is not accumulated in f32");
  FailureOr<ScalarExpr *> term = fromScalar(summand, generic, Level::Full);
  if (failed(term))
    return failure();
  ScalarExpr *e = make(ScalarExpr::RowSum, acc.getType(), {*term});
  e->reduction = generic;
  return e;
}

/// A scalar SSA value in the body of `generic` (iteration space at
/// `level`).
FailureOr<ScalarExpr *>
ScalarExprBuilder::fromScalar(Value v, linalg::GenericOp generic, Level level) {
  if (ScalarExpr *known = memo.lookup(v))
    return known;
  FailureOr<ScalarExpr *> e = fromScalarImpl(v, generic, level);
  if (succeeded(e))
    memo[v] = *e;
  return e;
}

FailureOr<ScalarExpr *>
ScalarExprBuilder::fromScalarImpl(Value v, linalg::GenericOp generic,
                                  Level level) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (arg.getOwner() != generic.getBody())
      return fail("non-constant-capture",
                  "a value from an enclosing region is not a constant");
    OpOperand *operand = generic.getMatchingOpOperand(arg);
    if (isInit(generic, operand))
      return fail("reads-init", "an elementwise generic reads its init");
    std::optional<Level> read =
        classify(indexingMap(generic, operand), level, generic.getNumLoops());
    if (!read)
      return fail("unsupported-indexing-map",
                  "an operand is read through an unsupported indexing map");
    return fromTensor(operand->get(), *read);
  }
  FloatAttr cst;
  if (matchPattern(v, m_Constant(&cst)))
    return makeConst(v.getType(), cst.getValue().convertToDouble());
  // The divisor of a mean, spelled as an integer converted to float.
  APInt intValue;
  if (isa_and_present<arith::SIToFPOp, arith::UIToFPOp>(v.getDefiningOp()) &&
      matchPattern(v.getDefiningOp()->getOperand(0),
                   m_ConstantInt(&intValue))) {
    bool isSigned = isa<arith::SIToFPOp>(v.getDefiningOp());
    APFloat f(cast<FloatType>(v.getType()).getFloatSemantics());
    f.convertFromAPInt(intValue, isSigned, APFloat::rmNearestTiesToEven);
    return makeConst(v.getType(), f.convertToDouble());
  }
  Operation *op = v.getDefiningOp();
  if (!op || !generic->isProperAncestor(op))
    return fail("non-constant-value",
                "a value from outside the generic is not a constant");
  auto unary = [&](ScalarExpr::Kind kind) -> FailureOr<ScalarExpr *> {
    FailureOr<ScalarExpr *> a = fromScalar(op->getOperand(0), generic, level);
    if (failed(a))
      return failure();
    return make(kind, v.getType(), {*a});
  };
  auto binary = [&](ScalarExpr::Kind kind) -> FailureOr<ScalarExpr *> {
    FailureOr<ScalarExpr *> a = fromScalar(op->getOperand(0), generic, level);
    if (failed(a))
      return failure();
    FailureOr<ScalarExpr *> b = fromScalar(op->getOperand(1), generic, level);
    if (failed(b))
      return failure();
    return make(kind, v.getType(), {*a, *b});
  };
  // x ** 2 is x * x, rounded once either way; other powers stay opaque.
  auto square = [&](Value base, bool isSquare) -> FailureOr<ScalarExpr *> {
    if (!isSquare)
      return make(ScalarExpr::Other, v.getType());
    sawSquareOp = true;
    FailureOr<ScalarExpr *> a = fromScalar(base, generic, level);
    if (failed(a))
      return failure();
    return make(ScalarExpr::Mul, v.getType(), {*a, *a});
  };
  return llvm::TypeSwitch<Operation *, FailureOr<ScalarExpr *>>(op)
      .Case([&](arith::ExtFOp) { return unary(ScalarExpr::Ext); })
      .Case([&](arith::TruncFOp) { return unary(ScalarExpr::Trunc); })
      .Case([&](arith::AddFOp) { return binary(ScalarExpr::Add); })
      .Case([&](arith::SubFOp) { return binary(ScalarExpr::Sub); })
      .Case([&](arith::MulFOp mul) {
        sawSquareOp |= mul.getLhs() == mul.getRhs();
        return binary(ScalarExpr::Mul);
      })
      .Case([&](arith::DivFOp) { return binary(ScalarExpr::Div); })
      .Case([&](math::RsqrtOp) {
        sawRsqrtOp = true;
        return unary(ScalarExpr::Rsqrt);
      })
      .Case([&](math::PowFOp pow) {
        FloatAttr e;
        return square(pow.getLhs(),
                      matchPattern(pow.getRhs(), m_Constant(&e)) &&
                          e.getValueAsDouble() == 2.0);
      })
      .Case([&](math::FPowIOp pow) {
        IntegerAttr e;
        return square(pow.getLhs(),
                      matchPattern(pow.getRhs(), m_Constant(&e)) &&
                          e.getInt() == 2);
      })
      // Anything else is kept as an opaque node so that the matcher can
      // name what it found instead of where it stopped.
      .Default(
          [&](Operation *) { return make(ScalarExpr::Other, v.getType()); });
}
