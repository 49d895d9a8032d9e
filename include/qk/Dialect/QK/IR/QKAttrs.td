//===- QKAttrs.td - qk dialect attributes ------------------*- tablegen -*-===//

#ifndef QK_DIALECT_QK_IR_QKATTRS_TD
#define QK_DIALECT_QK_IR_QKATTRS_TD

include "qk/Dialect/QK/IR/QKDialect.td"
include "qk/Dialect/QK/IR/QKAbi.td"
include "qk/Dialect/QK/IR/QKInterfaces.td"
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

// The RoPE codes are rows of the same table (QK_ROPE_STYLE and
// QK_ROPE_ROUNDING in Codes.def), tied to it the same way.
def QK_RopeStyleNeox : I32EnumAttrCase<"Neox", 0, "neox">;
def QK_RopeStyleGPTJ : I32EnumAttrCase<"GPTJ", 1, "gptj">;
def QK_RopeStyle : I32EnumAttr<"RopeStyle",
    "which element a rotated element pairs with",
    [QK_RopeStyleNeox, QK_RopeStyleGPTJ]> {
  let cppNamespace = "::mlir::qk";
  let genSpecializedAttr = 0;
}

def QK_RopeRoundingPerOp : I32EnumAttrCase<"PerOp", 0, "per_op">;
def QK_RopeRoundingOnce : I32EnumAttrCase<"Once", 1, "once">;
def QK_RopeRounding : I32EnumAttr<"RopeRounding",
    "where a rotation rounds to the element type",
    [QK_RopeRoundingPerOp, QK_RopeRoundingOnce]> {
  let cppNamespace = "::mlir::qk";
  let genSpecializedAttr = 0;
}

// An f32 parameter printed and parsed as a bare float literal.
class QK_F32Parameter<string desc, string default = "">
    : APFloatParameter<desc> {
  let parser = [{ ::mlir::qk::parseF32Parameter($_parser) }];
  let printer = [{ ::mlir::qk::printF32Parameter($_printer, $_self) }];
  let defaultValue = default;
}

//===----------------------------------------------------------------------===//
// Group steps (GroupStepAttrInterface)
//===----------------------------------------------------------------------===//

def QK_RMSStepAttr : AttrDef<QK_Dialect, "RMSStep", [
    DeclareAttrInterfaceMethods<QK_GroupStepAttrInterface>]>,
    QK_AbiRow<"qk_norm_range_t", "qk_ciface_range_t", "QK_CIFACE_RANGE_WORDS",
              "range %d: "> {
  let mnemonic = "rms";
  let summary = "group step: RMS-normalise the group";
  let description = [{
    The group is normalised as `qk.rms_norm` normalises a row: fp32 mean of
    the squares, `rsqrt(mean + epsilon)`, times `weight_offset + w` where `w`
    is the fused op's weight operand `weight` (absent or -1: no weight, the
    factor is 1), rounded as `rounding` says. The formula is stated once for
    the runtimes in `include/qk/Runtime/Epilogue.h`.

    ```mlir
    #qk.rms<epsilon = 1.0e-06, weight = 0, rounding = before_weight>
    ```
  }];
  let parameters = (ins
    QK_F32Parameter<"epsilon">:$epsilon,
    DefaultValuedParameter<"int64_t", "-1",
                           "index of the weight operand, -1 for none">:$weight,
    QK_F32Parameter<"weight offset", "::llvm::APFloat(0.0f)">:$weight_offset,
    DefaultValuedParameter<"::mlir::qk::RoundingMode",
                           "::mlir::qk::RoundingMode::Once",
                           "rounding order">:$rounding
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;

  // The ABI (QKAbi.td): a range normalised by this step is a
  // qk_norm_range_t, and a row of the range table of compiled code. The
  // geometry and the weight's view come from the range and the op.
  let abiStructDoc = [{
    One normalised column range of a row: num_groups groups of group_size
    elements, the first at column_offset, each group_stride elements after
    the previous one (group_stride == group_size for packed heads,
    > group_size for interleaved layouts).
  }];
  let abiStructMembers = [
    QK_AbiMember<"column_offset", QK_AbiI64>,
    QK_AbiMember<"num_groups", QK_AbiI64>,
    QK_AbiMember<"group_size", QK_AbiI64>,
    QK_AbiMember<"group_stride", QK_AbiI64>,
    QK_AbiViewMember<"weight", QK_AbiPtr,
                     "group_size elements, or NULL (no weight)">,
    QK_AbiMember<"weight_dtype", QK_AbiDtype,
                 "the activation dtype or QK_DTYPE_F32">,
    QK_AbiMember<"epsilon", QK_AbiF32>,
    QK_AbiMember<"weight_offset", QK_AbiF32, "0, or 1 for Gemma's (1 + w)">,
    QK_AbiMember<"rounding", QK_AbiRounding>
  ];
  let abiRowDoc = [{
    One row of the range table of the entry points of compiled code:
    qk_norm_range_t as twelve 64-bit words, so that compiled code can build
    it with plain i64 stores into a memref<Nx12xi64> (64-bit targets only,
    like MLIR's descriptors; floats travel as their bit patterns, which
    keeps the row free of endianness-dependent packing). The weight is its
    rank-1 memref view (the fields of a qk_memref_1d_t except `allocated`,
    which the runtime never reads).
  }];
  let abiWords = [
    QK_AbiWord<"column_offset", QK_AbiI64>,
    QK_AbiWord<"num_groups", QK_AbiI64>,
    QK_AbiWord<"group_size", QK_AbiI64>,
    QK_AbiWord<"group_stride", QK_AbiI64>,
    QK_AbiParam<"epsilon", QK_AbiF32>,
    QK_AbiParam<"weight_offset", QK_AbiF32>,
    QK_AbiParam<"rounding", QK_AbiRounding>,
    QK_AbiWord<"weight_dtype", QK_AbiDtype,
               "the activation dtype or f32">,
    QK_AbiWord<"weight_aligned", QK_AbiPtr>,
    QK_AbiWord<"weight_memref_offset", QK_AbiI64,
               "elements from weight_aligned">,
    QK_AbiWord<"weight_size", QK_AbiI64, "0: no weight; else group_size">,
    QK_AbiWord<"weight_stride", QK_AbiI64,
               "1 (or anything if weight_size <= 1)">
  ];
  let extraClassDeclaration = [{
    /// Whether the step multiplies by a weight.
    bool hasWeight() const { return getWeight() >= 0; }
  }];
}

