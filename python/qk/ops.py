"""The fused QK RMSNorm as a torch op, in place on views of a fused qkv buffer.

    q, k, v = qkv.split([q_size, kv_size, kv_size], dim=-1)
    qk.ops.fused_qk_rmsnorm_(q.view(T, -1, D), k.view(T, -1, D), q_norm.weight, k_norm.weight, eps)
    # or, shaped like sglang's helper (returns q, k; normalised in place):
    q, k = qk.ops.apply_qk_norm(q, k, q_norm, k_norm, head_dim)

Registered as `torch.ops.qk.fused_qk_rmsnorm_` (mutates q and k, returns nothing) and
`torch.ops.qk.fused_qk_rmsnorm` (functional, returns new q and k), with fake/meta implementations
so that torch.compile traces them and CUDA graphs capture them (the CUDA path only enqueues one
kernel on the current stream).

Semantics per (token, group of `head_dim` elements), for q with (q_weight, eps) and k with
(k_weight, k_eps): fp32 statistics, x * rsqrt(mean(x^2) + eps) * (weight_offset + w), rounded to
the activation dtype once (rounding="once", sglang/Gemma) or before the weight multiply
(rounding="before_weight", Hugging Face Qwen3/Llama). A 2-D q [T, C] with head_dim=None is
normalised over its full width (OLMo 2). CUDA tensors run libqk_runtime_cuda.so; CPU tensors run
libqk_runtime_host.so, or a PyTorch reference when that library cannot be found
(`backend_info()` says which; QK_REQUIRE_RUNTIME=1 makes the library mandatory).

Two implementations of the same ops (`op_info()` says which one is registered):
  native  csrc/torch_op.cpp: TORCH_LIBRARY(qk) with CPU, CUDA and Meta kernels, checks and call
          planning in C++ (the eager path is one dispatcher call and one runtime call). Built just
          in time at the first import with torch.utils.cpp_extension (a C++ compiler and ninja;
          ~5-20 s once, cached per torch version and source hash in QK_NATIVE_OP_DIR, default
          ~/.cache/qk/torch-op), loaded with torch.ops.load_library; the runtime libraries are
          found here (qk._discovery) and their entry points handed to it (qk::_set_runtime).
  python  torch.library.custom_op + ctypes (this file; torch < 2.4: torch.library.Library with
          CPU, CUDA and Meta kernels): QK_NATIVE_OP=0, or when the native op cannot be built (a
          warning says why; QK_REQUIRE_NATIVE_OP=1 makes that an error).
The checks and the call planning below exist in both: keep csrc/torch_op.cpp in step (the
tests compare plans, results and error messages of the two).
"""

import hashlib
import os
import platform
import shutil
import sys
import warnings
from pathlib import Path
from typing import Optional, Tuple

import torch

from . import runtime as _rt
from ._discovery import ToolNotFoundError

__all__ = ["fused_qk_rmsnorm_", "fused_qk_rmsnorm", "apply_qk_norm", "reference_qk_rmsnorm", "backend_info",
           "op_info", "ROUNDING", "fused_qk_rmsnorm_rope_", "fused_qk_rmsnorm_rope", "reference_qk_rmsnorm_rope",
           "reference_rope", "rope_backend_info", "ROPE_STYLE", "ROPE_ROUNDING"]

ROUNDING = {"once": _rt.ROUNDING_ONCE, "before_weight": _rt.ROUNDING_BEFORE_WEIGHT}
_DTYPES = {torch.float32: _rt.DTYPE_F32, torch.float16: _rt.DTYPE_F16, torch.bfloat16: _rt.DTYPE_BF16}


# -- argument checks and the geometry of one call --------------------------------------------

def _group_layout(x: torch.Tensor, name: str, head_dim: int):
    """(num_groups, group_size, group_stride) of one token row of x, in elements."""
    if x.dim() == 2:
        cols = x.shape[1]
        g = head_dim or cols
        if cols and x.stride(1) != 1:
            raise ValueError(f"{name}: the column stride must be 1 (got {x.stride(1)})")
        if g <= 0 or cols % g:
            raise ValueError(f"{name}: {cols} columns are not a multiple of head_dim {g}")
        return cols // g, g, g
    if x.dim() == 3:
        h, d = x.shape[1], x.shape[2]
        if d and x.stride(2) != 1:
            raise ValueError(f"{name}: the innermost stride must be 1 (got {x.stride(2)})")
        g = head_dim or d
        if g == d:
            return h, d, (x.stride(1) if h > 1 else d)
        if g == h * d and (h <= 1 or x.stride(1) == d):
            return 1, g, g
        raise ValueError(f"{name}: head_dim {g} must be the last dimension ({d}) or the whole packed row ({h * d})")
    raise ValueError(f"{name}: expected [tokens, columns] or [tokens, heads, head_dim], got shape {tuple(x.shape)}")


def _check_weight(w, name, dtype, device, group):
    if w is None:
        return
    if not isinstance(w, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or None")
    if w.dim() != 1 or w.shape[0] != group:
        raise ValueError(f"{name}: expected shape [{group}], got {tuple(w.shape)}")
    if w.dtype not in (dtype, torch.float32):
        raise ValueError(f"{name}: dtype {w.dtype} must be the activation dtype {dtype} or torch.float32")
    if w.device != device:
        raise ValueError(f"{name} is on {w.device}, the activations on {device}")
    if w.stride(0) != 1 and w.shape[0] > 1:
        raise ValueError(f"{name} must be contiguous")


def _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim):
    for t, n in ((q, "q"), (k, "k")):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{n} must be a tensor")
        if t.dtype not in _DTYPES:
            raise ValueError(f"{n}: dtype {t.dtype} is not supported (float32, float16, bfloat16)")
    if q.dtype != k.dtype:
        raise ValueError(f"q and k must have the same dtype ({q.dtype} vs {k.dtype})")
    if q.device != k.device:
        raise ValueError(f"q and k must be on the same device ({q.device} vs {k.device})")
    if q.device.type not in ("cpu", "cuda", "meta"):
        raise ValueError(f"device {q.device} is not supported (cpu, cuda)")
    if q.shape[0] != k.shape[0]:
        raise ValueError(f"q and k must have the same number of tokens ({q.shape[0]} vs {k.shape[0]})")
    if rounding not in (0, 1):
        raise ValueError("rounding must be 'once' or 'before_weight'")
    for e, n in ((eps, "eps"), (k_eps, "k_eps")):
        if not (e >= 0.0) or e == float("inf"):
            raise ValueError(f"{n} must be finite and >= 0 (got {e})")
    qg = _group_layout(q, "q", head_dim)
    kg = _group_layout(k, "k", head_dim)
    _check_weight(q_weight, "q_weight", q.dtype, q.device, qg[1])
    _check_weight(k_weight, "k_weight", k.dtype, k.device, kg[1])
    return qg, kg


