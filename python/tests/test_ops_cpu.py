"""The torch op on the CPU (libqk_runtime_host.so): in place on views of qkv, against the PyTorch
reference of the op's semantics and against the models' eager norms. The tests taking `path` run
twice: through the registered op (the native one, csrc/torch_op.cpp, unless QK_NATIVE_OP=0) and
through the Python (ctypes) implementation called directly (ops.python_path()).

Tolerances: f32 atol = rtol = 1e-6; bf16 and f16 one ulp (rtol 2**-7 and 2**-10, atol the same),
because the runtime and PyTorch sum the squares in different orders in f32; two ulps with
rounding="before_weight" (a one-ulp difference of the rounded normalised value is multiplied by
the weight and rounded again). Columns outside the ranges (v) must be bit-identical."""
import math
import os

import pytest

torch = pytest.importorskip("torch")

import qk
from qk import ops
from qk.ops import reference_qk_rmsnorm

TOL = {torch.float32: (1e-6, 1e-6), torch.bfloat16: (2 ** -7, 2 ** -7), torch.float16: (2 ** -10, 2 ** -10)}
DTYPES = [torch.float32, torch.bfloat16, torch.float16]
IDS = ["f32", "bf16", "f16"]


def close(a, b, dtype, ulps=1):
    atol, rtol = (t * ulps for t in TOL[dtype])
    torch.testing.assert_close(a.float(), b.float(), atol=atol, rtol=rtol)


def make_qkv(T, hq, hk, d, dtype, seed=0, pad=0):
    g = torch.Generator().manual_seed(seed)
    width = (hq + 2 * hk) * d + pad
    return (torch.randn(T, width, generator=g) * 3).to(dtype)


def test_registration():
    if (os.environ.get("QK_REQUIRE_NATIVE_OP", "") not in ("", "0")
            and os.environ.get("QK_NATIVE_OP", "") not in ("0", "false", "no", "off")):
        assert ops.REGISTRATION == "native" and ops.op_info().startswith("native: ")
    elif ops.REGISTRATION != "native":
        assert ops.REGISTRATION == ("custom_op" if hasattr(torch.library, "custom_op") else "library")
        assert ops.op_info().startswith("python (")
    assert hasattr(torch.ops.qk, "fused_qk_rmsnorm_") and hasattr(torch.ops.qk, "fused_qk_rmsnorm")


def test_backend_is_the_host_runtime(host_runtime):
    assert host_runtime.name == "host"
    assert ops.backend_info("cpu").startswith("host: ")


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("rounding", ["once", "before_weight"])
@pytest.mark.parametrize("T", [0, 1, 5, 64])
def test_in_place_on_qkv_views(host_runtime, dtype, rounding, T, path):
    hq, hk, d = 4, 2, 32
    qkv = make_qkv(T, hq, hk, d, dtype, seed=T)
    orig = qkv.clone()
    q, k, v = qkv.split([hq * d, hk * d, hk * d], dim=-1)
    g = torch.Generator().manual_seed(1)
    wq = (1 + 0.1 * torch.randn(d, generator=g)).to(dtype)
    wk = (1 + 0.1 * torch.randn(d, generator=g)).to(dtype)
    ops.fused_qk_rmsnorm_(q.view(T, hq, d), k.view(T, hk, d), wq, wk, 1e-6, k_eps=1e-5, rounding=rounding)
    oq, ok, ov = orig.split([hq * d, hk * d, hk * d], dim=-1)
    ulps = 2 if rounding == "before_weight" else 1
    close(q, reference_qk_rmsnorm(oq.view(T, hq, d), wq, 1e-6, rounding=rounding).view(T, hq * d), dtype, ulps)
    close(k, reference_qk_rmsnorm(ok.view(T, hk, d), wk, 1e-5, rounding=rounding).view(T, hk * d), dtype, ulps)
    assert torch.equal(v, ov)
    assert q.data_ptr() == qkv.data_ptr()  # really in place


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_layouts(host_runtime, dtype, path):
    T, d = 7, 16
    # [T, C] with head_dim, f32 weights, Gemma offset, weight-less k
    qkv = make_qkv(T, 4, 2, d, dtype, pad=8)
    orig = qkv.clone()
    q, k = qkv[:, :64], qkv[:, 64:96]
    wq = torch.randn(d) * 0.1
    ops.fused_qk_rmsnorm_(q, k, wq, None, 1e-6, head_dim=d, weight_offset=1.0)
    close(q, reference_qk_rmsnorm(orig[:, :64], wq, 1e-6, 1.0, head_dim=d), dtype)
    close(k, reference_qk_rmsnorm(orig[:, 64:96], None, 1e-6, 1.0, head_dim=d), dtype)
    assert torch.equal(qkv[:, 96:], orig[:, 96:])
    # full width (OLMo 2): 2-D q and k without head_dim
    qkv = make_qkv(T, 2, 2, d, dtype)
    orig = qkv.clone()
    q, k, v = qkv.chunk(3, dim=-1)
    wq, wk = torch.randn(32).to(dtype), torch.randn(32).to(dtype)
    ops.fused_qk_rmsnorm_(q, k, wq, wk, 1e-6)
    oq, ok, ov = orig.chunk(3, dim=-1)
    close(q, reference_qk_rmsnorm(oq, wq, 1e-6), dtype)
    close(k, reference_qk_rmsnorm(ok, wk, 1e-6), dtype)
    assert torch.equal(v, ov)
    # interleaved heads: head stride 2*d (q heads at even slots, k heads at odd slots)
    buf = make_qkv(T, 4, 2, d, dtype)
    orig = buf.clone()
    heads = buf.view(T, 8, d)
    q, k = heads[:, 0:8:2], heads[:, 1:8:2]
    ops.fused_qk_rmsnorm_(q, k, None, None, 1e-6)
    oh = orig.view(T, 8, d)
    close(q, reference_qk_rmsnorm(oh[:, 0:8:2].contiguous(), None, 1e-6), dtype)
    close(k, reference_qk_rmsnorm(oh[:, 1:8:2].contiguous(), None, 1e-6), dtype)


