//===- QKDecompose.cpp - qk ops as upstream linalg ------------------------===//
//
// The decomposition of both ops into linalg.generic: a reduction of the sum
// of squares into an fp32 buffer, then one elementwise generic that applies
// rsqrt, the weight and the rounding order. It is the fallback when no
// kernel is called, the CPU lowering, and the reference the integration
// tests compare the kernel path against. Works on tensors and on memrefs.
//
//===----------------------------------------------------------------------===//

#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::qk;

namespace {
struct NormAttrs {
  float epsilon;
  float weightOffset;
  RoundingMode rounding;
};

bool isTensor(Value v) { return isa<RankedTensorType>(v.getType()); }

OpFoldResult mixedSize(OpBuilder &b, Location loc, Value v, int64_t dim) {
  return isTensor(v) ? tensor::getMixedSize(b, loc, v, dim)
                     : memref::getMixedSize(b, loc, v, dim);
}

/// A new tensor or buffer of `elementType` shaped like the leading `rank`
/// dims of `like`.
Value createLike(OpBuilder &b, Location loc, Value like, unsigned rank,
                 Type elementType) {
  SmallVector<OpFoldResult> sizes;
  for (unsigned d = 0; d < rank; ++d)
    sizes.push_back(mixedSize(b, loc, like, d));
  if (isTensor(like))
    return tensor::EmptyOp::create(b, loc, sizes, elementType);
  SmallVector<int64_t> shape;
  SmallVector<Value> dynamic;
  dispatchIndexOpFoldResults(sizes, dynamic, shape);
  return memref::AllocOp::create(b, loc, MemRefType::get(shape, elementType),
                                 dynamic);
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

Value fromF32(OpBuilder &b, Location loc, Value v, Type elementType) {
  if (elementType.isF32())
    return v;
  return arith::TruncFOp::create(b, loc, elementType, v);
}

/// The element count of the trailing `numReduced` dims of `x`, as f32.
Value reducedCount(OpBuilder &b, Location loc, Value x, unsigned numReduced) {
  auto type = cast<ShapedType>(x.getType());
  int64_t rank = type.getRank();
  int64_t staticCount = 1;
  Value dynamicCount;
  for (int64_t d = rank - numReduced; d < rank; ++d) {
    if (!type.isDynamicDim(d)) {
      staticCount *= type.getDimSize(d);
      continue;
    }
    Value size =
        getValueOrCreateConstantIndexOp(b, loc, mixedSize(b, loc, x, d));
    dynamicCount =
        dynamicCount ? arith::MulIOp::create(b, loc, dynamicCount, size) : size;
  }
  if (!dynamicCount)
    return arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(static_cast<float>(staticCount)));
  if (staticCount != 1)
    dynamicCount = arith::MulIOp::create(
        b, loc, dynamicCount,
        arith::ConstantIndexOp::create(b, loc, staticCount));
  Value asInt =
      arith::IndexCastOp::create(b, loc, b.getI64Type(), dynamicCount);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
}

/// RMSNorm of `x` over its trailing `numReduced` dims into `init`. `weight`
/// (may be null) is shaped like those dims. Returns the result tensor, or a
/// null value on memrefs.
Value buildRMSNorm(OpBuilder &b, Location loc, Value x, Value weight,
                   Value init, unsigned numReduced, NormAttrs attrs) {
  auto xType = cast<ShapedType>(x.getType());
  unsigned rank = xType.getRank();
  unsigned lead = rank - numReduced;
  Type elementType = xType.getElementType();
  MLIRContext *ctx = b.getContext();

  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap leadMap =
      AffineMap::get(rank, 0, identity.getResults().take_front(lead), ctx);
  AffineMap trailMap =
      AffineMap::get(rank, 0, identity.getResults().drop_front(lead), ctx);

  // sum_i float(x_i)^2 over the reduced dims, in fp32.
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value sums = createLike(b, loc, x, lead, b.getF32Type());
  Value sumsInit = isTensor(x)
                       ? linalg::FillOp::create(b, loc, zero, sums).getResult(0)
                       : (linalg::FillOp::create(b, loc, zero, sums), sums);
  SmallVector<utils::IteratorType> reduceIters(lead,
                                               utils::IteratorType::parallel);
  reduceIters.append(numReduced, utils::IteratorType::reduction);
  auto reduce = linalg::GenericOp::create(
      b, loc, isTensor(x) ? TypeRange{sumsInit.getType()} : TypeRange{},
      ValueRange{x}, ValueRange{sumsInit},
      ArrayRef<AffineMap>{identity, leadMap}, reduceIters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value xf = toF32(nb, nloc, args[0]);
        Value sq = arith::MulFOp::create(nb, nloc, xf, xf);
        Value acc = arith::AddFOp::create(nb, nloc, sq, args[1]);
        linalg::YieldOp::create(nb, nloc, acc);
      });
  Value sumValues = isTensor(x) ? reduce.getResult(0) : sums;

