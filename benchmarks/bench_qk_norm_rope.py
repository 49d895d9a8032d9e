#!/usr/bin/env python3
"""QK RMSNorm + RoPE in one kernel (ours, qk_fused_rms_norm_rope, docs/rope-abi.md) side by side with the
anchors, in one process on one GPU (bf16, in place on a fused qkv buffer). Runs on the H200 device machine,
never in CI. Results and method: docs/rope-performance-h200.md.

Variants (--variants, comma-separated; a variant whose library or kernel is missing, or which cannot run a
configuration, is skipped with the reason in the output and in bench.json):
  qk         ours: one qk_fused_rms_norm_rope call through ctypes on --lib (libqk_runtime_cuda.so, ABI 3)
  qk_op      ours through the torch op qk.ops.fused_qk_rmsnorm_rope_ (native op, python/ on sys.path)
  qk_2k      ours unfused: qk_fused_rms_norm, then sglang's RoPE kernel (apply_rope_inplace,
             csrc/elementwise/rope.cuh) on the same views (Llama 4: RoPE first, then the norm)
  sgl        sglang 0.5.23 fused_qk_norm_rope (JIT kernel, tvm-ffi): sin/cos computed in the kernel from the
             RoPE base with __sincosf (--use_fast_math), int32 positions, bf16 only, norm then RoPE only
             (not Llama 4); Gemma's (1 + w) passed as a precomputed weight
  vllm       vLLM 0.33.0 fused_qk_norm_rope (csrc/fused_qknorm_rope_kernel.cu, built standalone), the
             --cache-dtype cos_sin_cache, int64 positions, norm then RoPE only (not Llama 4); (1 + w) precomputed;
             token_heads_per_warp auto-selected as vLLM does on sm_90
  vllm_h1    the same with token_heads_per_warp forced to 1 (vLLM's one-head-per-warp kernel)
  tri        a Triton reference (this file): norm + RoPE fused, either order, the --cache-dtype cache (f32 math), per-config
             choice of heads per program and warps by a short timing
  cp         torch copy of the q|k columns into another buffer (same bytes read + written, no cache):
             the in-process ceiling next to the 1 GiB copy bandwidth
Configurations (--configs; the registry python/qk/models/families.py; eps = families.BENCH_EPS):
  qwen3_8b (32 q / 8 kv heads, D 128, NeoX, full rotary), qwen3_235b_tp8 (8 / 1), glm4_5 (96 / 8, rotary
  64 of 128), gemma3_27b (32 / 16, D 128 per the registry, (1 + w)), llama4_scout (40 / 8, GPT-J pairs,
  RoPE before the norm, no weight).
Times: CUDA-graph replay of back-to-back calls rotating over K distinct qkv buffers (K * buffer >= ~200 MB
where T allows, so mostly not L2-resident), median per call, the smaller of two captures (rot); the same on
one buffer (graph, L2-warm at small T). Bytes per call: q and k read and written once, the weights once, one
cos/sin row (rotary_dim values of the cache dtype) and one position per token; GB/s and % of the 1 GiB
device-to-device copy bandwidth measured in this process before each configuration.
Error: every variant's output on fresh data, positions uniform in [0, --max-pos), against a float64
reference whose angles are computed in float64 (not read from the float32 cache): max |err| and max error
relative to the row's norm, on q|k, and whether v stayed bit-identical.

Usage (one command; OUT is the output folder of the device machine):
  benchmarks/anchors/build_rope_anchors.sh .anchors/src /tmp/anc &&
  python3 benchmarks/bench_qk_norm_rope.py --lib build-rope/lib/libqk_runtime_cuda.so --anchors /tmp/anc \
      --out $OUT [--configs qwen3_8b,...] [--tokens 1,16,128,1024,8192,32768] [--variants qk,qk_op,...]
      [--max-pos 131072] [--theta-override 0] [--no-eager] [--cache-dtype float32|bfloat16]
--cache-dtype bfloat16 is how vLLM and sglang serve a bf16 model (RotaryEmbedding converts the cache to the
query's dtype); ours then rounds as that graph does (PER_OP, the packed rotation).
tvm_ffi must be importable for the sglang variants (pip install .anchors/whl/apache_tvm_ffi-*.whl).
Writes bench.json (environment, copy bandwidth, every row, every skip with its reason) and bench.csv.
"""
import argparse
import csv
import ctypes
import json
import math
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_qknorm as bq  # noqa: E402  (families, QkRange, timing, copy bandwidth)

