//===- QKDialect.cpp - The qk dialect -------------------------------------===//

#include "qk/Dialect/QK/IR/QKDialect.h"
#include "qk/Dialect/QK/IR/QKOps.h"
#include "qk/Runtime/RangeOverlap.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::qk;

#include "qk/Dialect/QK/IR/QKOpsDialect.cpp.inc"

#include "qk/Dialect/QK/IR/QKEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "qk/Dialect/QK/IR/QKAttrs.cpp.inc"

void QKDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "qk/Dialect/QK/IR/QKAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "qk/Dialect/QK/IR/QKOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// #qk.range
//===----------------------------------------------------------------------===//

FailureOr<llvm::APFloat> mlir::qk::parseF32Parameter(AsmParser &parser) {
  double value;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseFloat(value))
    return failure();
  llvm::APFloat f(value);
  bool losesInfo = false;
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &losesInfo);
  if (!f.isFinite())
    return parser.emitError(loc, "expected a finite f32 value"), failure();
  return f;
}

void mlir::qk::printF32Parameter(AsmPrinter &printer,
                                 const llvm::APFloat &value) {
  printer.printFloat(value);
}

bool NormRangeAttr::overlaps(NormRangeAttr other) const {
  auto strided = [](NormRangeAttr r) {
    return ::qk::StridedRange{r.getColumnOffset(), r.getNumGroups(),
                              r.getGroupSize(), r.getGroupPitch()};
  };
  return ::qk::rangesOverlap(strided(*this), strided(other));
}

LogicalResult NormRangeAttr::verify(
    function_ref<InFlightDiagnostic()> emitError, int64_t columnOffset,
    int64_t numGroups, int64_t groupSize, llvm::APFloat epsilon, int64_t weight,
    llvm::APFloat weightOffset, RoundingMode rounding, int64_t groupStride) {
  if (columnOffset < 0)
    return emitError() << "column_offset must be non-negative, got "
                       << columnOffset;
  if (numGroups <= 0)
    return emitError() << "num_groups must be positive, got " << numGroups;
  if (groupSize <= 0)
    return emitError() << "group_size must be positive, got " << groupSize;
  if (groupStride != 0 && groupStride < groupSize)
    return emitError() << "group_stride must be 0 (packed) or at least "
                          "group_size "
                       << groupSize << ", got " << groupStride;
  // -0.0 adds like +0.0 (qk.rms_norm accepts it too).
  if ((epsilon.isNegative() && !epsilon.isZero()) || !epsilon.isFinite())
    return emitError() << "epsilon must be finite and non-negative";
  if (!weightOffset.isFinite())
    return emitError() << "weight_offset must be finite";
  if (weight < -1)
    return emitError() << "weight must be a weight operand index or -1, got "
                       << weight;
  return success();
}