  // y = round(x * rsqrt(sum / N + eps) * (offset + w)) in the rounding order.
  Value count = reducedCount(b, loc, x, numReduced);
  Value eps =
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(attrs.epsilon));
  Value offset = attrs.weightOffset != 0.0f
                     ? arith::ConstantOp::create(
                           b, loc, b.getF32FloatAttr(attrs.weightOffset))
                     : Value();
  SmallVector<Value> inputs = {x, sumValues};
  SmallVector<AffineMap> maps = {identity, leadMap};
  if (weight) {
    inputs.push_back(weight);
    maps.push_back(trailMap);
  }
  maps.push_back(identity);
  auto apply = linalg::GenericOp::create(
      b, loc, isTensor(init) ? TypeRange{init.getType()} : TypeRange{}, inputs,
      ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value xf = toF32(nb, nloc, args[0]);
        Value mean = arith::DivFOp::create(nb, nloc, args[1], count);
        Value r = math::RsqrtOp::create(
            nb, nloc, arith::AddFOp::create(nb, nloc, mean, eps));
        Value n = arith::MulFOp::create(nb, nloc, xf, r);
        if (weight) {
          if (attrs.rounding == RoundingMode::BeforeWeight)
            n = toF32(nb, nloc, fromF32(nb, nloc, n, elementType));
          Value w = toF32(nb, nloc, args[2]);
          if (offset)
            w = arith::AddFOp::create(nb, nloc, offset, w);
          n = arith::MulFOp::create(nb, nloc, n, w);
        }
        linalg::YieldOp::create(nb, nloc, fromF32(nb, nloc, n, elementType));
      });
  if (!isTensor(x))
    memref::DeallocOp::create(b, loc, sums);
  return isTensor(init) ? apply.getResult(0) : Value();
}

/// tensor.extract or memref.load of `source[indices]`.
Value readElement(OpBuilder &b, Location loc, Value source,
                  ValueRange indices) {
  if (isTensor(source))
    return tensor::ExtractOp::create(b, loc, source, indices);
  return memref::LoadOp::create(b, loc, source, indices);
}

/// What a rotation reads besides the group: the cos and sin tables and the
/// positions (null: row = token).
struct RopeOperands {
  Value cos, sin, positions;
};

