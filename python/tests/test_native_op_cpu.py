"""The native torch op (csrc/torch_op.cpp) on the CPU, against the Python (ctypes) implementation
of the same op (ops.python_path(), ops._run_inplace / _run_functional / _validate / plan_calls):
the same plan (number of runtime calls and every range), the same results bit for bit (both call
libqk_runtime_host.so with the same arguments), the same exceptions with the same messages and
nothing written on an error; Meta tensors, torch.compile(fullgraph=True) with static and dynamic
shapes, torch.library.opcheck; the fallbacks (QK_NATIVE_OP=0, a failing build, no host runtime)
in subprocesses. Skipped when the registered op is not the native one, unless
QK_REQUIRE_NATIVE_OP=1 (scripts/test-python.sh), which makes that a failure."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from qk import ops
from qk.ops import reference_qk_rmsnorm
from qk.runtime import RuntimeLibraryError

if ops.REGISTRATION != "native":
    if (os.environ.get("QK_REQUIRE_NATIVE_OP", "") not in ("", "0")
            and os.environ.get("QK_NATIVE_OP", "") not in ("0", "false", "no", "off")):
        raise RuntimeError(f"QK_REQUIRE_NATIVE_OP is set but the registered op is {ops.op_info()}")
    pytest.skip(f"the native op is not registered ({ops.op_info()})", allow_module_level=True)

HERE = Path(__file__).resolve().parent
DTYPES = [torch.float32, torch.bfloat16, torch.float16]
IDS = ["f32", "bf16", "f16"]
NATIVE = torch.ops.qk.fused_qk_rmsnorm_.default
NATIVE_F = torch.ops.qk.fused_qk_rmsnorm.default


@pytest.fixture(scope="module", autouse=True)
def _host(host_runtime):
    return host_runtime


def rand(*shape, dtype=torch.float32, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g) * 3).to(dtype=dtype, device=device)


def python_plan_as_ints(q, k, *args):
    """ops.plan_calls in the native op's integer form (csrc/torch_op.cpp: plan_as_ints)."""
    calls = ops.plan_calls(q, k, *args)
    out = [len(calls)]
    for base, ts, ranges in calls:
        out += [0 if base is q else 1, ts, len(ranges)]
        for r in ranges:
            out += [r.column_offset, r.num_groups, r.group_size, r.group_stride, int(r.weight is not None),
                    r.weight_dtype, r.rounding]
    return out


def layouts(dtype=torch.bfloat16, T=5, device="cpu"):
    """(name, q, k, q_weight, k_weight, head_dim): the layouts the op supports, on fresh data."""
    d = 16

    def r(*shape, dtype=dtype, seed):
        return rand(*shape, dtype=dtype, seed=seed, device=device)

    qkv = r(T, 8 * d + 8, seed=1)  # q 4 heads | k 2 | v 2 | 8 padding columns
    w16 = r(d, seed=2) * 0.1 + 1
    wf32 = r(d, dtype=torch.float32, seed=3) * 0.1
    heads = r(T, 8, d, seed=4)
    kq = r(T, 6 * d, seed=5)  # k first, then q
    gated = r(T, 4, 2 * d, seed=6)  # Qwen3-Next: q heads between gate heads
    return [
        ("qkv 3-D", qkv[:, :64].view(T, 4, d), qkv[:, 64:96].view(T, 2, d), w16, w16, 0),
        ("qkv 2-D head_dim", qkv[:, :64], qkv[:, 64:96], wf32, None, d),
        ("full width", qkv[:, :64], qkv[:, 64:128], r(64, seed=7), None, 0),
        ("interleaved heads", heads[:, 0:8:2], heads[:, 1:8:2], None, wf32, 0),
        ("k before q", kq[:, 2 * d:].view(T, 4, d), kq[:, :2 * d].view(T, 2, d), w16, w16, 0),
        ("gated q", gated[..., :d], r(T, 2, d, seed=8), w16, w16, 0),
        ("separate buffers", r(T, 4, d, seed=9), r(T, 2, d, seed=10), None, None, 0),
        ("packed row (head_dim = H*D)", qkv[:, :64].view(T, 4, d), qkv[:, 64:128].view(T, 4, d), None, None, 64),
        ("one head", qkv[:, :16].view(T, 1, d), qkv[:, 16:32].view(T, 1, d), w16, w16, 0),
    ]


