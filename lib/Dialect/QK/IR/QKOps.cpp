//===- QKOps.cpp - qk dialect operations: verifiers and effects -----------===//

#include "qk/Dialect/QK/IR/QKOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "qk/Runtime/QKNormRuntime.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::qk;

/// The kernel launches all ranges of one op at once; the ABI caps them.
static constexpr size_t kMaxRanges = QK_MAX_RANGES;

bool mlir::qk::isSupportedElementType(Type type) {
  return type.isBF16() || type.isF16() || type.isF32();
}

namespace {
/// Shared checks of the shaped operands of both ops: tensors and memrefs do
/// not mix, everything is ranked, and the results match the semantics.
LogicalResult verifyShapedOperands(Operation *op, ValueRange operands,
                                   Value init, ValueRange results) {
  bool initIsTensor = isa<RankedTensorType>(init.getType());
  if (!initIsTensor && !isa<MemRefType>(init.getType()))
    return op->emitOpError("init must be a ranked tensor or a memref, got ")
           << init.getType();
  for (Value v : operands) {
    if (isa<RankedTensorType>(v.getType()) != initIsTensor ||
        !(isa<RankedTensorType, MemRefType>(v.getType())))
      return op->emitOpError("operands must be all ranked tensors or all "
                             "memrefs, got ")
             << v.getType() << " and " << init.getType();
  }
  if (initIsTensor) {
    if (results.size() != 1 || results[0].getType() != init.getType())
      return op->emitOpError("on tensors, expected one result of the init "
                             "type ")
             << init.getType();
  } else if (!results.empty()) {
    return op->emitOpError("on memrefs, expected no result");
  }
  return success();
}

/// A weight is 1-D of `size` elements of the activation type or f32.
LogicalResult verifyWeight(Operation *op, Value weight, int64_t size,
                           Type elementType, StringRef what) {
  auto type = cast<ShapedType>(weight.getType());
  if (type.getRank() != 1 ||
      (!ShapedType::isDynamic(size) && type.getDimSize(0) != size &&
       !type.isDynamicDim(0)))
    return op->emitOpError() << what << " must be 1-D with " << size
                             << " elements, got " << weight.getType();
  if (type.getElementType() != elementType && !type.getElementType().isF32())
    return op->emitOpError() << what << " element type must be " << elementType
                             << " or f32, got " << type.getElementType();
  return success();
}

void addEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects,
    OpOperand &operand, bool read, bool write) {
  if (!isa<MemRefType>(operand.get().getType()))
    return;
  if (read)
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
  if (write)
    effects.emplace_back(MemoryEffects::Write::get(), &operand,
                         SideEffects::DefaultResource::get());
}
} // namespace

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  SmallVector<Value> inputs = {getInput()};
  if (getWeight())
    inputs.push_back(getWeight());
  if (failed(verifyShapedOperands(*this, inputs, getInit(), getResult())))
    return failure();
  auto inputType = getInputType();
  auto initType = cast<ShapedType>(getInit().getType());
  if (inputType.getRank() < 1)
    return emitOpError("input must have at least one dimension");
  Type elementType = inputType.getElementType();
  if (!isSupportedElementType(elementType))
    return emitOpError("element type must be bf16, f16 or f32, got ")
           << elementType;
  if (initType.getElementType() != elementType)
    return emitOpError("init element type ")
           << initType.getElementType() << " differs from input element type "
           << elementType;
  if (failed(verifyCompatibleShape(inputType.getShape(), initType.getShape())))
    return emitOpError("init shape ")
           << initType << " is incompatible with input shape " << inputType;
  if (getWeight() &&
      failed(verifyWeight(*this, getWeight(), getNormalizedSize(), elementType,
                          "weight")))
    return failure();
  float eps = getEpsilon().convertToFloat();
  if (!(eps >= 0.0f) || std::isinf(eps))
    return emitOpError("epsilon must be finite and non-negative, got ") << eps;
  if (!std::isfinite(getWeightOffset().convertToFloat()))
    return emitOpError("weight_offset must be finite");
  if (getWeightOffset().convertToFloat() != 0.0f && !getWeight())
    return emitOpError("weight_offset requires a weight");
  return success();
}

void RMSNormOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  addEffects(effects, getInputMutable(), /*read=*/true, /*write=*/false);
  for (OpOperand &w : getWeightMutable())
    addEffects(effects, w, /*read=*/true, /*write=*/false);
  // The init is only written: its old contents never reach the result.
  addEffects(effects, getInitMutable(), /*read=*/false, /*write=*/true);
}

//===----------------------------------------------------------------------===//
// FusedQKNormOp
//===----------------------------------------------------------------------===//

int64_t FusedQKNormOp::getNumColumns() {
  int64_t columns = 1;
  for (int64_t d : getQkvType().getShape().drop_front()) {
    if (ShapedType::isDynamic(d))
      return ShapedType::kDynamic;
    columns *= d;
  }
  return columns;
}

/// One past the last column of `range`, or nothing if that overflows int64
/// (the attribute's own verifier does not bound the extent).
static std::optional<int64_t> checkedColumnEnd(NormRangeAttr range) {
  std::optional<int64_t> last =
      llvm::checkedMul(range.getNumGroups() - 1, range.getGroupPitch());
  if (!last)
    return std::nullopt;
  std::optional<int64_t> begin =
      llvm::checkedAdd(range.getColumnOffset(), *last);
  if (!begin)
    return std::nullopt;
  return llvm::checkedAdd(*begin, range.getGroupSize());
}

/// Prints a range as `#i [begin, end)` for diagnostics; a strided range
/// adds its groups: `#i [begin, end) (G groups of S, group_stride P)`.
static void printRange(InFlightDiagnostic &diag, size_t index,
                       NormRangeAttr range) {
  diag << "#" << index << " [" << range.getColumnOffset() << ", ";
  if (std::optional<int64_t> end = checkedColumnEnd(range))
    diag << *end;
  else
    diag << "overflow";
  diag << ")";
  if (!range.isPacked() && range.getNumGroups() > 1)
    diag << " (" << range.getNumGroups() << " groups of "
         << range.getGroupSize() << ", group_stride " << range.getGroupPitch()
         << ")";
}

