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

#include "qk/Dialect/QK/IR/QKAttrInterfaces.cpp.inc"
#include "qk/Dialect/QK/IR/QKOpInterfaces.cpp.inc"

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

//===----------------------------------------------------------------------===//
// #qk.rms
//===----------------------------------------------------------------------===//

LogicalResult RMSStepAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  llvm::APFloat epsilon, int64_t weight,
                                  llvm::APFloat weightOffset,
                                  RoundingMode rounding) {
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

int64_t RMSStepAttr::getWeightIndex() const { return getWeight(); }

Attribute RMSStepAttr::withWeightIndex(int64_t index) const {
  return RMSStepAttr::get(getContext(), getEpsilon(), index, getWeightOffset(),
                          getRounding());
}

//===----------------------------------------------------------------------===//
// #qk.rope
//===----------------------------------------------------------------------===//

LogicalResult RopeStepAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   RopeStyle style, int64_t rotaryDim,
                                   int64_t headDim, int64_t cos, int64_t sin,
                                   int64_t cosColumn, int64_t sinColumn,
                                   bool perPair, RopeRounding rounding) {
  if (headDim < 0)
    return emitError() << "head_dim must be 0 (the group) or positive, got "
                       << headDim;
  if (rotaryDim < 2 || rotaryDim % 2)
    return emitError() << "rotary_dim must be even and at least 2, got "
                       << rotaryDim;
  if (headDim && rotaryDim > headDim)
    return emitError() << "rotary_dim " << rotaryDim << " exceeds head_dim "
                       << headDim;
  if (cos < 0 || sin < 0)
    return emitError() << "cos and sin must be table operand indices, got "
                       << cos << " and " << sin;
  if (cosColumn < 0 || sinColumn < 0)
    return emitError() << "cos_column and sin_column must be non-negative";
  return success();
}

// A rotation reads tables, not weights.
int64_t RopeStepAttr::getWeightIndex() const { return -1; }

Attribute RopeStepAttr::withWeightIndex(int64_t) const { return *this; }

//===----------------------------------------------------------------------===//
// #qk.range
//===----------------------------------------------------------------------===//

RMSStepAttr NormRangeAttr::getRMSStep() const {
  for (Attribute step : getSteps())
    if (auto rms = dyn_cast<RMSStepAttr>(step))
      return rms;
  return {};
}

RopeStepAttr NormRangeAttr::getRopeStep() const {
  for (Attribute step : getSteps())
    if (auto rope = dyn_cast<RopeStepAttr>(step))
      return rope;
  return {};
}

bool NormRangeAttr::isRopeFirst() const {
  ArrayRef<Attribute> steps = getSteps();
  return !steps.empty() && isa<RopeStepAttr>(steps.front());
}

NormRangeAttr NormRangeAttr::withSteps(ArrayRef<Attribute> steps) const {
  return NormRangeAttr::get(getContext(), getColumnOffset(), getNumGroups(),
                            getGroupSize(), getGroupStride(), steps);
}

LogicalResult
NormRangeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      int64_t columnOffset, int64_t numGroups,
                      int64_t groupSize, int64_t groupStride,
                      ArrayRef<Attribute> steps) {
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
  int64_t norms = 0, rotations = 0;
  for (Attribute step : steps) {
    if (!step || !isa<GroupStepAttrInterface>(step))
      return emitError() << "every step must be a group step attribute "
                            "(GroupStepAttrInterface), got "
                         << step;
    if (auto rms = dyn_cast<RMSStepAttr>(step)) {
      ++norms;
      if (failed(RMSStepAttr::verify(emitError, rms.getEpsilon(),
                                     rms.getWeight(), rms.getWeightOffset(),
                                     rms.getRounding())))
        return failure();
    }
    if (auto rope = dyn_cast<RopeStepAttr>(step)) {
      ++rotations;
      if (failed(RopeStepAttr::verify(emitError, rope.getStyle(),
                                      rope.getRotaryDim(), rope.getHeadDim(),
                                      rope.getCos(), rope.getSin(),
                                      rope.getCosColumn(), rope.getSinColumn(),
                                      rope.getPerPair(), rope.getRounding())))
        return failure();
      int64_t headDim = rope.getHeadDimIn(groupSize);
      if (groupSize % headDim || rope.getRotaryDim() > headDim)
        return emitError() << "#qk.rope: head_dim " << headDim
                           << " must divide group_size " << groupSize
                           << " and hold rotary_dim " << rope.getRotaryDim();
    }
  }
  // The kernels and the decomposition implement one norm per group and at
  // most one rotation, before or after it (docs/adding-a-step.md).
  if (norms != 1)
    return emitError() << "a range needs exactly one #qk.rms step, got "
                       << norms;
  if (rotations > 1)
    return emitError() << "a range has at most one #qk.rope step, got "
                       << rotations;
  return success();
}

