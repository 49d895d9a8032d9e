//===- RaiseRMSNorm.cpp - decomposed linalg RMSNorm -> qk.rms_norm --------===//
//
// What it matches: an all-parallel linalg.generic (the root) whose value,
// followed backwards through the bodies of the generics that produce its
// operands, is exactly
//
//   round(float(x) * rsqrt(sum(float(x)^2 over the last dim) / N + eps)
//         [* (offset + float(w))])
//
// in one of the two rounding orders of qk.rms_norm. This is the form
// torch-mlir emits for aten.rms_norm and for a hand-written PyTorch RMSNorm,
// one generic per step, or two generics after --linalg-fuse-elementwise-ops.
//
// How: the generics are evaluated symbolically into a small expression DAG
// (NormExpr) whose leaves are the input x (read per element), the weight w
// (read per column), row sums (a reduction generic) and constants. The DAG
// is then matched against the formula by small predicates composed from the
// root; every failure carries a reason, reported as a remark by the pass.
//
// Legality: the reduction is a sum with a zero init over exactly the last
// dimension, the divisor is the static size of that dimension, epsilon is
// inside the rsqrt, all arithmetic but the final rounding is fp32, and the
// result has x's type. Nothing else is raised.
//
// The rewrite: one qk.rms_norm replaces the root; the generics that fed it
// die unless something else uses them.
//
//===----------------------------------------------------------------------===//

#include "qk/Transforms/Passes.h"
#include "qk/Transforms/RewriteUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <deque>
#include <functional>

namespace mlir::qk {
#define GEN_PASS_DEF_QKRAISERMSNORM
#include "qk/Transforms/Passes.h.inc"
} // namespace mlir::qk

using namespace mlir;
using namespace mlir::qk;

namespace {

//===----------------------------------------------------------------------===//
// Remark arguments
//===----------------------------------------------------------------------===//

/// Figures of a remark (key, value), emitted as structured arguments next to
/// the message: MLIR's YAML remark output carries them as `Args`, so that
/// tools read them instead of the message text.
using RemarkFigures = SmallVector<std::pair<StringRef, std::string>, 2>;

std::string typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

/// A floating-point figure as the messages print it (%e).
std::string numberString(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << value;
  return s;
}

/// `loc` as structured arguments, where MLIR's YAML remark output cannot
/// carry it (it keeps a plain file:line:col location only; the call-site and
/// fused locations of torch-mlir's IR become "<unknown file>"): `loc` is the
/// location a diagnostic shows (the first file:line:col inside), and
/// `called_from_<i>` the callers of a call-site location, innermost first,
/// like the "called from" notes of a diagnostic. Nothing for a plain
/// file:line:col location (YAML's DebugLoc). Same as in FuseStridedQKNorm.cpp.
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

//===----------------------------------------------------------------------===//
// Symbolic evaluation of the generics
//===----------------------------------------------------------------------===//

/// How a tensor is indexed relative to the root's iteration space [rows, N].
enum class Level { Scalar, Row, Col, Full };

struct NormExpr {
  enum Kind {
    Input,
    Weight,
    RowSum,
    Const,
    Ext,
    Trunc,
    Add,
    Sub,
    Mul,
    Div,
    Rsqrt,
    Other
  };
  Kind kind;
  Type type;
  SmallVector<NormExpr *, 2> operands;
  double constant = 0.0;
  Value leaf;                  // Input / Weight: the tensor read.
  linalg::GenericOp reduction; // RowSum: the reduction generic.
};

/// Builds the expression DAG of one root. Any unsupported construct makes
/// building fail with a reason.
class ExprBuilder {
public:
  explicit ExprBuilder(int64_t rank) : rank(rank) {}

