"""The native torch op on an NVIDIA GPU (libqk_runtime_cuda.so), against the Python (ctypes)
implementation: the same results bit for bit and the same errors (nothing written) for every
layout and bad call of test_native_op_cpu.py; CUDA-graph capture and replay of both variants;
the current stream and the tensor's device (DeviceGuard) with several GPUs; torch.compile with
symbolic token counts. Skipped without CUDA or when the native op is not registered."""
import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device", allow_module_level=True)

from qk import ops, runtime
from qk.ops import reference_qk_rmsnorm
from qk.runtime import RuntimeLibraryError

if ops.REGISTRATION != "native":
    pytest.skip(f"the native op is not registered ({ops.op_info()})", allow_module_level=True)

from test_native_op_cpu import bad_calls, buffers, layouts, outcome  # noqa: E402

DEV = torch.device("cuda")
DTYPES = [torch.bfloat16, torch.float16, torch.float32]
IDS = ["bf16", "f16", "f32"]
NATIVE = torch.ops.qk.fused_qk_rmsnorm_.default
NATIVE_F = torch.ops.qk.fused_qk_rmsnorm.default


@pytest.fixture(scope="module", autouse=True)
def cuda_runtime():
    try:
        return runtime.load("cuda")
    except Exception as e:  # noqa: BLE001
        from conftest import missing
        missing(f"libqk_runtime_cuda.so ({e})")


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("T", [0, 1, 7, 300])
def test_plans_and_results_match_the_python_path(dtype, T):
    for name, q, k, qw, kw, hd in layouts(dtype, T, device="cuda"):
        args = (qw, kw, 1e-6, 1e-5, 0.5, T % 2, hd)
        bufs = buffers(q, k)
        saved = [b.clone() for b in bufs]
        ops._run_inplace(q, k, *args)
        py = [b.clone() for b in bufs]
        for b, s in zip(bufs, saved):
            b.copy_(s)
        NATIVE(q, k, *args)
        torch.cuda.synchronize()
        for b, p in zip(bufs, py):
            assert torch.equal(b, p), name
        for b, s in zip(bufs, saved):
            b.copy_(s)
        qn, kn = NATIVE_F(q, k, *args)
        qp, kp = ops._run_functional(q, k, *args)
        assert torch.equal(qn, qp) and torch.equal(kn, kp), name
        for b, s in zip(bufs, saved):
            assert torch.equal(b, s), name


@pytest.mark.parametrize("case", bad_calls("cuda"), ids=[c[0] for c in bad_calls("cuda")])
def test_errors_match_the_python_path(case):
    name, *args = case
    py = outcome(ops._run_inplace, *args)
    assert py is not None, f"{name}: the Python op accepted it"
    if issubclass(py[0], RuntimeLibraryError):
        py = (RuntimeError, py[1])
    assert outcome(NATIVE, *args) == py
    if "runtime" in name:
        assert py[1].startswith("qk runtime (cuda): invalid argument: ")
    torch.cuda.synchronize()


@pytest.mark.parametrize("functional", [False, True], ids=["inplace", "functional"])
def test_cuda_graph_capture_and_replay(functional):
    T, d = 129, 128
    static = torch.zeros(T, 48 * d, device=DEV, dtype=torch.bfloat16)
    q, k, v = static.split([32 * d, 8 * d, 8 * d], dim=-1)
    wq = (1 + 0.1 * torch.randn(d, device=DEV)).to(torch.bfloat16)
    wk = torch.randn(d, device=DEV) * 0.1  # f32 weight

    def step():
        if functional:
            return NATIVE_F(q.view(T, 32, d), k.view(T, 8, d), wq, wk, 1e-6, 1e-5, 1.0, 1, 0)
        NATIVE(q.view(T, 32, d), k.view(T, 8, d), wq, wk, 1e-6, 1e-5, 1.0, 1, 0)
        return q.view(T, 32, d), k.view(T, 8, d)

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step()
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outs = step()
    for i in range(3):
        fresh = torch.randn(T, 48 * d, device=DEV).to(torch.bfloat16)
        static.copy_(fresh)
        graph.replay()
        torch.cuda.synchronize()
        fq, fk, fv = fresh.split([32 * d, 8 * d, 8 * d], dim=-1)
        ref_q = reference_qk_rmsnorm(fq.view(T, 32, d).cpu(), wq.cpu(), 1e-6, 1.0, "before_weight")
        ref_k = reference_qk_rmsnorm(fk.view(T, 8, d).cpu(), wk.cpu(), 1e-5, 1.0, "before_weight")
        torch.testing.assert_close(outs[0].float().cpu(), ref_q.float(), atol=2 ** -6, rtol=2 ** -6)
        torch.testing.assert_close(outs[1].float().cpu(), ref_k.float(), atol=2 ** -6, rtol=2 ** -6)
        assert torch.equal(v, fv)
        if functional:  # the inputs stay as they were
            assert torch.equal(static, fresh)


def test_side_stream_orders_after_the_kernel():
    T, d = 2048, 128
    qkv = torch.randn(T, 48 * d, device=DEV).to(torch.bfloat16)
    orig = qkv.clone()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        q, k, _ = qkv.split([32 * d, 8 * d, 8 * d], dim=-1)
        NATIVE(q.view(T, 32, d), k.view(T, 8, d), None, None, 1e-6, 1e-6, 0.0, 0, 0)
        snap = qkv.clone()  # ordered after the kernel on s
    s.synchronize()
    assert torch.equal(snap, qkv) and not torch.equal(snap, orig)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="one GPU")
def test_tensors_on_another_device():
    """The kernel runs on the tensors' device and that device's current stream, whatever the
    current device is."""
    T, d = 64, 128
    dev1 = torch.device("cuda", 1)
    qkv = torch.randn(T, 48 * d, device=dev1).to(torch.bfloat16)
    orig = qkv.cpu()
    assert torch.cuda.current_device() == 0
    s1 = torch.cuda.Stream(device=dev1)
    with torch.cuda.stream(s1):
        q, k, _ = qkv.split([32 * d, 8 * d, 8 * d], dim=-1)
        ops.fused_qk_rmsnorm_(q.view(T, 32, d), k.view(T, 8, d), None, None, 1e-6)
    s1.synchronize()
    assert torch.cuda.current_device() == 0
    ref = reference_qk_rmsnorm(orig[:, :32 * d].view(T, 32, d), None, 1e-6)
    torch.testing.assert_close(qkv[:, :32 * d].view(T, 32, d).float().cpu(), ref.float(), atol=2 ** -7, rtol=2 ** -7)


def _prologue(qkv, wq, wk):
    q, k, v = qkv.split([4096, 1024, 1024], dim=-1)
    ops.fused_qk_rmsnorm_(q.view(-1, 32, 128), k.view(-1, 8, 128), wq, wk, 1e-6, rounding="before_weight")
    return q * 2.0, k + 1.0, v


def test_torch_compile_dynamic_token_count():
    torch._dynamo.reset()
    wq = torch.randn(128, device=DEV).to(torch.bfloat16)
    wk = torch.randn(128, device=DEV).to(torch.bfloat16)
    fn = torch.compile(_prologue, fullgraph=True, dynamic=True)
    for T in (5, 33, 1000):
        x = torch.randn(T, 6144, device=DEV).to(torch.bfloat16)
        a, b = x.clone(), x.clone()
        ref = _prologue(a, wq, wk)
        out = fn(b, wq, wk)
        for o, r in zip(out, ref):
            torch.testing.assert_close(o, r, atol=0, rtol=0)
        torch.testing.assert_close(b, a, atol=0, rtol=0)
