"""qk.ops.fused_qk_rmsnorm_rope_ (norm + RoPE in one call, docs/rope-abi.md) on the CPU: the host runtime's
qk_fused_rms_norm_rope when the library has it, else the op's PyTorch reference (ops.rope_backend_info()
says which). The tests taking `path` run through the registered op (native unless QK_NATIVE_OP=0) and the
Python implementation called directly.

Checked against:
  - the eager unfused composition a vLLM/sglang user writes: the norm per head, then
    `x * cos + rotate_half(x) * sin` with cos/sin gathered from the cache by positions. Bit for bit where
    the rounding points are the graph's: rope_rounding="per_op" with a cache of the activation dtype is the
    bf16/f16 graph (cos and sin cast to it, every op rounds), rope_rounding="once" with a float32 cache is
    the graph computed in float32 and rounded once. The norm of that composition is the same backend's
    fused_qk_rmsnorm (the runtime and PyTorch sum the squares in different orders: one ulp, see
    test_ops_cpu.py); against the models' own eager norm the tolerance below applies.
  - an independent float64 reference (angles from the float64 cache): f32 atol = rtol = 1e-5; bf16 2**-6
    and f16 2**-9 (four ulps at 1: the norm's one ulp, then up to three roundings of the rotation).
Columns outside q and k (v, padding) must be bit-identical; a bad argument raises the same exception with
the same message in both implementations, with nothing written."""
import os

import pytest

torch = pytest.importorskip("torch")

from qk import ops
from qk.runtime import RuntimeLibraryError

DTYPES = [torch.float32, torch.bfloat16, torch.float16]
IDS = ["f32", "bf16", "f16"]
TOL64 = {torch.float32: 1e-5, torch.bfloat16: 2 ** -6, torch.float16: 2 ** -9}
NATIVE = ops.REGISTRATION == "native"


def rand(*shape, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 2).to(dtype)


def cache_of(max_pos, rotary_dim, theta=10000.0, dtype=torch.float32):
    inv = 1.0 / (theta ** (torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim))
    ang = torch.arange(max_pos, dtype=torch.float64)[:, None] * inv
    return torch.cat([ang.cos(), ang.sin()], -1).to(dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, -1)
    return torch.cat([-x2, x1], -1)


def eager_rope(x, positions, cache, is_neox, rotary_dim, compute_dtype):
    """vLLM's RotaryEmbedding.forward_native on x [T, H, D] (cos/sin cast to compute_dtype, x too; the
    result back in x's dtype)."""
    cos, sin = cache[positions.long()].chunk(2, -1)
    cos, sin = cos[:, None, :].to(compute_dtype), sin[:, None, :].to(compute_dtype)
    rot, rest = x[..., :rotary_dim].to(compute_dtype), x[..., rotary_dim:]
    if is_neox:
        r = rot * torch.cat([cos, cos], -1) + rotate_half(rot) * torch.cat([sin, sin], -1)
    else:
        x1, x2 = rot[..., 0::2], rot[..., 1::2]
        r = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1).flatten(-2)
    return torch.cat([r.to(x.dtype), rest], -1)


