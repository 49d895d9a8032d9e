//===- BufferizableOpInterfaceImpl.h - qk ops and bufferization -*- C++ -*-===//

#ifndef QK_DIALECT_QK_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
#define QK_DIALECT_QK_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H

namespace mlir {
class DialectRegistry;
namespace qk {
/// Attaches BufferizableOpInterface to qk.rms_norm and qk.fused_qk_norm.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace qk
} // namespace mlir

#endif // QK_DIALECT_QK_TRANSFORMS_BUFFERIZABLEOPINTERFACEIMPL_H
