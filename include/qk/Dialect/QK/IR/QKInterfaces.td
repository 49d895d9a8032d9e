//===- QKInterfaces.td - qk dialect interfaces -------------*- tablegen -*-===//
//
// The two interfaces the passes query instead of naming qk.rms_norm or the
// fields of one norm:
//  * GroupStepAttrInterface: one step of what happens to every group of a
//    `#qk.range`, in order (today `#qk.rms`; tomorrow a rotation, a
//    LayerNorm, a store in another dtype). A new step is a new attribute
//    that implements it: docs/adding-a-step.md.
//  * RowNormOpInterface: an op that normalises every row of its input on its
//    own, and says what it does to a row as a group step. The fuse pass
//    turns any such op on a view of qkv into a range of qk.fused_qk_norm.
//
//===----------------------------------------------------------------------===//

#ifndef QK_DIALECT_QK_IR_QKINTERFACES_TD
#define QK_DIALECT_QK_IR_QKINTERFACES_TD

include "mlir/IR/Interfaces.td"

def QK_GroupStepAttrInterface : AttrInterface<"GroupStepAttrInterface"> {
  let cppNamespace = "::mlir::qk";
  let description = [{
    One step applied to every group of columns of a `#qk.range`, in the
    order of the range's `steps`. A step reads the group as the previous
    step left it (fp32 inside, rounded where the step says) and may read one
    weight operand of the fused op.
  }];
  let methods = [
    InterfaceMethod<[{
        Index of the fused op's weight operand this step reads, -1 for none.
      }], "int64_t", "getWeightIndex">,
    InterfaceMethod<[{
        The same step reading weight operand `index` instead (-1: none); the
        fuse pass renumbers the weights of the ops it fuses.
      }], "::mlir::Attribute", "withWeightIndex", (ins "int64_t":$index)>,
  ];
}

def QK_RowNormOpInterface : OpInterface<"RowNormOpInterface"> {
  let cppNamespace = "::mlir::qk";
  let description = [{
    An op that normalises every row (the last dimension) of its input on its
    own and writes an init of the same shape (destination style). What it
    does to one row is one group step (`getGroupStep`), whose weight index
    is 0 for the op's weight and -1 without one.
  }];
  let methods = [
    InterfaceMethod<"The rows to normalise.", "::mlir::Value", "getNormInput">,
    InterfaceMethod<"The per-column weight, or a null value.", "::mlir::Value",
                    "getNormWeight">,
    InterfaceMethod<"Size of a row (the last dimension); may be dynamic.",
                    "int64_t", "getRowSize">,
    InterfaceMethod<"What the op does to one row, as a group step.",
                    "::mlir::qk::GroupStepAttrInterface", "getGroupStep">,
  ];
}

#endif // QK_DIALECT_QK_IR_QKINTERFACES_TD