def ref64(x, positions, cache, w, eps, offset, is_neox, rotary_dim, rope_first):
    """float64: norm over the last dim of x [T, H, D] and the rotation, in the order asked."""
    xd = x.double()
    wd = (w.double() + offset) if w is not None else 1.0
    c64 = cache.double()[positions.long()]
    h = rotary_dim // 2
    cos, sin = c64[:, None, :h], c64[:, None, h:rotary_dim]

    def rope(v):
        a = v[..., :rotary_dim]
        if is_neox:
            x1, x2 = a[..., :h], a[..., h:]
            r = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)
        else:
            x1, x2 = a[..., 0::2], a[..., 1::2]
            r = torch.stack([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1).flatten(-2)
        return torch.cat([r, v[..., rotary_dim:]], -1)

    def norm(v):
        return v / torch.sqrt((v * v).mean(-1, keepdim=True) + eps) * wd

    return norm(rope(xd)) if rope_first else rope(norm(xd))


def same_backend_norm(q, k, w, eps, rounding):
    """The norm alone on the backend the rope op runs: the runtime's fused_qk_rmsnorm, or the reference
    when the rope op falls back to it (a host runtime older than ABI version 3)."""
    if ops.rope_backend_info("cpu").startswith("torch reference"):
        return (ops.reference_qk_rmsnorm(q, w, eps, rounding=rounding),
                ops.reference_qk_rmsnorm(k, w, eps, rounding=rounding))
    return ops.fused_qk_rmsnorm(q, k, w, w, eps, rounding=rounding)


def test_backend_info():
    info = ops.rope_backend_info("cpu")
    assert info.startswith(("host: ", "torch reference")), info


# (name, Hq, Hkv, D, rotary_dim, is_neox, rope_first, weight, offset)
CASES = [
    ("qwen3", 4, 2, 32, 32, True, False, True, 0.0),
    ("glm partial", 4, 2, 32, 16, True, False, True, 0.0),
    ("gemma (1+w)", 4, 2, 32, 32, True, False, True, 1.0),
    ("llama4 gptj rope first", 4, 2, 32, 32, False, True, False, 0.0),
    ("gptj norm first", 2, 1, 16, 8, False, False, True, 0.0),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("rope_rounding", ["once", "per_op"])
def test_against_float64_and_v_untouched(case, dtype, rope_rounding, path):
    name, hq, hk, d, rd, neox, first, has_w, off = case
    T = 9
    qkv = rand(T, (hq + 2 * hk) * d + 8, dtype=dtype, seed=1)  # q | k | v | 8 padding columns
    orig = qkv.clone()
    wq = (rand(d, seed=2) * 0.1 + (0.0 if off else 1.0)).to(dtype) if has_w else None
    wk = (rand(d, seed=3) * 0.1 + (0.0 if off else 1.0)).to(dtype) if has_w else None
    pos = torch.tensor([0, 1, 7, 4095, 100, 3, 4000, 2, 4095], dtype=torch.int64)
    cache = cache_of(4096, rd)
    q, k = qkv[:, :hq * d].view(T, hq, d), qkv[:, hq * d:(hq + hk) * d].view(T, hk, d)
    ops.fused_qk_rmsnorm_rope_(q, k, pos, cache, wq, wk, 1e-6, is_neox=neox, weight_offset=off,
                               rope_rounding=rope_rounding, rope_first=first)
    assert q.data_ptr() == qkv.data_ptr()
    oq, ok = orig[:, :hq * d].view(T, hq, d), orig[:, hq * d:(hq + hk) * d].view(T, hk, d)
    tol = TOL64[dtype]
    torch.testing.assert_close(q.double(), ref64(oq, pos, cache, wq, 1e-6, off, neox, rd, first), atol=tol, rtol=tol)
    torch.testing.assert_close(k.double(), ref64(ok, pos, cache, wk, 1e-6, off, neox, rd, first), atol=tol, rtol=tol)
    assert torch.equal(qkv[:, (hq + hk) * d:], orig[:, (hq + hk) * d:])  # v and padding


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "f16"])
@pytest.mark.parametrize("is_neox", [True, False], ids=["neox", "gptj"])
@pytest.mark.parametrize("rotary_dim", [32, 16])
def test_bit_exact_with_the_eager_composition(dtype, is_neox, rotary_dim, path):
    """The same backend's norm, then vLLM's forward_native rotation: per_op with a cache of the
    activation dtype = the graph in that dtype; once with a float32 cache = the graph in float32."""
    T, hq, hk, d = 11, 4, 2, 32
    qkv = rand(T, (hq + 2 * hk) * d, dtype=dtype, seed=5)
    w = (1 + 0.1 * rand(d, seed=6)).to(dtype)
    pos = torch.randint(0, 65536, (T,), generator=torch.Generator().manual_seed(7), dtype=torch.int32)
    for rr, cache, compute in (("per_op", cache_of(65536, rotary_dim, dtype=dtype), dtype),
                               ("once", cache_of(65536, rotary_dim), torch.float32)):
        for rounding in ("once", "before_weight"):
            a, b = qkv.clone(), qkv.clone()
            ops.fused_qk_rmsnorm_rope_(a[:, :hq * d].view(T, hq, d), a[:, hq * d:(hq + hk) * d].view(T, hk, d),
                                       pos, cache, w, w, 1e-6, is_neox=is_neox, rope_rounding=rr, rounding=rounding)
            qn, kn = same_backend_norm(b[:, :hq * d].view(T, hq, d), b[:, hq * d:(hq + hk) * d].view(T, hk, d),
                                       w, 1e-6, rounding)
            eq = eager_rope(qn, pos, cache, is_neox, rotary_dim, compute)
            ek = eager_rope(kn, pos, cache, is_neox, rotary_dim, compute)
            assert torch.equal(a[:, :hq * d].view(T, hq, d), eq), (rr, rounding)
            assert torch.equal(a[:, hq * d:(hq + hk) * d].view(T, hk, d), ek), (rr, rounding)
            assert torch.equal(a[:, (hq + hk) * d:], qkv[:, (hq + hk) * d:])


