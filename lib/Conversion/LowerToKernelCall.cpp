//===- LowerToKernelCall.cpp - qk ops on memrefs -> runtime C ABI calls ---===//
//
// What it lowers: `qk.fused_qk_norm` and `qk.rms_norm` on memrefs, i.e.
// after bufferization.
//
// Legality: activations of an element type of the runtime's table
// (qk/Runtime/Codes.def: f32, f16, bf16), weights of the activation type or
// f32, and a layout the ABI's `[tokens, columns]` view with `num_groups`
// groups `group_stride` apart can describe:
//   - [T, C] qkv (fused op) or [N, D] input (rms_norm): tokens are rows;
//   - [T, H, D] qkv or [A, B, D] input: tokens are the outer dimension, the
//     middle dimension's stride is the group stride (interleaved heads need
//     no copy);
//   - rms_norm of higher rank: its leading dimensions must collapse into
//     one, which the layout has to guarantee.
// Everything else is an error at the op's location: the pass never drops a
// norm and never adds a copy.
//
// Structure: a dialect conversion. The ConversionTarget makes both ops on
// memrefs illegal; one OpConversionPattern per op rewrites it into a call,
// applied with applyPartialConversion. Each pattern first runs every check
// of its op (all diagnostics are emitted there, before any IR is built),
// then builds the call, which cannot fail. An op a pattern rejected with an
// error becomes legal, so that its error is the only diagnostic (not also
// the driver's "failed to legalize"); the pass then fails.
//
// The rewrite (runtime ABI version 2, include/qk/Runtime/QKNormRuntime.h):
// the op's ranges become the rows of a memref<Nx12xi64> range table
// (qk_ciface_range_t: scalars, f32 bit patterns, codes and the weight's
// rank-1 view), allocated once per function and filled right before one
// `func.call` of the entry point of the activation type, then a status
// check that reports the runtime's message and aborts. An op with a
// #qk.rope step calls the version-3 entry point instead, which also takes
// a memref<27xi64> rope row (qk_ciface_rope_t: the step's codes, the
// cos/sin tables' and the positions' views; docs/rope-abi.md).
//
//===----------------------------------------------------------------------===//

#include "qk/Conversion/Passes.h"
#include "qk/Dialect/QK/IR/QKOps.h"
#include "qk/Runtime/QKNormRuntime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <iterator>
#include <optional>

