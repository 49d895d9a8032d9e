//===- QKTransformOps.td - qk transform dialect ops --------*- tablegen -*-===//
//
// Pattern descriptors for transform.apply_patterns, so that a transform
// script can schedule the qk rewrites on the payload ops it chooses instead
// of running the passes on a whole module.
//
//===----------------------------------------------------------------------===//

#ifndef QK_TRANSFORMOPS_QKTRANSFORMOPS_TD
#define QK_TRANSFORMOPS_QKTRANSFORMOPS_TD

include "mlir/Dialect/Transform/IR/TransformDialect.td"
include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.td"
include "mlir/IR/OpBase.td"

// Outside transform.apply_patterns a descriptor is an op that is not a
// transform, which the MLIR 22 interpreter does not diagnose but crashes on
// (llvm-project#117281); the parent constraint turns that into a verifier
// error.
class QKPatternsOp<string mnemonic>
    : Op<Transform_Dialect, "apply_patterns.qk." # mnemonic,
         [DeclareOpInterfaceMethods<PatternDescriptorOpInterface>,
          HasParent<"::mlir::transform::ApplyPatternsOp">]> {
  let assemblyFormat = "attr-dict";
}

def ApplyQKRaiseRMSNormPatternsOp : QKPatternsOp<"raise_rms_norm"> {
  let summary = "Raise decomposed linalg RMSNorms to qk.rms_norm";
  let description = [{
    Collects the patterns of `qk-raise-rms-norm` (the same matcher): an
    elementwise `linalg.generic` root that, together with the generics
    feeding it, computes exactly
    `round(float(x) * rsqrt(sum(float(x)^2) / N + eps) [* (c + float(w))])`
    is replaced by one `qk.rms_norm`; the generics that fed it die unless
    something else uses them. Everything the pass rejects is left alone.

    The patterns emit the pass's `Raised` and `NotRaised` remarks (same
    text and arguments), but no `Summary`; a greedy driver retries an op
    after the IR around it changed, so a rejected candidate may report more
    than once (`--remark-policy=final` keeps the last). Unlike the pass, a
    root is raised whenever the greedy driver reaches it unless its only
    user is a larger RMSNorm (so a partial `x * r` is not raised without its
    weight multiply).

    ```mlir
    transform.apply_patterns to %func {
      transform.apply_patterns.qk.raise_rms_norm
    } : !transform.any_op
    ```
  }];
}

def ApplyQKFuseStridedQKNormPatternsOp : QKPatternsOp<"fuse_strided_qk_norm"> {
  let summary = "Fuse qk.rms_norm on strided qkv slices into "
                "qk.fused_qk_norm";
  let description = [{
    Collects the patterns of `qk-fuse-strided-qk-norm`: each `qk.rms_norm`
    that passes the pass's per-norm legality checks (a reshaped, possibly
    copied, unit-stride slice covering every token row and one contiguous
    column range of a qkv tensor, groups that do not cross token rows, ...)
    becomes a `qk.fused_qk_norm` on the whole qkv, one norm at a time; a
    fused norm whose init is another fused norm of disjoint ranges is merged
    into it, so q and k of one attention block end up in one op. Ranges that
    overlap, or more than `QK_MAX_RANGES` of them, stay in separate fused
    ops. Norms that fail the checks are left alone.

    The patterns emit the pass's `Fused` and `NotFused` remarks (same text
    and arguments), one `Fused` remark per norm as they fuse it (the merge
    adds none), and no `Summary`; a rejected norm may report once per
    greedy retry (`--remark-policy=final` keeps the last). Unlike the pass,
    they do not fold the reshape pairs they leave
    (`expand_shape(collapse_shape(x))`); add
    `transform.apply_patterns.canonicalization` to the same
    `apply_patterns` to fold them.

    ```mlir
    transform.apply_patterns to %func {
      transform.apply_patterns.qk.fuse_strided_qk_norm
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    ```
  }];
}

#endif // QK_TRANSFORMOPS_QKTRANSFORMOPS_TD
