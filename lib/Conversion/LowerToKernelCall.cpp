//===- LowerToKernelCall.cpp - qk ops on memrefs -> runtime C ABI calls ---===//
//
// What it lowers: `qk.fused_qk_norm` and `qk.rms_norm` on memrefs, i.e.
// after bufferization.
//
// Legality: activations of f32, f16 or bf16, weights of the activation type
// or f32, and a layout the ABI's `[tokens, columns]` view with `num_groups`
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
// The rewrite: one `func.call` per op (per weight element type, for the
// rare fused op that mixes bf16 and f32 weights) of the entry point
// declared by `getOrDeclareEntryPoint`, then a status check that reports
// the runtime's message and aborts.
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
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::qk {
#define GEN_PASS_DEF_QKLOWERTOKERNELCALL
#include "qk/Conversion/Passes.h.inc"

namespace {

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

/// One range of the call: scalars as SSA values, weight as a rank-1 view.
struct CallRange {
  Value weight; // memref<?xW, strided<[?], offset: ?>>
  Value columnOffset, numGroups, groupSize, groupStride;
  float epsilon, weightOffset;
  RoundingMode rounding;
};

/// "f32", "f16", "bf16", or "" for element types the runtime lacks.
StringRef dtypeSuffix(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  return "";
}

MemRefType dynamicViewType(Type elementType, unsigned rank) {
  MLIRContext *ctx = elementType.getContext();
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  return MemRefType::get(
      dyn, elementType,
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dyn));
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

class CallBuilder {
public:
  CallBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  Value toI64(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  }
  Value toIndex(Value i64Value) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), i64Value);
  }
  Value mul(Value a, Value c) { return arith::MulIOp::create(b, loc, a, c); }
  Value add(Value a, Value c) { return arith::AddIOp::create(b, loc, a, c); }
  Value sub(Value a, Value c) { return arith::SubIOp::create(b, loc, a, c); }

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
        b, loc, dynamicViewType(type.getElementType(), 2),
        meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
        ArrayRef<OpFoldResult>{tokens, columns},
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
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    if (type.getRank() == 1) {
      rv.view = view2D(source, one, sizes[0], sizes[0], strides[0]);
      rv.numGroups = i64(1);
      rv.groupStride = groupSize;
      return rv;
    }
    // [A, B, D]: A tokens of B groups, strides[1] apart. An empty middle
    // dimension means no work; the runtime wants num_groups >= 1, so it
    // gets one group of zero tokens instead.
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value noGroups = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                           sizes[1], zero);
    Value tokens = arith::SelectOp::create(b, loc, noGroups, zero, sizes[0]);
    Value groups = arith::MaxSIOp::create(b, loc, sizes[1], one);
    Value columns = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc,
                              arith::SubIOp::create(b, loc, groups, one),
                              strides[1]),
        sizes[2]);
    rv.view = view2D(source, tokens, columns, strides[0], strides[2]);
    rv.numGroups = toI64(groups);
    rv.headStride = toI64(strides[1]);
    rv.groupStride = rv.headStride;
    return rv;
  }

  /// A weight as the entry point's rank-1 operand; none = a zero-size view.
  Value weightView(Value weight, Type elementType) {
    MemRefType type = dynamicViewType(elementType, 1);
    if (!weight)
      weight = memref::AllocaOp::create(b, loc,
                                        MemRefType::get({0}, elementType));
    return memref::CastOp::create(b, loc, type, weight);
  }

  OpBuilder &b;
  Location loc;
};

/// The stream operand: the enclosing function's `{qk.stream}` argument, or
/// null (the default stream).
FailureOr<Value> getStream(OpBuilder &b, Operation *op) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  auto func = op->getParentOfType<FunctionOpInterface>();
  if (func) {
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
  }
  return Value(LLVM::ZeroOp::create(b, op->getLoc(), ptrType));
}

/// `func.func private @name(...) -> i32 attributes {llvm.emit_c_interface}`
/// in `module`, created on first use.
FailureOr<func::FuncOp> getOrDeclareEntryPoint(Operation *op, ModuleOp module,
                                               StringRef name,
                                               FunctionType type,
                                               bool cInterface) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name)) {
    if (existing.getFunctionType() != type)
      return op->emitError("runtime entry point @")
             << name << " is already declared with type "
             << existing.getFunctionType() << ", expected " << type;
    return existing;
  }
  if (module.lookupSymbol(name))
    return op->emitError("symbol @") << name << " is taken by a non-function";
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
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
// The rewrite
//===----------------------------------------------------------------------===//

