#!/usr/bin/env python3
"""Random attention prologues + differential test of the qk pipelines.

Each case is a random QK-norm prologue in upstream dialects, written the way
torch-mlir writes it (one linalg.generic per step; test/Inputs/torch-mlir):

  layout    packed [q | k | v], or Qwen3-Next strided q ([q_h | gate_h] per
            head, then k, v); D in {8, 16, 32, 64}, Hq 1..6, Hkv 1..Hq
  tokens    static 1..7 or dynamic (5 at run time)
  dtype     bf16 / f16 / f32; eps random
  weight    none, w, (1 + w), f32 weight (an f32 argument of the core)
  rounding  vLLM (x_hat rounded, then * w in the activation type) or Gemma
            (f32 math, rounded once)
  reshape   sglang reshape(-1, D) (collapse_shape), vLLM view (the norm on
            [T, H, D]), torch-mlir tensor.reshape with tensor.from_elements
  negative  (sometimes, on q or k) eps outside the rsqrt, a wrong divisor,
            the sum over the wrong dim, or a read of the pre-norm q after the
            norm (legal, but the copy must stay)

@main (test/Integration/gen_qk_block.py's) fills the inputs deterministically
and prints the bits of what a stand-in consumer read. Compared, with
compare_bits.py's tolerance (bf16 1 ulp, f16 1 ulp, f32 1e-5 rel):
  ref   mlir-opt  <upstream CPU lowering of test/lit.cfg.py> | mlir-runner
  cpu   qk-opt --qk-norm-pipeline=target=cpu | mlir-runner   (must be bit-exact)
  call  qk-opt --qk-norm-pipeline=target=cuda | mlir-runner + host runtime
Columns outside the normalised q/k (v, gate, pre-norm q) must be bit-exact
everywhere. Fusion is counted with qk-raise-rms-norm + qk-fuse-strided-qk-norm.

  random_blocks.py [--seed S] [--cases N | --seconds S] [--jobs J]
                   [--save DIR] [--expect-clean] [--print-case I]
"""

import argparse
import math
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "Integration"))
from gen_qk_block import Emitter, emit_main  # noqa: E402

QK_OPT = os.environ.get("QK_OPT", os.path.join(ROOT, "build", "bin", "qk-opt"))
LLVM = os.environ.get("LLVM_BIN", "/usr/lib/llvm-22/bin")
LLVM_LIB = os.path.join(os.path.dirname(LLVM), "lib")
HOST_RT = os.path.join(ROOT, "build", "lib", "libqk_runtime_host.so")
UPSTREAM = ["--one-shot-bufferize=bufferize-function-boundaries",
            "--convert-linalg-to-loops", "--expand-strided-metadata", "--lower-affine",
            "--convert-scf-to-cf", "--convert-math-to-llvm",
            "--finalize-memref-to-llvm", "--convert-arith-to-llvm",
            "--convert-cf-to-llvm", "--convert-func-to-llvm",
            "--reconcile-unrealized-casts"]
RUNNER_LIBS = [os.path.join(LLVM_LIB, l) for l in
               ["libmlir_runner_utils.so", "libmlir_c_runner_utils.so"]]
TOL = {"bf16": (2.0 ** -7, 1e-6), "f16": (2.0 ** -10, 1e-7), "f32": (1e-5, 1e-7)}


# ---------------------------------------------------------------- generator


def rand_case(rng):
    dt = rng.choice(["bf16", "f16", "f32"])
    weight = rng.choice(["none", "w", "one_plus_w", "f32w"])
    rounding = "once"
    if weight == "w" and dt != "f32" and rng.random() < 0.5:
        rounding = "before_weight"
    neg = "none"
    if rng.random() < 0.3:
        neg = rng.choice(["eps_outside", "divisor", "wrong_dim", "prenorm"])
    hq = rng.randint(1, 6)
    return {
        "dt": dt, "D": rng.choice([8, 16, 32, 64]), "Hq": hq, "Hkv": rng.randint(1, hq),
        "layout": rng.choice(["packed", "packed", "strided"]),
        "T": rng.choice(["dynamic", "dynamic", str(rng.randint(1, 7))]),
        "eps": rng.choice(["9.99999974E-6", "9.99999997E-7", "1.000000e-03",
                           "1.000000e-01", "1.000000e-08"]),
        "weight": weight, "rounding": rounding,
        "style": rng.choice(["collapse", "view", "reshape"]),
        "neg": neg, "neg_on": rng.choice(["q", "k"]),
    }