// The inline form: the geometry, then either the parameters of a single
// #qk.rms step or `steps = [...]`, in any order, comma separated.
Attribute NormRangeAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc start = parser.getCurrentLocation();
  std::optional<int64_t> columnOffset, numGroups, groupSize;
  int64_t groupStride = 0, weight = -1;
  std::optional<llvm::APFloat> epsilon;
  llvm::APFloat weightOffset(0.0f);
  RoundingMode rounding = RoundingMode::Once;
  bool inlineNorm = false;
  std::optional<SmallVector<Attribute>> steps;
  auto failedParam = [&](StringRef name, StringRef type) {
    parser.emitError(parser.getCurrentLocation())
        << "failed to parse QK_NormRangeAttr parameter '" << name
        << "' which is to be a `" << type << "`";
    return Attribute();
  };
  if (parser.parseLess())
    return {};
  do {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    auto integer = [&](int64_t &out) {
      return succeeded(parser.parseInteger(out));
    };
    if (key == "column_offset" || key == "num_groups" || key == "group_size") {
      int64_t v;
      if (!integer(v))
        return failedParam(key, "int64_t");
      (key == "column_offset" ? columnOffset
       : key == "num_groups"  ? numGroups
                              : groupSize) = v;
    } else if (key == "group_stride") {
      if (!integer(groupStride))
        return failedParam(key, "int64_t");
    } else if (key == "weight") {
      inlineNorm = true;
      if (!integer(weight))
        return failedParam(key, "int64_t");
    } else if (key == "epsilon" || key == "weight_offset") {
      inlineNorm = true;
      FailureOr<llvm::APFloat> v = parseF32Parameter(parser);
      if (failed(v))
        return {};
      if (key == "epsilon")
        epsilon = *v;
      else
        weightOffset = *v;
    } else if (key == "rounding") {
      inlineNorm = true;
      FailureOr<RoundingMode> mode = FieldParser<RoundingMode>::parse(parser);
      if (failed(mode))
        return failedParam(key, "::mlir::qk::RoundingMode");
      rounding = *mode;
    } else if (key == "steps") {
      steps.emplace();
      if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square,
                                         [&]() -> ParseResult {
                                           Attribute step;
                                           if (parser.parseAttribute(step))
                                             return failure();
                                           steps->push_back(step);
                                           return success();
                                         }))
        return {};
    } else {
      parser.emitError(keyLoc) << "unknown #qk.range parameter '" << key << "'";
      return {};
    }
  } while (succeeded(parser.parseOptionalComma()));
  if (parser.parseGreater())
    return {};
  for (auto [name, value] :
       {std::pair{"column_offset", columnOffset},
        std::pair{"num_groups", numGroups}, std::pair{"group_size", groupSize}})
    if (!value) {
      parser.emitError(start)
          << "struct is missing required parameter: " << name;
      return {};
    }
  if (inlineNorm && steps) {
    parser.emitError(start) << "#qk.range takes its norm either inline "
                               "(epsilon, weight, ...) or as `steps`, not both";
    return {};
  }
  if (!steps) {
    if (!epsilon) {
      parser.emitError(start)
          << "struct is missing required parameter: epsilon";
      return {};
    }
    steps.emplace();
    steps->push_back(
        RMSStepAttr::get(ctx, *epsilon, weight, weightOffset, rounding));
  }
  return NormRangeAttr::getChecked([&]() { return parser.emitError(start); },
                                   ctx, *columnOffset, *numGroups, *groupSize,
                                   groupStride, *steps);
}

void NormRangeAttr::print(AsmPrinter &printer) const {
  printer << "<column_offset = " << getColumnOffset()
          << ", num_groups = " << getNumGroups()
          << ", group_size = " << getGroupSize();
  ArrayRef<Attribute> steps = getSteps();
  auto rms =
      steps.size() == 1 ? dyn_cast<RMSStepAttr>(steps.front()) : RMSStepAttr();
  if (rms) {
    // The inline form, in the order (and with the defaults) the parameters
    // had before the step list.
    printer << ", epsilon = ";
    printF32Parameter(printer, rms.getEpsilon());
    if (rms.getWeight() != -1)
      printer << ", weight = " << rms.getWeight();
    if (!rms.getWeightOffset().isZero()) {
      printer << ", weight_offset = ";
      printF32Parameter(printer, rms.getWeightOffset());
    }
    if (rms.getRounding() != RoundingMode::Once)
      printer << ", rounding = " << stringifyRoundingMode(rms.getRounding());
  }
  if (getGroupStride() != 0)
    printer << ", group_stride = " << getGroupStride();
  if (!rms) {
    printer << ", steps = [";
    llvm::interleaveComma(steps, printer);
    printer << "]";
  }
  printer << ">";
}
