"""qk.ops.fused_qk_rmsnorm_rope_ on an NVIDIA GPU (libqk_runtime_cuda.so's qk_fused_rms_norm_rope, ABI 3),
in the style of test_ops_gpu.py: against the float64 reference (tolerances of test_rope_ops_cpu.py), the
host runtime bit for bit where both implement the same rounding points (within one ulp of the norm's
summation order otherwise), v untouched, inside a CUDA graph, torch.compile, the same errors as the Python
op. Skipped without CUDA or with a CUDA runtime older than ABI version 3. Not run yet (written before the
CUDA kernel existed)."""
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from qk import ops, runtime
from test_rope_ops_cpu import CASES, TOL64, bad_rope_calls, cache_of, outcome, rand, ref64  # noqa: E402

DEV = torch.device("cuda")


@pytest.fixture(scope="module", autouse=True)
def cuda_runtime():
    try:
        lib = runtime.load("cuda")
    except Exception as e:  # noqa: BLE001
        from conftest import missing
        missing(f"libqk_runtime_cuda.so ({e})")
    if not lib.has_rope:
        pytest.skip(f"{lib.path} has no qk_fused_rms_norm_rope")
    return lib


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32], ids=["bf16", "f16", "f32"])
@pytest.mark.parametrize("T", [1, 17, 4099])
def test_against_float64_and_the_host_runtime(case, dtype, T, path):
    name, hq, hk, d, rd, neox, first, has_w, off = case
    qkv = rand(T, (hq + 2 * hk) * d, dtype=dtype, seed=T)
    wq = (rand(d, seed=2) * 0.1 + (0.0 if off else 1.0)).to(dtype) if has_w else None
    pos = torch.randint(0, 131072, (T,), generator=torch.Generator().manual_seed(T))
    cache = cache_of(131072, rd)
    g = qkv.to(DEV)
    q, k = g[:, :hq * d].view(T, hq, d), g[:, hq * d:(hq + hk) * d].view(T, hk, d)
    ops.fused_qk_rmsnorm_rope_(q, k, pos.to(DEV), cache.to(DEV), None if wq is None else wq.to(DEV),
                               None if wq is None else wq.to(DEV), 1e-6, is_neox=neox, weight_offset=off,
                               rope_first=first)
    torch.cuda.synchronize()
    out = g.cpu()
    oq = qkv[:, :hq * d].view(T, hq, d)
    tol = TOL64[dtype]
    torch.testing.assert_close(out[:, :hq * d].view(T, hq, d).double(),
                               ref64(oq, pos, cache, wq, 1e-6, off, neox, rd, first), atol=tol, rtol=tol)
    assert torch.equal(out[:, (hq + hk) * d:], qkv[:, (hq + hk) * d:])
    # the host runtime (or its reference): within one ulp of the norm's summation order
    c = qkv.clone()
    ops.fused_qk_rmsnorm_rope_(c[:, :hq * d].view(T, hq, d), c[:, hq * d:(hq + hk) * d].view(T, hk, d), pos,
                               cache, wq, wq, 1e-6, is_neox=neox, weight_offset=off, rope_first=first)
    torch.testing.assert_close(out.float(), c.float(), atol=tol, rtol=tol)


@pytest.mark.parametrize("functional", [False, True], ids=["inplace", "functional"])
def test_cuda_graph_capture_and_replay(functional):
    T, hq, hk, d = 129, 32, 8, 128
    static = torch.zeros(T, (hq + 2 * hk) * d, device=DEV, dtype=torch.bfloat16)
    pos = torch.zeros(T, device=DEV, dtype=torch.int64)
    cache = cache_of(65536, d).to(DEV)
    w = (1 + 0.1 * torch.randn(d, device=DEV)).to(torch.bfloat16)
    q, k = static[:, :hq * d].view(T, hq, d), static[:, hq * d:(hq + hk) * d].view(T, hk, d)

    def step():
        if functional:
            return ops.fused_qk_rmsnorm_rope(q, k, pos, cache, w, w, 1e-6)
        ops.fused_qk_rmsnorm_rope_(q, k, pos, cache, w, w, 1e-6)
        return q, k

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step()
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outs = step()
    for i in range(3):
        fresh = torch.randn(T, static.shape[1], device=DEV).to(torch.bfloat16)
        fpos = torch.randint(0, 65536, (T,), device=DEV)
        static.copy_(fresh)
        pos.copy_(fpos)
        graph.replay()
        torch.cuda.synchronize()
        ref = ref64(fresh[:, :hq * d].view(T, hq, d).cpu(), fpos.cpu(), cache.cpu(), w.cpu(), 1e-6, 0.0, True, d,
                    False)
        torch.testing.assert_close(outs[0].double().cpu(), ref, atol=2 ** -6, rtol=2 ** -6)
        assert torch.equal(static[:, (hq + hk) * d:], fresh[:, (hq + hk) * d:])


def test_out_of_range_position_gives_nan_for_that_token_only():
    T, d = 3, 128
    qkv = torch.randn(T, 4 * d, device=DEV).to(torch.bfloat16)
    ops.fused_qk_rmsnorm_rope_(qkv[:, :2 * d].view(T, 2, d), qkv[:, 2 * d:3 * d].view(T, 1, d),
                               torch.tensor([0, 8, 1], device=DEV), cache_of(8, d).to(DEV))
    torch.cuda.synchronize()
    assert torch.isnan(qkv[1, :3 * d].float()).all()
    assert torch.isfinite(qkv[[0, 2], :3 * d].float()).all()


def _to_device(a):
    """`a` on the GPU with its strides: Tensor.to() makes a contiguous copy of a tensor that is not
    dense (a positions[::2], a cache whose rows overlap), which would hide the bad layout the case is
    about. The values do not matter here: every case fails its checks before a read."""
    if not isinstance(a, torch.Tensor):
        return a
    if a.is_contiguous():
        return a.to(DEV)
    extent = 1 + sum((n - 1) * st for n, st in zip(a.shape, a.stride()))
    return torch.zeros(extent, dtype=a.dtype, device=DEV).as_strided(a.shape, a.stride())


@pytest.mark.parametrize("case", [c for c in bad_rope_calls() if "device" not in c[0]],
                         ids=[c[0] for c in bad_rope_calls() if "device" not in c[0]])
def test_errors_match_the_python_path(case):
    name, *args = case
    args = [_to_device(a) for a in args]
    py = outcome(ops._run_rope_inplace, *args)
    assert py is not None and issubclass(py[0], ValueError)
    if ops.REGISTRATION == "native":
        assert outcome(torch.ops.qk.fused_qk_rmsnorm_rope_.default, *args) == py
    torch.cuda.synchronize()


def test_inside_torch_compile():
    torch._dynamo.reset()
    cache = cache_of(4096, 128).to(DEV)

    def f(qkv, pos, w):
        q, k, v = qkv.split([4096, 1024, 1024], dim=-1)
        ops.fused_qk_rmsnorm_rope_(q.view(-1, 32, 128), k.view(-1, 8, 128), pos, cache, w, w, 1e-6,
                                   rounding="before_weight")
        return q * 2.0, k + 1.0, v

    w = torch.randn(128, device=DEV).to(torch.bfloat16)
    fn = torch.compile(f, fullgraph=True)
    for T in (16, 16, 40):
        x = torch.randn(T, 6144, device=DEV).to(torch.bfloat16)
        pos = torch.randint(0, 4096, (T,), device=DEV)
        a, b = x.clone(), x.clone()
        for o, r in zip(fn(b, pos, w), f(a, pos, w)):
            torch.testing.assert_close(o, r, atol=0, rtol=0)