def _storage_ptr(t: torch.Tensor) -> int:
    try:
        return t.untyped_storage().data_ptr()
    except AttributeError:  # torch < 2.0
        return t.storage().data_ptr()


def _make_range(x, layout, weight, eps, weight_offset, rounding, column_offset):
    r = _rt.NormRange()
    r.column_offset = column_offset
    r.num_groups, r.group_size, r.group_stride = layout
    r.weight = weight.data_ptr() if weight is not None else None
    r.weight_dtype = _DTYPES[weight.dtype] if weight is not None else _DTYPES[x.dtype]
    r.epsilon = eps
    r.weight_offset = weight_offset
    r.rounding = rounding
    return r


def plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
    """[(base tensor, token stride, [ranges])]: one call when q and k are views of one buffer with
    the same token stride (q|k of a fused qkv), else one call each."""
    qg, kg = _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
    es = q.element_size()
    q_ts = q.stride(0)
    # One token: the token stride addresses nothing, and torch gives a size-1 dimension any stride
    # (q.view(1, Hq, D) of a qkv row has stride Hq * D, k's Hkv * D), so it does not tell q and k apart.
    one_row = q.shape[0] == 1
    if q.shape[0] > 0 and q.numel() and k.numel() and _storage_ptr(q) == _storage_ptr(k) and (
            one_row or q.stride(0) == k.stride(0)):
        base = q if q.data_ptr() <= k.data_ptr() else k
        qo = (q.data_ptr() - base.data_ptr()) // es
        ko = (k.data_ptr() - base.data_ptr()) // es
        if one_row:  # any stride past both ranges' last element
            q_ts = max(q_ts, k.stride(0), *(o + (g[0] - 1) * g[2] + g[1] for o, g in ((qo, qg), (ko, kg))))
        ranges = [_make_range(q, qg, q_weight, eps, weight_offset, rounding, qo),
                  _make_range(k, kg, k_weight, k_eps, weight_offset, rounding, ko)]
        return [(base, q_ts, ranges)]
    calls = []
    for x, g, w, e in ((q, qg, q_weight, eps), (k, kg, k_weight, k_eps)):
        calls.append((x, x.stride(0), [_make_range(x, g, w, e, weight_offset, rounding, 0)]))
    return calls


# -- backends ----------------------------------------------------------------------------------

def _require_runtime() -> bool:
    return os.environ.get("QK_REQUIRE_RUNTIME", "") not in ("", "0")


def backend_info(device: str = "cpu") -> str:
    """Which implementation runs for tensors on `device`: the runtime library's path, or
    'torch reference' when no host library is found (CPU only)."""
    kind = "cuda" if str(device).startswith("cuda") else "host"
    try:
        lib = _rt.load(kind)
        return f"{lib.name}: {lib.path}"
    except (OSError, ToolNotFoundError) as e:
        if kind == "host" and not _require_runtime():
            return "torch reference (libqk_runtime_host.so not found)"
        return f"unavailable: {e}"


def _run_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
    calls = plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)
    if q.shape[0] == 0:
        return
    if q.is_cuda:
        lib = _rt.load("cuda")
        stream = torch.cuda.current_stream(q.device).cuda_stream
        with torch.cuda.device(q.device):
            for base, ts, ranges in calls:
                lib.fused_rms_norm(_DTYPES[q.dtype], base.data_ptr(), ts, base.data_ptr(), ts, q.shape[0], ranges,
                                   stream)
        return
    try:
        lib = _rt.load("host")
    except (OSError, ToolNotFoundError):
        if _require_runtime():
            raise
        _reference_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)
        return
    for base, ts, ranges in calls:
        lib.fused_rms_norm(_DTYPES[q.dtype], base.data_ptr(), ts, base.data_ptr(), ts, q.shape[0], ranges, None)


def reference_qk_rmsnorm(x: torch.Tensor, weight: Optional[torch.Tensor], eps: float, weight_offset: float = 0.0,
                         rounding: str = "once", head_dim: Optional[int] = None) -> torch.Tensor:
    """The op's semantics on one tensor in PyTorch (a new tensor of x's shape and dtype)."""
    r = ROUNDING[rounding] if isinstance(rounding, str) else rounding
    n, g, _ = _group_layout(x, "x", head_dim or 0)
    xf = x.reshape(x.shape[0], n, g).float()
    ms = xf.pow(2).mean(-1, keepdim=True)
    y = xf * torch.rsqrt(ms + eps)
    # as in the C ABI: w_i = weight_offset + w[i], and 1 (no multiply) without a weight
    w = weight.float() + weight_offset if weight is not None else None
    if r == _rt.ROUNDING_BEFORE_WEIGHT:
        y = y.to(x.dtype).float()
    if w is not None:
        y = y * w
    return y.to(x.dtype).reshape(x.shape)


def _reference_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
    with torch.no_grad():
        qn = reference_qk_rmsnorm(q, q_weight, eps, weight_offset, rounding, head_dim)
        kn = reference_qk_rmsnorm(k, k_weight, k_eps, weight_offset, rounding, head_dim)
        q.copy_(qn)
        k.copy_(kn)


