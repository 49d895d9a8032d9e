//===- EmitCInterface.cpp - C entry points for public functions -----------===//

#include "qk/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::qk {
#define GEN_PASS_DEF_QKEMITCINTERFACE
#include "qk/Conversion/Passes.h.inc"

namespace {
struct EmitCInterfacePass
    : impl::QKEmitCInterfaceBase<EmitCInterfacePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      UnitAttr::get(&getContext()));
  }
};
} // namespace
} // namespace mlir::qk