namespace mlir::qk {
#define GEN_PASS_DEF_QKLOWERTOKERNELCALL
#include "qk/Conversion/Passes.h.inc"

namespace {

//===----------------------------------------------------------------------===//
// The codes of qk/Runtime/Codes.def
//===----------------------------------------------------------------------===//

// The ODS enum RoundingMode (QKAttrs.td: the attribute's cases, parser and
// printer) is tied to the runtime's codes: every row of the table names its
// ODS case, whose value must be the C code, and ODS has no case beyond the
// table's.
#define QK_ROUNDING(NAME, CODE, MNEMONIC, ODS_NAME)                            \
  static_assert(static_cast<int64_t>(RoundingMode::ODS_NAME) ==                \
                    QK_ROUNDING_##NAME,                                        \
                "RoundingMode::" #ODS_NAME " is not QK_ROUNDING_" #NAME        \
                " (include/qk/Runtime/Codes.def)");
#include "qk/Runtime/Codes.def"
constexpr unsigned kNumRoundingCodes = 0
#define QK_ROUNDING(...) +1
#include "qk/Runtime/Codes.def"
    ;
static_assert(getMaxEnumValForRoundingMode() + 1 == kNumRoundingCodes,
              "RoundingMode and include/qk/Runtime/Codes.def list different "
              "rounding modes");

int64_t roundingCode(RoundingMode mode) {
  switch (mode) {
#define QK_ROUNDING(NAME, CODE, MNEMONIC, ODS_NAME)                            \
  case RoundingMode::ODS_NAME:                                                 \
    return QK_ROUNDING_##NAME;
#include "qk/Runtime/Codes.def"
  }
  llvm_unreachable("a RoundingMode without a row in Codes.def");
}

// The rope step's ODS enums are tied to their rows the same way.
#define QK_ROPE_STYLE(NAME, CODE, MNEMONIC, ODS_NAME)                          \
  static_assert(static_cast<int64_t>(RopeStyle::ODS_NAME) ==                   \
                    QK_ROPE_STYLE_##NAME,                                      \
                "RopeStyle::" #ODS_NAME " is not QK_ROPE_STYLE_" #NAME);
#define QK_ROPE_ROUNDING(NAME, CODE, MNEMONIC, ODS_NAME)                       \
  static_assert(static_cast<int64_t>(RopeRounding::ODS_NAME) ==                \
                    QK_ROPE_ROUNDING_##NAME,                                   \
                "RopeRounding::" #ODS_NAME " is not QK_ROPE_ROUNDING_" #NAME);
#include "qk/Runtime/Codes.def"

constexpr unsigned kNumRopeStyles = 0
#define QK_ROPE_STYLE(...) +1
#include "qk/Runtime/Codes.def"
    ;
constexpr unsigned kNumRopeRoundings = 0
#define QK_ROPE_ROUNDING(...) +1
#include "qk/Runtime/Codes.def"
    ;
static_assert(getMaxEnumValForRopeStyle() + 1 == kNumRopeStyles,
              "RopeStyle and Codes.def list different styles");
static_assert(getMaxEnumValForRopeRounding() + 1 == kNumRopeRoundings,
              "RopeRounding and Codes.def list different roundings");

int64_t ropeStyleCode(RopeStyle style) {
  switch (style) {
#define QK_ROPE_STYLE(NAME, CODE, MNEMONIC, ODS_NAME)                          \
  case RopeStyle::ODS_NAME:                                                    \
    return QK_ROPE_STYLE_##NAME;
#include "qk/Runtime/Codes.def"
  }
  llvm_unreachable("a RopeStyle without a row in Codes.def");
}

int64_t ropeRoundingCode(RopeRounding rounding) {
  switch (rounding) {
#define QK_ROPE_ROUNDING(NAME, CODE, MNEMONIC, ODS_NAME)                       \
  case RopeRounding::ODS_NAME:                                                 \
    return QK_ROPE_ROUNDING_##NAME;
#include "qk/Runtime/Codes.def"
  }
  llvm_unreachable("a RopeRounding without a row in Codes.def");
}

/// The code of an integer type of positions, if the runtime knows it.
std::optional<int64_t> indexCode(Type type) {
#define QK_INDEX(NAME, CODE, CNAME, BYTES, TORCH)                              \
  if (type.isSignlessInteger(BYTES * 8))                                       \
    return QK_INDEX_##NAME;
#include "qk/Runtime/Codes.def"
  return std::nullopt;
}

/// An element type the runtime knows: its code and its name (the suffix of
/// the entry point).
struct RuntimeDtype {
  qk_dtype_t code;
  StringRef name;
};

std::optional<RuntimeDtype> runtimeDtype(Type type) {
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, MLIR_TYPE, TORCH)                   \
  if (isa<MLIR_TYPE>(type))                                                    \
    return RuntimeDtype{QK_DTYPE_##NAME, #CNAME};
#include "qk/Runtime/Codes.def"
  return std::nullopt;
}

/// "f32, f16 or bf16", for diagnostics.
std::string runtimeDtypeList() {
  const StringRef names[] = {
#define QK_DTYPE(NAME, CODE, CNAME, ...) #CNAME,
#include "qk/Runtime/Codes.def"
  };
  std::string list;
  for (size_t i = 0, e = std::size(names); i < e; ++i)
    list += (i == 0 ? "" : i + 1 == e ? " or " : ", ") + names[i].str();
  return list;
}

// encodeRowWords: the rows of the group steps (qk_ciface_range_t of
// #qk.rms, qk_ciface_rope_t of #qk.rope), their words from the attribute's
// parameters encoded as the steps' ODS says (QK_AbiRow in QKAttrs.td), the
// others supplied by the lowering (geometry, memref views).
#include "qk/Dialect/QK/IR/QKAbiRowEncoders.h.inc"

//===----------------------------------------------------------------------===//
// What one call passes
//===----------------------------------------------------------------------===//

/// The activation of one call as the ABI sees it: a [tokens, columns] view
/// whose groups are `numGroups` x `groupSize` columns, `groupStride` apart
/// (i64 values; for a 2-D activation numGroups = 1).
struct RowView {
  Value view;        // memref<?x?xT, strided<[?, ?], offset: ?>>
  Value numGroups;   // of one row (rms_norm) or per head (fused, 3-D)
  Value groupStride; // i64, elements between consecutive groups
  Value headStride;  // i64, strides[1] of a rank-3 source (else null)
};

/// The rotation of a call (ABI version 3): the step all rotated ranges
/// share, its tables and positions as memrefs, and which ranges it rotates.
struct CallRope {
  RopeStepAttr step;
  bool beforeNorm = false;
  int64_t headDim = 0; // the step's head size in elements
  uint32_t rotatedRanges = 0;
  Value cos, sin, positions; // positions may be null
};

/// One range of the call: its geometry as SSA values, its norm step, the
/// weight as a memref.
struct CallRange {
  Value weight; // rank-1 memref, or null for no weight
  Value columnOffset, numGroups, groupSize, groupStride;
  RMSStepAttr step;
};

MemRefType dynamicViewType(Type elementType, unsigned rank) {
  MLIRContext *ctx = elementType.getContext();
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  return MemRefType::get(
      dyn, elementType, StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dyn));
}

/// memref<?x12xi64>: the range table operand.
MemRefType rangeTableType(MLIRContext *ctx, int64_t rows) {
  return MemRefType::get({rows, QK_CIFACE_RANGE_WORDS},
                         IntegerType::get(ctx, 64));
}

/// memref<27xi64>: the rope row operand (ABI version 3).
MemRefType ropeRowType(MLIRContext *ctx) {
  return MemRefType::get({QK_CIFACE_ROPE_WORDS}, IntegerType::get(ctx, 64));
}

/// The type of the entry point of activations of `act` (with a rotation:
/// the rope row before the stream).
FunctionType entryPointType(Type act, bool rope = false) {
  MLIRContext *ctx = act.getContext();
  MemRefType view = dynamicViewType(act, 2);
  SmallVector<Type> inputs = {view, view,
                              rangeTableType(ctx, ShapedType::kDynamic)};
  if (rope)
    inputs.push_back(ropeRowType(ctx));
  inputs.push_back(LLVM::LLVMPointerType::get(ctx));
  return FunctionType::get(ctx, inputs, {IntegerType::get(ctx, 32)});
}

std::string entryPointName(const RuntimeDtype &act, bool rope = false) {
  return ((rope ? "qk_fused_rms_norm_rope_" : "qk_fused_rms_norm_") + act.name)
      .str();
}

FunctionType reportType(MLIRContext *ctx) {
  return FunctionType::get(
      ctx, {IntegerType::get(ctx, 32), LLVM::LLVMPointerType::get(ctx)}, {});
}

constexpr StringLiteral kReportName = "qk_report_error";

//===----------------------------------------------------------------------===//
// Checks: every diagnostic of the pass, before any IR is built
//===----------------------------------------------------------------------===//

LogicalResult checkElementTypes(Operation *op, Type act,
                                ArrayRef<Type> weightTypes) {
  if (!runtimeDtype(act))
    return op->emitError("cannot lower to a runtime call: element type ")
           << act << " is not " << runtimeDtypeList();
  for (Type w : weightTypes)
    if (w != act && !w.isF32())
      return op->emitError("cannot lower to a runtime call: weight element "
                           "type ")
             << w << " is neither the activation type " << act << " nor f32";
  return success();
}

/// The enclosing function's `{qk.stream}` argument, null if there is none
/// (the default stream), or an error if it is not a pointer.
FailureOr<Value> streamArgument(Operation *op) {
  auto ptrType = LLVM::LLVMPointerType::get(op->getContext());
  auto func = op->getParentOfType<FunctionOpInterface>();
  if (!func)
    return Value();
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
    if (!func.getArgAttr(i, kStreamArgAttrName))
      continue;
    Value arg = func.getArgument(i);
    if (arg.getType() != ptrType)
      return op->emitError("the {")
             << kStreamArgAttrName << "} argument #" << i
             << " must be !llvm.ptr, got " << arg.getType();
    return arg;
  }
  return Value();
}

/// A symbol `name` of `module` must be absent or a function of `type`.
LogicalResult checkDeclaration(Operation *op, ModuleOp module, StringRef name,
                               FunctionType type) {
  Operation *symbol = module.lookupSymbol(name);
  if (!symbol)
    return success();
  auto existing = dyn_cast<func::FuncOp>(symbol);
  if (!existing)
    return op->emitError("symbol @") << name << " is taken by a non-function";
  if (existing.getFunctionType() != type)
    return op->emitError("runtime entry point @")
           << name << " is already declared with type "
           << existing.getFunctionType() << ", expected " << type;
  return success();
}

/// What both ops need: the range count, the stream and the declarations.
LogicalResult checkCall(Operation *op, ModuleOp module, Type act,
                        size_t numRanges, bool rope = false) {
  if (numRanges > QK_MAX_RANGES)
    return op->emitError("cannot lower to a runtime call: ")
           << numRanges << " ranges, the runtime takes at most "
           << QK_MAX_RANGES;
  if (failed(streamArgument(op)))
    return failure();
  if (failed(checkDeclaration(op, module,
                              entryPointName(*runtimeDtype(act), rope),
                              entryPointType(act, rope))))
    return failure();
  return checkDeclaration(op, module, kReportName,
                          reportType(op->getContext()));
}

LogicalResult checkFusedQKNorm(FusedQKNormOp op, ModuleOp module) {
  auto qkvType = cast<MemRefType>(op.getQkv().getType());
  Type act = qkvType.getElementType();
  SmallVector<Type> weightTypes;
  for (Value w : op.getWeights())
    weightTypes.push_back(cast<MemRefType>(w.getType()).getElementType());
  if (failed(checkElementTypes(op, act, weightTypes)))
    return failure();
  SmallVector<NormRangeAttr> ranges = op.getNormRanges();
  if (qkvType.getRank() == 3) {
    // A group of several heads is contiguous only if heads are packed; a
    // dynamic head stride is checked at run time.
    int64_t headDim = qkvType.getDimSize(2);
    for (NormRangeAttr r : ranges) {
      if (r.getGroupSize() == headDim)
        continue;
      int64_t headStride = qkvType.getStridesAndOffset().first[1];
      if (!ShapedType::isDynamic(headStride) && headStride != headDim)
        return op.emitError("cannot lower to a runtime call: a group of ")
               << r.getGroupSize() / headDim
               << " heads needs packed heads (head stride " << headDim
               << "), the qkv buffer has head stride " << headStride;
    }
  }
  // A rotation: its tables (2-D, the activation type or f32, read through
  // the ABI's [rows, columns] view) and positions (i32/i64).
  bool rope = llvm::any_of(ranges, [](NormRangeAttr r) {
    return static_cast<bool>(r.getRopeStep());
  });
  for (Value t : op.getTables()) {
    auto type = cast<MemRefType>(t.getType());
    if (type.getRank() != 2 ||
        (type.getElementType() != act && !type.getElementType().isF32()))
      return op.emitError("cannot lower to a runtime call: a rope table of ")
             << type << " is not 2-D of " << act << " or f32";
  }
  if (op.getTables().size() == 2 &&
      op.getTables()[0].getType() != op.getTables()[1].getType())
    return op.emitError("cannot lower to a runtime call: the cos and sin "
                        "tables have different types (the runtime takes one "
                        "table dtype and shape)");
  if (Value p = op.getPositions())
    if (!indexCode(cast<MemRefType>(p.getType()).getElementType()))
      return op.emitError("cannot lower to a runtime call: positions of ")
             << cast<MemRefType>(p.getType()).getElementType();
  return checkCall(op, module, act, ranges.size(), rope);
}

/// The reassociation that folds the leading dimensions of a rank > 3
/// rms_norm operand into one token dimension.
SmallVector<ReassociationIndices> tokenReassociation(int64_t rank) {
  SmallVector<ReassociationIndices> reassociation(1);
  for (int64_t d = 0; d + 2 < rank; ++d)
    reassociation[0].push_back(d);
  reassociation.push_back({rank - 2});
  reassociation.push_back({rank - 1});
  return reassociation;
}

LogicalResult checkRMSNorm(RMSNormOp op, ModuleOp module) {
  auto inType = cast<MemRefType>(op.getInput().getType());
  Type act = inType.getElementType();
  SmallVector<Type> weightTypes;
  if (op.getWeight())
    weightTypes.push_back(
        cast<MemRefType>(op.getWeight().getType()).getElementType());
  if (failed(checkElementTypes(op, act, weightTypes)))
    return failure();
  if (inType.getRank() == 0)
    return op.emitError("cannot lower to a runtime call: rank-0 input");
  if (inType.getRank() > 3) {
    auto reassociation = tokenReassociation(inType.getRank());
    for (Value v : {op.getInput(), op.getInit()}) {
      auto type = cast<MemRefType>(v.getType());
      if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type,
                                                            reassociation))
        return op.emitError("cannot lower to a runtime call: the leading "
                            "dimensions of ")
               << type << " cannot be viewed as one token dimension";
    }
  }
  return checkCall(op, module, act, /*numRanges=*/1);
}

