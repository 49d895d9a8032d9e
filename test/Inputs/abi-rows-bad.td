// An ABI row whose word names a parameter the attribute lacks
// (test/Tools/abi-rows.test): qk-tblgen stops with the row's location.
include "mlir/IR/AttrTypeBase.td"
include "qk/Dialect/QK/IR/QKAbi.td"

def Bad_Dialect : Dialect {
  let name = "bad";
}

def Bad_StepAttr : AttrDef<Bad_Dialect, "BadStep">,
    QK_AbiRow<"qk_bad_t", "qk_ciface_bad_t", "QK_CIFACE_BAD_WORDS", "bad "> {
  let mnemonic = "step";
  let assemblyFormat = "`<` $size `>`";
  let parameters = (ins "int64_t":$size);
  let abiStructMembers = [QK_AbiMember<"size", QK_AbiI64>];
  let abiWords = [QK_AbiParam<"size", QK_AbiI64>,
                  QK_AbiParam<"scale", QK_AbiF32>];
}