def ttype(shape, dt):
    return "tensor<" + "x".join(shape) + "x" + dt + ">"


def idmap(r):
    ds = ", ".join(f"d{i}" for i in range(r))
    return f"affine_map<({ds}) -> ({ds})>"


def redmap(r, axis):
    ds = ", ".join(f"d{i}" for i in range(r))
    res = ", ".join("0" if i == axis else f"d{i}" for i in range(r))
    return f"affine_map<({ds}) -> ({res})>"


def lastmap(r):
    ds = ", ".join(f"d{i}" for i in range(r))
    return f"affine_map<({ds}) -> (d{r - 1})>"


def iters(r, axis=None):
    return "[" + ", ".join('"reduction"' if i == axis else '"parallel"'
                           for i in range(r)) + "]"


def norm(e, p, x, shape, dyn, c, weight):
    """Decomposed RMSNorm over the last dim of x : shape (dims as strings,
    '?' dynamic with SSA sizes `dyn`). Returns the result (type dt, shape)."""
    dt, r, d = e.dt, len(shape), int(shape[-1])
    axis = r - 1
    neg = c["neg"] if c["neg_on"] == p[0] else "none"
    if neg == "wrong_dim" and r >= 2:
        axis = r - 2 if shape[r - 2] != "?" else 0
    sshape = [("1" if i == axis else s) for i, s in enumerate(shape)]
    sdyn = [dyn[k] for k, i in enumerate([i for i, s in enumerate(shape) if s == "?"])
            if i != axis]
    dv, sdv = ", ".join(dyn), ", ".join(sdyn)
    f, a, st = ttype(shape, "f32"), ttype(shape, dt), ttype(sshape, "f32")
    I, R, P = idmap(r), redmap(r, axis), iters(r)
    if dt != "f32":
        e(f"  %{p}_e0 = tensor.empty({dv}) : {f}")
        e.generic(f"%{p}_f32", [I, I], P, [(x, a)], (f"%{p}_e0", f),
                  [f"%0 = arith.extf %a0 : {dt} to f32", "linalg.yield %0 : f32"])
        xf = f"%{p}_f32"
    else:
        xf = x
    e(f"  %{p}_e1 = tensor.empty({dv}) : {f}")
    e.generic(f"%{p}_sq", [I, I], P, [(xf, f)], (f"%{p}_e1", f),
              ["%0 = arith.mulf %a0, %a0 : f32", "linalg.yield %0 : f32"])
    e(f"  %{p}_e2 = tensor.empty({sdv}) : {st}")
    e(f"  %{p}_z = linalg.fill ins(%zero : f32) outs(%{p}_e2 : {st}) -> {st}")
    e.generic(f"%{p}_sum", [I, R], iters(r, axis), [(f"%{p}_sq", f)], (f"%{p}_z", st),
              ["%0 = arith.addf %a0, %o : f32", "linalg.yield %0 : f32"])
    n = d + 1 if neg == "divisor" else (
        int(shape[axis]) if axis != r - 1 and shape[axis] != "?" else d)
    e(f"  %{p}_n = arith.constant {float(n):.6e} : f32")
    e(f"  %{p}_eps = arith.constant {c['eps']} : f32")
    steps = [("mean", f"%0 = arith.divf %a0, %{p}_n : f32")]
    if neg == "eps_outside":
        steps += [("rstd", "%0 = math.rsqrt %a0 : f32"),
                  ("var", f"%0 = arith.addf %a0, %{p}_eps : f32")]
    else:
        steps += [("var", f"%0 = arith.addf %a0, %{p}_eps : f32"),
                  ("rstd", "%0 = math.rsqrt %a0 : f32")]
    cur = f"%{p}_sum"
    SI = idmap(r)
    for k, (name, op) in enumerate(steps):
        e(f"  %{p}_s{k} = tensor.empty({sdv}) : {st}")
        e.generic(f"%{p}_{name}", [SI, SI], P, [(cur, st)], (f"%{p}_s{k}", st),
                  [op, "linalg.yield %0 : f32"])
        cur = f"%{p}_{name}"
    e(f"  %{p}_e6 = tensor.empty({dv}) : {f}")
    e.generic(f"%{p}_xhat", [I, R, I], P, [(xf, f), (cur, st)], (f"%{p}_e6", f),
              ["%0 = arith.mulf %a0, %a1 : f32", "linalg.yield %0 : f32"])
    scaled = f"%{p}_xhat"
    W = lastmap(r)
    wdt = "f32" if c["weight"] == "f32w" else dt
    wt = f"tensor<{d}x{wdt}>"
    if c["rounding"] == "before_weight":
        e(f"  %{p}_e7 = tensor.empty({dv}) : {a}")
        e.generic(f"%{p}_xr", [I, I], P, [(scaled, f)], (f"%{p}_e7", a),
                  [f"%0 = arith.truncf %a0 : f32 to {dt}", f"linalg.yield %0 : {dt}"])
        e(f"  %{p}_e8 = tensor.empty({dv}) : {a}")
        e.generic(f"%{p}_out", [W, I, I], P, [(weight, wt), (f"%{p}_xr", a)],
                  (f"%{p}_e8", a),
                  [f"%0 = arith.mulf %a0, %a1 : {dt}", f"linalg.yield %0 : {dt}"])
        return f"%{p}_out"
    if c["weight"] != "none":
        wf = weight
        w32 = f"tensor<{d}xf32>"
        one = "affine_map<(d0) -> (d0)>"
        if wdt != "f32":
            e(f"  %{p}_we0 = tensor.empty() : {w32}")
            e.generic(f"%{p}_wf32", [one, one], '["parallel"]', [(weight, wt)],
                      (f"%{p}_we0", w32),
                      [f"%0 = arith.extf %a0 : {dt} to f32", "linalg.yield %0 : f32"])
            wf = f"%{p}_wf32"
        if c["weight"] == "one_plus_w":
            e(f"  %{p}_we1 = tensor.empty() : {w32}")
            e.generic(f"%{p}_w1p", [one, one], '["parallel"]', [(wf, w32)],
                      (f"%{p}_we1", w32),
                      ["%0 = arith.addf %a0, %one : f32", "linalg.yield %0 : f32"])
            wf = f"%{p}_w1p"
        e(f"  %{p}_e9 = tensor.empty({dv}) : {f}")
        e.generic(f"%{p}_scaled", [I, W, I], P, [(scaled, f), (wf, w32)],
                  (f"%{p}_e9", f),
                  ["%0 = arith.mulf %a0, %a1 : f32", "linalg.yield %0 : f32"])
        scaled = f"%{p}_scaled"
    if dt == "f32":
        return scaled
    e(f"  %{p}_e10 = tensor.empty({dv}) : {a}")
    e.generic(f"%{p}_out", [I, I], P, [(scaled, f)], (f"%{p}_e10", a),
              [f"%0 = arith.truncf %a0 : f32 to {dt}", f"linalg.yield %0 : {dt}"])
    return f"%{p}_out"