/// Rotates every head of the groups of `src` (a view [T, G, group] or
/// [T, G, heads, D] of qkv, `groupSize` elements per group) into `init` as
/// the #qk.rope step says, in the order of Epilogue.h: fp32 products and
/// sum, rounded per op or once. The partner element and the table entries
/// are read with tensor.extract / memref.load, so `src` must not be `init`'s
/// buffer on memrefs. Returns the result tensor, or null on memrefs.
Value buildRope(OpBuilder &b, Location loc, Value src, Value init,
                RopeStepAttr rope, RopeOperands operands, int64_t groupSize) {
  auto srcType = cast<ShapedType>(src.getType());
  unsigned rank = srcType.getRank();
  Type elementType = srcType.getElementType();
  // Trailing dims of one group: [group] or [heads, D].
  int64_t inner = rank == 4 ? srcType.getDimSize(3) : groupSize;
  int64_t headDim = rope.getHeadDimIn(groupSize);
  int64_t rot = rope.getRotaryDim(), half = rot / 2;
  bool neox = rope.getStyle() == RopeStyle::Neox;
  bool perOp = rope.getRounding() == RopeRounding::PerOp;
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  auto generic = linalg::GenericOp::create(
      b, loc, isTensor(init) ? TypeRange{init.getType()} : TypeRange{},
      ValueRange{src}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        auto cst = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, nl, v).getResult();
        };
        auto index = [&](unsigned d) {
          return linalg::IndexOp::create(nb, nl, d).getResult();
        };
        Value token = index(0), group = index(1);
        // Element e of the group, its head and its place j in the head.
        Value e = index(2);
        if (rank == 4)
          e = arith::AddIOp::create(
              nb, nl, arith::MulIOp::create(nb, nl, e, cst(inner)), index(3));
        Value head = arith::DivUIOp::create(nb, nl, e, cst(headDim));
        Value j = arith::RemUIOp::create(nb, nl, e, cst(headDim));
        Value rotated = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                              j, cst(rot));
        // Partner p, sign and frequency index f; pass-through elements use
        // themselves and column 0 (their result is discarded), so that
        // every read stays inside the tables.
        Value first, partner, freq;
        if (neox) {
          first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j,
                                        cst(half));
          Value up = arith::AddIOp::create(nb, nl, j, cst(half));
          Value down = arith::SubIOp::create(nb, nl, j, cst(half));
          partner = arith::SelectOp::create(nb, nl, first, up, down);
          freq = arith::SelectOp::create(nb, nl, first, j, down);
        } else {
          Value odd = arith::RemUIOp::create(nb, nl, j, cst(2));
          first = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, odd,
                                        cst(0));
          Value up = arith::AddIOp::create(nb, nl, j, cst(1));
          Value down = arith::SubIOp::create(nb, nl, j, cst(1));
          partner = arith::SelectOp::create(nb, nl, first, up, down);
          freq = arith::DivUIOp::create(nb, nl, j, cst(2));
        }
        partner = arith::SelectOp::create(nb, nl, rotated, partner, j);
        Value col = rope.getPerPair() ? freq : j;
        col = arith::SelectOp::create(nb, nl, rotated, col, cst(0));
        Value pe = arith::AddIOp::create(
            nb, nl, arith::MulIOp::create(nb, nl, head, cst(headDim)), partner);
        SmallVector<Value> at = {token, group};
        if (rank == 4) {
          at.push_back(arith::DivUIOp::create(nb, nl, pe, cst(inner)));
          at.push_back(arith::RemUIOp::create(nb, nl, pe, cst(inner)));
        } else {
          at.push_back(pe);
        }
        Value row = token;
        if (operands.positions) {
          Value pos = readElement(nb, nl, operands.positions, token);
          row = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), pos);
        }
        auto table = [&](Value t, int64_t column) {
          Value c = arith::AddIOp::create(nb, nl, col, cst(column));
          return toF32(nb, nl, readElement(nb, nl, t, {row, c}));
        };
        Value c = table(operands.cos, rope.getCosColumn());
        Value sn = table(operands.sin, rope.getSinColumn());
        Value a = toF32(nb, nl, args[0]);
        Value other = toF32(nb, nl, readElement(nb, nl, src, at));
        other = arith::SelectOp::create(
            nb, nl, first, arith::NegFOp::create(nb, nl, other), other);
        auto round = [&](Value v) {
          return perOp ? toF32(nb, nl, fromF32(nb, nl, v, elementType)) : v;
        };
        Value r = arith::AddFOp::create(
            nb, nl, round(arith::MulFOp::create(nb, nl, a, c)),
            round(arith::MulFOp::create(nb, nl, other, sn)));
        Value out = fromF32(nb, nl, r, elementType);
        Value result = arith::SelectOp::create(nb, nl, rotated, out, args[0]);
        linalg::YieldOp::create(nb, nl, result);
      });
  return isTensor(init) ? generic.getResult(0) : Value();
}

/// The group's steps on `view` in their order (a norm, and a rotation before
/// or after it): the result tensor, or null on memrefs (written in place).
Value applySteps(OpBuilder &b, Location loc, Value view, Value weight,
                 unsigned numReduced, NormAttrs attrs, NormRangeAttr range,
                 RopeOperands rope, Type elementType) {
  RopeStepAttr step = range.getRopeStep();
  unsigned rank = cast<ShapedType>(view.getType()).getRank();
  int64_t group = range.getGroupSize();
  if (!isTensor(view)) {
    // In place: the norm reads every element before the same iteration
    // writes it; the rotation reads partners, so it reads a copy.
    auto rotateInPlace = [&] {
      Value copy = createLike(b, loc, view, rank, elementType);
      memref::CopyOp::create(b, loc, view, copy);
      buildRope(b, loc, copy, view, step, rope, group);
      memref::DeallocOp::create(b, loc, copy);
    };
    if (step && range.isRopeFirst())
      rotateInPlace();
    buildRMSNorm(b, loc, view, weight, view, numReduced, attrs);
    if (step && !range.isRopeFirst())
      rotateInPlace();
    return Value();
  }
  Value x = view;
  if (step && range.isRopeFirst())
    x = buildRope(b, loc, x, createLike(b, loc, view, rank, elementType), step,
                  rope, group);
  Value y = buildRMSNorm(b, loc, x, weight,
                         createLike(b, loc, view, rank, elementType),
                         numReduced, attrs);
  if (step && !range.isRopeFirst())
    y = buildRope(b, loc, y, createLike(b, loc, view, rank, elementType), step,
                  rope, group);
  return y;
}

