"""The torch op on an NVIDIA GPU (libqk_runtime_cuda.so): against eager PyTorch (the models' own
norm modules) and against the reference on fresh random data, in place with v untouched, inside
torch.compile and inside a CUDA graph. Skipped without CUDA.

Tolerances: one ulp of the activation dtype (bf16 rtol = atol = 2**-7, f16 2**-10; f32 1e-5),
since the kernel and PyTorch sum the squares in different orders in f32 (and the kernel's rsqrt
is not PyTorch's); two ulps with rounding="before_weight", where a one-ulp difference of the
rounded normalised value is multiplied by the weight and rounded again."""
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from qk import ops, runtime
from qk.ops import reference_qk_rmsnorm
from qk.models.common import RMSNorm
from qk.models.gemma3 import GemmaRMSNorm
from qk.models.llama4 import Llama4TextL2Norm
from qk.models.olmo2 import Olmo2RMSNorm

DEV = torch.device("cuda")
TOL = {torch.float32: (1e-5, 1e-5), torch.bfloat16: (2 ** -7, 2 ** -7), torch.float16: (2 ** -10, 2 ** -10)}
DTYPES = [torch.bfloat16, torch.float16, torch.float32]
IDS = ["bf16", "f16", "f32"]


@pytest.fixture(scope="module", autouse=True)
def cuda_runtime():
    try:
        lib = runtime.load("cuda")
    except Exception as e:  # noqa: BLE001
        from conftest import missing
        missing(f"libqk_runtime_cuda.so ({e})")
    assert lib.name == "cuda"
    return lib


def close(a, b, dtype, ulps=1):
    atol, rtol = (t * ulps for t in TOL[dtype])
    torch.testing.assert_close(a.float().cpu(), b.float().cpu(), atol=atol, rtol=rtol)


def fresh_qkv(T, width, dtype, seed):
    g = torch.Generator(device=DEV).manual_seed(seed)
    return (torch.randn(T, width, device=DEV, generator=g) * 2).to(dtype)


# (name, Hq, Hkv, D, norm factory, rounding, weight offset, full width)
CASES = [
    ("qwen3", 32, 8, 128, lambda d, dt: RMSNorm(d, 1e-6, dtype=dt), "before_weight", 0.0, False),
    ("llama4", 40, 8, 128, lambda d, dt: Llama4TextL2Norm(1e-5), "once", 0.0, False),
    ("gemma3", 32, 16, 128, lambda d, dt: GemmaRMSNorm(d, 1e-6, dtype=dt), "once", 1.0, False),
    ("olmo2", 32, 32, 128, lambda d, dt: Olmo2RMSNorm(d, 1e-6, dtype=dt), "once", 0.0, True),
]


def _norm_weight(norm):
    return getattr(norm, "weight", None)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("T", [1, 17, 4099])
