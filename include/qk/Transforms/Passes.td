//===- Passes.td - qk transformation passes ----------------*- tablegen -*-===//

#ifndef QK_TRANSFORMS_PASSES_TD
#define QK_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def QKRaiseRMSNorm : Pass<"qk-raise-rms-norm"> {
  let summary = "Raise decomposed RMSNorm in linalg to qk.rms_norm";
  let description = [{
    Recognises an RMSNorm written as upstream `linalg.generic`s, the way
    torch-mlir lowers `aten.rms_norm` and a hand-written PyTorch RMSNorm
    (`x.float()`, `pow(2).mean(-1, keepdim=True)`, `+ eps`, `rsqrt`, `x * r`,
    optional `.to(dtype)`, optional `w *` or `(1 + w) *`), either one generic
    per step or after `--linalg-fuse-elementwise-ops`, and replaces it with
    one `qk.rms_norm` carrying the graph's epsilon, weight offset and
    rounding order.

    The matcher evaluates the generics symbolically, backwards from the
    elementwise root, and accepts only exact RMSNorms: a sum of squares over
    the last dimension with a zero init, divided by the static size of that
    dimension, plus epsilon inside the rsqrt, all in fp32. Anything else
    (another divisor, epsilon outside the rsqrt, a reduction over another
    dimension, arithmetic in bf16, a weight indexed by row, ...) is left
    alone with a missed-optimisation remark that gives the reason.

    ```mlir
    // before: 7 generics (extf, square, sum, div, +eps, rsqrt, mul, truncf)
    // after:
    %y = qk.rms_norm ins(%x : tensor<?x128xbf16>)
           outs(%init : tensor<?x128xbf16>) epsilon(9.99999997E-7)
           -> tensor<?x128xbf16>
    ```
  }];
  let dependentDialects = ["::mlir::qk::QKDialect"];
  let statistics = [
    Statistic<"numRaised", "raised", "RMSNorms raised to qk.rms_norm">,
    Statistic<"numRejected", "rejected",
              "reduction candidates that were not an exact RMSNorm">
  ];
}

def QKFuseStridedQKNorm : Pass<"qk-fuse-strided-qk-norm"> {
  let summary = "Fuse QK RMSNorms on strided slices of a fused qkv buffer "
                "into one in-place qk.fused_qk_norm";
  let description = [{
    Finds `qk.rms_norm`s whose input is a row-major reinterpretation
    (expand/collapse_shape, `tensor.reshape`, `tensor.cast`, possibly behind
    an explicit copy: `linalg.copy` into `tensor.empty`, or
    `bufferization.materialize_in_destination`) of a view of a qkv tensor
    (unit-stride `tensor.extract_slice`s and reshapes that keep the token
    dimension apart), and replaces all such norms of one qkv value (q and k
    of one attention block) with ONE `qk.fused_qk_norm` whose init is the
    whole qkv tensor. The groups are derived from the buffer layout of the
    view (`include/qk/Analysis/QKVViews.h`): packed heads, full-width
    groups, heads `group_stride` apart (Qwen3-Next's q between its gate
    heads), or heads interleaved per KV group (one range per KV group).
    Every value that reads a norm result is rebuilt directly as a view of
    the fused result (a `tensor.reshape` whose types prove that it keeps the
    token count becomes expand/collapse views), readers of columns no norm
    touches (v, a gate) read the fused result, and one-shot bufferization
    writes in place.

    Legality, each a reason in the remark when it fails: every token row is
    covered (slice offset 0 and full size on dimension 0), unit strides,
    static column offsets and sizes, the normalised groups are contiguous
    columns of one token (they never cross token rows), at most
    `QK_MAX_RANGES` ranges per qkv, weights are visible where the fused op
    goes, the element type is bf16, f16 or f32, and the ranges of one qkv
    are disjoint. Bufferization must not copy more afterwards: a site is
    fused only if the reads of its results can be rebuilt with no more
    copies than its input chain had, and a block whose pre-norm q/k columns
    are still read (which makes bufferization copy qkv) is fused only when
    that copy replaces at least as many; otherwise it is left alone with the
    reason.

    Every fused site is reported with a passed remark that says what
    bufferization will do (e.g. `fused QK RMSNorm: 32 q + 8 k heads,
    head_dim 128, copy removed`, `..., in place`, or `...; bufferization
    still copies the normalised values for 'func.return' (...)`) and every
    rejected candidate with a missed remark giving the reason.
  }];
  let dependentDialects = ["::mlir::qk::QKDialect",
                           "::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFusedSites", "fused-sites",
              "qk.fused_qk_norm ops created (attention blocks)">,
    Statistic<"numFusedNorms", "fused-norms",
              "qk.rms_norm ops folded into a fused op">,
    Statistic<"numRejected", "rejected",
              "qk.rms_norm candidates left alone">,
    Statistic<"numCopiesKept", "copies-kept",
              "fused sites where the pre-norm q/k columns are still read, "
              "so bufferization copies qkv (replacing more copies)">
  ];
}

def QKFuseRoPE : Pass<"qk-fuse-rope"> {
  let summary = "Fuse the rotary embedding (RoPE) of the heads a "
                "qk.fused_qk_norm normalises into it, as a #qk.rope step";
  let description = [{
    Finds, for every `qk.fused_qk_norm` on tensors, the rotary embeddings
    applied to its normalised heads, in the forms producers emit: NeoX
    `rotate_half` (slices, a negation and a `tensor.concat`), GPT-J
    interleaved pairs, or one generic reading the partner element; partial
    rotary (the rest of the head passed through); cos and sin as per-token
    tensors or gathered from a cache by positions. Every element of a
    candidate is evaluated symbolically (`include/qk/Analysis/RoPEMatcher.h`),
    so a rotation is fused only if each element is exactly
    `x * cos + sign * partner * sin` of its own head, and the rounding points
    of the graph (after every operation in the element type, or once after
    f32 arithmetic) are kept in the step.

    The rotated ranges get a `#qk.rope` step after their `#qk.rms`, the
    tables and positions become operands of the op (one kernel launch
    normalises and rotates q and k in place), the readers of each rotation
    read the view it rotated, and the rotation's ops (the cache gather, the
    slices and concatenations of `rotate_half`, the products) are erased.

    Legality, each a reason in a missed remark: one rotation for all heads
    of the op; whole ranges rotated; tables and positions defined before the
    norm; nothing else reads the un-rotated heads (they are rewritten in
    place); a rotation that reads another head's or another token's
    columns, or rounds differently, is not RoPE and stays.
  }];
  let dependentDialects = ["::mlir::qk::QKDialect",
                           "::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numFusedRotations", "fused-rotations",
              "qk.fused_qk_norm ops that absorbed a rotation">
  ];
}

def QKDecompose : Pass<"qk-decompose"> {
  let summary = "Decompose qk ops into upstream linalg";
  let description = [{
    Replaces `qk.rms_norm` and `qk.fused_qk_norm` (on tensors or memrefs)
    with their decomposition into `linalg.generic`, `tensor`/`memref`
    slicing and reshapes: the fallback when no kernel is called, and the CPU
    lowering.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // QK_TRANSFORMS_PASSES_TD