Value expand(OpBuilder &b, Location loc, Value src, ArrayRef<int64_t> shape,
             ArrayRef<OpFoldResult> mixedShape,
             ArrayRef<ReassociationIndices> reassociation) {
  if (isTensor(src)) {
    auto type = RankedTensorType::get(
        shape, cast<ShapedType>(src.getType()).getElementType());
    return tensor::ExpandShapeOp::create(b, loc, type, src, reassociation,
                                         mixedShape);
  }
  return memref::ExpandShapeOp::create(b, loc, shape, src, reassociation,
                                       mixedShape);
}
} // namespace

FailureOr<SmallVector<Value>> RMSNormOp::decomposeOperation(OpBuilder &b) {
  NormAttrs attrs{getEpsilon().convertToFloat(),
                  getWeightOffset().convertToFloat(), getRounding()};
  Value result = buildRMSNorm(b, getLoc(), getInput(), getWeight(), getInit(),
                              /*numReduced=*/1, attrs);
  if (!result)
    return SmallVector<Value>{};
  return SmallVector<Value>{result};
}

namespace {
/// Where `numGroups` groups of one range sit in a row of qkv: a window of
/// `numGroups * pitch` columns starting at `windowStart`, group g at
/// `windowStart + g * pitch + inner`. Packed groups have pitch = group size
/// and inner = 0: the window is the range itself.
struct GroupWindow {
  int64_t windowStart;
  int64_t numGroups;
  int64_t pitch;
  int64_t inner;
};

/// Normalises the groups `w` describes (with the attributes and weight of
/// `range`) and returns the updated qkv tensor, or `qkv` itself on memrefs
/// (written in place).
///
/// Packed: the range as a [T, groups, group] view ([T, groups, heads/group,
/// D] for a 3-D qkv): a slice plus an expand, both views even on memrefs.
/// Strided: the window as a [T, groups, pitch] view, then a slice of it
/// that keeps `group` of every `pitch` columns ([T, groups, pitch/D, D] and
/// [T, groups, heads/group, D] for a 3-D qkv); on tensors the normalised
/// groups go back into the window, the window back into qkv.
Value normalizeGroups(OpBuilder &b, Location loc, FusedQKNormOp op, Value qkv,
                      OpFoldResult tokens, NormRangeAttr range, GroupWindow w) {
  auto qkvType = op.getQkvType();
  bool is3D = qkvType.getRank() == 3;
  int64_t headDim = is3D ? qkvType.getDimSize(2) : 1;
  int64_t staticTokens = qkvType.getDimSize(0);
  int64_t groups = w.numGroups;
  int64_t group = range.getGroupSize();
  bool packed = w.pitch == group;
  // The window's columns per group: the group itself when packed.
  int64_t span = packed ? group : w.pitch;
  SmallVector<OpFoldResult> offsets, sizes, strides;
  SmallVector<int64_t> viewShape;
  SmallVector<ReassociationIndices> reassociation;
  unsigned numReduced;
  if (is3D) {
    int64_t headsPerSpan = span / headDim;
    offsets = {b.getIndexAttr(0), b.getIndexAttr(w.windowStart / headDim),
               b.getIndexAttr(0)};
    sizes = {tokens, b.getIndexAttr(groups * headsPerSpan),
             b.getIndexAttr(headDim)};
    strides.assign(3, b.getIndexAttr(1));
    viewShape = {staticTokens, groups, headsPerSpan, headDim};
    reassociation = {{0}, {1, 2}, {3}};
    numReduced = 2;
  } else {
    offsets = {b.getIndexAttr(0), b.getIndexAttr(w.windowStart)};
    sizes = {tokens, b.getIndexAttr(groups * span)};
    strides.assign(2, b.getIndexAttr(1));
    viewShape = {staticTokens, groups, span};
    reassociation = {{0}, {1, 2}};
    numReduced = 1;
  }
  SmallVector<OpFoldResult> mixedView;
  for (auto [i, s] : llvm::enumerate(viewShape))
    mixedView.push_back(i == 0 ? tokens : b.getIndexAttr(s));

  Value slice = isTensor(qkv)
                    ? Value(tensor::ExtractSliceOp::create(b, loc, qkv, offsets,
                                                           sizes, strides))
                    : Value(memref::SubViewOp::create(b, loc, qkv, offsets,
                                                      sizes, strides));
  Value window = expand(b, loc, slice, viewShape, mixedView, reassociation);

  // The groups inside the window (strided only).
  Value view = window;
  SmallVector<OpFoldResult> groupOffsets, groupSizes, groupStrides;
  if (!packed) {
    groupOffsets.assign(viewShape.size(), b.getIndexAttr(0));
    groupOffsets[2] = b.getIndexAttr(w.inner / headDim);
    groupSizes = mixedView;
    groupSizes[2] = b.getIndexAttr(group / headDim);
    groupStrides.assign(viewShape.size(), b.getIndexAttr(1));
    view = isTensor(qkv)
               ? Value(tensor::ExtractSliceOp::create(
                     b, loc, window, groupOffsets, groupSizes, groupStrides))
               : Value(memref::SubViewOp::create(b, loc, window, groupOffsets,
                                                 groupSizes, groupStrides));
  }

  Value weight;
  if (range.hasWeight()) {
    weight = op.getWeights()[range.getWeight()];
    // The verifier lets a weight of dynamic size through (the group size
    // is checked where it is known); its reshape needs the static size.
    if (is3D && ShapedType::isDynamic(
                    cast<ShapedType>(weight.getType()).getDimSize(0))) {
      if (isTensor(weight)) {
        auto type = cast<RankedTensorType>(weight.getType());
        weight = tensor::CastOp::create(
            b, loc, RankedTensorType::get({group}, type.getElementType()),
            weight);
      } else {
        auto type = cast<MemRefType>(weight.getType());
        weight = memref::CastOp::create(
            b, loc,
            MemRefType::get({group}, type.getElementType(), type.getLayout(),
                            type.getMemorySpace()),
            weight);
      }
    }
    if (is3D)
      weight = expand(
          b, loc, weight, {group / headDim, headDim},
          {b.getIndexAttr(group / headDim), b.getIndexAttr(headDim)}, {{0, 1}});
  }
  NormAttrs attrs{range.getEpsilon().convertToFloat(),
                  range.getWeightOffset().convertToFloat(),
                  range.getRounding()};
  RopeOperands rope;
  if (RopeStepAttr step = range.getRopeStep()) {
    rope.cos = op.getTables()[step.getCos()];
    rope.sin = op.getTables()[step.getSin()];
    rope.positions = op.getPositions();
  }
  Value normed = applySteps(b, loc, view, weight, numReduced, attrs, range,
                            rope, qkvType.getElementType());
  if (!isTensor(qkv))
    return qkv;
  if (!packed)
    normed = tensor::InsertSliceOp::create(b, loc, normed, window, groupOffsets,
                                           groupSizes, groupStrides);
  Value back = tensor::CollapseShapeOp::create(b, loc, slice.getType(), normed,
                                               reassociation);
  return tensor::InsertSliceOp::create(b, loc, back, qkv, offsets, sizes,
                                       strides);
}
} // namespace

