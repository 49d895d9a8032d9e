"""Reference modules (written like serving engines' attention forwards) -> torch.export + torch-mlir
-> qk-opt finds exactly the expected fused sites, with a static and a dynamic token count.

The copy counts below are what one-shot bufferization leaves without and with our passes; the
passes must never leave more, and with a dynamic token count no more than with a static one."""
import re

import pytest

torch = pytest.importorskip("torch")

import qk
from qk import models
from conftest import exported

# name: (fused-site remark, raised norms, ranges as (column_offset, num_groups, group_size))
SITES = {
    "llama4_scout": ("fused QK RMSNorm: 48 heads, head_dim 128, copy removed", 1, [(0, 48, 128)]),
    "qwen3_8b": ("fused QK RMSNorm: 32 q + 8 k heads, head_dim 128, copy removed", 2,
                 [(0, 32, 128), (4096, 8, 128)]),
    "gemma3_27b": ("fused QK RMSNorm: 32 q + 16 k heads, head_dim 128, in place", 2,
                   [(0, 32, 128), (4096, 16, 128)]),
    "olmo2_7b": ("fused QK RMSNorm: 4096 q + 4096 k columns, each normalised over its full width, in place", 2,
                 [(0, 1, 4096), (4096, 1, 4096)]),
    "llama4_tiny": ("fused QK RMSNorm: 6 heads, head_dim 16, copy removed", 1, [(0, 6, 16)]),
    "qwen3_tiny": ("fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed", 2, [(0, 4, 16), (64, 2, 16)]),
    "gemma3_tiny": ("fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, in place", 2, [(0, 4, 16), (64, 2, 16)]),
    "olmo2_tiny": ("fused QK RMSNorm: 64 q + 64 k columns, each normalised over its full width, in place", 2,
                   [(0, 1, 64), (64, 1, 64)]),
}
TINY = ["llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"]
FULL = ["llama4_scout", "qwen3_8b", "gemma3_27b", "olmo2_7b"]

# memref.copy after one-shot bufferization (without the qk passes, with them), measured. With the
# norm fused alone 4 copies were left: RoPE's tensor.concat (two pieces each for q and k); with the
# rotation fused into the norm (qk-fuse-rope) none are.
COPIES = {
    ("llama4_tiny", "static"): (5, 0), ("llama4_tiny", "dynamic"): (7, 0),
    ("qwen3_tiny", "static"): (6, 0), ("qwen3_tiny", "dynamic"): (6, 0),
    ("gemma3_tiny", "static"): (4, 0), ("gemma3_tiny", "dynamic"): (4, 0),
    ("olmo2_tiny", "static"): (5, 0), ("olmo2_tiny", "dynamic"): (5, 0),
}


def ranges_of(ir: str):
    return [tuple(int(x) for x in m) for m in
            re.findall(r"#qk\.range<column_offset = (\d+), num_groups = (\d+), group_size = (\d+)", ir)]


def check_site(name, module, res):
    message, norms, ranges = SITES[name]
    assert [r.message for r in res.fused] == [message]
    assert len(res.raised) == norms
    assert res.missed == [] and res.analyses == []
    assert res.statistics["qk-raise-rms-norm"] == {"raised": norms, "rejected": 0}
    assert res.statistics["qk-fuse-strided-qk-norm"] == {"sites_fused": 1, "norms_fused": norms, "rejected": 0,
                                                         "copies_kept": 0}
    assert res.count("qk.fused_qk_norm") == 1 and res.count("qk.rms_norm") == 0
    assert ranges_of(res.ir) == ranges
    # the remark points into the model's source: the norm's line, called from the forward
    src = type(module).__module__.split(".")[-1] + ".py"
    chain = [res.fused[0].location] + res.fused[0].call_stack
    assert any(l.file.endswith(src) for l in chain), [str(l) for l in chain]


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", TINY)
def test_expected_fused_sites_tiny(torch_mlir, qk_opt, name, dynamic):
    module, _, emitted = exported(name, dynamic=dynamic)
    assert emitted.dynamic == dynamic
    check_site(name, module, qk.compile(emitted))


@pytest.mark.parametrize("name", FULL)
def test_expected_fused_sites_real_size(torch_mlir, qk_opt, name):
    """The real configurations, dynamic token count (weights elided from the printed IR: ~2x
    their bytes otherwise; raise, fuse and bufferize do not read them)."""
    module, _, emitted = exported(name, elide_weights=True)
    check_site(name, module, qk.compile(emitted))


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("name", TINY)
def test_bufferized_copies(torch_mlir, qk_opt, name, dynamic):
    key = (name, "dynamic" if dynamic else "static")
    _, _, emitted = exported(name, dynamic=dynamic)
    before, _, _ = qk.driver.run_qk_opt(emitted.mlir, ["--one-shot-bufferize=bufferize-function-boundaries"],
                                        remarks=False)
    after = qk.compile(emitted, target="bufferized", remarks=False)
    assert (before.count("memref.copy"), after.count("memref.copy")) == COPIES[key]


@pytest.mark.parametrize("name", [
    # Llama 4's view(num_tokens, -1, D) of the strided q/k slices is a tensor.reshape with a runtime
    # shape; the fuse pass rewrites such token-keeping reshapes into views.
    "llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"])
def test_dynamic_token_count_costs_no_extra_copy(torch_mlir, qk_opt, name):
    counts = []
    for dynamic in (False, True):
        _, _, emitted = exported(name, dynamic=dynamic)
        counts.append(qk.compile(emitted, target="bufferized", remarks=False).count("memref.copy"))
    assert counts[1] == counts[0]


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_vllm_style_qwen3_three_d_norm(torch_mlir, qk_opt, dynamic):
    _, _, emitted = exported("qwen3_tiny", dynamic=dynamic, style="vllm")
    res = qk.compile(emitted)
    assert [r.message for r in res.fused] == ["fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, in place"]


def test_models_run_eagerly():
    from qk.frontend import make_inputs
    for name in TINY:
        module, inputs = models.build(name)
        x = make_inputs(inputs, 5)
        with torch.no_grad():
            y = module(*x)
        assert y.shape == (5, 64) and y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
