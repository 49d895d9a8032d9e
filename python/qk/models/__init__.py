"""Reference attention modules (Llama 4, Qwen3, Gemma 3, OLMo 2) written the way serving
engines write their attention forwards, at the real sizes and as tiny test configurations.

Every factory returns (module, example_inputs); example_inputs are `TensorSpec`s of
(positions [T] int64, hidden_states [T, hidden] dtype) with a dynamic token count T:

    module, inputs = qk.models.qwen3_8b()
    qk.compile(module, example_inputs=inputs)     # torch.export + torch-mlir, then qk-opt

The whole block exports: attention is plain torch (`common.causal_attention`), nothing is opaque.
"""

import torch

from ..frontend import TensorSpec
from .common import (Attention, AttentionConfig, QKVParallelLinear, RMSNorm, RotaryEmbedding,
                     RowParallelLinear, causal_attention, randomize_norm_weights)
from .gemma3 import Gemma3Attention, GemmaRMSNorm
from .llama4 import Llama4Attention, Llama4TextL2Norm
from .olmo2 import Olmo2Attention, Olmo2RMSNorm
from .qwen3 import Qwen3Attention

# name -> (class, config kwargs, expected fused-site remark at full size)
CONFIGS = {
    "llama4_scout": (Llama4Attention, dict(hidden_size=5120, num_heads=40, num_kv_heads=8, head_dim=128,
                                           rms_norm_eps=1e-5, rope_theta=500000.0)),
    "qwen3_8b": (Qwen3Attention, dict(hidden_size=4096, num_heads=32, num_kv_heads=8, head_dim=128,
                                      rms_norm_eps=1e-6, rope_theta=1000000.0)),
    "gemma3_27b": (Gemma3Attention, dict(hidden_size=5376, num_heads=32, num_kv_heads=16, head_dim=128,
                                         rms_norm_eps=1e-6, rope_theta=1000000.0)),
    "olmo2_7b": (Olmo2Attention, dict(hidden_size=4096, num_heads=32, num_kv_heads=32, head_dim=128,
                                      rms_norm_eps=1e-6, rope_theta=500000.0)),
    # tiny configurations of the same code, for numerical tests
    "llama4_tiny": (Llama4Attention, dict(hidden_size=64, num_heads=4, num_kv_heads=2, head_dim=16,
                                          rms_norm_eps=1e-5, max_position=64)),
    "qwen3_tiny": (Qwen3Attention, dict(hidden_size=64, num_heads=4, num_kv_heads=2, head_dim=16,
                                        rms_norm_eps=1e-6, max_position=64)),
    "gemma3_tiny": (Gemma3Attention, dict(hidden_size=64, num_heads=4, num_kv_heads=2, head_dim=16,
                                          rms_norm_eps=1e-6, max_position=64)),
    "olmo2_tiny": (Olmo2Attention, dict(hidden_size=64, num_heads=4, num_kv_heads=4, head_dim=16,
                                        rms_norm_eps=1e-6, max_position=64)),
}


def build(name: str, dtype: torch.dtype = torch.bfloat16, seed: int = 0, **module_kwargs):
    """(module, example_inputs) for a configuration of CONFIGS."""
    cls, kw = CONFIGS[name]
    torch.manual_seed(seed)
    config = AttentionConfig(dtype=dtype, **kw)
    module = cls(config, **module_kwargs).eval()
    # norm weights are initialised to 1 (0 for Gemma's 1 + w): perturb them so they matter
    randomize_norm_weights(module, seed, offset=0.0 if cls is Gemma3Attention else 1.0)
    inputs = (TensorSpec(("T",), torch.int64), TensorSpec(("T", config.hidden_size), dtype))
    return module, inputs


def _factory(name):
    def f(dtype: torch.dtype = torch.bfloat16, seed: int = 0, **kw):
        return build(name, dtype, seed, **kw)
    f.__name__ = name
    f.__doc__ = f"(module, example_inputs) of the {name} attention block."
    return f


llama4_scout = _factory("llama4_scout")
qwen3_8b = _factory("qwen3_8b")
gemma3_27b = _factory("gemma3_27b")
olmo2_7b = _factory("olmo2_7b")
llama4_tiny = _factory("llama4_tiny")
qwen3_tiny = _factory("qwen3_tiny")
gemma3_tiny = _factory("gemma3_tiny")
olmo2_tiny = _factory("olmo2_tiny")