def buffers(*tensors):
    """The distinct storages behind tensors (not meta), each as a uint8 tensor over all of it."""
    seen, out = set(), []
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.device.type != "meta":
            key = (t.device, t.untyped_storage().data_ptr())
            if key not in seen:
                seen.add(key)
                out.append(torch.empty(0, dtype=torch.uint8, device=t.device).set_(t.untyped_storage()))
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("T", [0, 1, 5])
def test_plans_match_the_python_plan(dtype, T):
    for name, q, k, qw, kw, hd in layouts(dtype, T):
        for rounding in (0, 1):
            args = (qw, kw, 1e-6, 1e-5, 1.0, rounding, hd)
            assert ops.native_plan(q, k, *args) == python_plan_as_ints(q, k, *args), name


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("rounding", [0, 1])
@pytest.mark.parametrize("T", [1, 7])
def test_results_match_the_python_path_bit_for_bit(dtype, rounding, T):
    for name, q, k, qw, kw, hd in layouts(dtype, T):
        bufs = buffers(q, k)
        saved = [b.clone() for b in bufs]
        args = (qw, kw, 1e-6, 1e-5, 0.5, rounding, hd)
        ops._run_inplace(q, k, *args)
        py = [b.clone() for b in bufs]
        for b, s in zip(bufs, saved):
            b.copy_(s)
        NATIVE(q, k, *args)
        for b, p, s in zip(bufs, py, saved):
            assert torch.equal(b, p), name
            assert not torch.equal(b, s), name  # something was normalised
        # functional: the same values, inputs untouched
        for b, s in zip(bufs, saved):
            b.copy_(s)
        qn, kn = NATIVE_F(q, k, *args)
        qp, kp = ops._run_functional(q, k, *args)
        assert torch.equal(qn, qp) and torch.equal(kn, kp), name
        assert qn.is_contiguous() and qn.shape == q.shape and kn.shape == k.shape
        for b, s in zip(bufs, saved):
            assert torch.equal(b, s), name


def test_against_the_reference():
    T, d = 9, 32
    qkv = rand(T, 6 * d, dtype=torch.bfloat16, seed=11)
    orig = qkv.clone()
    q, k = qkv[:, :4 * d].view(T, 4, d), qkv[:, 4 * d:5 * d].view(T, 1, d)
    w = rand(d, seed=12) * 0.1
    ops.fused_qk_rmsnorm_(q, k, w, None, 1e-6, weight_offset=1.0, rounding="before_weight")
    ref_q = reference_qk_rmsnorm(orig[:, :4 * d].view(T, 4, d), w, 1e-6, 1.0, "before_weight")
    ref_k = reference_qk_rmsnorm(orig[:, 4 * d:5 * d].view(T, 1, d), None, 1e-6, 1.0, "before_weight")
    torch.testing.assert_close(q.float(), ref_q.float(), atol=2 ** -6, rtol=2 ** -6)
    torch.testing.assert_close(k.float(), ref_k.float(), atol=2 ** -6, rtol=2 ** -6)
    assert torch.equal(qkv[:, 5 * d:], orig[:, 5 * d:])


