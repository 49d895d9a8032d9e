//===- Remarks.cpp - How the qk rewrites report ---------------------------===//

#include "qk/Transforms/Remarks.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"

#include <functional>

using namespace mlir;
using namespace mlir::qk;

void mlir::qk::appendLocation(remark::detail::InFlightRemark &r, Location loc) {
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

void mlir::qk::appendFigures(remark::detail::InFlightRemark &r,
                             const Figures &figures) {
  for (const auto &[key, value] : figures)
    r << remark::metric(key, value);
}

void mlir::qk::reportPassed(
    Location loc, remark::RemarkOpts opts,
    function_ref<void(std::string &message, Figures &figures)> describe) {
  auto r = remark::passed(loc, opts);
  if (!r)
    return;
  std::string message;
  Figures figures;
  describe(message, figures);
  r << message;
  appendFigures(r, figures);
  appendLocation(r, loc);
}

void mlir::qk::reportMissed(Location loc, remark::RemarkOpts opts,
                            StringRef prefix, const MatchFailure &why) {
  auto r = remark::missed(loc, opts);
  if (!r)
    return;
  r << (prefix + why.message).str() << remark::metric("reason", why.code);
  appendFigures(r, why.figures);
  appendLocation(r, loc);
}