  FailureOr<NormExpr *> buildRoot(linalg::GenericOp root) {
    return fromGenericResult(root, 0, Level::Full);
  }
  /// Whether the DAG looks like a norm at all (worth a remark): a reduction
  /// and an rsqrt or a square. Softmax, say, has neither.
  bool sawNormShape() const {
    return sawReductionGeneric && (sawRsqrt || sawSquare);
  }
  std::string reason;
  /// A stable identifier of the reason (the `reason` argument of the remark).
  StringRef code;

private:
  int64_t rank;
  bool sawReductionGeneric = false;
  bool sawRsqrt = false, sawSquare = false;
  std::deque<NormExpr> arena;
  DenseMap<Value, NormExpr *> memo;

  NormExpr *make(NormExpr::Kind kind, Type type,
                 ArrayRef<NormExpr *> operands = {}) {
    if (std::optional<double> folded = foldConstant(kind, type, operands))
      return makeConst(type, *folded);
    arena.push_back(NormExpr{kind, type, llvm::to_vector<2>(operands)});
    return &arena.back();
  }
  NormExpr *makeConst(Type type, double value) {
    arena.push_back(NormExpr{NormExpr::Const, type, {}});
    arena.back().constant = value;
    return &arena.back();
  }

  /// Producers spell one constant many ways (torch-mlir: an f64 literal and
  /// `arith.truncf` to f32, which --canonicalize does not fold because it is
  /// inexact). Evaluates ext/trunc/add/mul/div of constants exactly as the
  /// graph would, in the result type's format, so that matchers see one
  /// constant. Ops are rounded to their result type like the hardware does.
  static std::optional<double> foldConstant(NormExpr::Kind kind, Type type,
                                            ArrayRef<NormExpr *> operands) {
    auto floatType = dyn_cast<FloatType>(type);
    if (!floatType || operands.empty() ||
        llvm::any_of(operands,
                     [](NormExpr *e) { return e->kind != NormExpr::Const; }))
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
    case NormExpr::Ext:
    case NormExpr::Trunc:
      break; // get() rounded the operand to the result format.
    case NormExpr::Add:
      r.add(get(1), APFloat::rmNearestTiesToEven);
      break;
    case NormExpr::Sub:
      r.subtract(get(1), APFloat::rmNearestTiesToEven);
      break;
    case NormExpr::Mul:
      r.multiply(get(1), APFloat::rmNearestTiesToEven);
      break;
    case NormExpr::Div:
      r.divide(get(1), APFloat::rmNearestTiesToEven);
      break;
    default:
      return std::nullopt;
    }
    bool lost;
    r.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
    return r.convertToDouble();
  }
  FailureOr<NormExpr *> fail(StringRef why, const Twine &text) {
    if (reason.empty()) {
      reason = text.str();
      code = why;
    }
    return failure();
  }

  /// The indexing map of `operand`: LinalgOp::getMatchingIndexingMap
  /// rebuilds the whole map array on every call, which dominated matching.
  AffineMap indexingMap(linalg::GenericOp generic, OpOperand *operand) {
    auto [it, inserted] = maps.try_emplace(generic.getOperation());
    if (inserted)
      it->second = generic.getIndexingMapsArray();
    return it->second[operand->getOperandNumber()];
  }
  DenseMap<Operation *, SmallVector<AffineMap>> maps;

