//===- Registration.cpp - qk registration entry points --------------------===//

#include "qk/InitQK.h"
#include "qk/Dialect/QK/IR/QKDialect.h"
#include "qk/Dialect/QK/TransformOps/QKTransformOps.h"
#include "qk/Dialect/QK/Transforms/BufferizableOpInterfaceImpl.h"
#include "qk/Conversion/Passes.h"
#include "qk/Pipelines/Pipelines.h"
#include "qk/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/DialectRegistry.h"

void mlir::qk::registerQKDialects(DialectRegistry &registry) {
  registry.insert<QKDialect, bufferization::BufferizationDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
  registerTransformDialectExtension(registry);
}

void mlir::qk::registerQKPasses() {
  registerQKTransformsPasses();
  registerQKConversionPasses();
  registerQKNormPipeline();
}
