//===- qk-opt.cpp - mlir-opt with the qk dialect and passes ---------------===//
//
// The upstream dialects, passes and extensions of mlir-opt, plus the qk
// dialect and passes.
//
//===----------------------------------------------------------------------===//

#include "qk/InitQK.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::qk::registerQKPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::qk::registerQKDialects(registry);

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "qk optimizer driver\n", registry));
}
