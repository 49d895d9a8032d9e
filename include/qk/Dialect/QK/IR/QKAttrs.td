//===- QKAttrs.td - qk dialect attributes ------------------*- tablegen -*-===//

#ifndef QK_DIALECT_QK_IR_QKATTRS_TD
#define QK_DIALECT_QK_IR_QKATTRS_TD

include "qk/Dialect/QK/IR/QKDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

// The rounding orders are rows of the runtime's one table of codes,
// include/qk/Runtime/Codes.def (QK_ROUNDING(NAME, CODE, MNEMONIC, ODS_NAME)):
// a case here needs a row there with the same value, mnemonic and case name.
// Checked by static_asserts in lib/Conversion/LowerToKernelCall.cpp (values,
// no case beyond the table's) and python/tests/test_codes.py (names).
def QK_RoundingOnce : I32EnumAttrCase<"Once", 0, "once">;
def QK_RoundingBeforeWeight
    : I32EnumAttrCase<"BeforeWeight", 1, "before_weight">;

def QK_RoundingMode : I32EnumAttr<"RoundingMode",
    "where the normalised value is rounded to the element type",
    [QK_RoundingOnce, QK_RoundingBeforeWeight]> {
  let cppNamespace = "::mlir::qk";
  let genSpecializedAttr = 0;
}

def QK_RoundingModeAttr : EnumAttr<QK_Dialect, QK_RoundingMode, "rounding"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "rounding order of an RMSNorm";
  let description = [{
    `once`: the normalised value is multiplied by the weight in fp32 and
    rounded to the element type once (Gemma, sglang's kernels).
    `before_weight`: the normalised value is rounded to the element type,
    then multiplied by the weight in the element type, which rounds again
    (Hugging Face Qwen3/Llama: `weight * x.to(input_dtype)`). The two agree
    for f32.
  }];
}

// An f32 parameter printed and parsed as a bare float literal.
class QK_F32Parameter<string desc, string default = "">
    : APFloatParameter<desc> {
  let parser = [{ ::mlir::qk::parseF32Parameter($_parser) }];
  let printer = [{ ::mlir::qk::printF32Parameter($_printer, $_self) }];
  let defaultValue = default;
}

def QK_NormRangeAttr : AttrDef<QK_Dialect, "NormRange"> {
  let mnemonic = "range";
  let summary = "one normalised column range of a fused qkv row";
  let description = [{
    `num_groups` groups of `group_size` columns starting at `column_offset`
    of every row of the qkv buffer, each `group_stride` columns after the
    previous one (omitted or 0: packed, `group_size`); each group is
    normalised on its own (a head, or the whole projection width for OLMo2).
    Strided groups are heads that sit between other columns, e.g. Qwen3-Next's
    q heads, `D` wide and `2 * D` apart between the gate heads.
    `weight` is the index of the weight operand of the fused op used by this
    range, or absent for a weight-less norm. `epsilon`, `weight_offset` and
    `rounding` have the meaning they have on `qk.rms_norm`.

    ```mlir
    #qk.range<column_offset = 0, num_groups = 32, group_size = 128,
              epsilon = 1.0e-06, weight = 0>
    ```
  }];
  let parameters = (ins
    "int64_t":$column_offset,
    "int64_t":$num_groups,
    "int64_t":$group_size,
    QK_F32Parameter<"epsilon">:$epsilon,
    DefaultValuedParameter<"int64_t", "-1",
                           "index of the weight operand, -1 for none">:$weight,
    QK_F32Parameter<"weight offset", "::llvm::APFloat(0.0f)">:$weight_offset,
    DefaultValuedParameter<"::mlir::qk::RoundingMode",
                           "::mlir::qk::RoundingMode::Once",
                           "rounding order">:$rounding,
    DefaultValuedParameter<"int64_t", "0",
                           "columns from one group's start to the next; 0 "
                           "for packed groups (group_size)">:$group_stride
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of columns the range normalises in every row.
    int64_t getWidth() const { return getNumGroups() * getGroupSize(); }
    /// Columns from one group's start to the next.
    int64_t getGroupPitch() const {
      return getGroupStride() ? getGroupStride() : getGroupSize();
    }
    /// Whether the groups are packed (no columns between them).
    bool isPacked() const { return getGroupPitch() == getGroupSize(); }
    /// Columns from the first group's start to the last group's end.
    int64_t getSpan() const {
      return (getNumGroups() - 1) * getGroupPitch() + getGroupSize();
    }
    /// One past the last column of the range.
    int64_t getColumnEnd() const { return getColumnOffset() + getSpan(); }
    /// Whether the two ranges share a column (exact for interleaved
    /// strided ranges; the runtime's test, include/qk/Runtime/RangeOverlap.h).
    bool overlaps(NormRangeAttr other) const;
    /// Whether the range multiplies by a weight.
    bool hasWeight() const { return getWeight() >= 0; }
  }];
}

#endif // QK_DIALECT_QK_IR_QKATTRS_TD