/// The tables and positions of the op's rotations (#qk.rope steps): every
/// table 2-D of the element type or f32 and read by a step inside its
/// columns; positions 1-D i32/i64, one per token; all of one rotation.
static LogicalResult verifyRotations(FusedQKNormOp op,
                                     ArrayRef<NormRangeAttr> ranges,
                                     Type elementType) {
  for (auto [i, table] : llvm::enumerate(op.getTables())) {
    auto type = cast<ShapedType>(table.getType());
    if (type.getRank() != 2 || (type.getElementType() != elementType &&
                                !type.getElementType().isF32()))
      return op.emitOpError("table #")
             << i << " must be 2-D of the element type " << elementType
             << " or f32, got " << table.getType();
  }
  if (Value positions = op.getPositions()) {
    auto type = cast<ShapedType>(positions.getType());
    if (type.getRank() != 1 || !(type.getElementType().isSignlessInteger(32) ||
                                 type.getElementType().isSignlessInteger(64)))
      return op.emitOpError("positions must be 1-D of i32 or i64, got ")
             << positions.getType();
    int64_t tokens = op.getQkvType().getDimSize(0);
    if (!type.isDynamicDim(0) && !ShapedType::isDynamic(tokens) &&
        type.getDimSize(0) != tokens)
      return op.emitOpError("positions has ")
             << type.getDimSize(0) << " entries for " << tokens << " tokens";
  }
  SmallVector<bool> tableUsed(op.getTables().size(), false);
  RopeStepAttr first;
  bool firstBefore = false;
  for (auto [i, range] : llvm::enumerate(ranges)) {
    RopeStepAttr rope = range.getRopeStep();
    if (!rope)
      continue;
    // One kernel launch rotates every range the same way (the ABI carries
    // one rotation per call): the steps of all ranges must agree.
    if (!first) {
      first = rope;
      firstBefore = range.isRopeFirst();
    } else if (rope != first || range.isRopeFirst() != firstBefore) {
      return op.emitOpError("range #")
             << i << " rotates differently from an earlier range: the "
             << "#qk.rope steps of one op (and their order) must be equal";
    }
    for (auto [index, column] :
         {std::pair(rope.getCos(), rope.getCosColumn()),
          std::pair(rope.getSin(), rope.getSinColumn())}) {
      if (index >= static_cast<int64_t>(op.getTables().size()))
        return op.emitOpError("range #")
               << i << " reads table #" << index << " but the op has "
               << op.getTables().size() << " table(s)";
      tableUsed[index] = true;
      auto type = cast<ShapedType>(op.getTables()[index].getType());
      if (!type.isDynamicDim(1) &&
          column + rope.getTableColumnsRead() > type.getDimSize(1))
        return op.emitOpError("range #")
               << i << " reads columns [" << column << ", "
               << column + rope.getTableColumnsRead() << ") of table #" << index
               << " of " << type.getDimSize(1) << " columns";
    }
  }
  for (auto [i, used] : llvm::enumerate(tableUsed))
    if (!used)
      return op.emitOpError("table #") << i << " is not read by any range";
  // Without positions token t reads row t of the tables.
  int64_t tokens = op.getQkvType().getDimSize(0);
  if (first && !op.getPositions() && !ShapedType::isDynamic(tokens))
    for (auto [i, table] : llvm::enumerate(op.getTables())) {
      int64_t rows = cast<ShapedType>(table.getType()).getDimSize(0);
      if (!ShapedType::isDynamic(rows) && rows < tokens)
        return op.emitOpError("table #")
               << i << " has " << rows << " rows for " << tokens
               << " tokens and the op has no positions";
    }
  if (op.getPositions() && !first)
    return op.emitOpError("has positions but no #qk.rope step");
  return success();
}