def test_against_the_models_eager_norm_and_rope(path):
    """Fully eager (Qwen3's RMSNorm module, Hugging Face order, then rotate_half in bf16) within one
    ulp of the norm carried through the rotation (2**-6)."""
    from qk.models.common import RMSNorm
    T, hq, hk, d = 6, 4, 2, 32
    qkv = rand(T, (hq + 2 * hk) * d, dtype=torch.bfloat16, seed=8)
    n = RMSNorm(d, 1e-6)
    with torch.no_grad():
        n.weight.copy_((1 + 0.1 * rand(d, seed=9)).to(torch.bfloat16))
    pos = torch.arange(T) * 1000
    cache = cache_of(8192, d, dtype=torch.bfloat16)
    with torch.no_grad():
        eq = eager_rope(n(qkv[:, :hq * d].reshape(-1, d)).view(T, hq, d), pos, cache, True, d, torch.bfloat16)
    a = qkv.clone()
    ops.fused_qk_rmsnorm_rope_(a[:, :hq * d].view(T, hq, d), a[:, hq * d:(hq + hk) * d].view(T, hk, d), pos, cache,
                               n.weight, n.weight, 1e-6, rounding="before_weight", rope_rounding="per_op")
    torch.testing.assert_close(a[:, :hq * d].view(T, hq, d).float(), eq.float(), atol=2 ** -6, rtol=2 ** -6)