FailureOr<SmallVector<Value>> FusedQKNormOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value qkv = getQkv();
  OpFoldResult tokens = mixedSize(b, loc, qkv, 0);
  int64_t columns = getNumColumns();

  for (NormRangeAttr range : getNormRanges()) {
    int64_t offset = range.getColumnOffset();
    int64_t groups = range.getNumGroups();
    int64_t group = range.getGroupSize();
    int64_t pitch = range.getGroupPitch();
    if (range.isPacked() || groups == 1) {
      qkv = normalizeGroups(b, loc, *this, qkv, tokens, range,
                            {offset, groups, group, 0});
      continue;
    }
    // Strided: a window of groups * pitch columns holding every group. The
    // verifier only bounds the span, (groups - 1) * pitch + group, so the
    // window may stick out of the row: then it ends at the range's end
    // (each group at the end of its pitch) if that starts inside the row,
    // else it covers all groups but the last, which is normalised alone.
    int64_t windowColumns = groups * pitch;
    if (offset + windowColumns <= columns) {
      qkv = normalizeGroups(b, loc, *this, qkv, tokens, range,
                            {offset, groups, pitch, 0});
    } else if (offset + group >= pitch) {
      int64_t start = offset + group - pitch;
      qkv = normalizeGroups(b, loc, *this, qkv, tokens, range,
                            {start, groups, pitch, offset - start});
    } else {
      // The window of the first groups - 1 groups ends where the last
      // group starts, inside the row (a single group needs no pitch).
      qkv =
          normalizeGroups(b, loc, *this, qkv, tokens, range,
                          {offset, groups - 1, groups == 2 ? group : pitch, 0});
      qkv = normalizeGroups(b, loc, *this, qkv, tokens, range,
                            {offset + (groups - 1) * pitch, 1, group, 0});
    }
  }
  if (!isTensor(qkv))
    return SmallVector<Value>{};
  return SmallVector<Value>{qkv};
}