def test_separate_buffers_make_two_calls(host_runtime, path):
    T, d = 5, 16
    q = torch.randn(T, 4, d)
    k = torch.randn(T, 2, d)
    oq, ok = q.clone(), k.clone()
    calls = ops.plan_calls(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)
    assert len(calls) == 2
    if ops.REGISTRATION == "native":
        assert ops.native_plan(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)[0] == 2
    ops.fused_qk_rmsnorm_(q, k)
    close(q, reference_qk_rmsnorm(oq, None, 1e-6), torch.float32)
    close(k, reference_qk_rmsnorm(ok, None, 1e-6), torch.float32)
    qkv = torch.randn(T, 128)
    assert len(ops.plan_calls(qkv[:, :64].view(T, 4, d), qkv[:, 64:96].view(T, 2, d), None, None, 1e-6, 1e-6,
                              0.0, 0, 0)) == 1
    if ops.REGISTRATION == "native":
        assert ops.native_plan(qkv[:, :64].view(T, 4, d), qkv[:, 64:96].view(T, 2, d), None, None, 1e-6, 1e-6,
                               0.0, 0, 0)[0] == 1


def test_one_token_views_of_one_qkv_make_one_call(host_runtime, path):
    # torch gives the size-1 token dimension of q.view(1, Hq, D) and k.view(1, Hkv, D) different
    # strides (Hq * D, Hkv * D); they are still one row of one buffer: one call (decode at batch 1).
    d = 16
    qkv = torch.randn(1, 8 * d + 3)
    orig = qkv.clone()
    q, k = qkv[:, :4 * d].view(1, 4, d), qkv[:, 4 * d:6 * d].view(1, 2, d)
    assert q.stride(0) != k.stride(0)
    calls = ops.plan_calls(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)
    assert len(calls) == 1
    base, stride, ranges = calls[0]
    assert base is q and stride >= 6 * d and [r.column_offset for r in ranges] == [0, 4 * d]
    if ops.REGISTRATION == "native":
        assert ops.native_plan(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)[:2] == [1, 0]
    ops.fused_qk_rmsnorm_(q, k)
    close(q, reference_qk_rmsnorm(orig[:, :4 * d].view(1, 4, d), None, 1e-6), torch.float32)
    close(k, reference_qk_rmsnorm(orig[:, 4 * d:6 * d].view(1, 2, d), None, 1e-6), torch.float32)
    assert torch.equal(qkv[:, 6 * d:], orig[:, 6 * d:])  # v and the padding untouched


def test_functional_variant_leaves_inputs_alone(host_runtime, path):
    T, d = 6, 32
    qkv = make_qkv(T, 4, 2, d, torch.bfloat16)
    orig = qkv.clone()
    q, k, _ = qkv.split([128, 64, 64], dim=-1)
    qn, kn = ops.fused_qk_rmsnorm(q.view(T, 4, d), k.view(T, 2, d), None, None, 1e-6)
    assert torch.equal(qkv, orig)
    assert qn.shape == (T, 4, d) and qn.is_contiguous()
    close(qn, reference_qk_rmsnorm(q.view(T, 4, d), None, 1e-6), torch.bfloat16)
    close(kn, reference_qk_rmsnorm(k.view(T, 2, d), None, 1e-6), torch.bfloat16)