class Lowering {
public:
  explicit Lowering(ModuleOp module) : module(module) {}

  LogicalResult lower(FusedQKNormOp op);
  LogicalResult lower(RMSNormOp op);

private:
  LogicalResult emitCalls(Operation *op, Type act, RowView in, RowView out,
                          ArrayRef<CallRange> ranges,
                          ArrayRef<Type> weightTypes);
  LogicalResult emitCall(OpBuilder &b, Operation *op, Type act, Value in,
                         Value out, ArrayRef<CallRange> ranges, Type weightType,
                         Value stream);
  Value siteGlobal(OpBuilder &b, Location loc);

  ModuleOp module;
  unsigned siteCounter = 0;
};

LogicalResult checkElementTypes(Operation *op, Type act,
                                ArrayRef<Type> weightTypes) {
  if (dtypeSuffix(act).empty())
    return op->emitError("cannot lower to a runtime call: element type ")
           << act << " is not f32, f16 or bf16";
  for (Type w : weightTypes)
    if (w != act && !w.isF32())
      return op->emitError("cannot lower to a runtime call: weight element "
                           "type ")
             << w << " is neither the activation type " << act << " nor f32";
  return success();
}

// qkv.fused_qk_norm on a [T, C] or [T, H, D] buffer, in place.
LogicalResult Lowering::lower(FusedQKNormOp op) {
  OpBuilder b(op);
  CallBuilder cb(b, op.getLoc());
  auto qkvType = cast<MemRefType>(op.getQkv().getType());
  Type act = qkvType.getElementType();
  SmallVector<Type> weightTypes;
  for (Value w : op.getWeights())
    weightTypes.push_back(cast<MemRefType>(w.getType()).getElementType());
  if (failed(checkElementTypes(op, act, weightTypes)))
    return failure();

  bool is3D = qkvType.getRank() == 3;
  int64_t headDim = is3D ? qkvType.getDimSize(2) : 1;
  // For [T, H, D] the ABI's group stride of one-head groups is the head
  // stride (times group_stride / D for strided ranges); any view of the
  // buffer works, the groups say where to look.
  RowView view = cb.rowView(op.getQkv(), cb.i64(1));
  Value headStride = view.headStride;

  SmallVector<CallRange> ranges;
  for (NormRangeAttr r : op.getNormRanges()) {
    CallRange c;
    c.weight = r.hasWeight() ? op.getWeights()[r.getWeight()] : Value();
    c.groupSize = cb.i64(r.getGroupSize());
    c.numGroups = cb.i64(r.getNumGroups());
    c.epsilon = r.getEpsilon().convertToFloat();
    c.weightOffset = r.getWeightOffset().convertToFloat();
    c.rounding = r.getRounding();
    // Strided ranges (group_stride > group_size) pass their pitch; packed
    // ones, and a single group (whose stride means nothing), pass
    // group_size, as the ABI wants.
    bool packed = r.isPacked() || r.getNumGroups() == 1;
    if (!is3D) {
      c.columnOffset = cb.i64(r.getColumnOffset());
      c.groupStride = packed ? c.groupSize : cb.i64(r.getGroupPitch());
    } else {
      // Head-aligned by the verifier: the range starts at head
      // column_offset / D, and strided groups start group_stride / D heads
      // apart.
      c.columnOffset =
          cb.mul(cb.i64(r.getColumnOffset() / headDim), headStride);
      if (r.getGroupSize() == headDim) {
        c.groupStride =
            packed ? headStride
                   : cb.mul(cb.i64(r.getGroupPitch() / headDim), headStride);
      } else {
        // A group of several heads is contiguous only if heads are packed.
        int64_t staticStride = qkvType.getStridesAndOffset().first[1];
        if (!ShapedType::isDynamic(staticStride) && staticStride != headDim)
          return op.emitError("cannot lower to a runtime call: a group of ")
                 << r.getGroupSize() / headDim
                 << " heads needs packed heads (head stride " << headDim
                 << "), the qkv buffer has head stride " << staticStride;
        if (ShapedType::isDynamic(staticStride)) {
          Value packedHeads =
              arith::CmpIOp::create(b, op.getLoc(), arith::CmpIPredicate::eq,
                                    headStride, cb.i64(headDim));
          cb.check(packedHeads, "qk.fused_qk_norm: a multi-head group "
                                "needs a qkv head stride equal to head_dim");
        }
        // Packed heads: group_stride / D heads are group_stride columns.
        c.groupStride = packed ? c.groupSize : cb.i64(r.getGroupPitch());
      }
    }
    ranges.push_back(c);
  }
  if (failed(emitCalls(op, act, view, view, ranges, weightTypes)))
    return failure();
  op.erase();
  return success();
}