//===----------------------------------------------------------------------===//
// Building blocks (never fail: the checks ran first)
//===----------------------------------------------------------------------===//

class CallBuilder {
public:
  CallBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  }
  Value mul(Value a, Value c) { return arith::MulIOp::create(b, loc, a, c); }

  /// Aborts (after the runtime's report) unless `cond`; `what` says which
  /// layout assumption failed.
  void check(Value cond, const Twine &what) {
    cf::AssertOp::create(b, loc, cond, b.getStringAttr(what));
  }

  /// A [tokens, columns] view with unit column stride... or whatever the
  /// source's innermost stride is: the runtime rejects a non-unit one with
  /// its own message.
  Value view2D(Value source, Value tokens, Value columns, Value tokenStride,
               Value columnStride) {
    auto type = cast<MemRefType>(source.getType());
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, source);
    auto castOp = memref::ReinterpretCastOp::create(
        b, loc, dynamicViewType(type.getElementType(), 2), meta.getBaseBuffer(),
        OpFoldResult(meta.getOffset()), ArrayRef<OpFoldResult>{tokens, columns},
        ArrayRef<OpFoldResult>{tokenStride, columnStride});
    return castOp.getResult();
  }

  /// The ABI view of a rank-1..3 activation (rank 1 = one token).
  RowView rowView(Value source, Value groupSize) {
    auto type = cast<MemRefType>(source.getType());
    RowView rv;
    if (type.getRank() == 2) {
      rv.view = memref::CastOp::create(
          b, loc, dynamicViewType(type.getElementType(), 2), source);
      rv.numGroups = i64(1);
      rv.groupStride = groupSize;
      return rv;
    }
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, source);
    SmallVector<Value> sizes(meta.getSizes()), strides(meta.getStrides());
    Value one = index(1);
    if (type.getRank() == 1) {
      rv.view = view2D(source, one, sizes[0], sizes[0], strides[0]);
      rv.numGroups = i64(1);
      rv.groupStride = groupSize;
      return rv;
    }
    // [A, B, D]: A tokens of B groups, strides[1] apart. An empty middle
    // dimension means no work; the runtime wants num_groups >= 1, so it
    // gets one group of zero tokens instead.
    Value zero = index(0);
    Value noGroups =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, sizes[1], zero);
    Value tokens = arith::SelectOp::create(b, loc, noGroups, zero, sizes[0]);
    Value groups = arith::MaxSIOp::create(b, loc, sizes[1], one);
    Value columns = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(
            b, loc, arith::SubIOp::create(b, loc, groups, one), strides[1]),
        sizes[2]);
    rv.view = view2D(source, tokens, columns, strides[0], strides[2]);
    rv.numGroups = toI64(groups);
    rv.headStride = toI64(strides[1]);
    rv.groupStride = rv.headStride;
    return rv;
  }

  static Type elementTypeOf(Value memref) {
    return cast<MemRefType>(memref.getType()).getElementType();
  }

  /// A rank-1 view's words: aligned pointer, offset, size, stride; no view
  /// (a null value) is the empty one: 0, 0, 0, 1.
  struct View1D {
    Value aligned, offset, size, stride;
  };
  View1D view1D(Value m) {
    if (!m)
      return {i64(0), i64(0), i64(0), i64(1)};
    Value aligned =
        toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, m));
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, m);
    return {aligned, toI64(meta.getOffset()), toI64(meta.getSizes()[0]),
            toI64(meta.getStrides()[0])};
  }

  /// The words of one row of the range table (qk_ciface_range_t), by
  /// column. A weight passes its rank-1 view (aligned pointer, offset, size,
  /// stride); none passes a zero-size view of the activation dtype.
  SmallVector<std::pair<int64_t, Value>> rowWords(const CallRange &r,
                                                  qk_dtype_t act) {
    RMSStepRowInputs in;
    in.column_offset = r.columnOffset;
    in.num_groups = r.numGroups;
    in.group_size = r.groupSize;
    in.group_stride = r.groupStride;
    in.weight_dtype =
        r.weight ? i64(runtimeDtype(elementTypeOf(r.weight))->code) : i64(act);
    const View1D w = view1D(r.weight);
    in.weight_aligned = w.aligned;
    in.weight_memref_offset = w.offset;
    in.weight_size = w.size;
    in.weight_stride = w.stride;
    return encodeRowWords(r.step, in, [&](int64_t v) { return i64(v); });
  }

  /// The words of the rope row (qk_ciface_rope_t), by word.
  SmallVector<std::pair<int64_t, Value>> ropeWords(const CallRope &r) {
    Type tableType = cast<MemRefType>(r.cos.getType()).getElementType();
    RopeStepRowInputs in;
    in.before_norm = i64(r.beforeNorm ? 1 : 0);
    in.head_dim = i64(r.headDim);
    in.rotated_ranges = i64(r.rotatedRanges);
    in.table_dtype = i64(runtimeDtype(tableType)->code);
    // A table's rank-2 view: aligned pointer, offset, sizes, strides.
    auto table = [&](Value t, Value &aligned, Value &offset, Value &rows,
                     Value &columns, Value &rowStride, Value &columnStride) {
      aligned =
          toI64(memref::ExtractAlignedPointerAsIndexOp::create(b, loc, t));
      auto meta = memref::ExtractStridedMetadataOp::create(b, loc, t);
      offset = toI64(meta.getOffset());
      rows = toI64(meta.getSizes()[0]);
      columns = toI64(meta.getSizes()[1]);
      rowStride = toI64(meta.getStrides()[0]);
      columnStride = toI64(meta.getStrides()[1]);
    };
    table(r.cos, in.cos_aligned, in.cos_offset, in.cos_rows, in.cos_columns,
          in.cos_row_stride, in.cos_column_stride);
    table(r.sin, in.sin_aligned, in.sin_offset, in.sin_rows, in.sin_columns,
          in.sin_row_stride, in.sin_column_stride);
    in.positions_dtype =
        r.positions ? i64(*indexCode(elementTypeOf(r.positions))) : i64(0);
    const View1D p = view1D(r.positions);
    in.positions_aligned = p.aligned;
    in.positions_offset = p.offset;
    in.positions_size = p.size;
    in.positions_stride = p.stride;
    return encodeRowWords(r.step, in, [&](int64_t v) { return i64(v); });
  }

  /// A buffer of `type` at the start of the region of the nearest automatic
  /// allocation scope that is not a serial loop (see rangeTable).
  Value scopedAlloca(Operation *op, MemRefType type) {
    OpBuilder::InsertionGuard guard(b);
    Operation *child = op;
    for (Operation *parent = op->getParentOp(); parent;
         child = parent, parent = parent->getParentOp()) {
      if (parent->hasTrait<OpTrait::AutomaticAllocationScope>() &&
          !isa<scf::ForOp, scf::WhileOp>(parent)) {
        b.setInsertionPointToStart(&child->getParentRegion()->front());
        break;
      }
    }
    return memref::AllocaOp::create(b, loc, type);
  }

  /// The rope row of one call, written right before it.
  Value ropeRow(Operation *op, const CallRope &rope) {
    Value row = scopedAlloca(op, ropeRowType(b.getContext()));
    for (auto [word, value] : ropeWords(rope))
      memref::StoreOp::create(b, loc, value, row, ValueRange{index(word)});
    return row;
  }

  /// The range table of one call: a memref<Nx12xi64> at the start of the
  /// region of the nearest automatic allocation scope that is not a serial
  /// loop (the function, or a parallel loop's body, whose iterations need
  /// tables of their own). scf.for is such a scope too, but its lowering to
  /// control flow frees nothing per iteration: a table in its body would
  /// grow the stack every iteration. The rows are written right before the
  /// call.
  Value rangeTable(Operation *op, ArrayRef<CallRange> ranges, qk_dtype_t act) {
    Value table = scopedAlloca(
        op, rangeTableType(b.getContext(), int64_t(ranges.size())));
    for (auto [row, range] : llvm::enumerate(ranges)) {
      Value rowIndex = index(int64_t(row));
      for (auto [column, word] : rowWords(range, act))
        memref::StoreOp::create(b, loc, word, table,
                                ValueRange{rowIndex, index(column)});
    }
    return memref::CastOp::create(
        b, loc, rangeTableType(b.getContext(), ShapedType::kDynamic), table);
  }

  OpBuilder &b;
  Location loc;
};