def _run_functional(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
    _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
    q_out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    k_out = torch.empty(k.shape, dtype=k.dtype, device=k.device)
    q_out.copy_(q)
    k_out.copy_(k)
    _run_inplace(q_out, k_out, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)
    return q_out, k_out


# -- norm + RoPE in one call (ABI version 3, docs/rope-abi.md) -----------------------------------

ROPE_STYLE = dict(_rt.ROPE_STYLES)          # "neox" | "gptj" -> code
ROPE_ROUNDING = dict(_rt.ROPE_ROUNDINGS)    # "per_op" | "once" -> code
_INDEX = {torch.int32: _rt.INDEX_I32, torch.int64: _rt.INDEX_I64}


def _rope_head(x: torch.Tensor, head_dim: int) -> int:
    """Elements of one rotated head of x: the last dimension of [T, H, D] (also when the norm takes
    the packed row, head_dim = H * D: OLMo 2), head_dim (or the whole row) of [T, C]."""
    return x.shape[2] if x.dim() == 3 else (head_dim or x.shape[1])


def _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                   rotary_dim, rope_rounding):
    """The norm's checks (_validate), then the rotation's; returns (q layout, k layout, rotary_dim)."""
    qg, kg = _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
    if style not in (0, 1):
        raise ValueError("style must be 'neox' or 'gptj'")
    if rope_rounding not in (0, 1):
        raise ValueError("rope_rounding must be 'per_op' or 'once'")
    if not isinstance(positions, torch.Tensor):
        raise TypeError("positions must be a tensor")
    if not isinstance(cos_sin_cache, torch.Tensor):
        raise TypeError("cos_sin_cache must be a tensor")
    if positions.dtype not in _INDEX:
        raise ValueError(f"positions: dtype {positions.dtype} is not supported (torch.int32, torch.int64)")
    if positions.dim() != 1 or positions.shape[0] != q.shape[0]:
        raise ValueError(f"positions: expected shape [{q.shape[0]}], got {tuple(positions.shape)}")
    if positions.device != q.device:
        raise ValueError(f"positions is on {positions.device}, the activations on {q.device}")
    if positions.stride(0) != 1 and positions.shape[0] > 1:
        raise ValueError("positions must be contiguous")
    c = cos_sin_cache
    if c.dim() != 2 or c.shape[0] < 1:
        raise ValueError(f"cos_sin_cache: expected [max_position, rotary_dim], got shape {tuple(c.shape)}")
    if c.dtype not in (q.dtype, torch.float32):
        raise ValueError(f"cos_sin_cache: dtype {c.dtype} must be the activation dtype {q.dtype} or torch.float32")
    if c.device != q.device:
        raise ValueError(f"cos_sin_cache is on {c.device}, the activations on {q.device}")
    if c.stride(1) != 1 and c.shape[1] > 1:
        raise ValueError(f"cos_sin_cache: the column stride must be 1 (got {c.stride(1)})")
    if c.stride(0) < c.shape[1] and c.shape[0] > 1:
        raise ValueError(f"cos_sin_cache: the row stride must be at least its {c.shape[1]} columns (got {c.stride(0)})")
    hq, hk = _rope_head(q, head_dim), _rope_head(k, head_dim)
    if hq != hk:
        raise ValueError(f"q and k must have the same head size for RoPE ({hq} vs {hk})")
    r = rotary_dim or c.shape[1]
    if r % 2 or r < 2 or r > hq:
        raise ValueError(f"rotary_dim {r} must be even and in [2, {hq}] (the head size)")
    if r != c.shape[1]:
        raise ValueError(f"rotary_dim {r} must equal cos_sin_cache.shape[1] ({c.shape[1]}): the cache holds "
                         "cos | sin halves of rotary_dim / 2 columns")
    return qg, kg, r


def _make_rope(q, positions, cos_sin_cache, head, rotary_dim, style, rope_rounding, rope_first):
    """qk_rope_t of vLLM's cos_sin_cache layout: per_pair, cos in columns [0, r/2), sin in [r/2, r)."""
    rp = _rt.Rope()
    rp.style, rp.rounding = style, rope_rounding
    rp.before_norm, rp.per_pair = int(bool(rope_first)), 1
    rp.head_dim, rp.rotary_dim = head, rotary_dim
    rp.cos = rp.sin = cos_sin_cache.data_ptr()
    rp.table_dtype = _DTYPES[cos_sin_cache.dtype]
    rp.table_rows, rp.table_columns = cos_sin_cache.shape[0], cos_sin_cache.shape[1]
    rp.cos_row_stride = rp.sin_row_stride = cos_sin_cache.stride(0)
    rp.cos_column, rp.sin_column = 0, rotary_dim // 2
    rp.positions = positions.data_ptr() if positions.numel() else None
    rp.positions_dtype = _INDEX[positions.dtype]
    return rp


def plan_rope_calls(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                    head_dim, style, rotary_dim, rope_rounding, rope_first):
    """[(base tensor, token stride, [ranges], rope, rotated_ranges)]: plan_calls' calls, each rotating
    every range it normalises."""
    _, _, r = _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim,
                             style, rotary_dim, rope_rounding)
    calls = plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)
    rope = _make_rope(q, positions, cos_sin_cache, _rope_head(q, head_dim), r, style, rope_rounding, rope_first)
    return [(base, ts, ranges, rope, (1 << len(ranges)) - 1) for base, ts, ranges in calls]


