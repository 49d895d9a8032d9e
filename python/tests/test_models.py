"""Reference modules (written like serving engines' attention forwards) -> MLIR -> qk-opt finds
exactly the expected fused sites."""
import re

import pytest

torch = pytest.importorskip("torch")

import qk
from qk import models
from qk.frontend import to_mlir

# name: (fused-site remark, raised norms, ranges as (column_offset, num_groups, group_size),
#        memref.copy removed by the fusion)
SITES = {
    "llama4_scout": ("fused QK RMSNorm: 48 heads, head_dim 128, copy removed", 1, [(0, 48, 128)], 1),
    "qwen3_8b": ("fused QK RMSNorm: 32 q + 8 k heads, head_dim 128, copy removed", 2,
                 [(0, 32, 128), (4096, 8, 128)], 2),
    "gemma3_27b": ("fused QK RMSNorm: 32 q + 16 k heads, head_dim 128, in place", 2,
                   [(0, 32, 128), (4096, 16, 128)], 0),
    "olmo2_7b": ("fused QK RMSNorm: 4096 q + 4096 k columns, each normalised over its full width, in place", 2,
                 [(0, 1, 4096), (4096, 1, 4096)], 0),
    "llama4_tiny": ("fused QK RMSNorm: 6 heads, head_dim 16, copy removed", 1, [(0, 6, 16)], 1),
    "qwen3_tiny": ("fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed", 2, [(0, 4, 16), (64, 2, 16)], 2),
    "gemma3_tiny": ("fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, in place", 2, [(0, 4, 16), (64, 2, 16)], 0),
    "olmo2_tiny": ("fused QK RMSNorm: 64 q + 64 k columns, each normalised over its full width, in place", 2,
                   [(0, 1, 64), (64, 1, 64)], 0),
}


def ranges_of(ir: str):
    return [tuple(int(x) for x in m) for m in
            re.findall(r"#qk\.range<column_offset = (\d+), num_groups = (\d+), group_size = (\d+)", ir)]


@pytest.mark.parametrize("name", sorted(SITES))
def test_expected_fused_sites(qk_opt, name):
    message, norms, ranges, _ = SITES[name]
    module, inputs = models.build(name)
    emitted = to_mlir(module, inputs)
    res = qk.compile(emitted)
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
    assert any(l.file.endswith(src) for l in chain)


@pytest.mark.parametrize("name", ["llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"])
def test_fusion_removes_the_norm_copies(qk_opt, name):
    removed = SITES[name][3]
    module, inputs = models.build(name)
    emitted = to_mlir(module, inputs)
    before, _, _ = qk.driver.run_qk_opt(emitted.mlir, ["--one-shot-bufferize=bufferize-function-boundaries"],
                                        remarks=False)
    after = qk.compile(emitted, target="bufferized", remarks=False)
    assert before.count("memref.copy") - after.count("memref.copy") == removed
    # what stays is RoPE's tensor.concat (one copy per piece), not the norm
    assert after.count("memref.copy") == 4


def test_vllm_style_qwen3_three_d_norm(qk_opt):
    module, inputs = models.build("qwen3_tiny", style="vllm")
    res = qk.compile(to_mlir(module, inputs))
    assert [r.message for r in res.fused] == ["fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, in place"]


def test_models_run_eagerly():
    for name in ("llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"):
        module, inputs = models.build(name)
        from qk.frontend import make_inputs
        x = make_inputs(inputs, 5)
        with torch.no_grad():
            y = module(*x)
        assert y.shape == (5, 64) and y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
