//===- QKOps.td - qk dialect operations --------------------*- tablegen -*-===//

#ifndef QK_DIALECT_QK_IR_QKOPS_TD
#define QK_DIALECT_QK_IR_QKOPS_TD

include "qk/Dialect/QK/IR/QKDialect.td"
include "qk/Dialect/QK/IR/QKAttrs.td"
include "qk/Dialect/QK/IR/QKInterfaces.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

def QK_RMSNormOp : QK_Op<"rms_norm", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<QK_RowNormOpInterface>,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>
  ]> {
  let summary = "RMSNorm over the last dimension";
  let description = [{
    Normalises every row (the last dimension) of `input` and writes `init`:

    ```
    r = rsqrt(sum_i float(x_i)^2 / N + epsilon)        (fp32 accumulation)
    once:          y_i = round(float(x_i) * r * (weight_offset + float(w_i)))
    before_weight: y_i = round(float(round(float(x_i) * r))
                                * (weight_offset + float(w_i)))
    ```

    `round` converts fp32 to the element type. Without `weight` the factor
    `weight_offset + w_i` is 1 (Llama4's weight-less QK norm). Gemma's
    `x * (1 + w)` has `weight_offset = 1.0`. `rounding` records where the
    input graph rounds (see `#qk.rounding`), so the rewrite never changes
    results.

    Tensors (one result) or memrefs (no result):

    ```mlir
    %y = qk.rms_norm ins(%x : tensor<?x128xbf16>)
           weight(%w : tensor<128xbf16>)
           outs(%init : tensor<?x128xbf16>) epsilon(1.0e-06)
           {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
    ```
  }];
  let arguments = (ins
    AnyShaped:$input,
    Optional<AnyShaped>:$weight,
    AnyShaped:$init,
    F32Attr:$epsilon,
    DefaultValuedAttr<F32Attr, "0.0f">:$weight_offset,
    DefaultValuedAttr<QK_RoundingModeAttr,
                      "::mlir::qk::RoundingMode::Once">:$rounding
  );
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    `ins` `(` $input `:` type($input) `)`
    (`weight` `(` $weight^ `:` type($weight) `)`)?
    `outs` `(` $init `:` type($init) `)`
    `epsilon` `(` $epsilon `)` attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getInitMutable(); }
    /// The input's shaped type.
    ShapedType getInputType() { return cast<ShapedType>(getInput().getType()); }
    /// Size of the normalised (last) dimension; may be dynamic.
    int64_t getNormalizedSize() {
      return getInputType().getShape().back();
    }
  }];
}

//===----------------------------------------------------------------------===//
// fused_qk_norm
//===----------------------------------------------------------------------===//

def QK_FusedQKNormOp : QK_Op<"fused_qk_norm", [
    AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>
  ]> {
  let summary = "in-place RMSNorm of column ranges of a fused qkv buffer";
  let description = [{
    Normalises the column ranges `ranges` of every token row of `qkv` (the
    whole fused projection, `[T, C]` or `[T, H, D]`, columns counted over the
    flattened trailing dimensions) and leaves every other element unchanged.
    Each `#qk.range` is `num_groups` groups of `group_size` columns; each
    group goes through the range's steps (today one `#qk.rms`: normalised as
    `qk.rms_norm` would normalise it, with the step's epsilon, weight (an
    index into `weights`), weight offset and rounding).

    A `#qk.rope` step rotates the heads of its groups with cos/sin values
    from `tables` (2-D: [rows, columns], the element type or f32), row
    `positions[t]` for token `t` when the op has `positions` (1-D, i32 or
    i64, one per token), else row `t`:

    ```mlir
    %r = qk.fused_qk_norm ins(%wq, %wk : tensor<128xbf16>, tensor<128xbf16>)
           tables(%cache : tensor<40960x128xbf16>)
           positions(%pos : tensor<?xi64>)
           outs(%qkv : tensor<?x6144xbf16>)
           ranges [#qk.range<column_offset = 0, num_groups = 32,
                             group_size = 128, steps = [
                     #qk.rms<epsilon = 1.0e-06, weight = 0>,
                     #qk.rope<style = neox, rotary_dim = 128, cos = 0,
                              sin = 0, sin_column = 64, rounding = per_op>]>,
                   ...] -> tensor<?x6144xbf16>
    ```

    `qkv` is the init: on tensors the result is the updated qkv and one-shot
    bufferization writes it into qkv's own buffer; on memrefs the op writes
    `qkv` in place. The lowering turns one op into one kernel launch.

    ```mlir
    %r = qk.fused_qk_norm ins(%wq, %wk : tensor<128xbf16>, tensor<128xbf16>)
           outs(%qkv : tensor<?x6144xbf16>)
           ranges [#qk.range<column_offset = 0, num_groups = 32,
                             group_size = 128, epsilon = 1.0e-06, weight = 0>,
                   #qk.range<column_offset = 4096, num_groups = 8,
                             group_size = 128, epsilon = 1.0e-06, weight = 1>]
           -> tensor<?x6144xbf16>
    ```
  }];
  let arguments = (ins
    Variadic<AnyShaped>:$weights,
    Variadic<AnyShaped>:$tables,
    Optional<AnyShaped>:$positions,
    AnyShaped:$qkv,
    TypedArrayAttrBase<QK_NormRangeAttr, "normalised column ranges">:$ranges
  );
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let builders = [
    // Norm only: no tables, no positions.
    OpBuilder<(ins "::mlir::TypeRange":$result, "::mlir::ValueRange":$weights,
                   "::mlir::Value":$qkv, "::mlir::ArrayAttr":$ranges), [{
      build($_builder, $_state, result, weights, ::mlir::ValueRange{},
            ::mlir::Value(), qkv, ranges);
    }]>
  ];
  let assemblyFormat = [{
    (`ins` `(` $weights^ `:` type($weights) `)`)?
    (`tables` `(` $tables^ `:` type($tables) `)`)?
    (`positions` `(` $positions^ `:` type($positions) `)`)?
    `outs` `(` $qkv `:` type($qkv) `)`
    `ranges` $ranges attr-dict (`->` type($result)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getQkvMutable(); }
    ShapedType getQkvType() { return cast<ShapedType>(getQkv().getType()); }
    /// The ranges as typed attributes.
    SmallVector<NormRangeAttr> getNormRanges() {
      return llvm::to_vector(getRanges().getAsRange<NormRangeAttr>());
    }
    /// Number of columns of a row: the product of the trailing dimensions,
    /// or ShapedType::kDynamic.
    int64_t getNumColumns();
  }];
}

#endif // QK_DIALECT_QK_IR_QKOPS_TD