/// `func.func private @name(...) attributes {llvm.emit_c_interface}` (or
/// without the attribute) in `module`, created on first use.
func::FuncOp getOrDeclare(OpBuilder &b, ModuleOp module, StringRef name,
                          FunctionType type, bool cInterface) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(b, module.getLoc(), name, type);
  func.setPrivate();
  if (cInterface)
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  b.getUnitAttr());
  return func;
}

/// The op's location as "file:line:col" (the first file location inside a
/// fused or call-site location), for the runtime's error report.
std::string siteString(Location loc) {
  std::string s;
  llvm::raw_string_ostream os(s);
  FileLineColLoc file;
  loc->walk([&](Location inner) {
    if (auto f = dyn_cast<FileLineColLoc>(inner)) {
      file = f;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (file)
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn();
  else
    loc.print(os);
  return s;
}

//===----------------------------------------------------------------------===//
// The patterns
//===----------------------------------------------------------------------===//

/// What the patterns of one pass run share.
struct LoweringState {
  explicit LoweringState(ModuleOp module) : module(module) {}
  ModuleOp module;
  unsigned siteCounter = 0;
  /// Ops a pattern rejected with an error at their location.
  DenseSet<Operation *> rejected;
};

template <typename OpTy>
class RuntimeCallPattern : public OpConversionPattern<OpTy> {
public:
  RuntimeCallPattern(MLIRContext *ctx, LoweringState &state)
      : OpConversionPattern<OpTy>(ctx), state(state) {}

protected:
  /// The op failed a check (its error is emitted): it stays, and the pass
  /// fails.
  LogicalResult reject(Operation *op) const {
    state.rejected.insert(op);
    return failure();
  }

  /// The call of the entry point of `act` on `in`/`out` and the range
  /// table of `ranges`, then the status check; erases `op`.
  void emitCall(ConversionPatternRewriter &rewriter, Operation *op, Type act,
                Value in, Value out, ArrayRef<CallRange> ranges,
                const CallRope *rope = nullptr) const;

  /// An internal global holding the op's location string.
  Value siteGlobal(OpBuilder &b, Location loc) const;

  LoweringState &state;
};

template <typename OpTy>
void RuntimeCallPattern<OpTy>::emitCall(ConversionPatternRewriter &rewriter,
                                        Operation *op, Type act, Value in,
                                        Value out, ArrayRef<CallRange> ranges,
                                        const CallRope *rope) const {
  Location loc = op->getLoc();
  CallBuilder cb(rewriter, loc);
  RuntimeDtype dtype = *runtimeDtype(act);
  Value stream = *streamArgument(op);
  if (!stream)
    stream = LLVM::ZeroOp::create(rewriter, loc,
                                  LLVM::LLVMPointerType::get(op->getContext()));
  Value table = cb.rangeTable(op, ranges, dtype.code);
  SmallVector<Value> args = {in, out, table};
  if (rope)
    args.push_back(cb.ropeRow(op, *rope));
  args.push_back(stream);

  std::string name = entryPointName(dtype, rope);
  func::FuncOp callee =
      getOrDeclare(rewriter, state.module, name,
                   entryPointType(act, rope != nullptr), /*cInterface=*/true);
  Value status = func::CallOp::create(rewriter, loc, callee, args).getResult(0);

  // On error: the runtime's message with the op's location, then abort.
  func::FuncOp report =
      getOrDeclare(rewriter, state.module, kReportName,
                   reportType(op->getContext()), /*cInterface=*/false);
  Value zero =
      arith::ConstantIntOp::create(rewriter, loc, rewriter.getI32Type(), 0);
  Value failedCall = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::ne, status, zero);
  auto ifOp = scf::IfOp::create(rewriter, loc, failedCall, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    func::CallOp::create(rewriter, loc, report,
                         ValueRange{status, siteGlobal(rewriter, loc)});
  }
  Value ok = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq,
                                   status, zero);
  cb.check(
      ok, (op->getName().getStringRef() + ": runtime call @" + name + " failed")
              .str());
  rewriter.eraseOp(op);
}

template <typename OpTy>
Value RuntimeCallPattern<OpTy>::siteGlobal(OpBuilder &b, Location loc) const {
  std::string name;
  do
    name = ("__qk_site_" + Twine(state.siteCounter++)).str();
  while (state.module.lookupSymbol(name));
  std::string text = siteString(loc);
  text.push_back('\0');
  return LLVM::createGlobalString(loc, b, name, text, LLVM::Linkage::Internal);
}

// qk.fused_qk_norm on a [T, C] or [T, H, D] buffer, in place.
class FusedQKNormLowering : public RuntimeCallPattern<FusedQKNormOp> {
public:
  using RuntimeCallPattern::RuntimeCallPattern;

  LogicalResult
  matchAndRewrite(FusedQKNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkFusedQKNorm(op, state.module)))
      return reject(op);
    CallBuilder cb(rewriter, op.getLoc());
    Value qkv = adaptor.getQkv();
    auto qkvType = cast<MemRefType>(qkv.getType());
    bool is3D = qkvType.getRank() == 3;
    int64_t headDim = is3D ? qkvType.getDimSize(2) : 1;
    // For [T, H, D] the ABI's group stride of one-head groups is the head
    // stride (times group_stride / D for strided ranges); any view of the
    // buffer works, the groups say where to look.
    RowView view = cb.rowView(qkv, cb.i64(1));
    Value headStride = view.headStride;

    SmallVector<CallRange> ranges;
    for (NormRangeAttr r : op.getNormRanges()) {
      CallRange c;
      c.weight = r.hasWeight() ? adaptor.getWeights()[r.getWeight()] : Value();
      c.groupSize = cb.i64(r.getGroupSize());
      c.numGroups = cb.i64(r.getNumGroups());
      c.step = r.getRMSStep();
      // Strided ranges (group_stride > group_size) pass their pitch; packed
      // ones, and a single group (whose stride means nothing), pass
      // group_size, as the ABI wants.
      bool packed = r.isPacked() || r.getNumGroups() == 1;
      if (!is3D) {
        c.columnOffset = cb.i64(r.getColumnOffset());
        c.groupStride = packed ? c.groupSize : cb.i64(r.getGroupPitch());
      } else {
        // Head-aligned by the verifier: the range starts at head
        // column_offset / D, and strided groups start group_stride / D
        // heads apart.
        c.columnOffset =
            cb.mul(cb.i64(r.getColumnOffset() / headDim), headStride);
        if (r.getGroupSize() == headDim) {
          c.groupStride =
              packed ? headStride
                     : cb.mul(cb.i64(r.getGroupPitch() / headDim), headStride);
        } else {
          // A group of several heads is contiguous only if heads are
          // packed: static strides were checked, dynamic ones are here.
          int64_t staticStride = qkvType.getStridesAndOffset().first[1];
          if (ShapedType::isDynamic(staticStride)) {
            Value packedHeads = arith::CmpIOp::create(
                rewriter, op.getLoc(), arith::CmpIPredicate::eq, headStride,
                cb.i64(headDim));
            cb.check(packedHeads, "qk.fused_qk_norm: a multi-head group "
                                  "needs a qkv head stride equal to head_dim");
          }
          // Packed heads: group_stride / D heads are group_stride columns.
          c.groupStride = packed ? c.groupSize : cb.i64(r.getGroupPitch());
        }
      }
      ranges.push_back(c);
    }
    // The rotation (one per op, the verifier says): its step, the ranges it
    // rotates, its tables and positions.
    CallRope rope;
    for (auto [i, r] : llvm::enumerate(op.getNormRanges())) {
      RopeStepAttr step = r.getRopeStep();
      if (!step)
        continue;
      rope.step = step;
      rope.beforeNorm = r.isRopeFirst();
      rope.headDim = step.getHeadDimIn(r.getGroupSize());
      rope.rotatedRanges |= 1u << i;
      rope.cos = adaptor.getTables()[step.getCos()];
      rope.sin = adaptor.getTables()[step.getSin()];
      rope.positions = adaptor.getPositions();
    }
    emitCall(rewriter, op, qkvType.getElementType(), view.view, view.view,
             ranges, rope.step ? &rope : nullptr);
    return success();
  }
};

