"""The compiled pipeline's numbers against PyTorch eager on the CPU, for every reference model:
module -> to_mlir (torch.export + torch-mlir, weights frozen into the IR, attention included) ->
qk-opt (--qk-norm-pipeline=target=cpu: norms as loops; target=cuda: norms as runtime calls, linked
here with the host runtime; cpu-decompose: raise + fuse + qk-decompose + upstream lowering) ->
mlir-translate | llc -> .so -> called with the forward's inputs.

Two references:
- the same torch-mlir output lowered by the upstream passes alone (target "cpu-unfused", no qk
  pass): what the fusion must not change. target=cpu and cpu-decompose (the fused op as loops)
  must match it bit for bit; target=cuda (the host runtime) within the tolerances below (the
  runtime's f16 results are eager's, which the unfused lowering's are not everywhere).
- PyTorch eager: |out - eager| <= atol + rtol * |eager| elementwise, and a budget of elements that
  may differ at all: f32 atol = rtol = 1e-5; bf16 atol = rtol = 2**-7 (one bf16 ulp), at most 2%
  differing; f16 atol = rtol = 2**-10 (one f16 ulp), at most 5% differing: torch-mlir's own
  lowering (already without any qk pass) is one f16 ulp off eager's CPU kernels in up to 3.4% of
  OLMo 2's outputs (both equally close to a float64 evaluation). A wrong rounding order of the
  norm (the negative control below) changes far more.
Observed with torch 2.15 / torch-mlir 20261001: bf16 bit-identical to eager; f32 within 1e-6.
"""
import pytest

torch = pytest.importorskip("torch")

import qk
from qk import models
from qk.frontend import make_inputs, to_mlir

TOL = {torch.float32: (1e-5, 1e-5, 1.0), torch.float16: (2 ** -10, 2 ** -10, 0.05),
       torch.bfloat16: (2 ** -7, 2 ** -7, 0.02)}

MODELS = ["llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"]
_CACHE = {}


def _pipeline_present():
    return qk.has_pass("qk-norm-pipeline")


def compiled(name, dtype, target, seed, dynamic=True):
    key = (name, dtype, target, seed, dynamic)
    if key not in _CACHE:
        from qk.execute import build
        ekey = (name, dtype, seed, dynamic)
        if ekey not in _CACHE:
            module, inputs = models.build(name, dtype=dtype, seed=seed)
            _CACHE[ekey] = (module, inputs, to_mlir(module, inputs, dynamic=dynamic))
        module, inputs, emitted = _CACHE[ekey]
        _CACHE[key] = (module, inputs, build(emitted, target=target))
    return _CACHE[key]


def check_close(out, ref, dtype, tol=TOL):
    atol, rtol, budget = tol[dtype]
    assert out.shape == ref.shape and out.dtype == ref.dtype
    o, r = out.float(), ref.float()
    bad = (o - r).abs() > atol + rtol * r.abs()
    assert not bad.any(), f"{int(bad.sum())} elements out of tolerance, max diff {float((o - r).abs().max())}"
    differ = (o != r).float().mean().item()
    assert differ <= budget, f"{differ:.1%} of the elements differ (budget {budget:.0%})"