LogicalResult FusedQKNormOp::verify() {
  SmallVector<Value> inputs(getWeights());
  llvm::append_range(inputs, getTables());
  if (Value positions = getPositions())
    inputs.push_back(positions);
  if (failed(verifyShapedOperands(*this, inputs, getQkv(), getResult())))
    return failure();
  ShapedType qkvType = getQkvType();
  if (qkvType.getRank() != 2 && qkvType.getRank() != 3)
    return emitOpError("qkv must be [T, C] or [T, H, D], got ") << qkvType;
  Type elementType = qkvType.getElementType();
  if (!isSupportedElementType(elementType))
    return emitOpError("element type must be bf16, f16 or f32, got ")
           << elementType;
  int64_t columns = getNumColumns();
  if (ShapedType::isDynamic(columns))
    return emitOpError("qkv must have static trailing dimensions, got ")
           << qkvType;
  if (auto memref = dyn_cast<MemRefType>(qkvType)) {
    int64_t offset;
    SmallVector<int64_t> strides;
    // A dynamic innermost stride is checked by the runtime at the call.
    if (failed(memref.getStridesAndOffset(strides, offset)) ||
        (strides.back() != 1 && !ShapedType::isDynamic(strides.back())))
      return emitOpError("qkv memref must have a unit innermost stride, got ")
             << qkvType;
  }

  SmallVector<NormRangeAttr> ranges;
  for (auto [i, attr] : llvm::enumerate(getRanges())) {
    auto range = dyn_cast<NormRangeAttr>(attr);
    if (!range)
      return emitOpError("range #") << i << " is not a #qk.range";
    ranges.push_back(range);
  }
  if (ranges.empty())
    return emitOpError("expected at least one range");
  if (ranges.size() > kMaxRanges)
    return emitOpError("at most ")
           << kMaxRanges
           << " ranges are supported (the runtime ABI limit), got "
           << ranges.size();

  int64_t headDim = qkvType.getRank() == 3 ? qkvType.getShape().back() : 1;
  SmallVector<bool> weightUsed(getWeights().size(), false);
  for (auto [i, range] : llvm::enumerate(ranges)) {
    // Attributes built in C++ with get() skip the attribute verifier; the
    // checks below (and the overlap test) rely on its invariants.
    if (failed(NormRangeAttr::verify(
            [&, i = i]() { return emitOpError("range #") << i << ": "; },
            range.getColumnOffset(), range.getNumGroups(), range.getGroupSize(),
            range.getGroupStride(), range.getSteps())))
      return failure();
    std::optional<int64_t> end = checkedColumnEnd(range);
    if (!end || *end > columns) {
      auto diag = emitOpError("range ");
      printRange(diag, i, range);
      return diag << " exceeds the " << columns << " columns of qkv";
    }
    if (range.getColumnOffset() % headDim || range.getGroupSize() % headDim) {
      auto diag = emitOpError("range ");
      printRange(diag, i, range);
      return diag << " of a [T, H, D] qkv must start at a head and group "
                     "whole heads (D = "
                  << headDim << ")";
    }
    if (range.getNumGroups() > 1 && range.getGroupPitch() % headDim) {
      auto diag = emitOpError("range ");
      printRange(diag, i, range);
      return diag << " of a [T, H, D] qkv must start every group at a head: "
                     "group_stride "
                  << range.getGroupPitch()
                  << " is not a multiple of D = " << headDim;
    }
    // Exact, as in the runtime: strided ranges may interleave without
    // sharing a column. Both ranges passed the checks above, which are the
    // preconditions of ::qk::rangesOverlap.
    for (size_t j = 0; j < i; ++j) {
      if (range.overlaps(ranges[j])) {
        auto diag = emitOpError("ranges ");
        printRange(diag, j, ranges[j]);
        diag << " and ";
        printRange(diag, i, range);
        return diag << " overlap";
      }
    }
    if (!range.hasWeight()) {
      if (!range.getWeightOffset().isZero())
        return emitOpError("range #") << i
                                      << " has a weight_offset but no "
                                         "weight";
      continue;
    }
    if (range.getWeight() >= static_cast<int64_t>(getWeights().size()))
      return emitOpError("range #")
             << i << " refers to weight #" << range.getWeight()
             << " but the op has " << getWeights().size() << " weight(s)";
    weightUsed[range.getWeight()] = true;
    std::string what = "weight #" + std::to_string(range.getWeight());
    if (failed(verifyWeight(*this, getWeights()[range.getWeight()],
                            range.getGroupSize(), elementType, what)))
      return failure();
  }
  for (auto [i, used] : llvm::enumerate(weightUsed))
    if (!used)
      return emitOpError("weight #") << i << " is not used by any range";
  return verifyRotations(*this, ranges, elementType);
}

void FusedQKNormOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &w : getWeightsMutable())
    addEffects(effects, w, /*read=*/true, /*write=*/false);
  for (OpOperand &t : getTablesMutable())
    addEffects(effects, t, /*read=*/true, /*write=*/false);
  for (OpOperand &p : getPositionsMutable())
    addEffects(effects, p, /*read=*/true, /*write=*/false);
  // Columns outside the ranges keep their values: qkv is read and written.
  addEffects(effects, getQkvMutable(), /*read=*/true, /*write=*/true);
}

#define GET_OP_CLASSES
#include "qk/Dialect/QK/IR/QKOps.cpp.inc"

//===----------------------------------------------------------------------===//
// RowNormOpInterface of qk.rms_norm
//===----------------------------------------------------------------------===//

Value RMSNormOp::getNormInput() { return getInput(); }

Value RMSNormOp::getNormWeight() { return getWeight(); }

int64_t RMSNormOp::getRowSize() { return getNormalizedSize(); }

GroupStepAttrInterface RMSNormOp::getGroupStep() {
  return cast<GroupStepAttrInterface>(
      RMSStepAttr::get(getContext(), getEpsilon(), getWeight() ? 0 : -1,
                       getWeightOffset(), getRounding()));
}