// y = rms_norm(x) over the last dimension, x and y possibly distinct.
class RMSNormLowering : public RuntimeCallPattern<RMSNormOp> {
public:
  using RuntimeCallPattern::RuntimeCallPattern;

  LogicalResult
  matchAndRewrite(RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(checkRMSNorm(op, state.module)))
      return reject(op);
    Location loc = op.getLoc();
    CallBuilder cb(rewriter, loc);
    Value input = adaptor.getInput(), init = adaptor.getInit();
    auto inType = cast<MemRefType>(input.getType());

    // Higher ranks: fold the leading dimensions into the token dimension
    // (checked to be collapsible).
    if (inType.getRank() > 3) {
      auto reassociation = tokenReassociation(inType.getRank());
      for (Value *v : {&input, &init})
        *v = memref::CollapseShapeOp::create(rewriter, loc, *v, reassociation);
    }

    // One range describes both views, so their head strides (dimension 1
    // of a [T, H, D] view) must agree. When they may not (e.g. an unfused
    // norm of Qwen3-Next's head-strided q into a fresh buffer), normalise
    // in place in the init after copying the input there: correct for any
    // layouts.
    if (cast<MemRefType>(input.getType()).getRank() == 3) {
      auto stride = [](Value v) {
        return cast<MemRefType>(v.getType()).getStridesAndOffset().first[1];
      };
      int64_t si = stride(input), so = stride(init);
      if (ShapedType::isDynamic(si) || ShapedType::isDynamic(so) || si != so) {
        memref::CopyOp::create(rewriter, loc, input, init);
        input = init;
      }
    }
    Value d = memref::DimOp::create(
        rewriter, loc, input, cast<MemRefType>(input.getType()).getRank() - 1);
    Value groupSize = cb.toI64(d);
    RowView in = cb.rowView(input, groupSize);
    RowView out = cb.rowView(init, groupSize);

