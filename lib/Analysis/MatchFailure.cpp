//===- MatchFailure.cpp - Why a qk matcher said no ------------------------===//

#include "qk/Analysis/MatchFailure.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::qk;

LogicalResult MatchFailure::fail(StringRef why, const Twine &text,
                                 Figures whyFigures) {
  if (!hasFailed()) {
    code = why;
    message = text.str();
    figures = std::move(whyFigures);
  }
  return failure();
}

std::string mlir::qk::typeString(Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type;
  return s;
}

std::string mlir::qk::numberString(double value) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << value;
  return s;
}

std::string mlir::qk::opName(Operation *op) {
  return op->getName().getStringRef().str();
}