@pytest.mark.parametrize("target", ["cpu", "cuda", "cpu-decompose"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["f32", "bf16", "f16"])
@pytest.mark.parametrize("name", MODELS)
def test_pipeline_matches_eager(torch_mlir, qk_opt, llvm_tools, name, dtype, target):
    if target in ("cpu", "cuda") and not _pipeline_present():
        pytest.skip("qk-opt has no --qk-norm-pipeline yet (lib/Conversion not built)")
    if target == "cuda":
        from conftest import missing
        if not qk.runtime.available("host"):
            missing("libqk_runtime_host.so (the runtime calls of target=cuda run on it here)")
    seed = MODELS.index(name) + 10 * [torch.float32, torch.bfloat16, torch.float16].index(dtype)
    module, inputs, cm = compiled(name, dtype, target, seed)
    stats = cm.compile_result.statistics["qk-fuse-strided-qk-norm"]
    assert stats["sites_fused"] == 1 and stats["copies_kept"] == 0
    if target == "cuda":
        assert "_mlir_ciface_qk_fused_rms_norm_" in cm.compile_result.ir
    _, _, unfused = compiled(name, dtype, "cpu-unfused", seed)
    assert unfused.compile_result.remarks == [] and "qk." not in unfused.compile_result.ir
    for T in (1, 7, 33):
        x = make_inputs(inputs, T, generator=torch.Generator().manual_seed(100 + T))
        with torch.no_grad():
            ref = module(*x)
        out = cm(*x)
        check_close(out, ref, dtype)
        base = unfused(*x)
        if target == "cuda":
            check_close(out, base, dtype)
        else:
            assert torch.equal(out, base), f"T={T}: {(out != base).float().mean().item():.2%} differ from cpu-unfused"


def test_static_token_count_runs(torch_mlir, qk_opt, llvm_tools):
    target = "cpu" if _pipeline_present() else "cpu-decompose"
    module, inputs, cm = compiled("qwen3_tiny", torch.bfloat16, target, 3, dynamic=False)
    assert cm.emitted.arguments[1].shape == (8, 64)
    x = make_inputs(inputs, 8, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        ref = module(*x)
    check_close(cm(*x), ref, torch.bfloat16)
    with pytest.raises(TypeError):
        cm(*make_inputs(inputs, 9))


def test_negative_control_rounding_order_is_detected(torch_mlir, qk_opt, llvm_tools):
    """The bf16 check must see the norm's rounding order: eager with the weight multiplied in
    f32 and rounded once (instead of Qwen3's round-before-weight) must fail it."""
    target = "cpu" if _pipeline_present() else "cpu-decompose"
    module, inputs, cm = compiled("qwen3_tiny", torch.bfloat16, target, 1)
    x = make_inputs(inputs, 33, generator=torch.Generator().manual_seed(5))
    out = cm(*x)
    wrong = {}
    for n in (module.q_norm, module.k_norm):
        def fwd(h, self=n):
            dt = h.dtype
            h = h.float()
            h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
            return (h * self.weight.float()).to(dt)
        wrong[n] = fwd
    saved = {n: n.forward for n in wrong}
    try:
        for n, f in wrong.items():
            n.forward = f
        with torch.no_grad():
            ref_wrong = module(*x)
    finally:
        for n, f in saved.items():
            n.forward = f
    with pytest.raises(AssertionError):
        check_close(out, ref_wrong, torch.bfloat16)


class NormBlock(torch.nn.Module):
    """No matmul: qkv -> split -> Qwen3 q/k norms -> q, k, v (three results: the executor's
    multi-result path)."""

    def __init__(self, dtype):
        super().__init__()
        from qk.models.common import RMSNorm
        self.q_norm = RMSNorm(16, 1e-6, dtype=dtype)
        self.k_norm = RMSNorm(16, 1e-6, dtype=dtype)
        g = torch.Generator().manual_seed(2)
        with torch.no_grad():
            for n in (self.q_norm, self.k_norm):
                n.weight.copy_(1 + 0.1 * torch.randn(16, generator=g))

    def forward(self, qkv):
        q, k, v = qkv.split([64, 32, 32], dim=-1)
        q = self.q_norm(q.reshape(-1, 16)).view(q.shape)
        k = self.k_norm(k.reshape(-1, 16)).view(k.shape)
        return q * 2.0, k, v


@pytest.mark.parametrize("target", ["cpu", "cuda"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["f32", "bf16", "f16"])
def test_norm_block_all_dtypes(torch_mlir, qk_opt, llvm_tools, dtype, target):
    if not _pipeline_present():
        pytest.skip("qk-opt has no --qk-norm-pipeline yet (lib/Conversion not built)")
    if target == "cuda" and not qk.runtime.available("host"):
        from conftest import missing
        missing("libqk_runtime_host.so")
    from qk.execute import build
    from qk.frontend import TensorSpec
    module = NormBlock(dtype).eval()
    emitted = to_mlir(module, (TensorSpec(("T", 128), dtype),))
    cm = build(emitted, target=target)
    assert cm.compile_result.statistics["qk-fuse-strided-qk-norm"]["sites_fused"] == 1
    for T in (1, 9, 64):
        x = (torch.randn(T, 128, generator=torch.Generator().manual_seed(T)) * 3).to(dtype)
        with torch.no_grad():
            ref = module(x)
        out = cm(x)
        assert isinstance(out, tuple) and len(out) == 3
        for o, r in zip(out, ref):
            check_close(o, r, dtype)