def emit_core(e, c, name):
    """The prologue: (qkv [, wq, wk]) -> [T, W] (q | k | v [| gate] [| q pre])."""
    dt, D, hq, hkv = e.dt, c["D"], c["Hq"], c["Hkv"]
    strided = c["layout"] == "strided"
    qw = 2 * hq * D if strided else hq * D
    C = qw + 2 * hkv * D
    t = "?" if c["T"] == "dynamic" else c["T"]
    T = "%T" if t == "?" else t
    qkv_t = ttype([t, str(C)], dt)
    wdt = "f32" if c["weight"] == "f32w" else dt
    has_w = c["weight"] != "none"
    wargs = f", %wq: tensor<{D}x{wdt}>, %wk: tensor<{D}x{wdt}>" if has_w else ""
    e(f"func.func @{name}(%qkv: {qkv_t}{wargs}) -> {{RESULT}} {{")
    e("  %c0 = arith.constant 0 : index")
    e("  %zero = arith.constant 0.000000e+00 : f32")
    e("  %one = arith.constant 1.000000e+00 : f32")
    e(f"  %T = tensor.dim %qkv, %c0 : {qkv_t}")
    heads = {}
    if strided:
        e(f"  %qg = tensor.extract_slice %qkv[0, 0] [{T}, {qw}] [1, 1] : {qkv_t} to "
          f"{ttype([t, str(qw)], dt)}")
        e(f"  %qg3 = tensor.expand_shape %qg [[0], [1, 2]] output_shape [{T}, {hq}, {2 * D}] : "
          f"{ttype([t, str(qw)], dt)} into {ttype([t, str(hq), str(2 * D)], dt)}")
        e(f"  %q_heads = tensor.extract_slice %qg3[0, 0, 0] [{T}, {hq}, {D}] [1, 1, 1] : "
          f"{ttype([t, str(hq), str(2 * D)], dt)} to {ttype([t, str(hq), str(D)], dt)}")
        e(f"  %gate_heads = tensor.extract_slice %qg3[0, 0, {D}] [{T}, {hq}, {D}] [1, 1, 1] : "
          f"{ttype([t, str(hq), str(2 * D)], dt)} to {ttype([t, str(hq), str(D)], dt)}")
        heads["q"] = "%q_heads"
    parts = [("q", 0 if not strided else None, hq), ("k", qw, hkv)]
    for nm, off, h in parts:
        if off is None:
            continue
        e(f"  %{nm} = tensor.extract_slice %qkv[0, {off}] [{T}, {h * D}] [1, 1] : {qkv_t} to "
          f"{ttype([t, str(h * D)], dt)}")
        e(f"  %{nm}_heads = tensor.expand_shape %{nm} [[0], [1, 2]] output_shape [{T}, {h}, {D}] : "
          f"{ttype([t, str(h * D)], dt)} into {ttype([t, str(h), str(D)], dt)}")
        heads[nm] = f"%{nm}_heads"
    e(f"  %v = tensor.extract_slice %qkv[0, {qw + hkv * D}] [{T}, {hkv * D}] [1, 1] : "
      f"{qkv_t} to {ttype([t, str(hkv * D)], dt)}")
    outs = []
    for nm, h in (("q", hq), ("k", hkv)):
        h3 = ttype([t, str(h), str(D)], dt)
        x = heads[nm]
        w = f"%w{nm}"
        if c["style"] == "view":
            out = norm(e, f"{nm}n", x, [t, str(h), str(D)], ["%T"] if t == "?" else [], c, w)
            res3 = out
        else:
            rows = "?" if t == "?" else str(int(t) * h)
            rt = ttype([rows, str(D)], dt)
            if c["style"] == "collapse":
                e(f"  %{nm}_flat = tensor.collapse_shape {x} [[0, 1], [2]] : {h3} into {rt}")
            else:
                e(f"  %{nm}_hc = arith.constant {h} : index")
                e(f"  %{nm}_dc = arith.constant {D} : index")
                e(f"  %{nm}_rows = arith.muli %T, %{nm}_hc : index")
                e(f"  %{nm}_shape = tensor.from_elements %{nm}_rows, %{nm}_dc : tensor<2xindex>")
                e(f"  %{nm}_flat = tensor.reshape {x}(%{nm}_shape) : ({h3}, tensor<2xindex>) -> {rt}")
            dyn = []
            if rows == "?":
                e(f"  %{nm}_n = tensor.dim %{nm}_flat, %c0 : {rt}")
                dyn = [f"%{nm}_n"]
            out = norm(e, f"{nm}n", f"%{nm}_flat", [rows, str(D)], dyn, c, w)
            if c["style"] == "collapse":
                e(f"  %{nm}_o3 = tensor.expand_shape {out} [[0, 1], [2]] output_shape "
                  f"[{T}, {h}, {D}] : {rt} into {h3}")
            else:
                e(f"  %{nm}_hc2 = arith.constant {h} : index")
                e(f"  %{nm}_shape2 = tensor.from_elements %T, %{nm}_hc2, %{nm}_dc : tensor<3xindex>")
                e(f"  %{nm}_o3 = tensor.reshape {out}(%{nm}_shape2) : ({rt}, tensor<3xindex>) -> {h3}")
            res3 = f"%{nm}_o3"
        e(f"  %{nm}_out = tensor.collapse_shape {res3} [[0], [1, 2]] : {h3} into "
          f"{ttype([t, str(h * D)], dt)}")
        outs.append((f"%{nm}_out", ttype([t, str(h * D)], dt)))
    outs.append(("%v", ttype([t, str(hkv * D)], dt)))
    if strided:
        g3 = ttype([t, str(hq), str(D)], dt)
        e(f"  %gate = tensor.collapse_shape %gate_heads [[0], [1, 2]] : {g3} into "
          f"{ttype([t, str(hq * D)], dt)}")
        outs.append(("%gate", ttype([t, str(hq * D)], dt)))
    if c["neg"] == "prenorm":
        src = "%q_heads"
        e(f"  %q_pre = tensor.collapse_shape {src} [[0], [1, 2]] : "
          f"{ttype([t, str(hq), str(D)], dt)} into {ttype([t, str(hq * D)], dt)}")
        outs.append(("%q_pre", ttype([t, str(hq * D)], dt)))
    width = sum(int(ty.split("x")[1]) for _, ty in outs)
    out_t = ttype([t, str(width)], dt)
    e(f"  %out = tensor.concat dim(1) {', '.join(v for v, _ in outs)} : "
      f"({', '.join(ty for _, ty in outs)}) -> {out_t}")
    e(f"  return %out : {out_t}")
    e("}")
    return C, out_t, (hq + hkv) * D, has_w