  /// Classifies how `map` (of a generic whose iteration space is at
  /// `level`) reads its operand.
  std::optional<Level> classify(AffineMap map, Level level, unsigned numLoops) {
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
  FailureOr<NormExpr *> fromTensor(Value tensor, Level level) {
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
      return fromGenericResult(generic,
                               cast<OpResult>(tensor).getResultNumber(), level);
    switch (level) {
    case Level::Full: {
      NormExpr *e = make(NormExpr::Input, type.getElementType());
      e->leaf = tensor;
      return e;
    }
    case Level::Col: {
      NormExpr *e = make(NormExpr::Weight, type.getElementType());
      e->leaf = tensor;
      return e;
    }
    default:
      return fail("row-value-not-reduced",
                  "a per-row value is not computed by a reduction");
    }
  }

  /// Result `resultNumber` of `generic` read at `level`.
  FailureOr<NormExpr *> fromGenericResult(linalg::GenericOp generic,
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
    OpOperand *init = generic.getDpsInitOperand(resultNumber);
    if (!indexingMap(generic, init).isIdentity())
      return fail("non-identity-result-map",
                  "a generic writes its result through a non-identity map");
    if (level == Level::Full && numLoops != rank)
      return fail("rank-mismatch",
                  "an elementwise generic has another rank than the norm");
    auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
    return fromScalar(yield.getOperand(resultNumber), generic, level);
  }

  FailureOr<NormExpr *> fromReduction(linalg::GenericOp generic,
                                      unsigned resultNumber) {
    auto iterators = generic.getIteratorTypesArray();
    if (iterators.size() != static_cast<size_t>(rank) ||
        generic.getNumReductionLoops() != 1 ||
        iterators.back() != utils::IteratorType::reduction)
      return fail("reduction-not-last-dim",
                  "the reduction is not over the last dimension");
    if (generic.getNumDpsInits() != 1)
      return fail("multi-result-reduction",
                  "the reduction has several results");
    OpOperand *init = generic.getDpsInitOperand(resultNumber);
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
      return fail("sum-not-f32",
                  "the sum of squares is not accumulated in f32");
    FailureOr<NormExpr *> term = fromScalar(summand, generic, Level::Full);
    if (failed(term))
      return failure();
    NormExpr *e = make(NormExpr::RowSum, acc.getType(), {*term});
    e->reduction = generic;
    return e;
  }

  /// A scalar SSA value in the body of `generic` (iteration space at
  /// `level`).
  FailureOr<NormExpr *> fromScalar(Value v, linalg::GenericOp generic,
                                   Level level) {
    if (NormExpr *known = memo.lookup(v))
      return known;
    FailureOr<NormExpr *> e = fromScalarImpl(v, generic, level);
    if (succeeded(e))
      memo[v] = *e;
    return e;
  }

  FailureOr<NormExpr *> fromScalarImpl(Value v, linalg::GenericOp generic,
                                       Level level) {
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() != generic.getBody())
        return fail("non-constant-capture",
                    "a value from an enclosing region is not a constant");
      OpOperand *operand = generic.getMatchingOpOperand(arg);
      if (generic.isDpsInit(operand))
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
    auto unary = [&](NormExpr::Kind kind) -> FailureOr<NormExpr *> {
      FailureOr<NormExpr *> a = fromScalar(op->getOperand(0), generic, level);
      if (failed(a))
        return failure();
      return make(kind, v.getType(), {*a});
    };
    auto binary = [&](NormExpr::Kind kind) -> FailureOr<NormExpr *> {
      FailureOr<NormExpr *> a = fromScalar(op->getOperand(0), generic, level);
      if (failed(a))
        return failure();
      FailureOr<NormExpr *> b = fromScalar(op->getOperand(1), generic, level);
      if (failed(b))
        return failure();
      return make(kind, v.getType(), {*a, *b});
    };
    // x ** 2 is x * x, rounded once either way; other powers stay opaque.
    auto square = [&](Value base, bool isSquare) -> FailureOr<NormExpr *> {
      if (!isSquare)
        return make(NormExpr::Other, v.getType());
      sawSquare = true;
      FailureOr<NormExpr *> a = fromScalar(base, generic, level);
      if (failed(a))
        return failure();
      return make(NormExpr::Mul, v.getType(), {*a, *a});
    };
    return llvm::TypeSwitch<Operation *, FailureOr<NormExpr *>>(op)
        .Case([&](arith::ExtFOp) { return unary(NormExpr::Ext); })
        .Case([&](arith::TruncFOp) { return unary(NormExpr::Trunc); })
        .Case([&](arith::AddFOp) { return binary(NormExpr::Add); })
        .Case([&](arith::SubFOp) { return binary(NormExpr::Sub); })
        .Case([&](arith::MulFOp mul) {
          sawSquare |= mul.getLhs() == mul.getRhs();
          return binary(NormExpr::Mul);
        })
        .Case([&](arith::DivFOp) { return binary(NormExpr::Div); })
        .Case([&](math::RsqrtOp) {
          sawRsqrt = true;
          return unary(NormExpr::Rsqrt);
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
            [&](Operation *) { return make(NormExpr::Other, v.getType()); });
  }
};

//===----------------------------------------------------------------------===//
// Matching the DAG against RMSNorm
//===----------------------------------------------------------------------===//

/// What the match found: everything qk.rms_norm needs.
struct RMSNormMatch {
  Value input;
  Value weight;
  float epsilon = 0.0f;
  float weightOffset = 0.0f;
  bool weightOffsetFinite = true;
  RoundingMode rounding = RoundingMode::Once;
};

bool isConst(NormExpr *e, double *value = nullptr) {
  if (e->kind != NormExpr::Const)
    return false;
  if (value)
    *value = e->constant;
  return true;
}

/// Structural equality, so that x.float() computed in two generics is one x.
bool sameExpr(NormExpr *a, NormExpr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind || a->type != b->type ||
      a->operands.size() != b->operands.size())
    return false;
  switch (a->kind) {
  case NormExpr::Input:
  case NormExpr::Weight:
    return a->leaf == b->leaf;
  case NormExpr::Const:
    return a->constant == b->constant;
  case NormExpr::RowSum:
    if (a->reduction != b->reduction)
      return sameExpr(a->operands[0], b->operands[0]);
    return true;
  case NormExpr::Other:
    return false;
  default:
    break;
  }
  for (auto [x, y] : llvm::zip(a->operands, b->operands))
    if (!sameExpr(x, y))
      return false;
  return true;
}