def bad_calls(device="cpu"):
    """(name, q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim): every
    check of ops._validate and the runtime's overlap check."""
    bf = torch.bfloat16

    def r(*shape, dtype=torch.float32, seed=0):
        return rand(*shape, dtype=dtype, seed=seed, device=device)

    def ones(n, dtype, device=device):
        return torch.ones(n, dtype=dtype, device=device)

    other = "meta" if device == "cpu" else "cpu"
    q, k = r(4, 64, dtype=bf), r(4, 32, dtype=bf, seed=1)
    q3, k3 = r(4, 4, 16, dtype=bf), r(4, 2, 16, dtype=bf, seed=1)
    qkv = r(4, 128, dtype=bf, seed=2)
    ok = (None, None, 1e-6, 1e-6, 0.0, 0, 0)
    return [
        ("q dtype", q.double(), k.double(), *ok),
        ("k dtype", q, k.int(), *ok),
        ("same dtype", q, k.half(), *ok),
        ("same device", q, k.to("meta"), *ok),
        ("tokens", q, k[:3], *ok),
        ("rounding", q, k, None, None, 1e-6, 1e-6, 0.0, 2, 0),
        ("eps < 0", q, k, None, None, -1.0, 1e-6, 0.0, 0, 0),
        ("eps tiny < 0", q, k, None, None, -1e-20, 1e-6, 0.0, 0, 0),
        ("eps nan", q, k, None, None, float("nan"), 1e-6, 0.0, 0, 0),
        ("eps inf", q, k, None, None, float("inf"), 1e-6, 0.0, 0, 0),
        ("k_eps", q, k, None, None, 1e-6, -0.25, 0.0, 0, 0),
        ("k_eps -inf", q, k, None, None, 1e-6, float("-inf"), 0.0, 0, 0),
        ("k_eps -1e16", q, k, None, None, 1e-6, -1e16, 0.0, 0, 0),
        ("k_eps -123456.5", q, k, None, None, 1e-6, -123456.5, 0.0, 0, 0),
        ("k_eps -0.1-0.2", q, k, None, None, 1e-6, -0.1 - 0.2, 0.0, 0, 0),
        ("k_eps -1e-5", q, k, None, None, 1e-6, -1e-5, 0.0, 0, 0),
        ("k_eps -1e-4", q, k, None, None, 1e-6, -1e-4, 0.0, 0, 0),
        ("k_eps -2**60", q, k, None, None, 1e-6, -2.0 ** 60, 0.0, 0, 0),
        ("k_eps -1e15", q, k, None, None, 1e-6, -1e15, 0.0, 0, 0),
        ("k_eps -5e-324", q, k, None, None, 1e-6, -5e-324, 0.0, 0, 0),
        ("head_dim multiple", q, k, None, None, 1e-6, 1e-6, 0.0, 0, 24),
        ("head_dim negative", q, k, None, None, 1e-6, 1e-6, 0.0, 0, -16),
        ("column stride", r(64, 4, dtype=bf).t(), r(32, 4, dtype=bf).t(), *ok),
        ("innermost stride", r(4, 16, 4, dtype=bf).transpose(1, 2), k3, *ok),
        ("3-D head_dim", q3, k3, None, None, 1e-6, 1e-6, 0.0, 0, 32),
        ("packed row needs packed heads", r(4, 4, 32, dtype=bf)[..., :16], k3, None, None, 1e-6, 1e-6, 0.0, 0,
         64),
        ("1-D", r(64, dtype=bf), r(64, dtype=bf), *ok),
        ("4-D", r(4, 2, 2, 16, dtype=bf), k3, *ok),
        ("q_weight shape", q3, k3, ones(8, bf), None, 1e-6, 1e-6, 0.0, 0, 0),
        ("q_weight 2-D", q3, k3, ones(16, bf).view(1, 16), None, 1e-6, 1e-6, 0.0, 0, 0),
        ("k_weight dtype", q3, k3, None, ones(16, torch.float64), 1e-6, 1e-6, 0.0, 0, 0),
        ("k_weight f16 for bf16", q3, k3, None, ones(16, torch.float16), 1e-6, 1e-6, 0.0, 0, 0),
        ("q_weight device", q3, k3, ones(16, bf, device=other), None, 1e-6, 1e-6, 0.0, 0, 0),
        ("q_weight contiguous", q3, k3, ones(32, bf)[::2], None, 1e-6, 1e-6, 0.0, 0, 0),
        ("overlapping q and k (runtime)", qkv[:, 0:64].view(4, 4, 16), qkv[:, 48:80].view(4, 2, 16), *ok),
    ]


def outcome(fn, q, k, *args):
    """(exception type, message) or None; after an error every CPU buffer of the call (q, k,
    weights: their whole storages, v and padding included) must be bit-identical to a snapshot."""
    bufs = buffers(q, k, *args)
    snap = [b.clone() for b in bufs]
    try:
        fn(q, k, *args)
    except Exception as e:  # noqa: BLE001
        for b, s in zip(bufs, snap):
            assert torch.equal(b, s), f"{type(e).__name__}: {e} (but something was written)"
        return type(e), str(e)
    return None


@pytest.mark.parametrize("case", bad_calls(), ids=[c[0] for c in bad_calls()])
def test_errors_match_the_python_path(case):
    name, *args = case
    py = outcome(ops._run_inplace, *args)
    assert py is not None, f"{name}: the Python op accepted it"
    if issubclass(py[0], RuntimeLibraryError):  # the native op raises a plain RuntimeError
        py = (RuntimeError, py[1])
    native = outcome(NATIVE, *args)
    assert native == py
    assert issubclass(native[0], (ValueError if "runtime" not in name else RuntimeError))
    # the wrapper and the functional variant raise the same
    assert outcome(lambda q, k, *a: NATIVE_F(q, k, *a), *args) == outcome(ops._run_functional, *args)