def emit_case(c):
    e = Emitter(c["dt"])
    e("// " + " ".join(f"{k}={v}" for k, v in c.items()))
    f32w = c["weight"] == "f32w"
    C, out_t, exact_from, has_w = emit_core(e, c, "qk_core" if f32w else "qk_block")
    e.lines = [l.replace("{RESULT}", out_t) for l in e.lines]
    if f32w:
        # @qk_block takes weights in the activation type (gen_qk_block's
        # @main) and hands the core f32 weights: an f32 weight argument.
        dt, D, t = c["dt"], c["D"], ("?" if c["T"] == "dynamic" else c["T"])
        qkv_t = ttype([t, str(C)], dt)
        e(f"func.func @qk_block(%qkv: {qkv_t}, %wq: tensor<{D}x{dt}>, %wk: tensor<{D}x{dt}>)"
          f" -> {out_t} {{")
        m1 = "affine_map<(d0) -> (d0)>"
        for w in ("wq", "wk"):
            if dt == "f32":
                continue
            e(f"  %{w}_e = tensor.empty() : tensor<{D}xf32>")
            e.generic(f"%{w}32", [m1, m1], '["parallel"]', [(f"%{w}", f"tensor<{D}x{dt}>")],
                      (f"%{w}_e", f"tensor<{D}xf32>"),
                      [f"%0 = arith.extf %a0 : {dt} to f32", "linalg.yield %0 : f32"])
        a = "%wq32, %wk32" if dt != "f32" else "%wq, %wk"
        e(f"  %r = func.call @qk_core(%qkv, {a}) : ({qkv_t}, tensor<{D}xf32>, "
          f"tensor<{D}xf32>) -> {out_t}")
        e(f"  return %r : {out_t}")
        e("}")
    emit_main(e, "x", c["T"], (C, [out_t], has_w, c["D"], c["D"]))
    return "\n".join(e.lines) + "\n", exact_from


