#!/usr/bin/env python3
"""Emits the QK-norm part of an attention block as upstream-only MLIR.

The graph is what a serving engine's forward looks like after torch-mlir:
q, k, v are strided slices of one fused qkv buffer; q and k are normalised
with the model's RMSNorm (decomposed into one linalg.generic per step, the
way the examples and torch-mlir write it) and reshaped to heads; v is only
reshaped. `@qk_block` is the function under test; `@main` builds
deterministic inputs, calls it, and prints its result (what the stand-in
consumer read: q | k | v, and the pre-norm q with --keep-prenorm) as the bit
patterns of its elements (printMemrefI32), so that a comparison is exact where it
must be (v) and ulp-aware elsewhere.

Models (the QK-norm forms of examples/*.mlir; heads, head_dim, eps and norm form are
the registry's, python/qk/models/families.py, under the names in brackets):
  llama4  [llama4_scout]  per head, no weight, fp32 math, round once
  qwen3   [qwen3_8b]      per head, separate q/k weights, Hugging Face rounding
                          (x_hat rounded to the activation type before the weight multiply)
  gemma3  [gemma3_27b]    per head, x_hat * (1 + w) in fp32, round once
  olmo2   [olmo2_7b]      full projection width (group = H * D), weights, fp32, round once

Inputs: qkv[t, c] = s + copysign(0.25, s) with s = sin(0.731 t + 0.197 c +
seed) in fp32, rounded to the activation type: never zero, both signs, no
two rows or heads alike. Weights use the same formula with other seeds
(for gemma3 the factor 1 + w is then never zero either).

  gen_qk_block.py --model qwen3 --dtype bf16 --tokens 5|dynamic
                  [--keep-prenorm] [--no-main]
"""