def test_runtime_error_carries_the_library_message(host_runtime):
    qkv = rand(4, 128)
    with pytest.raises(RuntimeError) as ei:
        NATIVE(qkv[:, 0:64].view(4, 4, 16), qkv[:, 48:80].view(4, 2, 16), None, None, 1e-6, 1e-6, 0.0, 0, 0)
    assert str(ei.value).startswith("qk runtime (host): invalid argument: ")
    assert str(ei.value).endswith(host_runtime.last_error_message())


@pytest.mark.parametrize("case", [c for c in bad_calls() if "runtime" not in c[0] and "device" not in c[0]],
                         ids=[c[0] for c in bad_calls() if "runtime" not in c[0] and "device" not in c[0]])
def test_meta_errors_match_the_python_fake(case):
    name, q, k, qw, kw, *rest = case
    meta = [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta") if isinstance(t, torch.Tensor)
            else t for t in (q, k, qw, kw)]
    py = outcome(lambda *a: ops._validate(*a[:4], a[4], a[5], a[7], a[8]), *meta, *rest)
    assert py is not None
    assert outcome(NATIVE, *meta, *rest) == py
    assert outcome(NATIVE_F, *meta, *rest) == py


def test_meta_tensors():
    for name, q, k, qw, kw, hd in layouts(torch.float16):
        mq, mk = q.to("meta"), k.to("meta")
        mw = [w.to("meta") if w is not None else None for w in (qw, kw)]
        NATIVE(mq, mk, *mw, 1e-6, 1e-6, 0.0, 0, hd)
        qn, kn = NATIVE_F(mq, mk, *mw, 1e-6, 1e-6, 0.0, 0, hd)
        assert qn.device.type == "meta" and qn.shape == q.shape and kn.shape == k.shape, name
        assert qn.dtype == q.dtype and qn.is_contiguous(), name


def test_inplace_autograd_behaviour():
    """Weights may require grad (no graph is recorded, as with the Python op); q and k may not;
    the version counters of q and k are bumped like any in-place op's."""
    qkv = rand(3, 96)
    q, k = qkv[:, :64].view(3, 4, 16), qkv[:, 64:80].view(3, 1, 16)
    w = torch.nn.Parameter(torch.ones(16))
    v0 = qkv._version
    ops.fused_qk_rmsnorm_(q, k, w, w, 1e-6)
    assert qkv._version > v0 and not q.requires_grad and q.grad_fn is None
    leaf = torch.randn(3, 4, 16, requires_grad=True)
    with pytest.raises(RuntimeError, match="no autograd formula"):
        ops.fused_qk_rmsnorm_(leaf, k, None, None, 1e-6)
    with torch.no_grad():
        ops.fused_qk_rmsnorm_(leaf, torch.randn(3, 1, 16), None, None, 1e-6)


def _prologue(qkv, wq, wk):
    q, k, v = qkv.split([64, 32, 32], dim=-1)
    ops.fused_qk_rmsnorm_(q.view(-1, 4, 16), k.view(-1, 2, 16), wq, wk, 1e-6, rounding="before_weight")
    return q * 2.0, k + 1.0, v


def _functional(qkv, w):
    q, k, v = qkv.split([64, 32, 32], dim=-1)
    qn, kn = ops.fused_qk_rmsnorm(q.view(-1, 4, 16), k.view(-1, 2, 16), w, w, 1e-6)
    return qn.sum(-1), kn, v


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_torch_compile_fullgraph(dynamic):
    """aot_eager: dynamo + functionalization (auto_functionalized) + the Meta kernel, with
    symbolic token counts when dynamic."""
    torch._dynamo.reset()
    wq = rand(16, dtype=torch.bfloat16, seed=20)
    wk = rand(16, dtype=torch.bfloat16, seed=21)
    fn = torch.compile(_prologue, backend="aot_eager", fullgraph=True, dynamic=dynamic)
    fnf = torch.compile(_functional, backend="aot_eager", fullgraph=True, dynamic=dynamic)
    for step, T in enumerate([8, 8, 13, 1]):
        x = rand(T, 128, dtype=torch.bfloat16, seed=30 + step)
        a, b = x.clone(), x.clone()
        ref = _prologue(a, wq, wk)
        out = fn(b, wq, wk)
        for o, r in zip(out, ref):
            assert torch.equal(o, r)
        assert torch.equal(a, b)  # the compiled function mutated its input like eager
        for o, r in zip(fnf(x.clone(), wq), _functional(x.clone(), wq)):
            assert torch.equal(o, r)


