//===- InitQK.h - Registration entry points for other compilers -*- C++ -*-===//
//
// What a compiler that embeds the qk passes calls once at start-up.
//
//===----------------------------------------------------------------------===//

#ifndef QK_INITQK_H
#define QK_INITQK_H

namespace mlir {
class DialectRegistry;
namespace qk {
/// The qk dialect, its bufferization models, and the upstream dialects and
/// interface models the passes create or need at bufferization time.
void registerQKDialects(DialectRegistry &registry);
/// Every qk pass (qk-raise-rms-norm, qk-fuse-strided-qk-norm, qk-decompose,
/// qk-lower-to-kernel-call, qk-emit-c-interface) and qk-norm-pipeline.
void registerQKPasses();
} // namespace qk
} // namespace mlir

#endif // QK_INITQK_H