def _round(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """fp32 -> the activation type and back (nearest even); the identity for float32."""
    return x if dtype == torch.float32 else x.to(dtype).float()


def reference_rope(v: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor, is_neox: bool = True,
                   rotary_dim: Optional[int] = None, rope_rounding: str = "once") -> torch.Tensor:
    """The rotation of docs/rope-abi.md on v [T, H, D] (fp32 math, the stated rounding points; a new
    tensor of v's dtype): elements j < rotary_dim of every head rotate, the rest pass through."""
    rr = ROPE_ROUNDING[rope_rounding] if isinstance(rope_rounding, str) else int(rope_rounding)
    r = rotary_dim or cos_sin_cache.shape[1]
    half = r // 2
    T = v.shape[0]
    rows = positions.long()
    if T and (int(rows.min()) < 0 or int(rows.max()) >= cos_sin_cache.shape[0]):
        bad = rows[(rows < 0) | (rows >= cos_sin_cache.shape[0])][0].item()
        raise ValueError(f"positions: {bad} is outside the {cos_sin_cache.shape[0]} rows of cos_sin_cache")
    cs = cos_sin_cache.index_select(0, rows).float() if T else cos_sin_cache[:0].float()
    c, s = cs[:, None, :half], cs[:, None, half:r]            # [T, 1, half]: one value per frequency f
    vf = v.float()
    x = vf[..., :r]
    if is_neox:                                                 # f = j % half, p = j +- half
        c, s = torch.cat([c, c], -1), torch.cat([s, s], -1)
        sb = torch.cat([-x[..., half:], x[..., :half]], -1)     # sign * b (exact)
    else:                                                       # f = j / 2, p = j ^ 1
        c, s = c.repeat_interleave(2, -1), s.repeat_interleave(2, -1)
        sb = torch.stack([-x[..., 1::2], x[..., 0::2]], -1).flatten(-2)
    if rr == _rt.ROPE_ROUNDING_PER_OP:
        out = _round(_round(x * c, v.dtype) + _round(sb * s, v.dtype), v.dtype)
    else:
        out = _round(x * c + sb * s, v.dtype)
    return torch.cat([out, vf[..., r:]], -1).to(v.dtype)


def reference_qk_rmsnorm_rope(x: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor,
                              weight: Optional[torch.Tensor], eps: float, weight_offset: float = 0.0,
                              rounding: str = "once", head_dim: Optional[int] = None, is_neox: bool = True,
                              rotary_dim: Optional[int] = None, rope_rounding: str = "once",
                              rope_first: bool = False) -> torch.Tensor:
    """The op's semantics on one tensor in PyTorch (a new tensor of x's shape and dtype): the norm
    of reference_qk_rmsnorm, rounded to x's dtype, then the rotation of reference_rope on every head
    (rope_first: the rotation, rounded, then the norm)."""
    hd = _rope_head(x, head_dim or 0)
    T = x.shape[0]

    def rot(t):
        return reference_rope(t.reshape(T, -1, hd), positions, cos_sin_cache, is_neox, rotary_dim,
                              rope_rounding).reshape(x.shape)

    if rope_first:
        return reference_qk_rmsnorm(rot(x), weight, eps, weight_offset, rounding, head_dim)
    return rot(reference_qk_rmsnorm(x, weight, eps, weight_offset, rounding, head_dim))


def _reference_rope_inplace(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                            rounding, head_dim, style, rotary_dim, rope_rounding, rope_first):
    with torch.no_grad():
        args = (head_dim, style == _rt.ROPE_STYLE_NEOX, rotary_dim, rope_rounding, rope_first)
        qn = reference_qk_rmsnorm_rope(q, positions, cos_sin_cache, q_weight, eps, weight_offset, rounding, *args)
        kn = reference_qk_rmsnorm_rope(k, positions, cos_sin_cache, k_weight, k_eps, weight_offset, rounding, *args)
        q.copy_(qn)
        k.copy_(kn)


def _run_rope_inplace(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                      head_dim, style, rotary_dim, rope_rounding, rope_first):
    calls = plan_rope_calls(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                            head_dim, style, rotary_dim, rope_rounding, rope_first)
    if q.shape[0] == 0:
        return
    dt = _DTYPES[q.dtype]
    if q.is_cuda:
        lib = _rt.load("cuda")
        if not lib.has_rope:
            raise RuntimeError(f"qk: the cuda runtime {lib.path} has no qk_fused_rms_norm_rope (ABI version 3)")
        stream = torch.cuda.current_stream(q.device).cuda_stream
        with torch.cuda.device(q.device):
            for base, ts, ranges, rope, bits in calls:
                p = base.data_ptr()
                lib.fused_rms_norm_rope(dt, p, ts, p, ts, q.shape[0], ranges, rope, bits, stream)
        return
    try:
        lib = _rt.load("host")
    except (OSError, ToolNotFoundError):
        if _require_runtime():
            raise
        lib = None
    if lib is None or not lib.has_rope:  # no host runtime, or one older than ABI version 3
        _reference_rope_inplace(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                                rounding, head_dim, style, rotary_dim, rope_rounding, rope_first)
        return
    for base, ts, ranges, rope, bits in calls:
        p = base.data_ptr()
        lib.fused_rms_norm_rope(dt, p, ts, p, ts, q.shape[0], ranges, rope, bits, None)


def _run_rope_functional(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                         head_dim, style, rotary_dim, rope_rounding, rope_first):
    _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                   rotary_dim, rope_rounding)
    q_out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    k_out = torch.empty(k.shape, dtype=k.dtype, device=k.device)
    q_out.copy_(q)
    k_out.copy_(k)
    _run_rope_inplace(q_out, k_out, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                      rounding, head_dim, style, rotary_dim, rope_rounding, rope_first)
    return q_out, k_out


def rope_backend_info(device: str = "cpu") -> str:
    """Which implementation runs fused_qk_rmsnorm_rope_ for tensors on `device`."""
    kind = "cuda" if str(device).startswith("cuda") else "host"
    try:
        lib = _rt.load(kind)
    except (OSError, ToolNotFoundError) as e:
        if kind == "host" and not _require_runtime():
            return "torch reference (libqk_runtime_host.so not found)"
        return f"unavailable: {e}"
    if lib.has_rope:
        return f"{lib.name}: {lib.path}"
    if kind == "host":
        return f"torch reference ({lib.path} has no qk_fused_rms_norm_rope)"
    return f"unavailable: {lib.path} has no qk_fused_rms_norm_rope"


# -- registration: the Python op (custom_op + ctypes; the fallback) ---------------------------

_SCHEMA_ARGS = ("Tensor? q_weight, Tensor? k_weight, float eps, float k_eps, float weight_offset, "
                "int rounding, int head_dim")