def test_torch_compile_rejects_bad_arguments_at_trace_time():
    torch._dynamo.reset()

    def f(q, k):
        ops.fused_qk_rmsnorm_(q, k, None, None, 1e-6, head_dim=24)
        return q

    with pytest.raises(Exception, match="not a multiple of head_dim 24"):
        torch.compile(f, backend="aot_eager", fullgraph=True)(rand(4, 64), rand(4, 32))


def test_opcheck():
    if not hasattr(torch.library, "opcheck"):
        pytest.skip("torch.library.opcheck needs torch >= 2.4")
    for name, q, k, qw, kw, hd in layouts(torch.float32, 6):
        if name in ("k before q", "interleaved heads", "gated q"):
            continue  # opcheck clones the inputs: views of one buffer become separate buffers
        args = (q.clone(), k.clone(), qw, kw, 1e-6, 1e-5, 0.0, 1, hd)
        torch.library.opcheck(NATIVE, args)
        torch.library.opcheck(NATIVE_F, args)


def _run(code, **env):
    e = dict(os.environ)
    e.update({k: v for k, v in env.items() if v is not None})
    for k, v in env.items():
        if v is None:
            e.pop(k, None)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True, timeout=600)


_PROBE = r"""
import json, warnings
warnings.simplefilter("always")
import torch
with warnings.catch_warnings(record=True) as w:
    from qk import ops
res = {"registration": ops.REGISTRATION, "info": ops.op_info(), "backend": ops.backend_info("cpu"),
       "warnings": [str(x.message) for x in w if "qk" in str(x.message)]}
qkv = torch.randn(3, 96)
orig = qkv.clone()
q, k = qkv[:, :64].view(3, 4, 16), qkv[:, 64:80].view(3, 1, 16)
try:
    ops.fused_qk_rmsnorm_(q, k, None, None, 1e-6)
    ref = ops.reference_qk_rmsnorm(orig[:, :64].view(3, 4, 16), None, 1e-6)
    res["max_err"] = (q - ref).abs().max().item()
except Exception as e:
    res["error"] = f"{type(e).__name__}: {e}"
print("RESULT" + json.dumps(res))
"""


def _probe(**env):
    p = _run(_PROBE, **env)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")]
    assert p.returncode == 0 and lines, p.stdout + p.stderr
    return json.loads(lines[-1][len("RESULT"):]), p.stderr


def test_qk_native_op_0_registers_the_python_op():
    res, _ = _probe(QK_NATIVE_OP="0", QK_REQUIRE_NATIVE_OP=None)
    assert res["registration"] == "custom_op" and res["info"] == "python (custom_op): QK_NATIVE_OP=0"
    assert res["max_err"] < 1e-5 and not res["warnings"]


def test_no_host_runtime_runs_the_reference(tmp_path):
    missing = str(tmp_path / "libqk_runtime_host.so")
    res, _ = _probe(QK_RUNTIME_HOST_LIB=missing, QK_REQUIRE_RUNTIME=None)
    assert res["registration"] == "native"
    assert res["backend"].startswith("torch reference") and res["max_err"] < 1e-5
    res, _ = _probe(QK_RUNTIME_HOST_LIB=missing, QK_REQUIRE_RUNTIME="1")
    assert res["registration"] == "native"
    assert res["error"].startswith("RuntimeError: qk: no host runtime: ") and missing in res["error"]


def test_a_failing_build_falls_back_with_a_warning(tmp_path):
    env = dict(QK_NATIVE_OP_DIR=str(tmp_path / "cache"), CXX="false", QK_REQUIRE_NATIVE_OP=None)
    res, _ = _probe(**env)
    assert res["registration"] == "custom_op"
    assert res["info"].startswith("python (custom_op): the native op could not be built or loaded")
    assert any("using the Python (ctypes) op" in w for w in res["warnings"])
    assert res["max_err"] < 1e-5
    p = _run("import qk.ops", **dict(env, QK_REQUIRE_NATIVE_OP="1"))
    assert p.returncode != 0 and "the native torch op could not be built or loaded" in p.stderr


def test_the_python_op_passes_the_op_tests():
    """test_ops_cpu.py with QK_NATIVE_OP=0: the fallback registration as it was."""
    p = subprocess.run([sys.executable, "-m", "pytest", str(HERE / "test_ops_cpu.py"), "-q", "-p", "no:cacheprovider"],
                       env={k: v for k, v in dict(os.environ, QK_NATIVE_OP="0").items()
                            if k != "QK_REQUIRE_NATIVE_OP"},
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert " passed" in p.stdout.splitlines()[-1]
