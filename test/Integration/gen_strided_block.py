#!/usr/bin/env python3
"""Emits a QK-norm block whose heads are strided in the fused qkv row, twice:
as upstream-only MLIR (the reference) and as one `qk.fused_qk_norm` with
strided `#qk.range`s (group_stride > group_size).

Layouts (per token row of qkv; D = head_dim):
  qwen3next  Qwen3-Next's gated attention: q_proj yields [q_h | gate_h] per
             head, so the Hq q heads are D wide and 2*D apart; then k (Hkv
             packed heads) and v. q and k are normalised with x * (1 + w)
             in fp32, rounded once (Qwen3NextRMSNorm). Hq 16, Hkv 2, D 256.
  kvgroups   per-KV-group interleaved heads [q_2g | q_2g+1 | k_g | v_g]
             (Hq = 2 * Hkv): three interleaved ranges 4*D apart (q heads at
             0 and D, k heads at 2*D), Hugging Face rounding (before the
             weight). Hkv 4, D 64. The windows of the last two ranges stick
             out of the row (the decomposition's split path).
  gatetail   [k | v | gate_h | q_h per head]: a strided q range that ends at
             the last column of the row (the decomposition's window ends at
             the range's end). Hq 8, Hkv 2, D 128, Qwen3-Next norms.

--variant ref:   each range is gathered into a dense [T, groups, D] tensor
                 by a linalg.generic with a strided indexing map and
                 normalised by the decomposed RMSNorm of gen_qk_block.py.
--variant fused: one qk.fused_qk_norm on qkv ([T, C], or [T, C/D, D] with
                 --rank 3) with the strided ranges.
Both then return what a consumer reads, [T, C]: the normalised ranges
first (each gathered the same way, range by range), then every other column
(gate, v) gathered from the buffer, so compare_bits.py --exact-from checks
that no column outside the ranges changed. @main (shared with
gen_qk_block.py) fills qkv and the weights and prints the bits.

  gen_strided_block.py --layout qwen3next --dtype bf16 --tokens 5|dynamic
                       --variant ref|fused [--rank 2|3]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_qk_block import Emitter, emit_main, norm  # noqa: E402

ID3 = "affine_map<(d0, d1, d2) -> (d0, d1, d2)>"
PAR3 = '["parallel", "parallel", "parallel"]'
EPS = "9.99999997E-7"


def layout(name):
    """(D, C, kind, ranges, others): ranges are (name, offset, groups, size,
    stride, weight operand index), others (name, offset, groups, size, stride)
    cover the remaining columns."""
    if name == "qwen3next":
        hq, hkv, d = 16, 2, 256
        c = 2 * hq * d + 2 * hkv * d
        ranges = [("q", 0, hq, d, 2 * d, 0), ("k", 2 * hq * d, hkv, d, d, 1)]
        others = [("gate", d, hq, d, 2 * d), ("v", 2 * hq * d + hkv * d, 1, hkv * d, hkv * d)]
        return d, c, "one_plus_w", ranges, others
    if name == "kvgroups":
        hkv, d = 4, 64
        c = 4 * hkv * d
        ranges = [("qa", 0, hkv, d, 4 * d, 0), ("qb", d, hkv, d, 4 * d, 0),
                  ("k", 2 * d, hkv, d, 4 * d, 1)]
        others = [("v", 3 * d, hkv, d, 4 * d)]
        return d, c, "before_weight", ranges, others
    if name == "gatetail":
        hq, hkv, d = 8, 2, 128
        c = 2 * hkv * d + 2 * hq * d
        ranges = [("q", 2 * hkv * d + d, hq, d, 2 * d, 0), ("k", 0, hkv, d, d, 1)]
        others = [("v", hkv * d, 1, hkv * d, hkv * d), ("gate", 2 * hkv * d, hq, d, 2 * d)]
        return d, c, "one_plus_w", ranges, others
    raise ValueError(name)


def gather(e, res, src, t, tsz, c, off, groups, size, stride):
    """%res = [T, groups * size]: the groups of one range of src [T, C]."""
    dt = e.dt
    g_t = f"tensor<{t}x{groups}x{size}x{dt}>"
    dyn = "%T" if t == "?" else ""
    e(f"  {res}_e = tensor.empty({dyn}) : {g_t}")
    src_map = f"affine_map<(d0, d1, d2) -> (d0, d1 * {stride} + d2 + {off})>"
    e.generic(f"{res}_g", [src_map, ID3], PAR3, [(src, f"tensor<{t}x{c}x{dt}>")],
              (f"{res}_e", g_t), [f"linalg.yield %a0 : {dt}"])
    e(f"  {res} = tensor.collapse_shape {res}_g [[0], [1, 2]] : {g_t} into "
      f"tensor<{t}x{groups * size}x{dt}>")
    return (res, f"tensor<{t}x{groups * size}x{dt}>")


def emit_block(e, lay, tokens, variant, rank):
    d, c, kind, ranges, others = layout(lay)
    dt = e.dt
    t = "?" if tokens == "dynamic" else str(tokens)
    tsz = "%T" if t == "?" else t
    qkv_t = f"tensor<{t}x{c}x{dt}>"
    w_t = f"tensor<{d}x{dt}>"
    e(f"func.func @qk_block(%qkv: {qkv_t}, %wq: {w_t}, %wk: {w_t}) -> {qkv_t} {{")
    e("  %c0 = arith.constant 0 : index")
    e("  %zero = arith.constant 0.000000e+00 : f32")
    e("  %one = arith.constant 1.000000e+00 : f32")
    e(f"  %T = tensor.dim %qkv, %c0 : {qkv_t}")
    weights = ["%wq", "%wk"]
    parts = []
    if variant == "ref":
        for name, off, groups, size, stride, w in ranges:
            res, ty = gather(e, f"%{name}", "%qkv", t, tsz, c, off, groups, size, stride)
            rows_t = "?" if t == "?" else str(int(t) * groups)
            e(f"  %{name}_flat = tensor.collapse_shape %{name}_g [[0, 1], [2]] : "
              f"tensor<{t}x{groups}x{size}x{dt}> into tensor<{rows_t}x{size}x{dt}>")
            e(f"  %{name}_rows = tensor.cast %{name}_flat : tensor<{rows_t}x{size}x{dt}> to "
              f"tensor<?x{size}x{dt}>")
            e(f"  %{name}_n = tensor.dim %{name}_rows, %c0 : tensor<?x{size}x{dt}>")
            out = norm(e, f"{name}n", f"%{name}_rows", f"%{name}_n", size, kind, EPS, weights[w])
            e(f"  %{name}_cast = tensor.cast {out} : tensor<?x{size}x{dt}> to "
              f"tensor<{rows_t}x{size}x{dt}>")
            e(f"  %{name}_heads = tensor.expand_shape %{name}_cast [[0, 1], [2]] "
              f"output_shape [{tsz}, {groups}, {size}] : tensor<{rows_t}x{size}x{dt}> into "
              f"tensor<{t}x{groups}x{size}x{dt}>")
            e(f"  %{name}_out = tensor.collapse_shape %{name}_heads [[0], [1, 2]] : "
              f"tensor<{t}x{groups}x{size}x{dt}> into tensor<{t}x{groups * size}x{dt}>")
            parts.append((f"%{name}_out", ty))
        src = "%qkv"
    else:
        attrs = []
        for name, off, groups, size, stride, w in ranges:
            stride_attr = "" if stride == size else f", group_stride = {stride}"
            attrs.append(f"#qk.range<column_offset = {off}, num_groups = {groups}, "
                         f"group_size = {size}, epsilon = {EPS}, weight = {w}"
                         + (", weight_offset = 1.0" if kind == "one_plus_w" else "")
                         + (", rounding = before_weight" if kind == "before_weight" else "")
                         + stride_attr + ">")
        ins = f"ins(%wq, %wk : {w_t}, {w_t})"
        if rank == 3:
            t3 = f"tensor<{t}x{c // d}x{d}x{dt}>"
            e(f"  %qkv3 = tensor.expand_shape %qkv [[0], [1, 2]] output_shape "
              f"[{tsz}, {c // d}, {d}] : {qkv_t} into {t3}")
            e(f"  %normed3 = qk.fused_qk_norm {ins} outs(%qkv3 : {t3}) ranges "
              f"[{', '.join(attrs)}] -> {t3}")
            e(f"  %normed = tensor.collapse_shape %normed3 [[0], [1, 2]] : {t3} into {qkv_t}")
        else:
            e(f"  %normed = qk.fused_qk_norm {ins} outs(%qkv : {qkv_t}) ranges "
              f"[{', '.join(attrs)}] -> {qkv_t}")
        src = "%normed"
        for name, off, groups, size, stride, _ in ranges:
            parts.append(gather(e, f"%{name}", src, t, tsz, c, off, groups, size, stride))
    for name, off, groups, size, stride in others:
        parts.append(gather(e, f"%{name}", "%qkv" if variant == "ref" else src, t, tsz, c,
                            off, groups, size, stride))
    assert sum(int(ty.split("x")[1]) for _, ty in parts) == c
    e(f"  %out = tensor.concat dim(1) {', '.join(v for v, _ in parts)} : "
      f"({', '.join(ty for _, ty in parts)}) -> {qkv_t}")
    e(f"  return %out : {qkv_t}")
    e("}")
    # What emit_main of gen_qk_block.py needs: columns, results, weights.
    return c, [qkv_t], True, d, d


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layout", required=True, choices=["qwen3next", "kvgroups", "gatetail"])
    ap.add_argument("--dtype", required=True, choices=["bf16", "f16", "f32"])
    ap.add_argument("--tokens", required=True,
                    help="a static token count, or 'dynamic' (5 at run time)")
    ap.add_argument("--variant", required=True, choices=["ref", "fused"])
    ap.add_argument("--rank", type=int, choices=[2, 3], default=2,
                    help="rank of the fused op's qkv: [T, C] or [T, C/D, D]")
    ap.add_argument("--print-exact-from", action="store_true",
                    help="print the first column outside the ranges and exit")
    args = ap.parse_args()
    if args.tokens != "dynamic" and not args.tokens.isdigit():
        ap.error("--tokens must be a number or 'dynamic'")
    if args.print_exact_from:
        print(sum(r[2] * r[3] for r in layout(args.layout)[3]))
        return
    e = Emitter(args.dtype)
    e(f"// Generated by gen_strided_block.py --layout {args.layout} --dtype {args.dtype} "
      f"--tokens {args.tokens} --variant {args.variant} --rank {args.rank}")
    block = emit_block(e, args.layout, args.tokens, args.variant, args.rank)
    emit_main(e, args.layout, args.tokens, block)
    sys.stdout.write("\n".join(e.lines) + "\n")


if __name__ == "__main__":
    main()