import argparse
import importlib.util
import os
import struct
import sys
from decimal import Decimal

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load_families():
    """python/qk/models/families.py by path (standard library only: no torch, no qk package)."""
    name = "qk_model_families"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(_REPO, "python", "qk", "models", "families.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


families = _load_families()

# --model -> the registry's family
FAMILY_OF = {"llama4": "llama4_scout", "qwen3": "qwen3_8b", "gemma3": "gemma3_27b", "olmo2": "olmo2_7b"}


def mlir_f32(x):
    """x rounded to f32, spelled d.ddddddddE<exp>: its exact decimal value cut to 9 significant
    digits (enough to round-trip an f32), the spelling these files have always used
    (1e-5 -> 9.99999974E-6, 1e-6 -> 9.99999997E-7)."""
    v = struct.unpack("<f", struct.pack("<f", x))[0]
    d = Decimal(v)
    digits = "".join(map(str, d.as_tuple().digits)).ljust(9, "0")[:9]
    text = f"{'-' if v < 0 else ''}{digits[0]}.{digits[1:]}E{d.adjusted()}"
    assert struct.unpack("<f", struct.pack("<f", float(text)))[0] == v, (x, text)
    return text


def block_kind(f):
    """The decomposed RMSNorm that norm() emits for a family."""
    if not f.norm_weight:
        return "no_weight"
    if f.norm_width == "full" and f.rounding == "once" and f.weight_offset == 0.0:
        return "full_width"
    if f.norm_width == "head" and f.rounding == "once" and f.weight_offset == 1.0:
        return "one_plus_w"
    if f.norm_width == "head" and f.rounding == "before_weight" and f.weight_offset == 0.0:
        return "before_weight"
    raise ValueError(f"{f.name}: no decomposed form for this QK norm in gen_qk_block.py")


def _model(name):
    f = families.get(FAMILY_OF[name])
    return (f.num_heads, f.num_kv_heads, f.head_dim, block_kind(f), mlir_f32(f.eps))


# name: (Hq, Hkv, D, norm kind, eps as written in the IR)
MODELS = {name: _model(name) for name in FAMILY_OF}

ID2 = "affine_map<(d0, d1) -> (d0, d1)>"
ROW = "affine_map<(d0, d1) -> (d0, 0)>"
COL = "affine_map<(d0, d1) -> (d1)>"
ID1 = "affine_map<(d0) -> (d0)>"
PAR2 = '["parallel", "parallel"]'


class Emitter:
    def __init__(self, dtype):
        self.dt = dtype
        self.lines = []

    def __call__(self, line=""):
        self.lines.append(line)

    def generic(self, res, maps, iters, ins, outs, body, indent="  "):
        """One linalg.generic; `ins`/`outs` are (value, type) pairs."""
        ins_v = ", ".join(v for v, _ in ins)
        ins_t = ", ".join(t for _, t in ins)
        out_v, out_t = outs
        args = ", ".join(f"%a{i}: {t.split('x')[-1].rstrip('>')}"
                         for i, (_, t) in enumerate(ins))
        out_elt = out_t.split("x")[-1].rstrip(">")
        args = (args + ", " if args else "") + f"%o: {out_elt}"
        ins_clause = f" ins({ins_v} : {ins_t})" if ins else ""
        self(f"{indent}{res} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
             f"iterator_types = {iters}}}{ins_clause} outs({out_v} : {out_t}) {{")
        self(f"{indent}^bb0({args}):")
        for b in body:
            self(f"{indent}  {b}")
        self(f"{indent}}} -> {out_t}")


def norm(e, p, x, rows, d, kind, eps, weight):
    """Decomposed RMSNorm of x : tensor<?x{d}x{dt}> (rows = its dim 0).
    Returns the SSA name of the tensor<?x{d}x{dt}> result."""
    dt = e.dt
    f = f"tensor<?x{d}xf32>"
    r = "tensor<?x1xf32>"
    a = f"tensor<?x{d}x{dt}>"
    if dt != "f32":
        e(f"  %{p}_e0 = tensor.empty({rows}) : {f}")
        e.generic(f"%{p}_f32", [ID2, ID2], PAR2, [(x, a)], (f"%{p}_e0", f),
                  [f"%0 = arith.extf %a0 : {dt} to f32", "linalg.yield %0 : f32"])
        xf = f"%{p}_f32"
    else:
        xf = x
    e(f"  %{p}_e1 = tensor.empty({rows}) : {f}")
    e.generic(f"%{p}_sq", [ID2, ID2], PAR2, [(xf, f)], (f"%{p}_e1", f),
              ["%0 = arith.mulf %a0, %a0 : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e2 = tensor.empty({rows}) : {r}")
    e(f"  %{p}_z = linalg.fill ins(%zero : f32) outs(%{p}_e2 : {r}) -> {r}")
    e.generic(f"%{p}_sum", [ID2, ROW], '["parallel", "reduction"]',
              [(f"%{p}_sq", f)], (f"%{p}_z", r),
              ["%0 = arith.addf %a0, %o : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e3 = tensor.empty({rows}) : {r}")
    e(f"  %{p}_n = arith.constant {float(d):.6e} : f32")
    e.generic(f"%{p}_mean", [ID2, ID2], PAR2, [(f"%{p}_sum", r)], (f"%{p}_e3", r),
              [f"%0 = arith.divf %a0, %{p}_n : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e4 = tensor.empty({rows}) : {r}")
    e(f"  %{p}_eps = arith.constant {eps} : f32")
    e.generic(f"%{p}_var", [ID2, ID2], PAR2, [(f"%{p}_mean", r)], (f"%{p}_e4", r),
              [f"%0 = arith.addf %a0, %{p}_eps : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e5 = tensor.empty({rows}) : {r}")
    e.generic(f"%{p}_rstd", [ID2, ID2], PAR2, [(f"%{p}_var", r)], (f"%{p}_e5", r),
              ["%0 = math.rsqrt %a0 : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e6 = tensor.empty({rows}) : {f}")
    e.generic(f"%{p}_xhat", [ID2, ROW, ID2], PAR2,
              [(xf, f), (f"%{p}_rstd", r)], (f"%{p}_e6", f),
              ["%0 = arith.mulf %a0, %a1 : f32", "linalg.yield %0 : f32"])
    scaled = f"%{p}_xhat"
    w = f"tensor<{d}x{dt}>"
    if kind == "before_weight" and dt != "f32":
        # Hugging Face: weight * x_hat.to(dtype), the multiply in dtype.
        e(f"  %{p}_e7 = tensor.empty({rows}) : {a}")
        e.generic(f"%{p}_xr", [ID2, ID2], PAR2, [(scaled, f)], (f"%{p}_e7", a),
                  [f"%0 = arith.truncf %a0 : f32 to {dt}", f"linalg.yield %0 : {dt}"])
        e(f"  %{p}_e8 = tensor.empty({rows}) : {a}")
        e.generic(f"%{p}_out", [COL, ID2, ID2], PAR2,
                  [(weight, w), (f"%{p}_xr", a)], (f"%{p}_e8", a),
                  [f"%0 = arith.mulf %a0, %a1 : {dt}", f"linalg.yield %0 : {dt}"])
        return f"%{p}_out"
    if kind in ("before_weight", "one_plus_w", "full_width"):
        wf = weight
        if dt != "f32":
            e(f"  %{p}_we0 = tensor.empty() : tensor<{d}xf32>")
            e.generic(f"%{p}_wf32", [ID1, ID1], '["parallel"]', [(weight, w)],
                      (f"%{p}_we0", f"tensor<{d}xf32>"),
                      [f"%0 = arith.extf %a0 : {dt} to f32", "linalg.yield %0 : f32"])
            wf = f"%{p}_wf32"
        if kind == "one_plus_w":
            e(f"  %{p}_we1 = tensor.empty() : tensor<{d}xf32>")
            e.generic(f"%{p}_w1p", [ID1, ID1], '["parallel"]',
                      [(wf, f"tensor<{d}xf32>")], (f"%{p}_we1", f"tensor<{d}xf32>"),
                      ["%0 = arith.addf %a0, %one : f32", "linalg.yield %0 : f32"])
            wf = f"%{p}_w1p"
        e(f"  %{p}_e9 = tensor.empty({rows}) : {f}")
        e.generic(f"%{p}_scaled", [ID2, COL, ID2], PAR2,
                  [(scaled, f), (wf, f"tensor<{d}xf32>")], (f"%{p}_e9", f),
                  ["%0 = arith.mulf %a0, %a1 : f32", "linalg.yield %0 : f32"])
        scaled = f"%{p}_scaled"
    if dt == "f32":
        return scaled
    e(f"  %{p}_e10 = tensor.empty({rows}) : {a}")
    e.generic(f"%{p}_out", [ID2, ID2], PAR2, [(scaled, f)], (f"%{p}_e10", a),
              [f"%0 = arith.truncf %a0 : f32 to {dt}", f"linalg.yield %0 : {dt}"])
    return f"%{p}_out"


def emit_block(e, model, tokens, keep_prenorm, consumer="concat",
               func_name="qk_block"):
    hq, hkv, d, kind, eps = MODELS[model]
    dt = e.dt
    c = (hq + 2 * hkv) * d
    t = "?" if tokens == "dynamic" else str(tokens)
    qkv_t = f"tensor<{t}x{c}x{dt}>"
    group_q = hq * d if kind == "full_width" else d
    group_k = hkv * d if kind == "full_width" else d
    wq_t, wk_t = f"tensor<{group_q}x{dt}>", f"tensor<{group_k}x{dt}>"
    # One result: what the consumer read (q | k | v [| pre-norm q]).
    outs = [f"tensor<{t}x{c + (hq * d if keep_prenorm else 0)}x{dt}>"]
    if consumer == "views":
        outs = [f"tensor<{t}x{h}x{d}x{dt}>" for h in (hq, hkv, hkv)]
    weights = "" if kind == "no_weight" else f", %wq: {wq_t}, %wk: {wk_t}"
    e(f"func.func @{func_name}(%qkv: {qkv_t}{weights}) -> ({', '.join(outs)}) {{")
    e("  %c0 = arith.constant 0 : index")
    e("  %zero = arith.constant 0.000000e+00 : f32")
    e("  %one = arith.constant 1.000000e+00 : f32")
    e(f"  %T = tensor.dim %qkv, %c0 : {qkv_t}")
    tsz = "%T" if t == "?" else t
    e(f"  %q = tensor.extract_slice %qkv[0, 0] [{tsz}, {hq * d}] [1, 1] : "
      f"{qkv_t} to tensor<{t}x{hq * d}x{dt}>")
    e(f"  %k = tensor.extract_slice %qkv[0, {hq * d}] [{tsz}, {hkv * d}] [1, 1] : "
      f"{qkv_t} to tensor<{t}x{hkv * d}x{dt}>")
    e(f"  %v = tensor.extract_slice %qkv[0, {(hq + hkv) * d}] [{tsz}, {hkv * d}] "
      f"[1, 1] : {qkv_t} to tensor<{t}x{hkv * d}x{dt}>")
    results = []
    for name, heads, w in (("q", hq, "%wq"), ("k", hkv, "%wk")):
        width = heads * d
        if kind == "full_width":
            # q_norm(q.contiguous()) over the whole projection width.
            e(f"  %{name}_rows = tensor.cast %{name} : tensor<{t}x{width}x{dt}> to "
              f"tensor<?x{width}x{dt}>")
            out = norm(e, f"{name}n", f"%{name}_rows", "%T", width, kind, eps, w)
            e(f"  %{name}_cast = tensor.cast {out} : tensor<?x{width}x{dt}> to "
              f"tensor<{t}x{width}x{dt}>")
            e(f"  %{name}_out = tensor.expand_shape %{name}_cast [[0], [1, 2]] "
              f"output_shape [{tsz}, {heads}, {d}] : tensor<{t}x{width}x{dt}> into "
              f"tensor<{t}x{heads}x{d}x{dt}>")
        else:
            # norm(x.reshape(-1, D)).view(T, H, D): the reshape of the strided
            # slice is the copy the compiler removes.
            e(f"  %{name}_heads = tensor.expand_shape %{name} [[0], [1, 2]] "
              f"output_shape [{tsz}, {heads}, {d}] : tensor<{t}x{width}x{dt}> into "
              f"tensor<{t}x{heads}x{d}x{dt}>")
            rows_t = "?" if t == "?" else str(int(t) * heads)
            e(f"  %{name}_flat = tensor.collapse_shape %{name}_heads [[0, 1], [2]] : "
              f"tensor<{t}x{heads}x{d}x{dt}> into tensor<{rows_t}x{d}x{dt}>")
            e(f"  %{name}_rows = tensor.cast %{name}_flat : tensor<{rows_t}x{d}x{dt}> "
              f"to tensor<?x{d}x{dt}>")
            e(f"  %{name}_n = tensor.dim %{name}_rows, %c0 : tensor<?x{d}x{dt}>")
            out = norm(e, f"{name}n", f"%{name}_rows", f"%{name}_n", d, kind, eps, w)
            e(f"  %{name}_cast = tensor.cast {out} : tensor<?x{d}x{dt}> to "
              f"tensor<{rows_t}x{d}x{dt}>")
            e(f"  %{name}_out = tensor.expand_shape %{name}_cast [[0, 1], [2]] "
              f"output_shape [{tsz}, {heads}, {d}] : tensor<{rows_t}x{d}x{dt}> into "
              f"tensor<{t}x{heads}x{d}x{dt}>")
        results.append(f"%{name}_out")
    if consumer == "views":
        e(f"  %v_out = tensor.expand_shape %v [[0], [1, 2]] output_shape [{tsz}, {hkv}, {d}] "
          f": tensor<{t}x{hkv * d}x{dt}> into tensor<{t}x{hkv}x{d}x{dt}>")
        e(f"  return %q_out, %k_out, %v_out : {', '.join(outs)}")
        e("}")
        return c, outs, kind != "no_weight", group_q, group_k
    # The consumer (attention, here a stand-in that reads q, k and v into a
    # fresh [T, W] buffer) is what the results flow into in an engine.
    parts = []
    for name, heads in (("q", hq), ("k", hkv)):
        e(f"  %{name}_flat_out = tensor.collapse_shape %{name}_out [[0], [1, 2]] : "
          f"tensor<{t}x{heads}x{d}x{dt}> into tensor<{t}x{heads * d}x{dt}>")
        parts.append((f"%{name}_flat_out", f"tensor<{t}x{heads * d}x{dt}>"))
    parts.append(("%v", f"tensor<{t}x{hkv * d}x{dt}>"))
    if keep_prenorm:
        # A residual-style read of the pre-norm q after the norm: the fused
        # op cannot overwrite qkv, so bufferization must keep a copy.
        e(f"  %q_pre = tensor.extract_slice %qkv[0, 0] [{tsz}, {hq * d}] [1, 1] : "
          f"{qkv_t} to tensor<{t}x{hq * d}x{dt}>")
        parts.append(("%q_pre", f"tensor<{t}x{hq * d}x{dt}>"))
    width = sum(int(ty.split("x")[1]) for _, ty in parts)
    out_t = f"tensor<{t}x{width}x{dt}>"
    assert [out_t] == outs
    e(f"  %out = tensor.concat dim(1) {', '.join(v for v, _ in parts)} : "
      f"({', '.join(ty for _, ty in parts)}) -> {out_t}")
    e(f"  return %out : {out_t}")
    e("}")
    return c, outs, kind != "no_weight", group_q, group_k


def emit_main(e, model, tokens, block):
    c, outs, has_weights, group_q, group_k = block
    dt = e.dt
    t_static = 5 if tokens == "dynamic" else int(tokens)
    t = "?" if tokens == "dynamic" else str(tokens)
    e()
    e("func.func private @printMemrefI32(memref<*xi32>)")
    e()
    # One fill per shape; the seed makes every tensor different.
    e(f"func.func private @fill(%t: tensor<?x?x{dt}>, %seed: f32) -> tensor<?x?x{dt}> {{")
    e(f"  %r = linalg.generic {{indexing_maps = [{ID2}], iterator_types = {PAR2}}} "
      f"outs(%t : tensor<?x?x{dt}>) {{")
    e(f"  ^bb0(%o: {dt}):")
    e("    %i = linalg.index 0 : index")
    e("    %j = linalg.index 1 : index")
    e("    %ii = arith.index_cast %i : index to i64")
    e("    %jj = arith.index_cast %j : index to i64")
    e("    %fi = arith.sitofp %ii : i64 to f32")
    e("    %fj = arith.sitofp %jj : i64 to f32")
    e("    %a = arith.constant 0.731 : f32")
    e("    %b = arith.constant 0.197 : f32")
    e("    %quarter = arith.constant 0.25 : f32")
    e("    %x0 = arith.mulf %fi, %a : f32")
    e("    %x1 = arith.mulf %fj, %b : f32")
    e("    %x2 = arith.addf %x0, %x1 : f32")
    e("    %x3 = arith.addf %x2, %seed : f32")
    e("    %s = math.sin %x3 : f32")
    e("    %off = math.copysign %quarter, %s : f32")
    e("    %v = arith.addf %s, %off : f32")
    if dt != "f32":
        e(f"    %vt = arith.truncf %v : f32 to {dt}")
        e(f"    linalg.yield %vt : {dt}")
    else:
        e("    linalg.yield %v : f32")
    e(f"  }} -> tensor<?x?x{dt}>")
    e(f"  return %r : tensor<?x?x{dt}>")
    e("}")
    e()
    # Bits of every element, widened to i32, so the comparison is exact.
    e(f"func.func private @print_bits(%x: tensor<?x?x{dt}>) {{")
    e("  %c0 = arith.constant 0 : index")
    e("  %c1 = arith.constant 1 : index")
    e(f"  %d0 = tensor.dim %x, %c0 : tensor<?x?x{dt}>")
    e(f"  %d1 = tensor.dim %x, %c1 : tensor<?x?x{dt}>")
    e("  %e = tensor.empty(%d0, %d1) : tensor<?x?xi32>")
    e(f"  %b = linalg.generic {{indexing_maps = [{ID2}, {ID2}], iterator_types = "
      f"{PAR2}}} ins(%x : tensor<?x?x{dt}>) outs(%e : tensor<?x?xi32>) {{")
    e(f"  ^bb0(%in: {dt}, %o: i32):")
    if dt == "f32":
        e("    %w = arith.bitcast %in : f32 to i32")
    else:
        e(f"    %h = arith.bitcast %in : {dt} to i16")
        e("    %w = arith.extui %h : i16 to i32")
    e("    linalg.yield %w : i32")
    e("  } -> tensor<?x?xi32>")
    e("  %m = bufferization.to_buffer %b : tensor<?x?xi32> to memref<?x?xi32>")
    e("  %u = memref.cast %m : memref<?x?xi32> to memref<*xi32>")
    e("  func.call @printMemrefI32(%u) : (memref<*xi32>) -> ()")
    e("  return")
    e("}")
    e()
    e("func.func @main() {")
    e(f"  %eq = tensor.empty() : tensor<{t_static}x{c}x{dt}>")
    e(f"  %eqd = tensor.cast %eq : tensor<{t_static}x{c}x{dt}> to tensor<?x?x{dt}>")
    e("  %seed0 = arith.constant 0.0 : f32")
    e(f"  %qkvd = func.call @fill(%eqd, %seed0) : (tensor<?x?x{dt}>, f32) -> tensor<?x?x{dt}>")
    e(f"  %qkv = tensor.cast %qkvd : tensor<?x?x{dt}> to tensor<{t}x{c}x{dt}>")
    args = ["%qkv"]
    types = [f"tensor<{t}x{c}x{dt}>"]
    if has_weights:
        for name, g, seed in (("wq", group_q, "0.5"), ("wk", group_k, "1.3")):
            e(f"  %{name}_e = tensor.empty() : tensor<1x{g}x{dt}>")
            e(f"  %{name}_ed = tensor.cast %{name}_e : tensor<1x{g}x{dt}> to tensor<?x?x{dt}>")
            e(f"  %{name}_seed = arith.constant {seed} : f32")
            e(f"  %{name}_f = func.call @fill(%{name}_ed, %{name}_seed) : "
              f"(tensor<?x?x{dt}>, f32) -> tensor<?x?x{dt}>")
            e(f"  %{name}_s = tensor.cast %{name}_f : tensor<?x?x{dt}> to tensor<1x{g}x{dt}>")
            e(f"  %{name} = tensor.collapse_shape %{name}_s [[0, 1]] : "
              f"tensor<1x{g}x{dt}> into tensor<{g}x{dt}>")
            args.append(f"%{name}")
            types.append(f"tensor<{g}x{dt}>")
    res = [f"%r{i}" for i in range(len(outs))]
    e(f"  {', '.join(res)} = func.call @qk_block({', '.join(args)}) : "
      f"({', '.join(types)}) -> ({', '.join(outs)})")
    for i, ty in enumerate(outs):
        e(f"  %x{i} = tensor.cast %r{i} : {ty} to tensor<?x?x{dt}>")
        e(f"  func.call @print_bits(%x{i}) : (tensor<?x?x{dt}>) -> ()")
    e("  return")
    e("}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--dtype", required=True, choices=["bf16", "f16", "f32"])
    ap.add_argument("--tokens", required=True,
                    help="a static token count, or 'dynamic' (5 at run time)")
    ap.add_argument("--consumer", choices=["concat", "views"], default="concat",
                    help="concat: return what a stand-in attention read, in a fresh "
                         "buffer (default); views: return q, k, v as [T, H, D] views of "
                         "qkv (no host access to the data: device buffers work)")
    ap.add_argument("--func-name", default="qk_block")
    ap.add_argument("--no-main", action="store_true",
                    help="only @qk_block, for a C/C++ host (the AOT path)")
    ap.add_argument("--keep-prenorm", action="store_true",
                    help="also return the pre-norm qkv (bufferization must keep a copy)")
    args = ap.parse_args()
    if args.tokens != "dynamic" and not args.tokens.isdigit():
        ap.error("--tokens must be a number or 'dynamic'")
    e = Emitter(args.dtype)
    e(f"// Generated by gen_qk_block.py --model {args.model} --dtype {args.dtype} "
      f"--tokens {args.tokens}{' --keep-prenorm' if args.keep_prenorm else ''}")
    if args.consumer == "views" and (args.keep_prenorm or not args.no_main):
        ap.error("--consumer views goes with --no-main and without --keep-prenorm")
    block = emit_block(e, args.model, args.tokens, args.keep_prenorm,
                       args.consumer, args.func_name)
    if not args.no_main:
        emit_main(e, args.model, args.tokens, block)
    sys.stdout.write("\n".join(e.lines) + "\n")


if __name__ == "__main__":
    main()