# ---------------------------------------------------------------- compare


def parse_bits(text):
    m = re.search(r"sizes = \[([0-9, ]+)\].*?data =", text)
    if not m:
        return None, None
    shape = [int(s) for s in m.group(1).split(",")]
    vals = [int(v) for v in re.findall(r"-?\d+", text[m.end():])]
    return shape, vals


def decode(bits, dt):
    import struct
    if dt == "bf16":
        return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]
    if dt == "f16":
        return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]
    return struct.unpack("<f", struct.pack("<i", bits))[0]


def compare(ref, out, dt, exact_from, exact):
    """None when OK, else a reason. NaN in both at the same place is equal
    (negatives may legitimately produce NaN; the bits must still agree)."""
    rs, rv = ref
    os_, ov = out
    if os_ != rs or len(ov) != len(rv):
        return f"shape {os_} vs {rs}"
    rtol, atol = TOL[dt]
    cols = rs[-1]
    for i, (a, b) in enumerate(zip(rv, ov)):
        if a == b:
            continue
        row, col = divmod(i, cols)
        if exact or col >= exact_from:
            return f"[{row}, {col}] bits {b:#x}, reference {a:#x}" + (
                "" if col < exact_from else " (must be unchanged)")
        x, y = decode(a, dt), decode(b, dt)
        if not (math.isfinite(x) and math.isfinite(y)) or abs(x - y) > rtol * abs(x) + atol:
            return f"[{row}, {col}] {y!r}, reference {x!r}"
    return None