/// Matches the DAG of one root; `reason` says why it is not an RMSNorm.
class RMSNormMatcher {
public:
  RMSNormMatcher(Type elementType, int64_t normSize)
      : elementType(elementType), normSize(normSize) {}

  FailureOr<RMSNormMatch> match(NormExpr *root) {
    if (root->type != elementType)
      return fail("result-type-mismatch",
                  "the result element type differs from the input's");
    // before_weight with the weight multiply in the element type:
    //   trunc(n) * w   (HF: weight * x.to(input_dtype))
    if (!elementType.isF32() && root->kind == NormExpr::Mul) {
      for (int i = 0; i < 2; ++i) {
        NormExpr *t = root->operands[i], *w = root->operands[1 - i];
        if (t->kind == NormExpr::Trunc && w->kind == NormExpr::Weight) {
          if (w->type != elementType)
            return fail("weight-type-mismatch",
                        "a weight of another type is multiplied in the "
                        "element type");
          result.weight = w->leaf;
          result.rounding = RoundingMode::BeforeWeight;
          if (failed(matchNormalized(t->operands[0])))
            return failure();
          return result;
        }
      }
    }
    NormExpr *f32Value = root;
    if (!elementType.isF32()) {
      if (root->kind != NormExpr::Trunc)
        return fail("not-rounded-from-f32",
                    "the result is not rounded from f32 (arithmetic in the "
                    "element type)");
      f32Value = root->operands[0];
    }
    if (failed(matchScaled(f32Value)))
      return failure();
    return result;
  }

  std::string reason;
  StringRef code;
  /// The figures of the reason, as structured remark arguments.
  RemarkFigures figures;

private:
  Type elementType;
  int64_t normSize;
  NormExpr *x = nullptr;
  RMSNormMatch result;

  LogicalResult fail(StringRef why, const Twine &text,
                     RemarkFigures whyFigures = {}) {
    if (reason.empty()) {
      reason = text.str();
      code = why;
      figures = std::move(whyFigures);
    }
    return failure();
  }

