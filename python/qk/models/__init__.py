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
from . import families
from .common import (Attention, AttentionConfig, QKVParallelLinear, RMSNorm, RotaryEmbedding,
                     RowParallelLinear, causal_attention, randomize_norm_weights)
from .gemma3 import Gemma3Attention, GemmaRMSNorm
from .llama4 import Llama4Attention, Llama4TextL2Norm
from .olmo2 import Olmo2Attention, Olmo2RMSNorm
from .qwen3 import Qwen3Attention

# name -> (class, config kwargs). The full sizes, epsilon and rope_theta are the registry's
# (families.py); the tiny ones take only the family's epsilon.


def _full(cls, family):
    f = families.get(family)
    return (cls, dict(hidden_size=f.hidden_size, num_heads=f.num_heads, num_kv_heads=f.num_kv_heads,
                      head_dim=f.head_dim, rms_norm_eps=f.eps, rope_theta=f.rope_theta))


def _tiny(cls, family, num_kv_heads=2):
    return (cls, dict(hidden_size=64, num_heads=4, num_kv_heads=num_kv_heads, head_dim=16,
                      rms_norm_eps=families.get(family).eps, max_position=64))


CONFIGS = {
    "llama4_scout": _full(Llama4Attention, "llama4_scout"),
    "qwen3_8b": _full(Qwen3Attention, "qwen3_8b"),
    "gemma3_27b": _full(Gemma3Attention, "gemma3_27b"),
    "olmo2_7b": _full(Olmo2Attention, "olmo2_7b"),
    # tiny configurations of the same code, for numerical tests
    "llama4_tiny": _tiny(Llama4Attention, "llama4_scout"),
    "qwen3_tiny": _tiny(Qwen3Attention, "qwen3_8b"),
    "gemma3_tiny": _tiny(Gemma3Attention, "gemma3_27b"),
    "olmo2_tiny": _tiny(Olmo2Attention, "olmo2_7b", num_kv_heads=4),  # OLMo 2: Hkv = Hq
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