def sh(cmd, inp, timeout):
    for attempt in range(60):  # qk-opt may be briefly absent while rebuilt
        try:
            p = subprocess.run(cmd, input=inp, capture_output=True, text=True,
                               timeout=timeout)
            return p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            return None, "", "timeout"
        except OSError as err:
            last = err
            time.sleep(2)
    return "missing", "", str(last)


def run_case(job):
    gseed, idx, timeout = job
    rng = random.Random(f"{gseed}:{idx}")
    c = rand_case(rng)
    text, exact_from = emit_case(c)
    res = {"idx": idx, "case": c, "fused": 0, "raised": 0, "problems": []}
    runner = [os.path.join(LLVM, "mlir-runner"), "-e", "main", "-entry-point-result=void",
              "--shared-libs=" + ",".join(RUNNER_LIBS)]
    runner_rt = runner[:-1] + ["--shared-libs=" + ",".join(RUNNER_LIBS + [HOST_RT])]
    rc, out, err = sh([os.path.join(LLVM, "mlir-opt")] + UPSTREAM, text, timeout)
    if rc != 0:
        res["problems"].append(("generator", "upstream lowering failed: " + err[-500:]))
        res["text"] = text
        return res
    rc, refout, err = sh(runner, out, timeout)
    ref = parse_bits(refout)
    if rc != 0 or ref[0] is None:
        res["problems"].append(("generator", "reference run failed: " + err[-500:]))
        res["text"] = text
        return res
    rc, fo, err = sh([QK_OPT, "--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm"], text, timeout)
    if rc != 0:
        res["problems"].append(("raise+fuse", f"rc {rc}: {err[-800:]}"))
    res["fused"] = fo.count("qk.fused_qk_norm")
    res["raised"] = fo.count("qk.rms_norm")
    for name, target, run in (("cpu", "cpu", runner), ("call", "cuda", runner_rt)):
        rc, low, err = sh([QK_OPT, f"--qk-norm-pipeline=target={target}"], text, timeout)
        if rc != 0:
            res["problems"].append((name, f"qk-opt rc {rc}: {err[-800:]}"))
            continue
        # stdbuf: a failed runtime check prints its message, then aborts.
        rc, o, err = sh(["stdbuf", "-o0"] + run, low, timeout)
        bits = parse_bits(o)
        if rc != 0 or bits[0] is None:
            msg = [l for l in (o + err).splitlines()
                   if l.strip() and not l.lstrip().startswith("#") and "data =" not in l
                   and not l.startswith("[") and not l.startswith(" [")]
            res["problems"].append((name, f"run rc {rc}: " + " | ".join(msg[:3])[:600]))
            continue
        why = compare(ref, bits, c["dt"], exact_from, exact=(name == "cpu"))
        if why and name == "cpu" and compare(ref, bits, c["dt"], exact_from, False) is None:
            res.setdefault("inexact", []).append(name)  # within tolerance, not bit-exact
            why = None
        if why:
            res["problems"].append((name, why))
    if res["problems"]:
        res["text"] = text
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--save", help="write mismatching cases here")
    ap.add_argument("--expect-clean", action="store_true",
                    help="exit 1 on any mismatch or failure")
    ap.add_argument("--known", help="file of problem-text substrings already reported "
                    "(one a line, # comments): listed, but not counted by --expect-clean")
    ap.add_argument("--print-case", type=int, help="print case I's MLIR and exit")
    ap.add_argument("--qk-opt", help="the qk-opt binary (default build/bin/qk-opt)")
    ap.add_argument("--runtime-lib", help="libqk_runtime_host.so (default build/lib/)")
    args = ap.parse_args()
    global QK_OPT, HOST_RT
    QK_OPT = args.qk_opt or QK_OPT
    HOST_RT = args.runtime_lib or HOST_RT
    if args.print_case is not None:
        c = rand_case(random.Random(f"{args.seed}:{args.print_case}"))
        sys.stdout.write(emit_case(c)[0])
        return 0
    if not args.cases and not args.seconds:
        args.cases = 20
    t0 = time.time()

    def batches():
        # Pool's feeder thread drains a generator eagerly: hand it bounded
        # batches, checking the limits between them.
        i = 0
        while (not args.cases or i < args.cases) and \
                (not args.seconds or time.time() - t0 < args.seconds):
            n = 2 * args.jobs if not args.cases else min(2 * args.jobs, args.cases - i)
            yield [(args.seed, k, args.timeout) for k in range(i, i + n)]
            i += n

    known = []
    if args.known:
        known = [l.strip() for l in open(args.known) if l.strip() and not l.startswith("#")]
    n = fused = raised_only = inexact = 0
    known_hits = 0
    bad = []
    forms = {}
    with multiprocessing.Pool(args.jobs) as pool:
        for r in (r for b in batches() for r in pool.imap_unordered(run_case, b)):
            n += 1
            c = r["case"]
            fused += r["fused"] > 0
            raised_only += r["fused"] == 0 and r["raised"] > 0
            inexact += bool(r.get("inexact"))
            key = f"{c['neg']}" if c["neg"] != "none" else "positive"
            st = forms.setdefault(key, [0, 0])
            st[0] += 1
            st[1] += r["fused"] > 0
            if r["problems"] and all(any(k in why for k in known)
                                     for _, why in r["problems"]):
                known_hits += 1
                print(f"known problem, case {r['idx']}: {r['problems'][0][1][:120]}")
            elif r["problems"]:
                bad.append(r)
                print(f"MISMATCH case {r['idx']}: {c}", flush=True)
                for who, why in r["problems"]:
                    print(f"  {who}: {why}", flush=True)
                if args.save:
                    os.makedirs(args.save, exist_ok=True)
                    p = os.path.join(args.save, f"case-{args.seed}-{r['idx']}.mlir")
                    open(p, "w").write(r["text"])
                    print(f"  saved {p}")
    el = time.time() - t0
    print(f"seed {args.seed}: {n} cases in {el:.0f}s; fused {fused}, raised but not fused "
          f"{raised_only}, neither {n - fused - raised_only}; cpu within tolerance but not "
          f"bit-exact: {inexact}")
    print("by form (cases, fused): " + ", ".join(f"{k} {v[0]}/{v[1]}"
                                                  for k, v in sorted(forms.items())))
    print(f"known problems: {known_hits}")
    print(f"mismatches: {len(bad)}")
    return 1 if args.expect_clean and bad else 0


if __name__ == "__main__":
    sys.exit(main())