def QK_RopeStepAttr : AttrDef<QK_Dialect, "RopeStep", [
    DeclareAttrInterfaceMethods<QK_GroupStepAttrInterface>]>,
    QK_AbiRow<"qk_rope_t", "qk_ciface_rope_t", "QK_CIFACE_ROPE_WORDS",
              "rope "> {
  let mnemonic = "rope";
  let summary = "group step: rotate every head of the group (RoPE)";
  let description = [{
    Every head of `head_dim` elements of the group (0: the whole group) is
    rotated as rotary position embedding: elements `j < rotary_dim` pair
    with a partner `p` (`neox`: `j +- rotary_dim / 2`, `rotate_half`;
    `gptj`: `j ^ 1`, interleaved pairs), the rest pass through:

    ```
    r_j = v_j * c + sign_j * v_p * s     (sign -1 for the first of a pair)
    c = cos[row, cos_column + col], s = sin[row, sin_column + col]
    col = per_pair ? frequency index (neox j % (rotary_dim/2), gptj j/2) : j
    row = the fused op's `positions`[t] if it has them, else the token t
    ```

    `cos` and `sin` index the fused op's `tables` (2-D, the element type or
    f32; they may be the same table, e.g. vLLM's `cos | sin` cache).
    `rounding = per_op` rounds each product and the sum to the element type,
    as a graph in the element type computes it; `once` computes in f32 and
    rounds once. The step reads the group as the previous step left it:
    after `#qk.rms` it reads the rounded norm output, before it the input.
    The formula is stated once for the runtimes in
    `include/qk/Runtime/Epilogue.h`, the ABI in `docs/rope-abi.md`.

    ```mlir
    #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0,
             cos_column = 0, sin_column = 64, per_pair = true,
             rounding = per_op>
    ```
  }];
  let parameters = (ins
    "::mlir::qk::RopeStyle":$style,
    "int64_t":$rotary_dim,
    DefaultValuedParameter<"int64_t", "0",
                           "head size inside the group, 0: the group">:$head_dim,
    "int64_t":$cos,
    "int64_t":$sin,
    DefaultValuedParameter<"int64_t", "0", "first column of cos">:$cos_column,
    DefaultValuedParameter<"int64_t", "0", "first column of sin">:$sin_column,
    DefaultValuedParameter<"bool", "true",
                           "one table column per frequency">:$per_pair,
    DefaultValuedParameter<"::mlir::qk::RopeRounding",
                           "::mlir::qk::RopeRounding::Once",
                           "rounding">:$rounding
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;

  // The ABI (QKAbi.td, docs/rope-abi.md): qk_rope_t of the C entry point,
  // and the rope row of compiled code. The order, the head size in the
  // group, the rotated ranges and the tables' and positions' views come
  // from the range and the op.
  let abiStructDoc = [{
    The rotary embedding of qk_fused_rms_norm_rope (docs/rope-abi.md). Every
    head of head_dim elements of a rotated group rotates its first
    rotary_dim elements by the angles of table row positions[t] (or t);
    the other elements pass through.
  }];
  let abiStructMembers = [
    QK_AbiMember<"style", QK_AbiRopeStyle>,
    QK_AbiMember<"rounding", QK_AbiRopeRounding>,
    QK_AbiMember<"before_norm", QK_AbiFlag,
                 "0: norm then rotate; 1: rotate then norm">,
    QK_AbiMember<"per_pair", QK_AbiFlag,
                 "1: table column = frequency index f; 0: j">,
    QK_AbiMember<"head_dim", QK_AbiI64,
                 "divides group_size of every rotated range">,
    QK_AbiMember<"rotary_dim", QK_AbiI64, "even, 2 <= rotary_dim <= head_dim">,
    QK_AbiViewMember<"cos", QK_AbiPtr, "element (0, 0) of the cos table view">,
    QK_AbiViewMember<"sin", QK_AbiPtr,
                     "element (0, 0) of the sin table view (may equal cos)">,
    QK_AbiMember<"table_dtype", QK_AbiDtype,
                 "the activation dtype or QK_DTYPE_F32 (both)">,
    QK_AbiViewMember<"table_rows", QK_AbiI64, "rows of both views">,
    QK_AbiViewMember<"table_columns", QK_AbiI64,
                     "columns of both views (column stride 1)">,
    QK_AbiMember<"cos_row_stride", QK_AbiI64, "elements">,
    QK_AbiMember<"sin_row_stride", QK_AbiI64>,
    QK_AbiMember<"cos_column", QK_AbiI64, "first column read from cos">,
    QK_AbiMember<"sin_column", QK_AbiI64>,
    QK_AbiViewMember<"positions", QK_AbiPtr,
                     "num_tokens entries, or NULL: row = token index">,
    QK_AbiMember<"positions_dtype", QK_AbiIndex>
  ];
  let abiRowDoc = [{
    The rope row of the version-3 entry points of compiled code: the fields
    of qk_rope_t, rotated_ranges, and the cos/sin/positions views as rank-2
    and rank-1 memref fields without `allocated`, as 27 int64 words behind
    a memref<27xi64> descriptor.
  }];
  let abiWords = [
    QK_AbiParam<"style", QK_AbiRopeStyle>,
    QK_AbiParam<"rounding", QK_AbiRopeRounding>,
    QK_AbiWord<"before_norm", QK_AbiFlag>,
    QK_AbiParam<"per_pair", QK_AbiFlag>,
    QK_AbiWord<"head_dim", QK_AbiI64>,
    QK_AbiParam<"rotary_dim", QK_AbiI64>,
    QK_AbiWord<"rotated_ranges", QK_AbiU32, "bit r = range r">,
    QK_AbiWord<"table_dtype", QK_AbiDtype>,
    QK_AbiWord<"cos_aligned", QK_AbiPtr>,
    QK_AbiWord<"cos_offset", QK_AbiI64, "elements from cos_aligned">,
    QK_AbiWord<"cos_rows", QK_AbiI64>,
    QK_AbiWord<"cos_columns", QK_AbiI64>,
    QK_AbiWord<"cos_row_stride", QK_AbiI64>,
    QK_AbiWord<"cos_column_stride", QK_AbiI64,
               "1 (or anything if cos_columns <= 1)">,
    QK_AbiWord<"sin_aligned", QK_AbiPtr>,
    QK_AbiWord<"sin_offset", QK_AbiI64>,
    QK_AbiWord<"sin_rows", QK_AbiI64, "== cos_rows">,
    QK_AbiWord<"sin_columns", QK_AbiI64, "== cos_columns">,
    QK_AbiWord<"sin_row_stride", QK_AbiI64>,
    QK_AbiWord<"sin_column_stride", QK_AbiI64>,
    QK_AbiParam<"cos_column", QK_AbiI64>,
    QK_AbiParam<"sin_column", QK_AbiI64>,
    QK_AbiWord<"positions_dtype", QK_AbiIndex>,
    QK_AbiWord<"positions_aligned", QK_AbiPtr,
               "NULL: no positions (row = token)">,
    QK_AbiWord<"positions_offset", QK_AbiI64>,
    QK_AbiWord<"positions_size", QK_AbiI64, "the tokens of `in`">,
    QK_AbiWord<"positions_stride", QK_AbiI64,
               "1 (or anything if size <= 1)">
  ];
  let extraClassDeclaration = [{
    /// The head size in a group of `groupSize` elements.
    int64_t getHeadDimIn(int64_t groupSize) const {
      return getHeadDim() ? getHeadDim() : groupSize;
    }
    /// Table columns the step reads from `cos` (and from `sin`).
    int64_t getTableColumnsRead() const {
      return getPerPair() ? getRotaryDim() / 2 : getRotaryDim();
    }
  }];
}

//===----------------------------------------------------------------------===//
// Ranges
//===----------------------------------------------------------------------===//

def QK_NormRangeAttr : AttrDef<QK_Dialect, "NormRange"> {
  let mnemonic = "range";
  let summary = "one column range of a fused qkv row and what happens to it";
  let description = [{
    `num_groups` groups of `group_size` columns starting at `column_offset`
    of every row of the qkv buffer, each `group_stride` columns after the
    previous one (omitted or 0: packed, `group_size`). Every group goes
    through `steps` in order, on its own (a head, or the whole projection
    width for OLMo2): each step is an attribute implementing
    `GroupStepAttrInterface`: exactly one `#qk.rms`, and at most one
    `#qk.rope` before or after it.
    Strided groups are heads that sit between other columns, e.g.
    Qwen3-Next's q heads, `D` wide and `2 * D` apart between the gate heads.

    A range whose only step is `#qk.rms` is written with the step's
    parameters inline (the form every producer emits and prints):

    ```mlir
    #qk.range<column_offset = 0, num_groups = 32, group_size = 128,
              epsilon = 1.0e-06, weight = 0>
    // the same range, its step list spelled out:
    #qk.range<column_offset = 0, num_groups = 32, group_size = 128,
              steps = [#qk.rms<epsilon = 1.0e-06, weight = 0>]>
    ```
  }];
  let parameters = (ins
    "int64_t":$column_offset,
    "int64_t":$num_groups,
    "int64_t":$group_size,
    "int64_t":$group_stride,
    ArrayRefParameter<"::mlir::Attribute", "the group steps, in order">:$steps
  );
  let builders = [
    // A range with one #qk.rms step (the parameters of the inline form).
    AttrBuilder<(ins "int64_t":$column_offset, "int64_t":$num_groups,
                     "int64_t":$group_size, "::llvm::APFloat":$epsilon,
                     "int64_t":$weight, "::llvm::APFloat":$weight_offset,
                     "::mlir::qk::RoundingMode":$rounding,
                     "int64_t":$group_stride), [{
      ::mlir::Attribute step = RMSStepAttr::get($_ctxt, epsilon, weight,
                                                weight_offset, rounding);
      return $_get($_ctxt, column_offset, num_groups, group_size, group_stride,
                   ::llvm::ArrayRef<::mlir::Attribute>(step));
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
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

    /// The range's norm step (the verifier guarantees exactly one).
    RMSStepAttr getRMSStep() const;
    /// The range's rotation, or null.
    RopeStepAttr getRopeStep() const;
    /// Whether the rotation comes before the norm.
    bool isRopeFirst() const;
    /// The norm step's parameters (the inline form's).
    ::llvm::APFloat getEpsilon() const { return getRMSStep().getEpsilon(); }
    int64_t getWeight() const { return getRMSStep().getWeight(); }
    ::llvm::APFloat getWeightOffset() const {
      return getRMSStep().getWeightOffset();
    }
    RoundingMode getRounding() const { return getRMSStep().getRounding(); }
    /// Whether the range multiplies by a weight.
    bool hasWeight() const { return getWeight() >= 0; }
    /// The same geometry with other steps.
    NormRangeAttr withSteps(::llvm::ArrayRef<::mlir::Attribute> steps) const;
  }];
}

#endif // QK_DIALECT_QK_IR_QKATTRS_TD