// y = rms_norm(x) over the last dimension, x and y possibly distinct.
LogicalResult Lowering::lower(RMSNormOp op) {
  OpBuilder b(op);
  CallBuilder cb(b, op.getLoc());
  Value input = op.getInput(), init = op.getInit();
  auto inType = cast<MemRefType>(input.getType());
  Type act = inType.getElementType();
  SmallVector<Type> weightTypes;
  if (op.getWeight())
    weightTypes.push_back(
        cast<MemRefType>(op.getWeight().getType()).getElementType());
  if (failed(checkElementTypes(op, act, weightTypes)))
    return failure();
  if (inType.getRank() == 0)
    return op.emitError("cannot lower to a runtime call: rank-0 input");

  // Higher ranks: fold the leading dimensions into the token dimension.
  if (inType.getRank() > 3) {
    SmallVector<ReassociationIndices> reassociation(1);
    for (int64_t d = 0; d + 2 < inType.getRank(); ++d)
      reassociation[0].push_back(d);
    reassociation.push_back({inType.getRank() - 2});
    reassociation.push_back({inType.getRank() - 1});
    for (Value *v : {&input, &init}) {
      auto type = cast<MemRefType>(v->getType());
      if (!memref::CollapseShapeOp::isGuaranteedCollapsible(type,
                                                            reassociation))
        return op.emitError("cannot lower to a runtime call: the leading "
                            "dimensions of ")
               << type << " cannot be viewed as one token dimension";
      *v = memref::CollapseShapeOp::create(b, op.getLoc(), *v, reassociation);
    }
  }

  // One range describes both views, so their head strides (dimension 1 of
  // a [T, H, D] view) must agree. When they may not (e.g. an unfused norm
  // of Qwen3-Next's head-strided q into a fresh buffer), normalise in place
  // in the init after copying the input there: correct for any layouts.
  if (cast<MemRefType>(input.getType()).getRank() == 3) {
    auto stride = [](Value v) {
      return cast<MemRefType>(v.getType()).getStridesAndOffset().first[1];
    };
    int64_t si = stride(input), so = stride(init);
    if (ShapedType::isDynamic(si) || ShapedType::isDynamic(so) || si != so) {
      memref::CopyOp::create(b, op.getLoc(), input, init);
      input = init;
    }
  }
  Value d = memref::DimOp::create(
      b, op.getLoc(), input,
      cast<MemRefType>(input.getType()).getRank() - 1);
  Value groupSize = cb.toI64(d);
  RowView in = cb.rowView(input, groupSize);
  RowView out = cb.rowView(init, groupSize);

  CallRange c;
  c.weight = op.getWeight();
  c.columnOffset = cb.i64(0);
  c.numGroups = in.numGroups;
  c.groupSize = groupSize;
  c.groupStride = in.groupStride;
  c.epsilon = op.getEpsilon().convertToFloat();
  c.weightOffset = op.getWeightOffset().convertToFloat();
  c.rounding = op.getRounding();
  if (failed(emitCalls(op, act, in, out, {c}, weightTypes)))
    return failure();
  op.erase();
  return success();
}

LogicalResult Lowering::emitCalls(Operation *op, Type act, RowView in,
                                  RowView out, ArrayRef<CallRange> ranges,
                                  ArrayRef<Type> weightTypes) {
  OpBuilder b(op);
  FailureOr<Value> stream = getStream(b, op);
  if (failed(stream))
    return failure();
  // One entry point takes weights of one element type; ranges without a
  // weight go with the activation-typed ones.
  auto weightTypeOf = [&](const CallRange &r) {
    return r.weight ? cast<MemRefType>(r.weight.getType()).getElementType()
                    : act;
  };
  for (Type wt : {act, Type(Float32Type::get(act.getContext()))}) {
    SmallVector<CallRange> group;
    for (const CallRange &r : ranges)
      if (weightTypeOf(r) == wt)
        group.push_back(r);
    if (!group.empty() &&
        failed(emitCall(b, op, act, in.view, out.view, group, wt, *stream)))
      return failure();
    if (act.isF32())
      break;
  }
  return success();
}

