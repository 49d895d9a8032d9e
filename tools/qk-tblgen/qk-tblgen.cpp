//===- qk-tblgen.cpp - TableGen backends of the qk project ----------------===//
//
// mlir-tblgen's driver with qk's own backends (AbiRowsGen.cpp: the ABI rows
// of the group steps), the way IREE and CIRCT add project backends.
//
//===----------------------------------------------------------------------===//

#include "mlir/Tools/mlir-tblgen/MlirTblgenMain.h"

int main(int argc, char **argv) { return mlir::MlirTblgenMain(argc, argv); }