def test_layouts_2d_int32_positions_f32_weights_and_functional(path):
    T, d = 5, 16
    qkv = rand(T, 8 * d, dtype=torch.bfloat16, seed=10)
    orig = qkv.clone()
    wq = rand(d, seed=11) * 0.1  # f32 weight, (1 + w)
    pos = torch.tensor([3, 1, 4, 1, 5], dtype=torch.int32)
    cache = cache_of(16, d, dtype=torch.bfloat16)
    # 2-D [T, H*D] with head_dim, as the existing op takes them
    qn, kn = ops.fused_qk_rmsnorm_rope(qkv[:, :64], qkv[:, 64:96], pos, cache, wq, None, 1e-6, head_dim=d,
                                       weight_offset=1.0)
    assert torch.equal(qkv, orig) and qn.shape == (T, 64) and qn.is_contiguous()
    ref = ops.reference_qk_rmsnorm_rope(orig[:, :64], pos, cache, wq, 1e-6, 1.0, head_dim=d)
    torch.testing.assert_close(qn.float(), ref.float(), atol=2 ** -7, rtol=2 ** -7)
    # interleaved heads (head stride 2 * D) in place
    heads = qkv.view(T, 8, d)
    ops.fused_qk_rmsnorm_rope_(heads[:, 0:8:2], heads[:, 1:8:2], pos, cache, None, None, 1e-6)
    oh = orig.view(T, 8, d)
    for sl in (slice(0, 8, 2), slice(1, 8, 2)):
        ref = ops.reference_qk_rmsnorm_rope(oh[:, sl].contiguous(), pos, cache, None, 1e-6)
        torch.testing.assert_close(heads[:, sl].float(), ref.float(), atol=2 ** -7, rtol=2 ** -7)
    # OLMo 2: the norm over the packed row (head_dim = H * D), the rotation per head of D
    buf = orig.clone()
    q3, k3 = buf[:, :64].view(T, 4, d), buf[:, 64:128].view(T, 4, d)
    ops.fused_qk_rmsnorm_rope_(q3, k3, pos, cache, None, None, 1e-6, head_dim=64)
    ref = ops.reference_qk_rmsnorm_rope(orig[:, :64].view(T, 4, d), pos, cache, None, 1e-6, head_dim=64)
    torch.testing.assert_close(q3.float(), ref.float(), atol=2 ** -7, rtol=2 ** -7)


def test_t0_and_separate_buffers(path):
    cache = cache_of(8, 16)
    q, k = torch.empty(0, 2, 16), torch.empty(0, 1, 16)
    ops.fused_qk_rmsnorm_rope_(q, k, torch.empty(0, dtype=torch.int64), cache)
    q, k = rand(3, 2, 16, seed=12), rand(3, 1, 16, seed=13)
    oq, ok = q.clone(), k.clone()
    pos = torch.tensor([7, 0, 3])
    ops.fused_qk_rmsnorm_rope_(q, k, pos, cache)
    torch.testing.assert_close(q.double(), ref64(oq, pos, cache, None, 1e-6, 0.0, True, 16, False), atol=1e-5,
                               rtol=1e-5)
    torch.testing.assert_close(k.double(), ref64(ok, pos, cache, None, 1e-6, 0.0, True, 16, False), atol=1e-5,
                               rtol=1e-5)


def bad_rope_calls():
    """(name, q, k, positions, cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim,
    style, rotary_dim, rope_rounding, rope_first)"""
    bf = torch.bfloat16
    q, k = rand(4, 4, 16, dtype=bf), rand(4, 2, 16, dtype=bf, seed=1)
    pos = torch.tensor([0, 1, 2, 3])
    cache = cache_of(8, 16)
    ok = (None, None, 1e-6, 1e-6, 0.0, 0, 0, 0, 0, 1, False)

    def with_(**kw):
        names = ["q_weight", "k_weight", "eps", "k_eps", "weight_offset", "rounding", "head_dim", "style",
                 "rotary_dim", "rope_rounding", "rope_first"]
        vals = dict(zip(names, ok))
        vals.update(kw)
        return tuple(vals[n] for n in names)

    return [
        ("norm check first (eps)", q, k, pos, cache, *with_(eps=-1.0)),
        ("style", q, k, pos, cache, *with_(style=2)),
        ("rope_rounding", q, k, pos, cache, *with_(rope_rounding=-1)),
        ("positions dtype", q, k, pos.float(), cache, *ok),
        ("positions int16", q, k, pos.short(), cache, *ok),
        ("positions shape", q, k, pos[:3], cache, *ok),
        ("positions 2-D", q, k, pos.view(2, 2), cache, *ok),
        ("positions device", q, k, pos.to("meta"), cache, *ok),
        ("positions contiguous", q, k, torch.arange(8)[::2], cache, *ok),
        ("cache 1-D", q, k, pos, cache[0], *ok),
        ("cache empty", q, k, pos, cache[:0], *ok),
        ("cache dtype f16 for bf16", q, k, pos, cache.half(), *ok),
        ("cache float64", q, k, pos, cache.double(), *ok),
        ("cache device", q, k, pos, cache.to("meta"), *ok),
        ("cache column stride", q, k, pos, cache_of(16, 8).t(), *ok),
        ("cache row stride", q, k, pos, cache_of(8, 32).view(16, 16)[:, :].as_strided((8, 16), (8, 1)), *ok),
        ("rotary_dim odd", q, k, pos, cache, *with_(rotary_dim=15)),
        ("rotary_dim > head", q, k, pos, cache_of(8, 32), *ok),
        ("rotary_dim != cache", q, k, pos, cache, *with_(rotary_dim=8)),
        ("head sizes", rand(4, 4, 16, dtype=bf), rand(4, 64, dtype=bf), pos, cache, *ok),
    ]


