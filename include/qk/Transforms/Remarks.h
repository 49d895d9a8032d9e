//===- Remarks.h - How the qk rewrites report -------------------*- C++ -*-===//
//
// One way to write the remarks of every qk rewrite, whichever driver runs
// it (a pass or a greedy pattern): a message, its figures as structured
// arguments (MLIR's YAML remark output lists them under `Args`, so that
// tools read the figures instead of the message), and the location
// arguments that the YAML output cannot carry otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef QK_TRANSFORMS_REMARKS_H
#define QK_TRANSFORMS_REMARKS_H

#include "qk/Analysis/MatchFailure.h"

#include "mlir/IR/Remarks.h"

namespace mlir::qk {

/// `loc` as structured arguments, where MLIR's YAML remark output cannot
/// carry it (it keeps a plain file:line:col location only; the call-site and
/// fused locations of torch-mlir's IR become "<unknown file>"): `loc` is the
/// location a diagnostic shows (the first file:line:col inside), and
/// `called_from_<i>` the callers of a call-site location, innermost first,
/// like the "called from" notes of a diagnostic. Nothing for a plain
/// file:line:col location (YAML's DebugLoc).
void appendLocation(remark::detail::InFlightRemark &r, Location loc);

/// `figures` as structured arguments, in order.
void appendFigures(remark::detail::InFlightRemark &r, const Figures &figures);

/// A passed remark at `loc`: the message and figures `describe` fills in, then
/// the location arguments. `describe` runs only when the engine takes the
/// remark: formatting types and numbers for remarks no one reads was a tenth
/// of the raise pass's time.
void reportPassed(
    Location loc, remark::RemarkOpts opts,
    function_ref<void(std::string &message, Figures &figures)> describe);

/// The missed remark of `why` at `loc`: `prefix` followed by its message,
/// its code as the `reason` argument, its figures, the location arguments.
void reportMissed(Location loc, remark::RemarkOpts opts, StringRef prefix,
                  const MatchFailure &why);

} // namespace mlir::qk

#endif // QK_TRANSFORMS_REMARKS_H
