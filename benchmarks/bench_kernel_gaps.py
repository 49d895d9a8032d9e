#!/usr/bin/env python3
"""The kernel gaps of issue 14, measured side by side in one process on the GPU.

Cases (bf16, eps 1e-6, in place on a qkv buffer; rot = CUDA-graph replay over rotating
buffers, mostly not L2-resident; warm = the same on one buffer, L2-resident where it fits):

  shifted   Qwen3-8B heads (Hq 32, Hkv 8, D 128) in a buffer whose token stride is the row
            width + 3 elements: every row starts at another offset past 16 bytes. Compared
            with the same call on the aligned buffer (stride = width), the element-by-element
            path (QK_RUNTIME_NO_SHIFT=1) and the Triton reference on the same views.
  fullwidth OLMo2-style full-width norms: one group of 5120 (q) and one of 4096 (k) per token.
            Variants: the grid's waves for the block kernels, the L2 prefetch; Triton full-width.
  tp8       the Qwen3-235B TP-8 shard (Hq 8, Hkv 1, D 128), cold and warm.
  warm      Llama4 Scout (Hq 40, Hkv 8) at T = 1024 on one warm buffer.
Variants of our kernel are the same library loaded again with other environment switches
(runtime/cuda/Options.h). With --sgl DIR (sgl_qknorm_128_bf16_t.so from
../shared/anchors/h200/build_anchors.sh, tvm_ffi importable) sglang's fused_inplace_qknorm runs
beside ours on the per-head cases. Every variant's output is checked against a float64
reference before it is timed (relative error < 1e-2, all finite, v and padding untouched).

Usage: python3 bench_kernel_gaps.py --lib build-rt/lib/libqk_runtime_cuda.so [--sgl DIR]
       [--cases shifted,fullwidth,tp8,warm] [--out DIR]
"""
import argparse
import ctypes
import json
import os
import sys

import torch
import triton
import triton.language as tl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_qknorm as bq  # noqa: E402

DT = torch.bfloat16
QkRange = bq.QkRange


def heads(family):
    """(Hq, Hkv, D) of a family of the registry (python/qk/models/families.py)."""
    f = bq.families.get(family)
    return f.num_heads, f.num_kv_heads, f.head_dim


def heads_128(family):
    """(Hq, Hkv) of a family whose head_dim is case_heads' (and sglang's kernel's) 128."""
    hq, hkv, d = heads(family)
    assert d == 128, f"{family}: head_dim {d}, case_heads takes 128"
    return hq, hkv


# -- our runtime on arbitrary ranges --------------------------------------------------
def call_ranges(lib, qkv, stride, T, ranges):
    arr = (QkRange * len(ranges))(*ranges)
    st = lib.qk_fused_rms_norm(bq.QK_DTYPE_BF16, qkv.data_ptr(), stride, qkv.data_ptr(), stride, T, arr,
                               len(ranges), torch.cuda.current_stream().cuda_stream)
    if st != 0:
        raise RuntimeError("qk_fused_rms_norm: %d %s" % (st, lib.qk_last_error_message().decode()))


def head_ranges(Hq, Hkv, D, wq, wk):
    return [QkRange(0, Hq, D, D, wq.data_ptr(), bq.QK_DTYPE_BF16, 1e-6, 0.0, 0),
            QkRange(Hq * D, Hkv, D, D, wk.data_ptr(), bq.QK_DTYPE_BF16, 1e-6, 0.0, 0)]


# -- Triton references ----------------------------------------------------------------
@triton.jit
def _fullwidth_kernel(x_ptr, wq_ptr, wk_ptr, stride_t, NQ, NK, eps, BLOCK: tl.constexpr):
    t = tl.program_id(0)
    r = tl.program_id(1)
    n = tl.where(r == 0, NQ, NK)
    off = tl.where(r == 0, 0, NQ)
    cols = tl.arange(0, BLOCK)
    m = cols < n
    base = x_ptr + t.to(tl.int64) * stride_t + off
    x = tl.load(base + cols, mask=m, other=0.0).to(tl.float32)
    inv = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / n + eps)
    wq = tl.load(wq_ptr + cols, mask=m & (r == 0), other=0.0).to(tl.float32)
    wk = tl.load(wk_ptr + cols, mask=m & (r == 1), other=0.0).to(tl.float32)
    y = x * inv * (wq + wk)
    tl.store(base + cols, y.to(x_ptr.dtype.element_ty), mask=m)