def _buffers(*ts):
    seen, out = set(), []
    for t in ts:
        if isinstance(t, torch.Tensor) and t.device.type != "meta" and t.untyped_storage().data_ptr() not in seen:
            seen.add(t.untyped_storage().data_ptr())
            out.append(torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage()))
    return out


def outcome(fn, *args):
    bufs = _buffers(*args)
    snap = [b.clone() for b in bufs]
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        for b, s in zip(bufs, snap):
            assert torch.equal(b, s), f"{type(e).__name__}: {e} (but something was written)"
        return type(e), str(e)
    return None


@pytest.mark.parametrize("case", bad_rope_calls(), ids=[c[0] for c in bad_rope_calls()])
def test_bad_arguments_raise_with_nothing_written(case):
    name, *args = case
    py = outcome(ops._run_rope_inplace, *args)
    assert py is not None and issubclass(py[0], ValueError), (name, py)
    assert outcome(ops._run_rope_functional, *args) == py
    if NATIVE:
        assert outcome(torch.ops.qk.fused_qk_rmsnorm_rope_.default, *args) == py
        assert outcome(torch.ops.qk.fused_qk_rmsnorm_rope.default, *args) == py
    if "device" not in name:  # the same message from the fake/meta kernels
        meta = [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
                if isinstance(t, torch.Tensor) else t for t in args]
        assert outcome(torch.ops.qk.fused_qk_rmsnorm_rope_.default, *meta) == py
        assert outcome(torch.ops.qk.fused_qk_rmsnorm_rope.default, *meta) == py


def test_out_of_range_position_raises_with_nothing_written(path):
    qkv = rand(3, 64, dtype=torch.bfloat16)
    snap = qkv.clone()
    with pytest.raises((ValueError, RuntimeError)) as ei:
        ops.fused_qk_rmsnorm_rope_(qkv[:, :32].view(3, 2, 16), qkv[:, 32:48].view(3, 1, 16),
                                   torch.tensor([0, 8, 1]), cache_of(8, 16))
    assert "8" in str(ei.value)
    assert torch.equal(qkv, snap)


def test_string_arguments():
    q, k = rand(2, 1, 16), rand(2, 1, 16)
    with pytest.raises(ValueError, match="rope_rounding must be one of"):
        ops.fused_qk_rmsnorm_rope_(q, k, torch.tensor([0, 1]), cache_of(4, 16), rope_rounding="twice")
    with pytest.raises(ValueError, match="rounding must be one of"):
        ops.fused_qk_rmsnorm_rope_(q, k, torch.tensor([0, 1]), cache_of(4, 16), rounding="twice")


def test_meta_tensors():
    q = torch.empty(5, 4, 16, device="meta", dtype=torch.bfloat16)
    k = torch.empty(5, 2, 16, device="meta", dtype=torch.bfloat16)
    pos = torch.empty(5, device="meta", dtype=torch.int64)
    cache = torch.empty(100, 16, device="meta")
    torch.ops.qk.fused_qk_rmsnorm_rope_(q, k, pos, cache, None, None, 1e-6, 1e-6, 0.0, 0, 0, 0, 0, 1, False)
    qn, kn = torch.ops.qk.fused_qk_rmsnorm_rope(q, k, pos, cache, None, None, 1e-6, 1e-6, 0.0, 0, 0, 1, 0, 0, True)
    assert qn.device.type == "meta" and qn.shape == q.shape and kn.shape == k.shape and qn.dtype == q.dtype