_ROPE_SCHEMA_ARGS = ("Tensor positions, Tensor cos_sin_cache, " + _SCHEMA_ARGS +
                     ", int style, int rotary_dim, int rope_rounding, bool rope_first")
# "native" (csrc/torch_op.cpp), or the Python op: "custom_op" (torch >= 2.4), "library" (older torch)
REGISTRATION = None
_KEEP = []


def _register_python():
    global REGISTRATION
    if hasattr(torch.library, "custom_op") and hasattr(torch.library, "register_fake"):
        @torch.library.custom_op("qk::fused_qk_rmsnorm_", mutates_args=("q", "k"))
        def _inplace(q: torch.Tensor, k: torch.Tensor, q_weight: Optional[torch.Tensor],
                     k_weight: Optional[torch.Tensor], eps: float, k_eps: float, weight_offset: float,
                     rounding: int, head_dim: int) -> None:
            _run_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)

        @_inplace.register_fake
        def _inplace_fake(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
            _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
            return None

        @torch.library.custom_op("qk::fused_qk_rmsnorm", mutates_args=())
        def _functional(q: torch.Tensor, k: torch.Tensor, q_weight: Optional[torch.Tensor],
                        k_weight: Optional[torch.Tensor], eps: float, k_eps: float, weight_offset: float,
                        rounding: int, head_dim: int) -> Tuple[torch.Tensor, torch.Tensor]:
            return _run_functional(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)

        @_functional.register_fake
        def _functional_fake(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
            _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
            return q.new_empty(q.shape), k.new_empty(k.shape)

        @torch.library.custom_op("qk::fused_qk_rmsnorm_rope_", mutates_args=("q", "k"))
        def _rope_inplace(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor,
                          q_weight: Optional[torch.Tensor], k_weight: Optional[torch.Tensor], eps: float,
                          k_eps: float, weight_offset: float, rounding: int, head_dim: int, style: int,
                          rotary_dim: int, rope_rounding: int, rope_first: bool) -> None:
            _run_rope_inplace(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                              head_dim, style, rotary_dim, rope_rounding, rope_first)

        @_rope_inplace.register_fake
        def _rope_inplace_fake(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                               rounding, head_dim, style, rotary_dim, rope_rounding, rope_first):
            _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                           rotary_dim, rope_rounding)
            return None

        @torch.library.custom_op("qk::fused_qk_rmsnorm_rope", mutates_args=())
        def _rope_functional(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor,
                             q_weight: Optional[torch.Tensor], k_weight: Optional[torch.Tensor], eps: float,
                             k_eps: float, weight_offset: float, rounding: int, head_dim: int, style: int,
                             rotary_dim: int, rope_rounding: int,
                             rope_first: bool) -> Tuple[torch.Tensor, torch.Tensor]:
            return _run_rope_functional(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                                        rounding, head_dim, style, rotary_dim, rope_rounding, rope_first)

        @_rope_functional.register_fake
        def _rope_functional_fake(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset,
                                  rounding, head_dim, style, rotary_dim, rope_rounding, rope_first):
            _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                           rotary_dim, rope_rounding)
            return q.new_empty(q.shape), k.new_empty(k.shape)

        _KEEP.extend([_inplace, _functional, _rope_inplace, _rope_functional])
        REGISTRATION = "custom_op"
        return
    lib = torch.library.Library("qk", "DEF")
    lib.define(f"fused_qk_rmsnorm_(Tensor(a!) q, Tensor(b!) k, {_SCHEMA_ARGS}) -> ()")
    lib.define(f"fused_qk_rmsnorm(Tensor q, Tensor k, {_SCHEMA_ARGS}) -> (Tensor, Tensor)")

    def inplace_impl(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
        _run_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)

    def inplace_meta(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
        _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)

    def functional_impl(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
        return _run_functional(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim)

    def functional_meta(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
        _validate(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim)
        return q.new_empty(q.shape), k.new_empty(k.shape)

    for key in ("CPU", "CUDA"):
        lib.impl("fused_qk_rmsnorm_", inplace_impl, key)
        lib.impl("fused_qk_rmsnorm", functional_impl, key)
    lib.impl("fused_qk_rmsnorm_", inplace_meta, "Meta")
    lib.impl("fused_qk_rmsnorm", functional_meta, "Meta")
    # torch 1.13 has no autograd fallthrough for custom ops on meta tensors
    lib.impl("fused_qk_rmsnorm_", inplace_meta, "AutogradMeta")
    lib.impl("fused_qk_rmsnorm", functional_meta, "AutogradMeta")
    # the rope ops (schemas as the native ones)
    lib.define(f"fused_qk_rmsnorm_rope_(Tensor(a!) q, Tensor(b!) k, {_ROPE_SCHEMA_ARGS}) -> ()")
    lib.define(f"fused_qk_rmsnorm_rope(Tensor q, Tensor k, {_ROPE_SCHEMA_ARGS}) -> (Tensor, Tensor)")

    def rope_meta(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim,
                  style, rotary_dim, rope_rounding, rope_first):
        _validate_rope(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                       rotary_dim, rope_rounding)

    def rope_functional_meta(q, k, *args):
        rope_meta(q, k, *args)
        return q.new_empty(q.shape), k.new_empty(k.shape)

    for key in ("CPU", "CUDA"):
        lib.impl("fused_qk_rmsnorm_rope_", _run_rope_inplace, key)
        lib.impl("fused_qk_rmsnorm_rope", _run_rope_functional, key)
    for key in ("Meta", "AutogradMeta"):
        lib.impl("fused_qk_rmsnorm_rope_", rope_meta, key)
        lib.impl("fused_qk_rmsnorm_rope", rope_functional_meta, key)
    _KEEP.append(lib)
    REGISTRATION = "library"


# -- registration: the native op (csrc/torch_op.cpp) ---------------------------------------------

NATIVE_ABI = 2  # csrc/torch_op.cpp: abi_version()
NATIVE_NAME = "qk_torch_op"
NATIVE_LIBRARY: Optional[str] = None  # the loaded native library (REGISTRATION == "native")
_PYTHON_REASON = ""  # why the Python op is registered instead


def _env_on(name: str, default: bool = False) -> bool:
    v = os.environ.get(name, "")
    return default if v == "" else v.lower() not in ("0", "false", "no", "off")


def native_source() -> Path:
    return Path(__file__).resolve().parent / "csrc" / "torch_op.cpp"


def native_build_dir() -> Path:
    """Where the native op is built and cached: QK_NATIVE_OP_DIR (default $XDG_CACHE_HOME/qk/torch-op
    or ~/.cache/qk/torch-op), one folder per torch version, Python and source hash."""
    root = os.environ.get("QK_NATIVE_OP_DIR")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(cache, "qk", "torch-op")
    h = hashlib.sha256(native_source().read_bytes())
    for part in (torch.__version__, str(torch.version.cuda), sys.version, platform.machine(),
                 os.environ.get("CXX", "")):
        h.update(b"\0" + part.encode())
    return Path(root) / f"torch-{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-{h.hexdigest()[:16]}"


def _ensure_ninja():
    """torch.utils.cpp_extension runs `ninja` from PATH: add a venv's or the ninja wheel's."""
    if shutil.which("ninja"):
        return
    dirs = [Path(sys.executable).parent]
    try:
        import ninja  # the PyPI wheel
        dirs.insert(0, Path(ninja.BIN_DIR))
    except Exception:  # noqa: BLE001
        pass
    for d in dirs:
        if (d / "ninja").is_file():
            os.environ["PATH"] = f"{d}{os.pathsep}{os.environ.get('PATH', '')}"
            return


def _load_native() -> str:
    """Loads the native op library, building it first unless the cache has it."""
    build_dir = native_build_dir()
    so = build_dir / f"{NATIVE_NAME}.so"
    stamp = build_dir / "qk-built"  # written after a build that loaded: no half-written library
    if so.is_file() and stamp.is_file():
        try:
            torch.ops.load_library(str(so))
            return str(so)
        except OSError as e:  # a damaged cache: build again
            warnings.warn(f"qk: {so} does not load ({e}); building it again", RuntimeWarning, stacklevel=3)
            stamp.unlink()
    build_dir.mkdir(parents=True, exist_ok=True)
    _ensure_ninja()
    from torch.utils import cpp_extension
    print(f"qk: building the native torch op in {build_dir} (once per torch version and source)", file=sys.stderr)
    # loads it too (torch.ops.load_library); holds a file lock in build_dir while building
    path = cpp_extension.load(name=NATIVE_NAME, sources=[str(native_source())], build_directory=str(build_dir),
                              extra_cflags=["-O2"], is_python_module=False,
                              verbose=_env_on("QK_NATIVE_OP_VERBOSE"))
    stamp.write_text(f"{torch.__version__}\n")
    return str(path)


def _register_reference_kernel():
    """The PyTorch reference as the native op's CPU fallback (no libqk_runtime_host.so)."""
    lib = torch.library.Library("qk", "IMPL")
    lib.impl("_reference_fused_qk_rmsnorm_", _reference_inplace, "CPU")
    _KEEP.append(lib)


def _register_reference_rope_kernel():
    """The PyTorch reference of the norm + RoPE op as the native op's CPU fallback (no host runtime,
    or one older than ABI version 3)."""
    lib = torch.library.Library("qk", "IMPL")
    lib.impl("_reference_fused_qk_rmsnorm_rope_", _reference_rope_inplace, "CPU")
    _KEEP.append(lib)


def _register_native_runtimes():
    """Hands the runtime libraries' entry points to the native op (found here, by qk._discovery),
    or the reason there is none, which a call on such tensors raises."""
    rope_reference = False
    for code, kind in ((0, "host"), (1, "cuda")):
        if kind == "cuda" and torch.version.cuda is None:
            torch.ops.qk._set_runtime(code, 0, 0, "", f"torch {torch.__version__} was built without CUDA", False)
            torch.ops.qk._set_rope_runtime(code, 0, False)
            continue
        try:
            lib = _rt.load(kind)
        except (OSError, ToolNotFoundError) as e:
            reference = kind == "host" and not _require_runtime()
            if reference:
                _register_reference_kernel()
                rope_reference = True
            torch.ops.qk._set_runtime(code, 0, 0, "", str(e), reference)
            torch.ops.qk._set_rope_runtime(code, 0, reference)
            continue
        fused, last_error = lib.entry_points()
        torch.ops.qk._set_runtime(code, fused, last_error, lib.name, "", False)
        # a runtime older than ABI version 3: the reference on the CPU, an error on CUDA
        rope_ref = kind == "host" and not lib.has_rope
        rope_reference = rope_reference or rope_ref
        torch.ops.qk._set_rope_runtime(code, lib.rope_entry_point(), rope_ref)
    if rope_reference and not torch._C._dispatch_has_kernel_for_dispatch_key(
            "qk::_reference_fused_qk_rmsnorm_rope_", "CPU"):
        _register_reference_rope_kernel()


def _native_loaded() -> bool:
    return hasattr(torch.ops.qk, "_abi_version")


def _register():
    global REGISTRATION, NATIVE_LIBRARY, _PYTHON_REASON
    if not _env_on("QK_NATIVE_OP", True):
        _PYTHON_REASON = "QK_NATIVE_OP=0"
    elif not hasattr(torch.library, "register_fake"):
        _PYTHON_REASON = f"torch {torch.__version__} < 2.4"
    else:
        try:
            NATIVE_LIBRARY = _load_native()
            abi = torch.ops.qk._abi_version()
            if abi != NATIVE_ABI:
                raise RuntimeError(f"{NATIVE_LIBRARY} has ABI version {abi}, this qk.ops expects {NATIVE_ABI}")
            _register_native_runtimes()
            REGISTRATION = "native"
            return
        except Exception as e:  # noqa: BLE001
            if _env_on("QK_REQUIRE_NATIVE_OP") or _native_loaded():
                raise RuntimeError(f"qk: the native torch op could not be built or loaded: {e}") from e
            msg = str(e)
            _PYTHON_REASON = "the native op could not be built or loaded: " + (msg if len(msg) < 2000 else
                                                                             "..." + msg[-2000:])
            warnings.warn(f"qk: {_PYTHON_REASON}; using the Python (ctypes) op", RuntimeWarning, stacklevel=2)
    _register_python()


def op_info() -> str:
    """Which implementation `torch.ops.qk.fused_qk_rmsnorm[_]` has: "native: <library path>", or
    "python (custom_op): <why not the native one>"."""
    if REGISTRATION == "native":
        return f"native: {NATIVE_LIBRARY}"
    return f"python ({REGISTRATION}): {_PYTHON_REASON}"


def native_plan(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim):
    """The native op's plan_calls as integers (see csrc/torch_op.cpp: plan_as_ints); tests."""
    return list(torch.ops.qk._plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim))


if _native_loaded():  # qk.ops imported again (importlib.reload): the library stays loaded
    NATIVE_LIBRARY = next((p for p in getattr(torch.ops, "loaded_libraries", ()) if NATIVE_NAME in p), "loaded")
    _register_native_runtimes()
    REGISTRATION = "native"
elif hasattr(torch.ops.qk, "fused_qk_rmsnorm_"):  # the Python op, registered by an earlier import
    REGISTRATION, _PYTHON_REASON = "custom_op", "registered by an earlier import of qk.ops"
else:
    _register()


# -- the Python API (thin: the eager hot path is one torch.ops call) -----------------------------

_OP_INPLACE = torch.ops.qk.fused_qk_rmsnorm_.default
_OP_FUNCTIONAL = torch.ops.qk.fused_qk_rmsnorm.default
_INPLACE, _FUNCTIONAL = _OP_INPLACE, _OP_FUNCTIONAL  # python_path() swaps them
_ROPE_INPLACE = torch.ops.qk.fused_qk_rmsnorm_rope_.default
_ROPE_FUNCTIONAL = torch.ops.qk.fused_qk_rmsnorm_rope.default
_ROUNDING_CODES = {"once": _rt.ROUNDING_ONCE, "before_weight": _rt.ROUNDING_BEFORE_WEIGHT,
                   _rt.ROUNDING_ONCE: _rt.ROUNDING_ONCE, _rt.ROUNDING_BEFORE_WEIGHT: _rt.ROUNDING_BEFORE_WEIGHT}


class python_path:
    """Tests and benchmarks: within `with ops.python_path():` the functions below run the Python
    (ctypes) implementation directly, not the registered op (which may be the native one)."""

    def __enter__(self):
        global _INPLACE, _FUNCTIONAL, _ROPE_INPLACE, _ROPE_FUNCTIONAL
        self._saved = (_INPLACE, _FUNCTIONAL, _ROPE_INPLACE, _ROPE_FUNCTIONAL)
        _INPLACE, _FUNCTIONAL = _run_inplace, _run_functional
        _ROPE_INPLACE, _ROPE_FUNCTIONAL = _run_rope_inplace, _run_rope_functional
        return self

    def __exit__(self, *exc):
        global _INPLACE, _FUNCTIONAL, _ROPE_INPLACE, _ROPE_FUNCTIONAL
        _INPLACE, _FUNCTIONAL, _ROPE_INPLACE, _ROPE_FUNCTIONAL = self._saved
        return False


def _rounding_code(rounding) -> int:
    if isinstance(rounding, str):
        if rounding not in ROUNDING:
            raise ValueError(f"rounding must be one of {sorted(ROUNDING)}, not {rounding!r}")
        return ROUNDING[rounding]
    return int(rounding)


def fused_qk_rmsnorm_(q: torch.Tensor, k: torch.Tensor, q_weight: Optional[torch.Tensor] = None,
                      k_weight: Optional[torch.Tensor] = None, eps: float = 1e-6, *, head_dim: Optional[int] = None,
                      k_eps: Optional[float] = None, weight_offset: float = 0.0, rounding="once") -> None:
    """Normalises q and k in place (one kernel launch when they are views of one qkv buffer).

    q, k: [T, H, D] (per head; any head stride: the runtime's group_stride, e.g. Qwen3-Next's q
    heads between the gate heads, `qg.view(T, H, 2 * D)[..., :D]`, or per-KV-group interleaved
    q/k heads; q and k may interleave as long as they share no element) or [T, C] (per group of
    head_dim columns, or the whole row when head_dim is None). Weights: [group] of the activation
    dtype or float32, or None. weight_offset: 1.0 for Gemma's (1 + w). rounding: "once" or
    "before_weight"."""
    r = _ROUNDING_CODES.get(rounding)
    _INPLACE(q, k, q_weight, k_weight, float(eps), float(eps if k_eps is None else k_eps), float(weight_offset),
             _rounding_code(rounding) if r is None else r, int(head_dim or 0))


def fused_qk_rmsnorm(q: torch.Tensor, k: torch.Tensor, q_weight: Optional[torch.Tensor] = None,
                     k_weight: Optional[torch.Tensor] = None, eps: float = 1e-6, *, head_dim: Optional[int] = None,
                     k_eps: Optional[float] = None, weight_offset: float = 0.0,
                     rounding="once") -> Tuple[torch.Tensor, torch.Tensor]:
    """Functional variant: returns normalised copies (contiguous) and leaves q and k alone."""
    r = _ROUNDING_CODES.get(rounding)
    return _FUNCTIONAL(q, k, q_weight, k_weight, float(eps), float(eps if k_eps is None else k_eps),
                       float(weight_offset), _rounding_code(rounding) if r is None else r, int(head_dim or 0))


def _norm_params(norm, name):
    """(weight, eps, weight_offset) of a norm module. Fast path for nn.Modules keeping eps (and
    weight_offset) as plain attributes and the weight as a parameter or None: no AttributeError
    raised per call."""
    d = getattr(norm, "__dict__", None)
    params = d.get("_parameters") if d is not None else None
    if params is not None:
        eps = d.get("variance_epsilon")
        if eps is None:
            eps = d.get("eps")
        w = params.get("weight", d.get("weight", _MISSING))
        if eps is not None and w is not _MISSING:
            off = d.get("weight_offset")
            if off is None:
                cls = type(norm)
                off = _CLASS_OFFSET.get(cls)
                if off is None:
                    off = _CLASS_OFFSET[cls] = getattr(cls, "weight_offset", 0.0)
            return w, eps, off
    eps = getattr(norm, "variance_epsilon", None)
    if eps is None:
        eps = getattr(norm, "eps", None)
    if eps is None:
        raise ValueError(f"{name}: cannot read epsilon (no variance_epsilon or eps attribute)")
    return getattr(norm, "weight", None), eps, getattr(norm, "weight_offset", 0.0)


_CLASS_OFFSET = {}
_MISSING = object()


def apply_qk_norm(q: torch.Tensor, k: torch.Tensor, q_norm, k_norm, head_dim: int, alt_stream=None,
                  allow_inplace: bool = True, rounding: Optional[str] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """sglang's `apply_qk_norm(q, k, q_norm, k_norm, head_dim)`: q [T, Hq*D] and k [T, Hkv*D]
    (views of qkv) are normalised per head in place; returns (q, k). Epsilon and weight come from
    the norm modules (variance_epsilon or eps, weight, optional weight_offset = 1 for Gemma).
    rounding defaults to "once" (sglang's kernels); pass "before_weight" for Hugging Face's
    Qwen3/Llama order. alt_stream is accepted for call compatibility and unused (one launch).
    allow_inplace=False returns new tensors and leaves q and k untouched."""
    qw, q_eps, q_off = _norm_params(q_norm, "q_norm")
    kw, k_eps, k_off = _norm_params(k_norm, "k_norm")
    if q_off != k_off:
        raise ValueError("q_norm and k_norm must use the same weight offset")
    r = _ROUNDING_CODES.get(rounding or "once")
    if r is None:
        r = _rounding_code(rounding)
    # a 2-D [T, H*D] view is normalised per head_dim columns as it is (no .view per call)
    qv = q if q.dim() == 2 else q.view(q.shape[0], -1, head_dim)
    kv = k if k.dim() == 2 else k.view(k.shape[0], -1, head_dim)
    if allow_inplace:
        _INPLACE(qv, kv, qw, kw, float(q_eps), float(k_eps), float(q_off), r, int(head_dim))
        return q, k
    qn, kn = _FUNCTIONAL(qv, kv, qw, kw, float(q_eps), float(k_eps), float(q_off), r, int(head_dim))
    return qn.view(q.shape), kn.view(k.shape)


# -- the Python API of norm + RoPE ---------------------------------------------------------------

def _rope_codes(is_neox, rope_rounding):
    if isinstance(rope_rounding, str):
        if rope_rounding not in ROPE_ROUNDING:
            raise ValueError(f"rope_rounding must be one of {sorted(ROPE_ROUNDING)}, not {rope_rounding!r}")
        rope_rounding = ROPE_ROUNDING[rope_rounding]
    return (_rt.ROPE_STYLE_NEOX if is_neox else _rt.ROPE_STYLE_GPTJ), int(rope_rounding)


def fused_qk_rmsnorm_rope_(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor,
                           q_weight: Optional[torch.Tensor] = None, k_weight: Optional[torch.Tensor] = None,
                           eps: float = 1e-6, *, is_neox: bool = True, rotary_dim: Optional[int] = None,
                           k_eps: Optional[float] = None, weight_offset: float = 0.0, rounding="once",
                           rope_rounding="once", rope_first: bool = False, head_dim: Optional[int] = 0) -> None:
    """The QK RMSNorm and the rotary embedding in place on q and k, one kernel launch when they are
    views of one qkv buffer (docs/rope-abi.md).

    q, k, weights, eps, k_eps, weight_offset, rounding, head_dim: as fused_qk_rmsnorm_.
    positions: [T] int32 or int64 (row of the cache per token). cos_sin_cache: [max_position,
    rotary_dim] of the activation dtype or float32, cos in the first rotary_dim / 2 columns, sin in
    the rest (vLLM's RotaryEmbedding.cos_sin_cache). is_neox: rotate halves (True) or interleaved
    pairs (GPT-J, False). rotary_dim: defaults to cos_sin_cache.shape[1] (partial rotary: the first
    rotary_dim elements of every head rotate). rope_rounding: "once" (f32 math, rounded once) or
    "per_op" (rounded after each product and the sum: bit-exact with `x * cos + rotate_half(x) * sin`
    in bf16/f16). rope_first: rotate, then normalise (Llama 4)."""
    style, rr = _rope_codes(is_neox, rope_rounding)
    r = _ROUNDING_CODES.get(rounding)
    _ROPE_INPLACE(q, k, positions, cos_sin_cache, q_weight, k_weight, float(eps),
                  float(eps if k_eps is None else k_eps), float(weight_offset),
                  _rounding_code(rounding) if r is None else r, int(head_dim or 0), style, int(rotary_dim or 0), rr,
                  bool(rope_first))


def fused_qk_rmsnorm_rope(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, cos_sin_cache: torch.Tensor,
                          q_weight: Optional[torch.Tensor] = None, k_weight: Optional[torch.Tensor] = None,
                          eps: float = 1e-6, *, is_neox: bool = True, rotary_dim: Optional[int] = None,
                          k_eps: Optional[float] = None, weight_offset: float = 0.0, rounding="once",
                          rope_rounding="once", rope_first: bool = False,
                          head_dim: Optional[int] = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Functional variant of fused_qk_rmsnorm_rope_: returns new (contiguous) q and k."""
    style, rr = _rope_codes(is_neox, rope_rounding)
    r = _ROUNDING_CODES.get(rounding)
    return _ROPE_FUNCTIONAL(q, k, positions, cos_sin_cache, q_weight, k_weight, float(eps),
                            float(eps if k_eps is None else k_eps), float(weight_offset),
                            _rounding_code(rounding) if r is None else r, int(head_dim or 0), style,
                            int(rotary_dim or 0), rr, bool(rope_first))