  /// n * weightFactor, or n alone (no weight), in f32.
  LogicalResult matchScaled(NormExpr *e) {
    if (!e->type.isF32())
      return fail("norm-not-f32", "the norm is not computed in f32");
    if (e->kind == NormExpr::Mul) {
      for (int i = 0; i < 2; ++i) {
        NormExpr *n = e->operands[i], *w = e->operands[1 - i];
        if (!isWeightFactor(w))
          continue;
        // ext(trunc(n)) * w is the before_weight order spelled in f32.
        if (n->kind == NormExpr::Ext &&
            n->operands[0]->kind == NormExpr::Trunc &&
            n->operands[0]->type == elementType) {
          result.rounding = RoundingMode::BeforeWeight;
          n = n->operands[0]->operands[0];
        }
        matchWeightFactor(w);
        return matchNormalized(n);
      }
    }
    return matchNormalized(e);
  }

  /// w, ext(w), c + w or c + ext(w), in f32.
  bool isWeightFactor(NormExpr *w, bool allowOffset = true) {
    if (w->kind == NormExpr::Add) {
      if (!allowOffset || !w->type.isF32())
        return false;
      NormExpr *a = w->operands[0], *b = w->operands[1];
      return (isConst(a) && isWeightFactor(b, false)) ||
             (isConst(b) && isWeightFactor(a, false));
    }
    if (!w->type.isF32())
      return false;
    if (w->kind == NormExpr::Ext)
      w = w->operands[0];
    return w->kind == NormExpr::Weight;
  }

  /// Records the weight and offset of a factor isWeightFactor accepted.
  void matchWeightFactor(NormExpr *w) {
    if (w->kind == NormExpr::Add) {
      double c = 0.0;
      NormExpr *rest = nullptr;
      if (isConst(w->operands[0], &c))
        rest = w->operands[1];
      else if (isConst(w->operands[1], &c))
        rest = w->operands[0];
      result.weightOffset = static_cast<float>(c);
      result.weightOffsetFinite = std::isfinite(result.weightOffset);
      w = rest;
    }
    if (w->kind == NormExpr::Ext)
      w = w->operands[0];
    result.weight = w->leaf;
  }

  /// float(x) * rsqrt(mean + eps).
  LogicalResult matchNormalized(NormExpr *e) {
    if (!e->type.isF32())
      return fail("normalized-not-f32",
                  "the normalised value is not computed in f32");
    if (e->kind != NormExpr::Mul)
      return fail("no-rsqrt-scale",
                  "the input is not multiplied by rsqrt(mean(x^2) + eps)");
    for (int i = 0; i < 2; ++i) {
      NormExpr *xf = e->operands[i], *r = e->operands[1 - i];
      if (r->kind == NormExpr::Add &&
          llvm::any_of(
              r->operands,
              [](NormExpr *t) { return t->kind == NormExpr::Rsqrt; }) &&
          llvm::any_of(r->operands, [](NormExpr *t) { return isConst(t); }))
        return fail("epsilon-outside-rsqrt",
                    "epsilon is added after the rsqrt (x * (rsqrt(mean(x^2)) "
                    "+ eps)), not inside it");
      if (r->kind != NormExpr::Rsqrt)
        continue;
      if (failed(matchInput(xf)))
        return failure();
      return matchRsqrt(r);
    }
    return fail("no-rsqrt-scale",
                "the input is not multiplied by rsqrt(mean(x^2) + eps)");
  }