def test_against_eager_and_reference(case, dtype, T, path):
    name, hq, hk, d, make, rounding, offset, full = case
    qs, ks = hq * d, hk * d
    group_q, group_k = (qs, ks) if full else (d, d)
    qn, kn = make(group_q, dtype).to(DEV), make(group_k, dtype).to(DEV)
    g = torch.Generator().manual_seed(T)
    for n in (qn, kn):
        if _norm_weight(n) is not None:
            with torch.no_grad():
                n.weight.copy_((offset == 0.0) + 0.1 * torch.randn(n.weight.shape, generator=g))
    qkv = fresh_qkv(T, qs + 2 * ks, dtype, seed=T + hq)
    orig = qkv.clone()
    q, k, v = qkv.split([qs, ks, ks], dim=-1)
    with torch.no_grad():
        if name == "llama4":  # one norm over q|k heads, as sglang wrote it
            eager = qn(orig[:, :qs + ks].reshape(-1, d)).reshape(T, -1)
            eager_q, eager_k = eager[:, :qs], eager[:, qs:]
        elif full:
            eager_q, eager_k = qn(orig[:, :qs]), kn(orig[:, qs:qs + ks])
        else:
            eager_q = qn(orig[:, :qs].reshape(-1, d)).view(T, qs)
            eager_k = kn(orig[:, qs:qs + ks].reshape(-1, d)).view(T, ks)
    qv, kv = (q, k) if full else (q.view(T, hq, d), k.view(T, hk, d))
    ops.fused_qk_rmsnorm_(qv, kv, _norm_weight(qn), _norm_weight(kn), qn.variance_epsilon,
                          head_dim=None if full else d, weight_offset=offset, rounding=rounding)
    torch.cuda.synchronize()
    assert q.data_ptr() == qkv.data_ptr()
    ulps = 2 if rounding == "before_weight" else 1
    close(q, eager_q, dtype, ulps)
    close(k, eager_k, dtype, ulps)
    ref_q = reference_qk_rmsnorm(orig[:, :qs].cpu(), None if _norm_weight(qn) is None else qn.weight.cpu(),
                                 qn.variance_epsilon, offset, rounding, group_q)
    ref_k = reference_qk_rmsnorm(orig[:, qs:qs + ks].cpu(), None if _norm_weight(kn) is None else kn.weight.cpu(),
                                 kn.variance_epsilon, offset, rounding, group_k)
    close(q, ref_q, dtype, ulps)
    close(k, ref_k, dtype, ulps)
    assert torch.equal(v, orig[:, qs + ks:])


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_f32_weights_interleaved_heads_and_cpu_agreement(dtype, path):
    T, d = 33, 64
    buf = fresh_qkv(T, 12 * d, dtype, seed=7)
    orig = buf.clone()
    heads = buf.view(T, 12, d)
    q, k = heads[:, 0:8:2], heads[:, 1:8:2]  # head stride 2*d, q and k interleaved
    wq = torch.randn(d, device=DEV) * 0.1
    wk = torch.randn(d, device=DEV) * 0.1
    ops.fused_qk_rmsnorm_(q, k, wq, wk, 1e-6, weight_offset=1.0)
    cpu = orig.cpu().clone()
    ch = cpu.view(T, 12, d)
    ops.fused_qk_rmsnorm_(ch[:, 0:8:2], ch[:, 1:8:2], wq.cpu(), wk.cpu(), 1e-6, weight_offset=1.0)
    close(buf, cpu, dtype)
    assert torch.equal(heads[:, 8:], orig.view(T, 12, d)[:, 8:])


def test_functional_variant(path):
    T, d = 65, 128
    qkv = fresh_qkv(T, 48 * d, torch.bfloat16, seed=3)
    orig = qkv.clone()
    q, k, _ = qkv.split([32 * d, 8 * d, 8 * d], dim=-1)
    w = torch.randn(d, device=DEV).to(torch.bfloat16)
    qn, kn = ops.fused_qk_rmsnorm(q.view(T, 32, d), k.view(T, 8, d), w, w, 1e-6)
    assert torch.equal(qkv, orig)
    close(qn, reference_qk_rmsnorm(q.view(T, 32, d).cpu(), w.cpu(), 1e-6), torch.bfloat16)
    close(kn, reference_qk_rmsnorm(k.view(T, 8, d).cpu(), w.cpu(), 1e-6), torch.bfloat16)


