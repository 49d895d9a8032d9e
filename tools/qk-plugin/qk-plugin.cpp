//===- qk-plugin.cpp - qk as an mlir-opt dialect and pass plugin ----------===//
//
//   mlir-opt --load-dialect-plugin=lib/QKPlugin.so \
//            --load-pass-plugin=lib/QKPlugin.so --qk-raise-rms-norm ...
//
//===----------------------------------------------------------------------===//

#include "qk/InitQK.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "QK", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            mlir::qk::registerQKDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "QKPasses", LLVM_VERSION_STRING,
          []() { mlir::qk::registerQKPasses(); }};
}