  LogicalResult matchInput(NormExpr *e) {
    if (e->kind == NormExpr::Sub)
      return fail("mean-subtracted",
                  "a value is subtracted from the input before it is "
                  "normalised (x - mean(x): a LayerNorm, not an RMSNorm)");
    NormExpr *leaf = e;
    if (!elementType.isF32()) {
      if (e->kind != NormExpr::Ext || !e->type.isF32())
        return fail("input-not-extended", "the input is not extended to f32");
      leaf = e->operands[0];
    }
    if (leaf->kind != NormExpr::Input || leaf->type != elementType)
      return fail("normalized-not-input",
                  "the normalised value is not the reduced input");
    if (!x) {
      x = leaf;
      result.input = leaf->leaf;
      return success();
    }
    if (!sameExpr(x, leaf))
      return fail("different-inputs",
                  "the sum of squares and the scaled value read different "
                  "inputs");
    return success();
  }

  LogicalResult matchRsqrt(NormExpr *r) {
    NormExpr *add = r->operands[0];
    if (!r->type.isF32() || !add->type.isF32())
      return fail("rsqrt-not-f32", "rsqrt(mean + eps) is not computed in f32");
    if (add->kind != NormExpr::Add)
      return fail("rsqrt-not-of-sum", "rsqrt is not applied to mean + eps");
    for (int i = 0; i < 2; ++i) {
      double eps;
      if (!isConst(add->operands[1 - i], &eps))
        continue;
      // qk.rms_norm carries epsilon as f32: it must be finite there too.
      result.epsilon = static_cast<float>(eps);
      if (!std::isfinite(result.epsilon) || eps < 0)
        return fail("bad-epsilon", "epsilon is negative or not a finite f32",
                    {{"epsilon", numberString(eps)}});
      return matchMean(add->operands[i]);
    }
    return fail("non-constant-epsilon",
                "rsqrt is not applied to mean + a constant epsilon");
  }

  LogicalResult matchMean(NormExpr *mean) {
    if (mean->kind != NormExpr::Div || !mean->type.isF32())
      return fail("mean-not-division",
                  "the mean is not an f32 sum divided by the row size");
    double divisor;
    if (!isConst(mean->operands[1], &divisor))
      return fail("non-constant-divisor",
                  "the mean's divisor is not a constant");
    if (ShapedType::isDynamic(normSize))
      return fail("dynamic-row-size", "the normalised dimension is dynamic");
    if (divisor != static_cast<double>(normSize))
      return fail("wrong-divisor",
                  "the mean divides by " + llvm::formatv("{0}", divisor).str() +
                      " instead of the row size " + Twine(normSize),
                  {{"divisor", numberString(divisor)},
                   {"row_size", std::to_string(normSize)}});
    NormExpr *sum = mean->operands[0];
    if (sum->kind != NormExpr::RowSum)
      return fail("mean-not-of-row-sum",
                  "the mean is not taken over a row sum");
    NormExpr *sq = sum->operands[0];
    if (sq->kind != NormExpr::Mul ||
        !sameExpr(sq->operands[0], sq->operands[1]))
      return fail("not-sum-of-squares", "the row sum is not a sum of squares");
    return matchInput(sq->operands[0]);
  }
};

//===----------------------------------------------------------------------===//
// Pattern
//===----------------------------------------------------------------------===//

/// Why a root is not raised; `isCandidate` is false for elementwise generics
/// that involve no reduction at all (nothing worth a remark).
struct RaiseFailure {
  std::string reason;
  /// A stable identifier of the reason and its figures: the structured
  /// arguments of the NotRaised remark.
  StringRef code;
  RemarkFigures figures;
  bool isCandidate = false;

  void set(StringRef why, StringRef text, RemarkFigures whyFigures = {}) {
    reason = text.str();
    code = why;
    figures = std::move(whyFigures);
  }
};