@pytest.mark.parametrize("name", ["qwen3_tiny", "gemma3_tiny", "llama4_tiny"])
def test_apply_qk_norm_matches_the_models_eager_norms(host_runtime, name, path):
    """sglang's call shape: apply_qk_norm(q, k, q_norm, k_norm, head_dim) on views of qkv equals
    the model's own norm modules applied eagerly."""
    from qk import models
    module, _ = models.build(name, dtype=torch.bfloat16, seed=3)
    d = 16
    q_norm = getattr(module, "q_norm", None) or module.qk_norm
    k_norm = getattr(module, "k_norm", None) or module.qk_norm
    rounding = "before_weight" if name == "qwen3_tiny" else "once"
    T = 9
    qkv = make_qkv(T, 4, 2, d, torch.bfloat16, seed=4)
    orig = qkv.clone()
    q, k, v = qkv.split([64, 32, 32], dim=-1)
    with torch.no_grad():
        ref_q = q_norm(orig[:, :64].reshape(-1, d)).view(T, 64)
        ref_k = k_norm(orig[:, 64:96].reshape(-1, d)).view(T, 32)
    q2, k2 = ops.apply_qk_norm(q, k, q_norm, k_norm, d, rounding=rounding)
    assert q2 is q and k2 is k
    ulps = 2 if rounding == "before_weight" else 1
    close(q, ref_q, torch.bfloat16, ulps)
    close(k, ref_k, torch.bfloat16, ulps)
    assert torch.equal(v, orig[:, 96:])
    # allow_inplace=False: new tensors, inputs untouched
    qkv2 = orig.clone()
    q3, k3 = ops.apply_qk_norm(qkv2[:, :64], qkv2[:, 64:96], q_norm, k_norm, d, allow_inplace=False,
                               rounding=rounding)
    assert torch.equal(qkv2, orig)
    close(q3, ref_q, torch.bfloat16, ulps)


def test_python_validation_errors(path):
    q = torch.randn(4, 64)
    k = torch.randn(4, 32)
    with pytest.raises(ValueError, match="same dtype"):
        ops.fused_qk_rmsnorm_(q, k.double().float().half())
    with pytest.raises(ValueError, match="not a multiple of head_dim"):
        ops.fused_qk_rmsnorm_(q, k, head_dim=24)
    with pytest.raises(ValueError, match=r"q_weight: expected shape \[16\]"):
        ops.fused_qk_rmsnorm_(q, k, torch.ones(8), None, head_dim=16)
    with pytest.raises(ValueError, match="same number of tokens"):
        ops.fused_qk_rmsnorm_(q, k[:3])
    with pytest.raises(ValueError, match="eps"):
        ops.fused_qk_rmsnorm_(q, k, eps=-1.0)
    with pytest.raises(ValueError, match="rounding"):
        ops.fused_qk_rmsnorm_(q, k, rounding="twice")
    with pytest.raises(ValueError, match="not supported"):
        ops.fused_qk_rmsnorm_(q.double(), k.double())


def test_runtime_error_message_is_surfaced(host_runtime, path):
    """Overlapping q and k pass the Python checks; the runtime rejects them and its
    qk_last_error_message() reaches the exception."""
    qkv = torch.randn(4, 128)
    q = qkv[:, 0:64].view(4, 4, 16)
    k = qkv[:, 48:80].view(4, 2, 16)
    before = qkv.clone()
    with pytest.raises(RuntimeError) as ei:
        ops.fused_qk_rmsnorm_(q, k)
    msg = str(ei.value)
    assert "qk runtime (host): invalid argument:" in msg
    assert host_runtime.last_error_message() in msg and len(host_runtime.last_error_message()) > 10
    assert torch.equal(qkv, before)  # nothing written


def test_meta_tensors_go_through_the_fake_implementation():
    q = torch.empty(5, 4, 16, device="meta", dtype=torch.bfloat16)
    k = torch.empty(5, 2, 16, device="meta", dtype=torch.bfloat16)
    qn, kn = torch.ops.qk.fused_qk_rmsnorm(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)
    assert qn.device.type == "meta" and qn.shape == q.shape and kn.shape == k.shape
    torch.ops.qk.fused_qk_rmsnorm_(q, k, None, None, 1e-6, 1e-6, 0.0, 0, 0)
    with pytest.raises(ValueError):
        torch.ops.qk.fused_qk_rmsnorm(q, k.float(), None, None, 1e-6, 1e-6, 0.0, 0, 0)


def test_reference_matches_the_models_norm_semantics():
    from qk.models.common import RMSNorm
    x = (torch.randn(6, 16) * 2).to(torch.bfloat16)
    n = RMSNorm(16, 1e-6)
    with torch.no_grad():
        n.weight.copy_((1 + 0.1 * torch.randn(16)).to(torch.bfloat16))
        assert torch.equal(reference_qk_rmsnorm(x, n.weight, 1e-6, rounding="before_weight", head_dim=16), n(x))


@pytest.mark.skipif(not hasattr(torch, "compile"), reason="torch < 2.0 has no torch.compile")
def test_torch_compile_cpu(host_runtime):
    def f(qkv, wq, wk):
        q, k, v = qkv.split([64, 32, 32], dim=-1)
        ops.fused_qk_rmsnorm_(q.view(-1, 4, 16), k.view(-1, 2, 16), wq, wk, 1e-6)
        return qkv

    wq, wk = torch.randn(16), torch.randn(16)
    x = torch.randn(8, 128)
    ref = f(x.clone(), wq, wk)
    out = torch.compile(f, backend="aot_eager", fullgraph=True)(x.clone(), wq, wk)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-6)