def _attention_prologue(qkv, wq, wk):
    q, k, v = qkv.split([4096, 1024, 1024], dim=-1)
    ops.fused_qk_rmsnorm_(q.view(-1, 32, 128), k.view(-1, 8, 128), wq, wk, 1e-6, rounding="before_weight")
    return q * 2.0, k + 1.0, v


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch < 2.0")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_inside_torch_compile(mode):
    torch._dynamo.reset()
    wq = torch.randn(128, device=DEV).to(torch.bfloat16)
    wk = torch.randn(128, device=DEV).to(torch.bfloat16)
    fn = torch.compile(_attention_prologue, fullgraph=True, mode=mode)
    for step, T in enumerate([16, 16, 16, 40]):
        x = fresh_qkv(T, 6144, torch.bfloat16, seed=100 + step)
        a, b = x.clone(), x.clone()
        ref = _attention_prologue(a, wq, wk)
        out = fn(b, wq, wk)
        for o, r in zip(out, ref):
            torch.testing.assert_close(o, r, atol=0, rtol=0)
        # the compiled function mutated its input in place, like eager
        torch.testing.assert_close(b, a, atol=0, rtol=0)


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch < 2.0")
def test_functional_variant_inside_torch_compile():
    torch._dynamo.reset()

    def f(qkv, w):
        q, k, v = qkv.split([512, 256, 256], dim=-1)
        qn, kn = ops.fused_qk_rmsnorm(q.view(-1, 4, 128), k.view(-1, 2, 128), w, w, 1e-6)
        return qn.sum(-1), kn, v

    w = torch.randn(128, device=DEV)
    x = fresh_qkv(9, 1024, torch.float32, seed=5)
    ref = f(x.clone(), w)
    out = torch.compile(f, fullgraph=True)(x.clone(), w)
    for o, r in zip(out, ref):
        torch.testing.assert_close(o, r, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_inside_a_cuda_graph(dtype, path):
    T, d = 257, 128
    static = torch.zeros(T, 48 * d, device=DEV, dtype=dtype)
    q, k, v = static.split([32 * d, 8 * d, 8 * d], dim=-1)
    wq = (1 + 0.1 * torch.randn(d, device=DEV)).to(dtype)
    wk = (1 + 0.1 * torch.randn(d, device=DEV)).to(dtype)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):  # warm-up outside the capture
        ops.fused_qk_rmsnorm_(q.view(T, 32, d), k.view(T, 8, d), wq, wk, 1e-6)
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        ops.fused_qk_rmsnorm_(q.view(T, 32, d), k.view(T, 8, d), wq, wk, 1e-6)
    for step in range(3):
        fresh = fresh_qkv(T, 48 * d, dtype, seed=1000 + step)
        static.copy_(fresh)
        graph.replay()
        torch.cuda.synchronize()
        fq, fk, fv = fresh.split([32 * d, 8 * d, 8 * d], dim=-1)
        close(q.view(T, 32, d), reference_qk_rmsnorm(fq.view(T, 32, d).cpu(), wq.cpu(), 1e-6), dtype)
        close(k.view(T, 8, d), reference_qk_rmsnorm(fk.view(T, 8, d).cpu(), wk.cpu(), 1e-6), dtype)
        assert torch.equal(v, fv)


def test_runtime_error_message_is_surfaced(path):
    qkv = torch.randn(4, 128, device=DEV)
    before = qkv.clone()
    with pytest.raises(RuntimeError) as ei:
        ops.fused_qk_rmsnorm_(qkv[:, 0:64].view(4, 4, 16), qkv[:, 48:80].view(4, 2, 16))
    assert "qk runtime (cuda): invalid argument:" in str(ei.value)
    assert torch.equal(qkv, before)


def test_uses_the_current_stream(path):
    T, d = 1024, 128
    qkv = fresh_qkv(T, 48 * d, torch.bfloat16, seed=9)
    orig = qkv.clone()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        q, k, _ = qkv.split([32 * d, 8 * d, 8 * d], dim=-1)
        ops.fused_qk_rmsnorm_(q.view(T, 32, d), k.view(T, 8, d), None, None, 1e-6)
        out = qkv.float().sum()  # ordered after the kernel on stream s
    s.synchronize()
    ref = reference_qk_rmsnorm(orig[:, :32 * d].view(T, 32, d).cpu(), None, 1e-6)
    close(qkv[:, :32 * d].view(T, 32, d), ref, torch.bfloat16)
    assert abs(out.item() - qkv.float().sum().item()) < 1e-2 * max(1.0, abs(out.item()))