def tri_fullwidth(qkv, stride, T, NQ, NK, wq, wk):
    _fullwidth_kernel[(T, 2)](qkv, wq, wk, stride, NQ, NK, 1e-6, BLOCK=triton.next_power_of_2(max(NQ, NK)),
                              num_warps=8)


@triton.jit
def _copy_rows_kernel(src, dst, src_stride, dst_stride, n_rows, H: tl.constexpr, D: tl.constexpr,
                      ROWS: tl.constexpr):
    pid = tl.program_id(0)
    rows = pid * ROWS + tl.arange(0, ROWS)
    m = (rows < n_rows)[:, None]
    t = (rows // H).to(tl.int64)
    h = (rows % H).to(tl.int64)
    cols = tl.arange(0, D)
    x = tl.load(src + t[:, None] * src_stride + h[:, None] * D + cols[None, :], mask=m)
    tl.store(dst + t[:, None] * dst_stride + h[:, None] * D + cols[None, :], x, mask=m)


def copy_rows(src, src_stride, dst, dst_stride, T, H, D):
    n = T * H
    _copy_rows_kernel[(triton.cdiv(n, 16),)](src, dst, src_stride, dst_stride, n, H=H, D=D, ROWS=16, num_warps=4)


# -- references and checks ------------------------------------------------------------
def ref_groups(x, groups):
    """x: [T, C] float64 copy; groups: [(col, size, weight)] -> list of normalised blocks."""
    out = []
    for col, size, w in groups:
        blk = x[:, col:col + size]
        rms = torch.sqrt((blk * blk).mean(-1, keepdim=True) + 1e-6)
        out.append(blk / rms * w.double())
    return out


def timed_variants(variants, name, make_buf, groups, touched, record):
    """Checks then times every variant; a baseline that rejects the layout is reported and
    skipped (ours must never fail)."""
    for v, fn in variants.items():
        try:
            err = check(f"{name}/{v}", fn, make_buf, groups, touched)
        except Exception as e:  # noqa: BLE001
            if v in ("sgl", "triton"):
                print(f"{name} {v}: skipped ({str(e).splitlines()[0][:120]})", flush=True)
                continue
            raise
        record(v, fn, err)


def check(name, run, make_buf, groups, touched_cols):
    """Runs `run(buf)` once on fresh data and checks every group against float64 and every
    other element bitwise."""
    buf, view = make_buf()
    before = view.clone()
    x = view.double()
    ref = ref_groups(x, groups)
    run(buf)
    torch.cuda.synchronize()
    after = view
    worst = 0.0
    for (col, size, _), r in zip(groups, ref):
        o = after[:, col:col + size].double()
        if not torch.isfinite(o).all():
            raise AssertionError(f"{name}: non-finite output")
        worst = max(worst, ((o - r).norm() / r.norm()).item())
    mask = torch.ones(view.shape[1], dtype=torch.bool, device=view.device)
    mask[touched_cols] = False
    if not torch.equal(after[:, mask].view(torch.int16), before[:, mask].view(torch.int16)):
        raise AssertionError(f"{name}: elements outside the groups changed")
    if worst > 1e-2:
        raise AssertionError(f"{name}: relative error {worst:.3g}")
    return worst


def time_rot(fn_of_buf, bufs):
    return bq.bench_graph_rot(lambda b: (lambda: fn_of_buf(b)), bufs, min_calls=200, n_rep=30)


def time_warm(fn_of_buf, buf):
    return bq.bench_graph_rot(lambda b: (lambda: fn_of_buf(b)), [buf], min_calls=200, n_rep=30)


def rot_buffers(make_buf, bytes_per_buf, budget=400 << 20, k_max=16):
    k = max(2, min(k_max, budget // max(bytes_per_buf, 1)))
    return [make_buf()[0] for _ in range(k)]


# -- cases -----------------------------------------------------------------------------
def case_shifted(libs, sgl, copy_bw, rows, Ts):
    Hq, Hkv, D = heads("qwen3_8b")
    W = (Hq + 2 * Hkv) * D
    wq = torch.randn(D, device="cuda", dtype=DT)
    wk = torch.randn(D, device="cuda", dtype=DT)
    groups = [(h * D, D, wq if h < Hq else wk) for h in range(Hq + Hkv)]
    touched = torch.arange((Hq + Hkv) * D, device="cuda")
    for T in Ts:
        nbytes = 2 * T * (Hq + Hkv) * D * 2 + 2 * D * 2
        for label, stride in (("aligned", W), ("shifted", W + 3)):
            def make_buf(stride=stride, T=T):
                b = torch.randn(T * stride + 8, device="cuda", dtype=DT)
                return b, b[: T * stride].view(T, stride)
            bufs = rot_buffers(make_buf, T * stride * 2)
            variants = {f"qk": lambda b, lib=libs["default"]: call_ranges(lib, b, stride, T,
                                                                        head_ranges(Hq, Hkv, D, wq, wk))}
            if label == "shifted":
                for vn, lib in libs.items():
                    if vn != "default" and not vn.startswith("bw"):
                        variants[f"qk_{vn}"] = lambda b, lib=lib: call_ranges(
                            lib, b, stride, T, head_ranges(Hq, Hkv, D, wq, wk))
            variants["triton"] = lambda b: bq.tri_qknorm_inplace(b[: T * stride].view(T, stride), wq, wk, Hq,
                                                                 Hkv, D, 1e-6, False, 16, 4)
            # sglang's kernel needs 16-byte aligned rows: on the shifted buffer it faults
            # (cudaErrorMisalignedAddress, seen on the H200), which poisons the context.
            if sgl is not None and label == "aligned":
                variants["sgl"] = lambda b: sgl(b[: T * stride].view(T, stride), Hq, Hkv, D, wq, wk)
            def record(v, fn, err, label=label, T=T, bufs=bufs, nbytes=nbytes):
                us = time_rot(fn, bufs)
                rows.append(dict(case="shifted", layout=label, T=T, variant=v, rot_us=us,
                                 bw_pct=100 * nbytes / (us * 1e-6) / 1e9 / copy_bw, err=err))
                print(f"shifted {label:8s} T={T:6d} {v:12s} {us:9.2f} us {rows[-1]['bw_pct']:5.1f}%", flush=True)
            timed_variants(variants, f"shifted/{label}", make_buf, groups, touched, record)


def case_fullwidth(libs, copy_bw, rows, Ts):
    NQ, NK = 5120, 4096
    W = NQ + 2 * NK
    wq = torch.randn(NQ, device="cuda", dtype=DT)
    wk = torch.randn(NK, device="cuda", dtype=DT)
    groups = [(0, NQ, wq), (NQ, NK, wk)]
    touched = torch.arange(NQ + NK, device="cuda")
    for T in Ts:
        nbytes = 2 * T * (NQ + NK) * 2 + (NQ + NK) * 2

        def make_buf(T=T):
            b = torch.randn(T * W, device="cuda", dtype=DT)
            return b, b.view(T, W)
        bufs = rot_buffers(make_buf, T * W * 2)
        rng = [QkRange(0, 1, NQ, NQ, wq.data_ptr(), bq.QK_DTYPE_BF16, 1e-6, 0.0, 0),
               QkRange(NQ, 1, NK, NK, wk.data_ptr(), bq.QK_DTYPE_BF16, 1e-6, 0.0, 0)]
        variants = {name: (lambda b, lib=lib: call_ranges(lib, b, W, T, rng))
                    for name, lib in libs.items() if name != "noshift"}
        variants["triton"] = lambda b: tri_fullwidth(b, W, T, NQ, NK, wq, wk)
        def record(v, fn, err, T=T, bufs=bufs, nbytes=nbytes):
            us = time_rot(fn, bufs)
            rows.append(dict(case="fullwidth", T=T, variant=v, rot_us=us,
                             bw_pct=100 * nbytes / (us * 1e-6) / 1e9 / copy_bw, err=err))
            print(f"fullwidth T={T:6d} {v:14s} {us:9.2f} us {rows[-1]['bw_pct']:5.1f}%", flush=True)
        timed_variants(variants, "fullwidth", make_buf, groups, touched, record)


def case_heads(name, Hq, Hkv, Ts, libs, sgl, copy_bw, rows, warm_only=False, gemma=False, fi=None):
    """Per-head q/k norms of one model's qkv layout [q | k | v], D = 128: ours (each library
    variant), Triton, sglang and FlashInfer (two launches, its own q/k entry point), cold
    (rotating buffers) and warm (one buffer). Gemma's (1 + w): ours and Triton take w with the
    offset; sglang and FlashInfer have no offset and get 1 + w precomputed."""
    D = 128
    W = (Hq + 2 * Hkv) * D
    wq = torch.randn(D, device="cuda", dtype=DT)
    wk = torch.randn(D, device="cuda", dtype=DT)
    off = 1.0 if gemma else 0.0
    wq_eff, wk_eff = (wq.float() + off).to(DT), (wk.float() + off).to(DT)
    groups = [(h * D, D, (wq.double() + off) if h < Hq else (wk.double() + off)) for h in range(Hq + Hkv)]
    touched = torch.arange((Hq + Hkv) * D, device="cuda")

    def ours(lib, b, T):
        rg = head_ranges(Hq, Hkv, D, wq, wk)
        for r in rg:
            r.weight_offset = off
        call_ranges(lib, b, W, T, rg)

    for T in Ts:
        nbytes = 2 * T * (Hq + Hkv) * D * 2 + 2 * D * 2

        def make_buf(T=T):
            b = torch.randn(T * W, device="cuda", dtype=DT)
            return b, b.view(T, W)
        bufs = rot_buffers(make_buf, T * W * 2)
        variants = {vn: (lambda b, lib=lib, T=T: ours(lib, b, T))
                    for vn, lib in libs.items() if vn != "noshift" and not vn.startswith("bw")}
        variants["triton"] = lambda b, T=T: bq.tri_qknorm_inplace(b.view(T, W), wq, wk, Hq, Hkv, D, 1e-6, gemma,
                                                                 16, 4)
        if sgl is not None:
            variants["sgl"] = lambda b, T=T: sgl(b.view(T, W), Hq, Hkv, D, wq_eff, wk_eff)
        if fi is not None:
            variants["fi"] = lambda b, T=T: fi(b.view(T, W), Hq, Hkv, D, wq_eff, wk_eff)

        def record(v, fn, err, T=T, bufs=bufs, nbytes=nbytes):
            warm = time_warm(fn, bufs[0])
            cold = None if warm_only else time_rot(fn, bufs)
            rows.append(dict(case=name, T=T, variant=v, rot_us=cold, warm_us=warm,
                             bw_pct=None if cold is None else 100 * nbytes / (cold * 1e-6) / 1e9 / copy_bw,
                             err=err))
            c = "" if cold is None else f"rot {cold:9.2f} us {rows[-1]['bw_pct']:5.1f}%"
            print(f"{name} T={T:6d} {v:14s} {c}  warm {warm:8.2f} us", flush=True)
        timed_variants(variants, name, make_buf, groups, touched, record)


def load_fi(d):
    lib = ctypes.CDLL(os.path.join(d, "fi_qknorm.so"))
    f = lib.fi_qk_rmsnorm_bf16
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_uint] * 7 + [ctypes.c_float, ctypes.c_int, ctypes.c_void_p]

    def run(qkv2d, Hq, Hkv, D, wq, wk):
        T = qkv2d.shape[0]
        s = torch.cuda.current_stream().cuda_stream
        st = qkv2d.stride(0)
        q = qkv2d.data_ptr()
        k = q + Hq * D * qkv2d.element_size()
        for ptr, w, h in ((q, wq, Hq), (k, wk, Hkv)):
            if f(ptr, w.data_ptr(), ptr, T, h, D, st, D, st, D, 1e-6, 1, s) != 0:
                raise RuntimeError("fi_qk_rmsnorm_bf16 failed")
    return run


def case_layout_probe(copy_bw, rows, T=16384):
    """Where the shifted rows' time goes: a plain Triton copy of the q|k heads (no math) between
    an aligned (stride W) and a shifted (stride W + 3) layout in each direction, and in place."""
    Hq, Hkv, D = heads("qwen3_8b")
    H = Hq + Hkv
    W = (Hq + 2 * Hkv) * D
    nbytes = 2 * T * H * D * 2
    for name, ss, ds, inplace in (("aligned->aligned", W, W, False), ("shifted->aligned", W + 3, W, False),
                                  ("aligned->shifted", W, W + 3, False), ("shifted->shifted", W + 3, W + 3, False),
                                  ("shifted in place", W + 3, W + 3, True), ("aligned in place", W, W, True),
                                  ("stride W+8 in place", W + 8, W + 8, True),
                                  ("stride W+64 in place", W + 64, W + 64, True)):
        pairs = []
        for _ in range(3):
            a = torch.randn(T * ss + 8, device="cuda", dtype=DT)
            b = a if inplace else torch.empty(T * ds + 8, device="cuda", dtype=DT)
            pairs.append((a, b))
        us = bq.bench_graph_rot(lambda pr: (lambda: copy_rows(pr[0], ss, pr[1], ds, T, H, D)), pairs,
                                min_calls=200, n_rep=30)
        rows.append(dict(case="layout_probe", layout=name, T=T, variant="triton_copy", rot_us=us,
                         bw_pct=100 * nbytes / (us * 1e-6) / 1e9 / copy_bw))
        print(f"layout probe {name:22s} T={T} {us:9.2f} us {rows[-1]['bw_pct']:5.1f}%", flush=True)


def load_sgl(d):
    import tvm_ffi
    mod = tvm_ffi.load_module(os.path.join(d, "sgl_qknorm_128_bf16_t.so"))

    def run(qkv2d, Hq, Hkv, D, wq, wk):
        T = qkv2d.shape[0]
        q = qkv2d[:, : Hq * D].view(T, Hq, D) if qkv2d.is_contiguous() else \
            qkv2d[:, : Hq * D].unflatten(1, (Hq, D))
        k = qkv2d[:, Hq * D:(Hq + Hkv) * D].unflatten(1, (Hkv, D))
        mod.qknorm(q, k, wq, wk, 1e-6)
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--sgl", default=None)
    ap.add_argument("--cases", default="shifted,fullwidth,tp8,warm")
    ap.add_argument("--variants", default="",
                    help="extra library variants NAME=ENV=V[;ENV=V],... (environment switches)")
    ap.add_argument("--out", default=os.environ.get("OUT", "bench_out"))
    a = ap.parse_args()
    torch.manual_seed(0)
    libs = {"default": bq.load_lib(a.lib), "noshift": bq.load_lib(a.lib, {"QK_RUNTIME_NO_SHIFT": "1"})}
    for spec in filter(None, a.variants.split(",")):
        name, env = spec.split("=", 1)
        libs[name] = bq.load_lib(a.lib, dict(kv.split("=", 1) for kv in env.split(";")))
    sgl = None
    if a.sgl:
        try:
            sgl = load_sgl(a.sgl)
        except Exception as e:  # noqa: BLE001 - reported, the rest still runs
            print(f"sgl unavailable: {e}")
    copy_bw = bq.measure_copy_bw()
    print(f"copy bandwidth {copy_bw:.0f} GB/s; {torch.cuda.get_device_name()}; torch {torch.__version__}; "
          f"triton {triton.__version__}", flush=True)
    rows = []
    cases = a.cases.split(",")
    if "probe" in cases:
        case_layout_probe(copy_bw, rows)
    if "shifted" in cases:
        case_shifted(libs, sgl, copy_bw, rows, [1024, 16384])
    if "fullwidth" in cases:
        case_fullwidth(libs, copy_bw, rows, [1024, 16384])
    if "tp8" in cases:
        case_heads("tp8", *heads_128("qwen3_235b_tp8"), [8192, 32768], libs, sgl, copy_bw, rows)
    if "warm" in cases:
        case_heads("llama4", *heads_128("llama4_scout"), [1024], libs, sgl, copy_bw, rows)
    if "table" in cases:
        fi = None
        if a.sgl:
            try:
                fi = load_fi(a.sgl)
            except OSError as e:
                print(f"fi unavailable: {e}")
        for name in bq.families.KERNEL_CONFIGS:  # separate q/k weights here, also for Llama 4
            case_heads(name, *heads_128(name), [1, 16, 128, 1024, 8192, 32768], libs, sgl, copy_bw, rows,
                       gemma=bq.CONFIGS[name]["gemma"], fi=fi)
    if "tp8warm" in cases:
        case_heads("tp8", *heads_128("qwen3_235b_tp8"), [8192], libs, sgl, copy_bw, rows)
        case_heads("qwen3_8b", *heads_128("qwen3_8b"), [1024, 8192], libs, sgl, copy_bw, rows)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "kernel_gaps.json"), "w") as f:
        json.dump(dict(copy_bw=copy_bw, device=torch.cuda.get_device_name(), rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
