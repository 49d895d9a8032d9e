//===- MatchFailure.h - Why a qk matcher said no ----------------*- C++ -*-===//
//
// The one shape of a matcher's "no" in qk: a stable reason code, a sentence,
// and the figures the sentence names. The passes report it as a missed
// remark (`reason` = the code, the figures as structured arguments); a
// pattern hands the sentence to notifyMatchFailure. A matcher returns
// `FailureOr<Match>` and fills a MatchFailure it is given.
//
//===----------------------------------------------------------------------===//

#ifndef QK_ANALYSIS_MATCHFAILURE_H
#define QK_ANALYSIS_MATCHFAILURE_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <string>
#include <utility>

namespace mlir::qk {

/// Figures (key, value) that go with a message: MLIR's YAML remark output
/// carries them as `Args`, so that tools read them instead of the text. Keys
/// are string literals.
using Figures = SmallVector<std::pair<StringRef, std::string>, 2>;

/// Why a matcher rejected its root.
struct MatchFailure {
  /// A stable kebab-case identifier (e.g. `wrong-divisor`): the `reason`
  /// argument of the missed remark. Empty while nothing failed.
  StringRef code;
  /// The sentence, e.g. "the mean divides by 127 instead of the row size
  /// 128".
  std::string message;
  /// The figures the sentence names.
  Figures figures;

  /// Records a failure unless one is recorded already (the first is the
  /// cause, later ones its consequences); always returns failure, so that a
  /// matcher can `return why.fail(...)`.
  LogicalResult fail(StringRef why, const Twine &text, Figures whyFigures = {});

  bool hasFailed() const { return !code.empty(); }
};

/// Figure values, spelled as the messages spell them.
std::string typeString(Type type);
/// A floating-point number as `raw_ostream` prints a double (%e).
std::string numberString(double value);
/// The name of `op`, e.g. `tensor.collapse_shape`.
std::string opName(Operation *op);

} // namespace mlir::qk

#endif // QK_ANALYSIS_MATCHFAILURE_H