LogicalResult Lowering::emitCall(OpBuilder &b, Operation *op, Type act,
                                 Value in, Value out,
                                 ArrayRef<CallRange> ranges, Type weightType,
                                 Value stream) {
  Location loc = op->getLoc();
  CallBuilder cb(b, loc);
  if (ranges.size() > QK_MAX_RANGES)
    return op->emitError("cannot lower to a runtime call: ")
           << ranges.size() << " ranges, the runtime takes at most "
           << QK_MAX_RANGES;

  SmallVector<Value> operands = {in, out};
  for (const CallRange &r : ranges) {
    operands.push_back(cb.weightView(r.weight, weightType));
    operands.append({r.columnOffset, r.numGroups, r.groupSize, r.groupStride});
    operands.push_back(arith::ConstantFloatOp::create(
        b, loc, b.getF32Type(), APFloat(r.epsilon)));
    operands.push_back(arith::ConstantFloatOp::create(
        b, loc, b.getF32Type(), APFloat(r.weightOffset)));
    int32_t rounding = r.rounding == RoundingMode::BeforeWeight
                           ? QK_ROUNDING_BEFORE_WEIGHT
                           : QK_ROUNDING_ONCE;
    operands.push_back(
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), rounding));
  }
  operands.push_back(stream);

  std::string name = ("qk_fused_rms_norm_" + dtypeSuffix(act) +
                      (weightType == act ? "" : "_wf32") + "_r" +
                      Twine(ranges.size()))
                         .str();
  auto type = FunctionType::get(b.getContext(), ValueRange(operands).getTypes(),
                                {b.getI32Type()});
  FailureOr<func::FuncOp> callee =
      getOrDeclareEntryPoint(op, module, name, type, /*cInterface=*/true);
  if (failed(callee))
    return failure();
  Value status = func::CallOp::create(b, loc, *callee, operands).getResult(0);

  // On error: the runtime's message with the op's location, then abort.
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  auto reportType =
      FunctionType::get(b.getContext(), {b.getI32Type(), ptrType}, {});
  FailureOr<func::FuncOp> report = getOrDeclareEntryPoint(
      op, module, "qk_report_error", reportType, /*cInterface=*/false);
  if (failed(report))
    return failure();
  Value zero = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
  Value failedCall =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, status, zero);
  auto ifOp = scf::IfOp::create(b, loc, failedCall, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    func::CallOp::create(b, loc, *report,
                         ValueRange{status, siteGlobal(b, loc)});
  }
  Value ok =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, status, zero);
  cb.check(ok, (op->getName().getStringRef() + ": runtime call @" + name +
                " failed")
                   .str());
  return success();
}

Value Lowering::siteGlobal(OpBuilder &b, Location loc) {
  std::string name;
  do
    name = ("__qk_site_" + Twine(siteCounter++)).str();
  while (module.lookupSymbol(name));
  std::string text = siteString(loc);
  text.push_back('\0');
  return LLVM::createGlobalString(loc, b, name, text,
                                  LLVM::Linkage::Internal);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct LowerToKernelCallPass
    : impl::QKLowerToKernelCallBase<LowerToKernelCallPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    bool onTensors = false;
    module.walk([&](Operation *op) {
      if (!isa<FusedQKNormOp, RMSNormOp>(op))
        return;
      if (op->getNumResults() != 0) {
        op->emitError("qk-lower-to-kernel-call runs after bufferization: "
                      "this op still works on tensors");
        onTensors = true;
        return;
      }
      ops.push_back(op);
    });
    if (onTensors)
      return signalPassFailure();

    Lowering lowering(module);
    bool failedAny = false;
    for (Operation *op : ops) {
      LogicalResult result =
          TypeSwitch<Operation *, LogicalResult>(op)
              .Case<FusedQKNormOp, RMSNormOp>(
                  [&](auto typed) { return lowering.lower(typed); });
      failedAny |= failed(result);
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
} // namespace mlir::qk