def _prologue(qkv, pos, cache, w):
    q, k, v = qkv.split([64, 32, 32], dim=-1)
    ops.fused_qk_rmsnorm_rope_(q.view(-1, 4, 16), k.view(-1, 2, 16), pos, cache, w, w, 1e-6,
                               rounding="before_weight", rope_rounding="per_op")
    return q * 2.0, k + 1.0, v


def _functional(qkv, pos, cache, w):
    q, k, v = qkv.split([64, 32, 32], dim=-1)
    qn, kn = ops.fused_qk_rmsnorm_rope(q.view(-1, 4, 16), k.view(-1, 2, 16), pos, cache, w, w, 1e-6, is_neox=False)
    return qn.sum(-1), kn, v


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_torch_compile_fullgraph(dynamic):
    torch._dynamo.reset()
    w = (1 + 0.1 * rand(16, seed=20)).to(torch.bfloat16)
    cache = cache_of(64, 16, dtype=torch.bfloat16)
    fn = torch.compile(_prologue, backend="aot_eager", fullgraph=True, dynamic=dynamic)
    fnf = torch.compile(_functional, backend="aot_eager", fullgraph=True, dynamic=dynamic)
    for step, T in enumerate([8, 8, 13, 1]):
        x = rand(T, 128, dtype=torch.bfloat16, seed=30 + step)
        pos = torch.randint(0, 64, (T,), generator=torch.Generator().manual_seed(step))
        a, b = x.clone(), x.clone()
        for o, r in zip(fn(b, pos, cache, w), _prologue(a, pos, cache, w)):
            assert torch.equal(o, r)
        assert torch.equal(a, b)
        for o, r in zip(fnf(x.clone(), pos, cache, w), _functional(x.clone(), pos, cache, w)):
            assert torch.equal(o, r)


def test_torch_compile_rejects_bad_arguments_at_trace_time():
    torch._dynamo.reset()

    def f(q, k, pos, cache):
        ops.fused_qk_rmsnorm_rope_(q, k, pos, cache, rotary_dim=8)
        return q

    with pytest.raises(Exception, match="must equal cos_sin_cache.shape"):
        torch.compile(f, backend="aot_eager", fullgraph=True)(rand(4, 2, 16), rand(4, 1, 16), torch.arange(4),
                                                              cache_of(8, 16))


def test_opcheck():
    if not hasattr(torch.library, "opcheck"):
        pytest.skip("torch.library.opcheck needs torch >= 2.4")
    pos = torch.tensor([5, 0, 2, 7, 1, 3])
    for cache in (cache_of(8, 16), cache_of(8, 8)):
        args = (rand(6, 4, 16), rand(6, 2, 16, seed=1), pos, cache, rand(16, seed=2), None, 1e-6, 1e-5, 0.0, 1, 0,
                0, 0, 0, False)
        torch.library.opcheck(torch.ops.qk.fused_qk_rmsnorm_rope_.default, args)
        torch.library.opcheck(torch.ops.qk.fused_qk_rmsnorm_rope.default, args)


def test_reference_rope_rounding_points():
    """reference_rope: per_op rounds each product and the sum; once rounds the fp32 sum once."""
    x = rand(3, 2, 8, dtype=torch.bfloat16, seed=40)
    pos = torch.tensor([1, 5, 9])
    cache = cache_of(16, 8, dtype=torch.bfloat16)
    assert torch.equal(ops.reference_rope(x, pos, cache, True, 8, "per_op"),
                       eager_rope(x, pos, cache, True, 8, torch.bfloat16))
    assert torch.equal(ops.reference_rope(x, pos, cache, True, 8, "once"),
                       eager_rope(x, pos, cache, True, 8, torch.float32))