    CallRange c;
    c.weight = adaptor.getWeight();
    c.columnOffset = cb.i64(0);
    c.numGroups = in.numGroups;
    c.groupSize = groupSize;
    c.groupStride = in.groupStride;
    c.step = cast<RMSStepAttr>(op.getGroupStep());
    emitCall(rewriter, op, inType.getElementType(), in.view, out.view, {c});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct LowerToKernelCallPass
    : impl::QKLowerToKernelCallBase<LowerToKernelCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();

    // The ops must be on memrefs: one still on tensors means the pass runs
    // too early, and nothing is lowered.
    bool onTensors = false;
    module.walk([&](Operation *op) {
      if (isa<FusedQKNormOp, RMSNormOp>(op) && op->getNumResults() != 0) {
        op->emitError("qk-lower-to-kernel-call runs after bufferization: "
                      "this op still works on tensors");
        onTensors = true;
      }
    });
    if (onTensors)
      return signalPassFailure();

    LoweringState state(module);
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, cf::ControlFlowDialect,
                           func::FuncDialect, LLVM::LLVMDialect,
                           memref::MemRefDialect, scf::SCFDialect>();
    // Every qk.fused_qk_norm and qk.rms_norm (all on memrefs by now) must
    // become a call, except one a pattern rejected with an error.
    target.addDynamicallyLegalOp<FusedQKNormOp, RMSNormOp>(
        [&](Operation *op) { return state.rejected.contains(op); });
    RewritePatternSet patterns(ctx);
    patterns.add<FusedQKNormLowering, RMSNormLowering>(ctx, state);
    if (failed(applyPartialConversion(module, target, std::move(patterns))) ||
        !state.rejected.empty())
      signalPassFailure();
  }
};

} // namespace
} // namespace mlir::qk