try:
    import triton
    import triton.language as tl
except ImportError:  # noqa
    triton = None

DT = torch.bfloat16
TOKENS = [1, 16, 128, 1024, 8192, 32768]
CONFIG_NAMES = ["qwen3_8b", "qwen3_235b_tp8", "glm4_5", "gemma3_27b", "llama4_scout"]
VARIANTS = ["qk", "qk_op", "qk_2k", "sgl", "vllm", "vllm_h1", "tri", "cp"]
INPLACE = {"qk", "qk_op", "qk_2k", "sgl", "vllm", "vllm_h1", "tri"}


def config(name, theta_override=0.0):
    f = bq.families.get(name)
    if f.norm_width != "head":
        raise ValueError(f"{name}: per-head norms only")
    rot = int(f.head_dim * f.partial_rotary_factor)
    return dict(name=name, Hq=f.num_heads, Hkv=f.num_kv_heads, D=f.head_dim, R=rot, eps=bq.families.BENCH_EPS,
                neox=f.rope_style == "neox", rope_first=f.rope_before_norm, weight=f.norm_weight,
                shared=f.shared_qk_norm, woff=f.weight_offset, theta=theta_override or f.rope_theta or 10000.0)


def cos_sin_cache(max_pos, R, theta, dtype=torch.float32):
    """vLLM's RotaryEmbedding cache: [max_pos, R], cos | sin halves (computed in float64)."""
    inv = 1.0 / (theta ** (torch.arange(0, R, 2, dtype=torch.float64) / R))
    ang = torch.arange(max_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cat([ang.cos(), ang.sin()], -1).to(dtype)


# ------------------------------------------------------------------------------------------
# float64 reference (angles in float64 from theta, not from the cache)
# ------------------------------------------------------------------------------------------
def reference(qkv, cfg, wq, wk, pos):
    Hq, Hkv, D, R = cfg["Hq"], cfg["Hkv"], cfg["D"], cfg["R"]
    T, H = qkv.shape[0], Hq + Hkv
    x = qkv[:, :H * D].double().reshape(T, H, D)
    if cfg["weight"]:
        w = torch.cat([wq.double().expand(Hq, D), wk.double().expand(Hkv, D)], 0) + cfg["woff"]
    else:
        w = torch.ones(H, D, dtype=torch.float64, device=qkv.device)
    inv = 1.0 / (cfg["theta"] ** (torch.arange(0, R, 2, dtype=torch.float64, device=qkv.device) / R))
    ang = pos.double()[:, None] * inv[None, :]
    c, s = ang.cos()[:, None, :], ang.sin()[:, None, :]

    def rope(v):
        a = v[..., :R]
        if cfg["neox"]:
            x1, x2 = a[..., :R // 2], a[..., R // 2:]
            r = torch.cat([x1 * c - x2 * s, x2 * c + x1 * s], -1)
        else:
            x1, x2 = a[..., 0::2], a[..., 1::2]
            r = torch.stack([x1 * c - x2 * s, x2 * c + x1 * s], -1).flatten(-2)
        return torch.cat([r, v[..., R:]], -1)

    def norm(v):
        return v / torch.sqrt((v * v).mean(-1, keepdim=True) + cfg["eps"]) * w

    y = norm(rope(x)) if cfg["rope_first"] else rope(norm(x))
    return y.reshape(T, H * D)


def errors(out, ref, D):
    d = out.double() - ref
    row = (d.reshape(-1, D).norm(dim=1) / ref.reshape(-1, D).norm(dim=1).clamp_min(1e-30)).max().item()
    return d.abs().max().item(), row, bool(torch.isfinite(out).all().item())


# ------------------------------------------------------------------------------------------
# ours: qk_fused_rms_norm_rope through ctypes
# ------------------------------------------------------------------------------------------
class QkRope(ctypes.Structure):  # qk_rope_t (docs/rope-abi.md); qk.runtime.Rope is the same
    _fields_ = [("style", ctypes.c_int), ("rounding", ctypes.c_int), ("before_norm", ctypes.c_int32),
                ("per_pair", ctypes.c_int32), ("head_dim", ctypes.c_int64), ("rotary_dim", ctypes.c_int64),
                ("cos", ctypes.c_void_p), ("sin", ctypes.c_void_p), ("table_dtype", ctypes.c_int),
                ("table_rows", ctypes.c_int64), ("table_columns", ctypes.c_int64),
                ("cos_row_stride", ctypes.c_int64), ("sin_row_stride", ctypes.c_int64),
                ("cos_column", ctypes.c_int64), ("sin_column", ctypes.c_int64), ("positions", ctypes.c_void_p),
                ("positions_dtype", ctypes.c_int)]


def load_ours(path):
    if not path:
        return None, "no --lib given"
    if not os.path.isfile(path):
        return None, f"{path} does not exist"
    lib = bq.load_lib(path)
    if not hasattr(lib, "qk_fused_rms_norm_rope"):
        return lib, f"{path} has no qk_fused_rms_norm_rope (built before ABI version 3)"
    f = lib.qk_fused_rms_norm_rope
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                  ctypes.POINTER(bq.QkRange), ctypes.c_int32, ctypes.POINTER(QkRope), ctypes.c_uint32,
                  ctypes.c_void_p]
    return lib, ""


def our_ranges(cfg, wq, wk):
    Hq, Hkv, D = cfg["Hq"], cfg["Hkv"], cfg["D"]
    arr = (bq.QkRange * 2)()
    wpq = wq.data_ptr() if cfg["weight"] else None
    wpk = wk.data_ptr() if cfg["weight"] else None
    arr[0] = bq.QkRange(0, Hq, D, D, wpq, bq.QK_DTYPE_BF16, cfg["eps"], cfg["woff"], 0)
    arr[1] = bq.QkRange(Hq * D, Hkv, D, D, wpk, bq.QK_DTYPE_BF16, cfg["eps"], cfg["woff"], 0)
    return arr


def our_rope(cfg, cache, pos):
    rp = QkRope()
    rp.style = 0 if cfg["neox"] else 1
    # The graph's rounding: an f32 cache promotes the products to f32 (rounded once); a cache of the
    # activation dtype rounds after every product and the sum (PER_OP, as eager bf16 math does).
    rp.rounding = 1 if cache.dtype == torch.float32 else 0
    rp.before_norm = int(cfg["rope_first"])
    rp.per_pair = 1
    rp.head_dim, rp.rotary_dim = cfg["D"], cfg["R"]
    rp.cos = rp.sin = cache.data_ptr()
    rp.table_dtype = 0 if cache.dtype == torch.float32 else bq.QK_DTYPE_BF16
    rp.table_rows, rp.table_columns = cache.shape
    rp.cos_row_stride = rp.sin_row_stride = cache.stride(0)
    rp.cos_column, rp.sin_column = 0, cfg["R"] // 2
    rp.positions = pos.data_ptr()
    rp.positions_dtype = 0 if pos.dtype == torch.int32 else 1
    return rp


def qk_call(lib, qkv, ranges, rope):
    st = lib.qk_fused_rms_norm_rope(bq.QK_DTYPE_BF16, qkv.data_ptr(), qkv.stride(0), qkv.data_ptr(), qkv.stride(0),
                                    qkv.shape[0], ranges, 2, ctypes.byref(rope), 3,
                                    torch.cuda.current_stream().cuda_stream)
    if st != 0:
        raise RuntimeError("qk_fused_rms_norm_rope: %d %s" % (st, lib.qk_last_error_message().decode()))


# ------------------------------------------------------------------------------------------
# anchors
# ------------------------------------------------------------------------------------------
class Anchors:
    def __init__(self, d):
        self.dir = d
        self.why = {}
        self.tvm = None
        try:
            import tvm_ffi
            self.tvm = tvm_ffi
        except Exception as e:  # noqa
            self.why["tvm_ffi"] = f"tvm_ffi not importable: {e!r}"[:200]
        self.vllm = None
        p = os.path.join(d or "", "vllm_qknr.so")
        if d and os.path.isfile(p):
            self.vllm = ctypes.CDLL(p)
            self.vllm.vllm_qknr_launch.restype = ctypes.c_int
            self.vllm.vllm_qknr_launch.argtypes = [ctypes.c_void_p] + [ctypes.c_int] * 6 + [
                ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
            self.vllm.vllm_qknr_error.restype = ctypes.c_char_p
        else:
            self.why["vllm"] = f"{p} not built (see its .log)"
        self._mods = {}

    def module(self, name):
        if name in self._mods:
            return self._mods[name]
        p = os.path.join(self.dir or "", name + ".so")
        m = None
        if self.tvm is None:
            self.why[name] = self.why["tvm_ffi"]
        elif not os.path.isfile(p):
            self.why[name] = f"{p} not built (see its .log)"
        else:
            m = self.tvm.load_module(p)
        self._mods[name] = m
        return m


def sgl_qknr_fn(anc, cfg, qkv, wq_eff, wk_eff, pos32):
    if cfg["rope_first"]:
        return None, "sglang's fused_qk_norm_rope normalises first (no RoPE-before-norm order)"
    if not cfg["weight"]:
        return None, "sglang's fused_qk_norm_rope needs weights"
    D, R = cfg["D"], cfg["R"]
    if D not in (64, 128, 256):
        return None, f"head_dim {D} not in sglang's (64, 128, 256)"
    npt = D // 32
    if R % npt or (cfg["neox"] and ((R // npt // 2) & (R // npt // 2 - 1))):
        return None, f"rotary_dim {R} not supported by sglang's lane layout (D / 32 = {npt} per lane)"
    m = anc.module(f"sgl_qknr_{D}_{'neox' if cfg['neox'] else 'gptj'}")
    if m is None:
        return None, anc.why.get(f"sgl_qknr_{D}_{'neox' if cfg['neox'] else 'gptj'}")
    f = m.fused_qk_norm_rope
    Hq, Hkv = cfg["Hq"], cfg["Hkv"]

    def mk(buf):
        return lambda: f(buf, wq_eff, wk_eff, pos32, Hq, Hkv, Hkv, D, cfg["eps"], cfg["theta"], 1 if cfg["neox"] else 0,
                         1.0, 0.0, 0.0, 1.0, R)
    return mk, ""


def vllm_fn(anc, cfg, wq_eff, wk_eff, cache, pos64, forced=-1):
    if anc.vllm is None:
        return None, anc.why["vllm"]
    if cfg["rope_first"]:
        return None, "vLLM's fused_qk_norm_rope normalises first (no RoPE-before-norm order)"
    if not cfg["weight"]:
        return None, "vLLM's fused_qk_norm_rope needs weights"
    if cfg["D"] not in (64, 128, 256):
        return None, f"head_dim {cfg['D']} not in vLLM's (64, 128, 256)"
    lib = anc.vllm
    Hq, Hkv, D, R = cfg["Hq"], cfg["Hkv"], cfg["D"], cfg["R"]

    def call(buf):
        rc = lib.vllm_qknr_launch(buf.data_ptr(), buf.shape[0], Hq, Hkv, Hkv, D, R, cfg["eps"], wq_eff.data_ptr(),
                                  wk_eff.data_ptr(), cache.data_ptr(), int(cache.dtype != torch.float32),
                                  int(cfg["neox"]), pos64.data_ptr(), forced, torch.cuda.current_stream().cuda_stream)
        if rc < 16:
            raise RuntimeError(f"vllm_qknr_launch: {rc} {lib.vllm_qknr_error().decode()}")
    return (lambda buf: (lambda: call(buf))), ""


def qk_2k_fn(anc, lib, cfg, wq, wk, cache, pos64):
    if lib is None:
        return None, "no --lib"
    R = cfg["R"]
    name = f"sgl_rope_{R}_{'neox' if cfg['neox'] else 'gptj'}"
    m = anc.module(name)
    if m is None:
        return None, anc.why.get(name)
    Hq, Hkv, D = cfg["Hq"], cfg["Hkv"], cfg["D"]
    rg = our_ranges(cfg, wq, wk)

    def norm(buf):
        bq.qk_call(lib, buf, rg) if cfg["weight"] else _norm_noweight(lib, buf, rg)

    def mk(buf):
        q = buf[:, :Hq * D].view(-1, Hq, D)[..., :R]
        k = buf[:, Hq * D:(Hq + Hkv) * D].view(-1, Hkv, D)[..., :R]
        if cfg["rope_first"]:
            return lambda: (m.run_rope(q, k, cache, pos64), norm(buf))
        return lambda: (norm(buf), m.run_rope(q, k, cache, pos64))
    return mk, ""


def _norm_noweight(lib, buf, rg):
    bq.qk_call(lib, buf, rg)


# ------------------------------------------------------------------------------------------
# Triton reference: norm + RoPE fused, ROWS heads per program
# ------------------------------------------------------------------------------------------
if triton is not None:
    @triton.jit
    def _tri_qknorm_rope(qkv_ptr, wq_ptr, wk_ptr, cache_ptr, pos_ptr, n_rows, stride_t, eps, woff,
                         HQ: tl.constexpr, H: tl.constexpr, D: tl.constexpr, R: tl.constexpr, ROWS: tl.constexpr,
                         NEOX: tl.constexpr, ROPE_FIRST: tl.constexpr, HAS_W: tl.constexpr):
        pid = tl.program_id(0)
        rows = pid * ROWS + tl.arange(0, ROWS)
        rmask = rows < n_rows
        t = rows // H
        h = rows - t * H
        cols = tl.arange(0, D)
        HALF: tl.constexpr = R // 2
        if NEOX:
            partner = tl.where(cols < HALF, cols + HALF, cols - HALF)
            sign = tl.where(cols < HALF, -1.0, 1.0)
            f = tl.where(cols < HALF, cols, cols - HALF)
        else:
            partner = cols ^ 1
            sign = tl.where(cols % 2 == 0, -1.0, 1.0)
            f = cols // 2
        rot = cols < R
        partner = tl.where(rot, partner, cols)
        f = tl.where(rot, f, 0)
        base = t.to(tl.int64) * stride_t + (h * D).to(tl.int64)
        m = rmask[:, None]
        x = tl.load(qkv_ptr + base[:, None] + cols[None, :], mask=m, other=0.0).to(tl.float32)
        xp = tl.load(qkv_ptr + base[:, None] + partner[None, :], mask=m, other=0.0).to(tl.float32)
        p = tl.load(pos_ptr + t, mask=rmask, other=0).to(tl.int64)
        cm = m & rot[None, :]
        c = tl.load(cache_ptr + p[:, None] * R + f[None, :], mask=cm, other=1.0)
        s = tl.load(cache_ptr + p[:, None] * R + HALF + f[None, :], mask=cm, other=0.0)
        isq = (h < HQ)[:, None]
        if HAS_W:
            w = tl.where(isq, tl.load(wq_ptr + cols)[None, :].to(tl.float32),
                         tl.load(wk_ptr + cols)[None, :].to(tl.float32)) + woff
            wp = tl.where(isq, tl.load(wq_ptr + partner)[None, :].to(tl.float32),
                          tl.load(wk_ptr + partner)[None, :].to(tl.float32)) + woff
        else:
            w = 1.0
            wp = 1.0
        if ROPE_FIRST:
            xr = tl.where(rot[None, :], x * c + sign[None, :] * xp * s, x)
            xr = xr.to(qkv_ptr.dtype.element_ty).to(tl.float32)
            inv = 1.0 / tl.sqrt(tl.sum(xr * xr, axis=1) / D + eps)
            y = xr * inv[:, None] * w
        else:
            inv = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
            y = (x * inv[:, None] * w).to(qkv_ptr.dtype.element_ty).to(tl.float32)
            yp = (xp * inv[:, None] * wp).to(qkv_ptr.dtype.element_ty).to(tl.float32)
            y = tl.where(rot[None, :], y * c + sign[None, :] * yp * s, y)
        tl.store(qkv_ptr + base[:, None] + cols[None, :], y.to(qkv_ptr.dtype.element_ty), mask=m)


def tri_call(buf, cfg, wq, wk, cache, pos, rows, nw):
    H = cfg["Hq"] + cfg["Hkv"]
    n = buf.shape[0] * H
    _tri_qknorm_rope[(triton.cdiv(n, rows),)](buf, wq, wk, cache, pos, n, buf.stride(0), cfg["eps"], cfg["woff"],
                                              HQ=cfg["Hq"], H=H, D=cfg["D"], R=cfg["R"], ROWS=rows,
                                              NEOX=cfg["neox"], ROPE_FIRST=cfg["rope_first"],
                                              HAS_W=cfg["weight"], num_warps=nw)


TRI_CANDIDATES = [(2, 1), (4, 2), (8, 4), (16, 4), (16, 8)]


# ------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default="", help="libqk_runtime_cuda.so with qk_fused_rms_norm_rope (ABI 3)")
    ap.add_argument("--anchors", default="", help="folder of build_rope_anchors.sh's .so files")
    ap.add_argument("--configs", default=",".join(CONFIG_NAMES))
    ap.add_argument("--tokens", default=",".join(map(str, TOKENS)))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--max-pos", type=int, default=131072, help="cache rows; positions uniform in [0, max-pos)")
    ap.add_argument("--theta-override", type=float, default=0.0, help="RoPE base for every config (0: registry)")
    ap.add_argument("--no-eager", action="store_true", help="skip the eager host-time column")
    ap.add_argument("--cache-dtype", choices=["float32", "bfloat16"], default="float32",
                    help="cos_sin_cache dtype: float32, or bfloat16 as vLLM and sglang serve it (their RotaryEmbedding "
                         "converts the cache to the query's dtype); sglang's separate RoPE (qk_2k) takes float32 "
                         "only and keeps a float32 copy")
    ap.add_argument("--out", default=os.environ.get("OUT", "bench_out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    variants = [v for v in args.variants.split(",") if v]
    tokens = [int(t) for t in args.tokens.split(",") if t]
    torch.manual_seed(0)
    lib, lib_why = load_ours(args.lib)
    if args.lib:
        os.environ.setdefault("QK_RUNTIME_CUDA_LIB", os.path.abspath(args.lib))
    ops, op_why = None, ""
    if "qk_op" in variants:
        try:
            sys.path.insert(0, os.path.join(REPO, "python"))
            from qk import ops  # noqa
            op_why = "" if ops.rope_backend_info("cuda").startswith("cuda") else ops.rope_backend_info("cuda")
            op_why = op_why or ""
        except Exception as e:  # noqa
            ops, op_why = None, f"qk.ops does not import: {e!r}"[:300]
    anc = Anchors(args.anchors)
    p = torch.cuda.get_device_properties(0)
    env = dict(gpu=torch.cuda.get_device_name(0), sms=p.multi_processor_count, torch=torch.__version__,
               cuda=torch.version.cuda, triton=getattr(triton, "__version__", None), python=sys.version.split()[0],
               lib=args.lib, lib_skip=lib_why, op=(ops.op_info() if ops else None), op_skip=op_why,
               anchors=args.anchors, anchor_skips=anc.why, max_pos=args.max_pos, cache_dtype=args.cache_dtype)
    try:
        env["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm",
                                            "--format=csv,noheader"], capture_output=True, text=True,
                                           timeout=30).stdout.strip()
    except Exception as e:  # noqa
        env["nvidia_smi"] = repr(e)
    print("ENV", json.dumps(env), flush=True)
    rows, skips, copy_bw = [], [], {}
    t0 = time.time()

    def save():
        with open(os.path.join(args.out, "bench.json"), "w") as fh:
            json.dump(dict(env=env, copy_bw=copy_bw, rows=rows, skips=skips), fh, indent=1)

    for cname in [c for c in args.configs.split(",") if c]:
        cfg = config(cname, args.theta_override)
        copy_bw[cname] = cbw = bq.measure_copy_bw()
        print(f"COPY before {cname}: {cbw:.0f} GB/s  cfg={cfg}", flush=True)
        Hq, Hkv, D, R = cfg["Hq"], cfg["Hkv"], cfg["D"], cfg["R"]
        H, W = Hq + Hkv, (Hq + 2 * Hkv) * D
        base_w = 0.0 if cfg["woff"] else 1.0
        wq = (base_w + 0.1 * torch.randn(D, device="cuda")).to(DT)
        wk = wq if cfg["shared"] else (base_w + 0.1 * torch.randn(D, device="cuda")).to(DT)
        wq_eff = (wq.float() + cfg["woff"]).to(DT)  # the anchors take (1 + w) precomputed
        wk_eff = (wk.float() + cfg["woff"]).to(DT)
        cache32 = cos_sin_cache(args.max_pos, R, cfg["theta"]).cuda()
        cache = cache32.to(getattr(torch, args.cache_dtype))
        w_bytes = (D * 2 if cfg["shared"] else 2 * D * 2) if cfg["weight"] else 0
        for T in tokens:
            tb = time.time()
            buf_bytes = T * W * 2
            K = 1 if buf_bytes >= 400e6 else min(64, max(2, math.ceil(200e6 / buf_bytes)))
            bufs = [torch.randn(T, W, device="cuda", dtype=DT) for _ in range(K)]
            pos64 = torch.randint(0, args.max_pos, (T,), device="cuda", dtype=torch.int64)
            pos32 = pos64.to(torch.int32)
            min_bytes = 2 * T * H * D * 2 + w_bytes + T * R * cache.element_size() + T * 8
            big = T >= 8192
            n_inner, n_rep = (4, 15) if big else (20, 30)
            rot_calls, rot_rep = (3, 10) if big else (40, 20)
            xt = 2.0 * torch.randn(T, W, device="cuda", dtype=DT)
            ref = reference(xt, cfg, wq, wk, pos64)
            makers = {}
            why = {}
            if lib is not None and not lib_why:
                rg, rp = our_ranges(cfg, wq, wk), our_rope(cfg, cache, pos64)
                makers["qk"] = lambda b, rg=rg, rp=rp: (lambda: qk_call(lib, b, rg, rp))
            else:
                why["qk"] = lib_why
            if ops is not None and not op_why:
                def mk_op(b):
                    q = b[:, :Hq * D].view(-1, Hq, D)
                    k = b[:, Hq * D:H * D].view(-1, Hkv, D)
                    return lambda: ops.fused_qk_rmsnorm_rope_(
                        q, k, pos64, cache, wq if cfg["weight"] else None, wk if cfg["weight"] else None,
                        cfg["eps"], is_neox=cfg["neox"], weight_offset=cfg["woff"], rope_first=cfg["rope_first"],
                        rope_rounding="once" if cache.dtype == torch.float32 else "per_op")
                makers["qk_op"] = mk_op
            else:
                why["qk_op"] = op_why or "qk.ops not imported"
            mk, why["qk_2k"] = qk_2k_fn(anc, lib if not lib_why else None, cfg, wq, wk, cache32, pos64)
            if mk:
                makers["qk_2k"] = mk
            mk, why["sgl"] = sgl_qknr_fn(anc, cfg, None, wq_eff, wk_eff, pos32)
            if mk:
                makers["sgl"] = mk
            mk, why["vllm"] = vllm_fn(anc, cfg, wq_eff, wk_eff, cache, pos64)
            if mk:
                makers["vllm"] = mk
            # vLLM with token_heads_per_warp forced to 1 (its one-head-per-warp kernel): the check of its
            # auto-selected multi-head path (wrong output seen with partial rotary, docs/rope-performance-h200.md)
            mk, why["vllm_h1"] = vllm_fn(anc, cfg, wq_eff, wk_eff, cache, pos64, forced=1)
            if mk:
                makers["vllm_h1"] = mk
            if triton is not None:
                best = None
                for (rws, nw) in TRI_CANDIDATES:
                    try:
                        us = bq.bench_graph_rot(lambda b, rws=rws, nw=nw: (
                            lambda: tri_call(b, cfg, wq, wk, cache, pos64, rws, nw)), bufs, rot_calls,
                            max(5, rot_rep // 2))
                    except Exception as e:  # noqa
                        why["tri"] = repr(e)[:300]
                        continue
                    if best is None or us < best[2]:
                        best = (rws, nw, us)
                if best:
                    makers["tri"] = lambda b, rws=best[0], nw=best[1]: (
                        lambda: tri_call(b, cfg, wq, wk, cache, pos64, rws, nw))
                    why["tri"] = ""
            else:
                why["tri"] = "triton not importable"
            dst = torch.empty(T, H * D, device="cuda", dtype=DT)
            makers["cp"] = lambda b: (lambda: dst.copy_(b[:, :H * D]))
            for v in variants:
                if v not in makers:
                    skips.append(dict(config=cname, T=T, variant=v, reason=why.get(v) or "unknown variant"))
                    print(f"SKIP {cname} T={T} {v}: {skips[-1]['reason']}", flush=True)
                    continue
                nb = 2 * T * H * D * 2 if v == "cp" else min_bytes  # the copy moves q|k only
                row = dict(config=cname, T=T, variant=v, min_bytes=nb, copy_GBps=cbw, n_bufs=K)
                try:
                    if v in INPLACE:
                        b = xt.clone()
                        makers[v](b)()
                        torch.cuda.synchronize()
                        mx, rowrel, fin = errors(b[:, :H * D], ref, D)
                        row.update(max_abs_err=mx, max_row_rel_err=rowrel, finite=fin,
                                   v_untouched=bool(torch.equal(b[:, H * D:], xt[:, H * D:])))
                        del b
                    r1 = bq.bench_graph_rot(makers[v], bufs, rot_calls, rot_rep)
                    g = bq.bench_graph_rot(makers[v], bufs[:1], n_inner, n_rep)
                    r2 = bq.bench_graph_rot(makers[v], bufs, rot_calls, rot_rep)
                    row.update(rot_us=min(r1, r2), rot1_us=r1, rot2_us=r2, graph_us=g)
                    row["GBps"] = nb / (row["rot_us"] * 1e-6) / 1e9
                    row["pct_copy"] = 100.0 * row["GBps"] / cbw
                    if not args.no_eager:
                        row["eager_us"] = bq.bench_eager_wall(makers[v](bufs[0]))
                    print(f"ROW {cname} T={T} {v}: rot {row['rot_us']:.2f} us ({row['pct_copy']:.0f}% copy) "
                          f"graph {g:.2f} us err {row.get('max_abs_err', float('nan')):.3g} "
                          f"rowrel {row.get('max_row_rel_err', float('nan')):.3g}", flush=True)
                except Exception as e:  # noqa
                    row["error"] = repr(e)[:300]
                    print("ERROR", cname, T, v, row["error"], flush=True)
                rows.append(row)
            del bufs, xt, ref, dst
            torch.cuda.empty_cache()
            print(f"done {cname} T={T} in {time.time() - tb:.1f}s (elapsed {time.time() - t0:.0f}s)", flush=True)
            save()
    env["copy_end"] = bq.measure_copy_bw()
    save()
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(args.out, "bench.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    main()