FailureOr<RMSNormMatch> matchRMSNormRoot(linalg::GenericOp root,
                                         RaiseFailure &why) {
  if (root.getNumDpsInits() != 1 || root.getNumReductionLoops() != 0 ||
      !root.hasPureTensorSemantics())
    return failure();
  auto resultType = cast<RankedTensorType>(root.getResult(0).getType());
  ExprBuilder builder(resultType.getRank());
  FailureOr<NormExpr *> expr = builder.buildRoot(root);
  why.isCandidate = builder.sawNormShape();
  if (failed(expr)) {
    why.set(builder.code, builder.reason);
    return failure();
  }
  RMSNormMatcher matcher(resultType.getElementType(),
                         resultType.getShape().back());
  FailureOr<RMSNormMatch> match = matcher.match(*expr);
  if (failed(match)) {
    why.set(matcher.code, matcher.reason, std::move(matcher.figures));
    return failure();
  }
  auto inputType = cast<RankedTensorType>(match->input.getType());
  if (inputType.getRank() != resultType.getRank() ||
      failed(
          verifyCompatibleShape(inputType.getShape(), resultType.getShape()))) {
    why.set("shape-mismatch", "the input shape differs from the result shape");
    return failure();
  }
  if (!isSupportedElementType(inputType.getElementType())) {
    why.set("unsupported-element-type", "unsupported element type",
            {{"element_type", typeString(inputType.getElementType())}});
    return failure();
  }
  if (!match->weightOffsetFinite) {
    why.set("non-finite-weight-offset",
            "the weight offset (c in (c + w)) is not finite");
    return failure();
  }
  if (match->weight) {
    auto wType = cast<RankedTensorType>(match->weight.getType());
    if (wType.getRank() != 1 ||
        wType.getDimSize(0) != resultType.getShape().back() ||
        (wType.getElementType() != inputType.getElementType() &&
         !wType.getElementType().isF32())) {
      why.set("bad-weight-type",
              "the weight is not 1-D of the row size in the "
              "input type or f32",
              {{"weight_type", typeString(wType)}});
      return failure();
    }
  }
  return match;
}

RMSNormOp raiseRoot(RewriterBase &rewriter, linalg::GenericOp root,
                    const RMSNormMatch &match) {
  rewriter.setInsertionPoint(root);
  auto norm = RMSNormOp::create(
      rewriter, root.getLoc(), root.getResult(0).getType(), match.input,
      match.weight, root.getDpsInits()[0],
      rewriter.getF32FloatAttr(match.epsilon),
      rewriter.getF32FloatAttr(match.weightOffset),
      RoundingModeAttr::get(rewriter.getContext(), match.rounding));
  rewriter.replaceOp(root, norm.getResults());
  return norm;
}

/// A root whose only user is a larger RMSNorm (the weight multiply or the
/// final rounding in a later generic) is left for that user.
bool feedsLargerNorm(linalg::GenericOp root) {
  if (!root->hasOneUse())
    return false;
  auto user = dyn_cast<linalg::GenericOp>(*root->user_begin());
  RaiseFailure ignored;
  return user && succeeded(matchRMSNormRoot(user, ignored));
}

// x.float() * rsqrt(x.float().pow(2).mean(-1, keepdim=True) + eps) [* w]
struct RaiseDecomposedRMSNorm : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp root,
                                PatternRewriter &rewriter) const override {
    RaiseFailure why;
    FailureOr<RMSNormMatch> match = matchRMSNormRoot(root, why);
    if (failed(match))
      return rewriter.notifyMatchFailure(root, why.reason);
    if (feedsLargerNorm(root))
      return rewriter.notifyMatchFailure(root, "feeds a larger RMSNorm");
    raiseRoot(rewriter, root, *match);
    return success();
  }
};

struct QKRaiseRMSNormPass
    : public qk::impl::QKRaiseRMSNormBase<QKRaiseRMSNormPass> {
  void runOnOperation() override {
    // Consumers before producers, so that the largest norm is raised first
    // and a partial one (x * r without the weight) never is.
    SmallVector<linalg::GenericOp> roots;
    getOperation()->walk([&](linalg::GenericOp op) { roots.push_back(op); });
    IRRewriter rewriter(&getContext());
    DenseSet<Operation *> erased;
    int64_t raised = 0, rejected = 0;
    for (linalg::GenericOp root : llvm::reverse(roots)) {
      if (erased.contains(root))
        continue;
      RaiseFailure why;
      FailureOr<RMSNormMatch> match = matchRMSNormRoot(root, why);
      if (failed(match)) {
        if (why.isCandidate && !feedsRaisedOrCandidate(root)) {
          ++rejected;
          auto r = remark::missed(
              root.getLoc(),
              remark::RemarkOpts::name("NotRaised").category(getArgument()));
          r << ("not raised to qk.rms_norm: " + why.reason)
            << remark::metric("reason", why.code);
          appendFigures(r, why.figures);
          appendLocation(r, root.getLoc());
        }
        continue;
      }
      // The producers of a raised root die with it; remember them so that
      // the walk does not visit erased ops.
      SmallVector<Operation *> producers = operandProducers(root);
      RMSNormOp norm = raiseRoot(rewriter, root, *match);
      ++raised;
      auto r = remark::passed(
          norm.getLoc(),
          remark::RemarkOpts::name("Raised").category(getArgument()));
      if (r) {
        r << ("raised RMSNorm to qk.rms_norm: " + describe(norm));
        appendFigures(r, figures(norm));
        appendLocation(r, norm.getLoc());
      }
      eraseDeadOps(rewriter, producers, &erased);
    }
    // Pass statistics compile to no-ops in release builds of LLVM (Debian's
    // included), so the counts are also reported as one analysis remark.
    numRaised += raised;
    numRejected += rejected;
    if (raised || rejected)
      remark::analysis(getOperation()->getLoc(),
                       remark::RemarkOpts::name("Summary")
                           .category("qk-summary")
                           .subCategory(getArgument()))
          << llvm::formatv("{0} RMSNorm(s) raised, {1} candidate(s) rejected",
                           raised, rejected)
                 .str()
          << remark::metric("raised", raised)
          << remark::metric("rejected", rejected);
  }

  /// Elementwise producers of a failed candidate that also fail would
  /// repeat its remark: only the outermost candidate of a chain reports.
  bool feedsRaisedOrCandidate(linalg::GenericOp root) {
    if (!root->hasOneUse())
      return false;
    auto user = dyn_cast<linalg::GenericOp>(*root->user_begin());
    if (!user || user.getNumReductionLoops() != 0)
      return false;
    RaiseFailure why;
    (void)matchRMSNormRoot(user, why);
    return why.isCandidate;
  }

  static std::string describe(RMSNormOp norm) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << "rows of " << norm.getNormalizedSize() << " "
       << norm.getInputType().getElementType() << ", epsilon "
       << norm.getEpsilon().convertToFloat();
    if (!norm.getWeight())
      os << ", no weight";
    else if (norm.getWeightOffset().convertToFloat() != 0.0f)
      os << ", weight (" << norm.getWeightOffset().convertToFloat() << " + w)";
    else
      os << ", weight";
    os << ", rounding " << stringifyRoundingMode(norm.getRounding());
    return s;
  }

  /// The figures of describe(), as structured remark arguments.
  static RemarkFigures figures(RMSNormOp norm) {
    RemarkFigures f;
    f.push_back({"row_size", std::to_string(norm.getNormalizedSize())});
    f.push_back(
        {"element_type", typeString(norm.getInputType().getElementType())});
    f.push_back({"epsilon", numberString(norm.getEpsilon().convertToFloat())});
    f.push_back({"weight", norm.getWeight() ? "true" : "false"});
    if (norm.getWeight())
      f.push_back({"weight_offset",
                   numberString(norm.getWeightOffset().convertToFloat())});
    f.push_back({"rounding", stringifyRoundingMode(norm.getRounding()).str()});
    return f;
  }
};
} // namespace

void mlir::qk::populateRaiseRMSNormPatterns(RewritePatternSet &patterns) {
  patterns.add<RaiseDecomposedRMSNorm>(patterns.getContext());
}
