"""A zoo of attention blocks written the way serving engines write them, for export with torch-mlir.

Each entry is an attention block with a fused QKV projection, the engine's QK RMSNorm (each in the
form and rounding order of its engine source), NeoX RoPE from a cos/sin cache gathered by
`positions`, an attention in plain torch (q @ k^T, causal mask, softmax, @ v; GQA by expand), and
o_proj. Nothing here is opaque and nothing is a custom op, so `torch.export` +
`torch_mlir.fx.export_and_import(..., output_type="linalg-on-tensors")` lowers the whole block to
upstream dialects (linalg, tensor, arith, math). test/Inputs/torch-mlir/generate.py exports every
entry; test/Inputs/torch-mlir/README.md lists what each one follows.

This file imports nothing but torch and the family registry beside it (families.py, standard
library only: the generator loads this file by path, without the qk package, and this file then
loads families.py the same way), and it does not touch the older reference modules of this package
(common.py & co., written for the hand-written frontend with an opaque attention). The entries are
small (hidden 64, 4 q heads of 32); their epsilon and rotary facts are their family's, except
where an entry says otherwise.

    from qk.models import zoo
    entry = zoo.ENTRIES["qwen3"]
    module, inputs = entry.build(torch.bfloat16, num_tokens=8)
    out = module(*inputs)

Facts checked against the engine sources (vLLM vllm/model_executor/{layers/layernorm.py,
models/*.py}, sglang python/sglang/srt/{layers/layernorm.py, models/*.py}):

- vLLM RMSNorm.forward_native: x.to(f32); var = x.pow(2).mean(-1, keepdim=True);
  x = x * rsqrt(var + eps); x = x.to(orig_dtype); x = x * weight   (rounds twice in bf16).
- sglang RMSNorm.forward_native (default cast_x_before_out_mul=False): same statistics, then
  x = (x * weight).to(orig_dtype)   (weight multiply in f32, rounds once).
- GemmaRMSNorm (vLLM, also Qwen3NextRMSNorm): x.float(); ...; x = x * (1.0 + w.float());
  x.to(orig_dtype)   (rounds once).
- Llama4 (sglang before the fused-kernel PR, and vLLM): RoPE is applied BEFORE the QK norm; the norm
  is weight-less (vLLM: RMSNorm(head_dim, has_weight=False, dtype=f32) on q.float(), result
  .to(q.dtype); sglang: qk.reshape(-1, D).contiguous(), an RMSNorm whose weight stays 1).
"""

import importlib.util
import math
import os
import sys
from dataclasses import dataclass, replace
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    from . import families
except ImportError:  # loaded by path (test/Inputs/torch-mlir/generate.py): load the registry the same way
    if "qk_model_families" not in sys.modules:
        _spec = importlib.util.spec_from_file_location(
            "qk_model_families", os.path.join(os.path.dirname(os.path.abspath(__file__)), "families.py"))
        sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(sys.modules[_spec.name])
    families = sys.modules["qk_model_families"]


# ---------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class ZooConfig:
    hidden_size: int = 64
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 32
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position: int = 64
    partial_rotary_factor: float = 1.0
    qkv_bias: bool = False

    @property
    def q_size(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        return self.num_kv_heads * self.head_dim

    @property
    def rotary_dim(self) -> int:
        return int(self.head_dim * self.partial_rotary_factor)


# ---------------------------------------------------------------------------------------------
# engine building blocks


class QKVParallelLinear(nn.Module):
    """One GEMM for q|k|v (optionally with a bias), returning (output, None) like the engines'."""

    def __init__(self, hidden_size: int, q_size: int, kv_size: int, bias: bool, dtype: torch.dtype):
        super().__init__()
        out = q_size + 2 * kv_size
        self.weight = nn.Parameter(torch.empty(out, hidden_size, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(out, dtype=dtype)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias), None


class RowParallelLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, dtype: torch.dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=dtype))

    def forward(self, x):
        return F.linear(x, self.weight), None


class VllmRMSNorm(nn.Module):
    """vLLM RMSNorm.forward_native: f32 statistics, round to the activation type, then the weight
    multiply in the activation type (two roundings in bf16). has_weight=False: weight-less."""

    def __init__(self, hidden_size: int, eps: float, dtype: torch.dtype, has_weight: bool = True):
        super().__init__()
        self.hidden_size = hidden_size
        self.variance_epsilon = eps
        self.has_weight = has_weight
        self.weight = nn.Parameter(torch.ones(hidden_size, dtype=dtype)) if has_weight else None

    def forward(self, x):
        orig_dtype = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(dim=-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        x = x.to(orig_dtype)
        if self.has_weight:
            x = x * self.weight
        return x


class SglangRMSNorm(nn.Module):
    """sglang RMSNorm.forward_native (cast_x_before_out_mul=False, the default): the weight multiply
    in f32, then one rounding to the activation type."""

    def __init__(self, hidden_size: int, eps: float, dtype: torch.dtype):
        super().__init__()
        self.variance_epsilon = eps
        self.weight = nn.Parameter(torch.ones(hidden_size, dtype=dtype))

    def forward(self, x):
        orig_dtype = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(dim=-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        x = (x * self.weight).to(orig_dtype)
        return x


class GemmaRMSNorm(nn.Module):
    """vLLM GemmaRMSNorm.forward_static (also Qwen3NextRMSNorm): all in f32, x * (1 + w), rounds once."""

    def __init__(self, hidden_size: int, eps: float, dtype: torch.dtype):
        super().__init__()
        self.variance_epsilon = eps
        self.weight = nn.Parameter(torch.zeros(hidden_size, dtype=dtype))

    def forward(self, x):
        orig_dtype = x.dtype
        x = x.float()
        variance = x.pow(2).mean(dim=-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        x = x * (1.0 + self.weight.float())
        return x.to(orig_dtype)


class L2Norm(nn.Module):
    """Llama 4's weight-less QK norm: x * rsqrt(mean(x^2) + eps) in f32, rounded once."""

    def __init__(self, eps: float):
        super().__init__()
        self.variance_epsilon = eps

    def forward(self, x):
        orig_dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
        return x.to(orig_dtype)


class TorchRMSNorm(nn.RMSNorm):
    """Plain torch.nn.RMSNorm (F.rms_norm): torch-mlir decomposes it computing in the input dtype,
    with no f32 up-cast (the negative fixture for bf16)."""


def rotate_half(x):
    x1, x2 = torch.chunk(x, 2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class NeoxRotaryEmbedding(nn.Module):
    """NeoX RoPE: a cos/sin cache [max_position, rotary_dim] (cos | sin halves, in the model dtype,
    as vLLM's RotaryEmbedding keeps it) gathered by position with index_select; rotate_half on the
    first rotary_dim elements of each head, the rest passed through (partial rotary)."""

    def __init__(self, head_dim: int, rotary_dim: int, max_position: int, base: float, dtype: torch.dtype):
        super().__init__()
        self.head_size = head_dim
        self.rotary_dim = rotary_dim
        inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.float32) / rotary_dim))
        t = torch.arange(max_position, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        cache = torch.cat((freqs.cos(), freqs.sin()), dim=-1).to(dtype)
        # persistent (vLLM's is not): torch-mlir's frozen-program import finds buffers in the state dict
        self.register_buffer("cos_sin_cache", cache, persistent=True)

    def _rotate(self, x, cos, sin):
        # x: [T, H, head_dim]; cos/sin: [T, rotary_dim / 2]
        cos = torch.cat((cos, cos), dim=-1).unsqueeze(-2)
        sin = torch.cat((sin, sin), dim=-1).unsqueeze(-2)
        if self.rotary_dim == self.head_size:
            return x * cos + rotate_half(x) * sin
        x_rot = x[..., : self.rotary_dim]
        x_pass = x[..., self.rotary_dim:]
        x_rot = x_rot * cos + rotate_half(x_rot) * sin
        return torch.cat((x_rot, x_pass), dim=-1)

    def forward(self, positions, query, key):
        num_tokens = positions.shape[0]
        cos_sin = self.cos_sin_cache.index_select(0, positions)
        cos, sin = cos_sin.chunk(2, dim=-1)
        query_shape = query.shape
        query = self._rotate(query.view(num_tokens, -1, self.head_size), cos, sin).reshape(query_shape)
        key_shape = key.shape
        key = self._rotate(key.view(num_tokens, -1, self.head_size), cos, sin).reshape(key_shape)
        return query, key


class CausalAttention(nn.Module):
    """The attention backend, in plain torch so that it lowers to linalg: one causal sequence
    (mask from positions), scores and softmax in f32, GQA by expanding the kv heads."""

    def __init__(self, num_heads: int, head_dim: int, scale: float, num_kv_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.scale = scale
        self.num_kv_heads = num_kv_heads

    def forward(self, positions, q, k, v):
        T = q.shape[0]
        H, Hkv, D = self.num_heads, self.num_kv_heads, self.head_dim
        rep = H // Hkv
        qh = q.reshape(T, H, D).transpose(0, 1).float()                      # [H, T, D]
        kh = k.reshape(T, Hkv, D).transpose(0, 1).float()                    # [Hkv, T, D]
        vh = v.reshape(T, Hkv, D).transpose(0, 1).float()
        kh = kh[:, None].expand(Hkv, rep, T, D).reshape(H, T, D)
        vh = vh[:, None].expand(Hkv, rep, T, D).reshape(H, T, D)
        scores = torch.matmul(qh, kh.transpose(1, 2)) * self.scale           # [H, T, T]
        causal = positions[None, :] <= positions[:, None]                     # [T, T]
        scores = scores.masked_fill(~causal, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, vh)                                         # [H, T, D]
        return out.transpose(0, 1).reshape(T, H * D).to(q.dtype)


class _Block(nn.Module):
    """Shared parts: qkv_proj, rotary_emb, attn, o_proj."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype, num_q_proj_heads: Optional[int] = None):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.q_size, self.kv_size = c.q_size, c.kv_size
        q_proj = (num_q_proj_heads or c.num_heads) * c.head_dim
        self.qkv_proj = QKVParallelLinear(c.hidden_size, q_proj, c.kv_size, c.qkv_bias, dtype)
        self.rotary_emb = NeoxRotaryEmbedding(c.head_dim, c.rotary_dim, c.max_position, c.rope_theta, dtype)
        self.attn = CausalAttention(c.num_heads, c.head_dim, c.head_dim ** -0.5, c.num_kv_heads)
        self.o_proj = RowParallelLinear(c.q_size, c.hidden_size, dtype)

    def _finish(self, positions, q, k, v):
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(positions, q, k, v)
        output, _ = self.o_proj(attn_output)
        return output


# ---------------------------------------------------------------------------------------------
# the attention blocks


class Llama4Attention(_Block):
    """sglang Llama4Attention before the fused-kernel PR: qk | v split of the fused projection, RoPE
    in place on the q/k views of qk (the engine's rotary kernel writes in place; written as copy_
    here, which torch.export functionalizes), then ONE weight-less norm over all q and k heads of
    qk.reshape(-1, D).contiguous(), reshaped back and split."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.qk_norm = L2Norm(c.rms_norm_eps)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        # sglang splits with qkv.split(...) / qk.split(...); slicing gives the same views, and unlike
        # the outputs of split (a multi-output view op) they may be written in place under autograd
        qk, v = qkv[:, : self.q_size + self.kv_size], qkv[:, self.q_size + self.kv_size:]
        q_view, k_view = qk[:, : self.q_size], qk[:, self.q_size:]
        q_rot, k_rot = self.rotary_emb(positions, q_view, k_view)
        q_view.copy_(q_rot)
        k_view.copy_(k_rot)
        qk = qk.reshape(-1, self.head_dim).contiguous()
        qk = self.qk_norm(qk)
        qk = qk.reshape(-1, self.q_size + self.kv_size)
        q, k = qk.split([self.q_size, self.kv_size], dim=-1)
        attn_output = self.attn(positions, q, k, v)
        output, _ = self.o_proj(attn_output)
        return output


class Qwen3Attention(_Block):
    """vLLM Qwen3Attention (Qwen3MoeAttention is the same code): per-head q_norm/k_norm with [D]
    weights on q.view(*q.shape[:-1], q.shape[-1] // D, D), vLLM RMSNorm rounding (twice)."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = VllmRMSNorm(c.head_dim, c.rms_norm_eps, dtype)
        self.k_norm = VllmRMSNorm(c.head_dim, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q_by_head = q.view(*q.shape[:-1], q.shape[-1] // self.head_dim, self.head_dim)
        q_by_head = self.q_norm(q_by_head)
        q = q_by_head.view(q.shape)
        k_by_head = k.view(*k.shape[:-1], k.shape[-1] // self.head_dim, self.head_dim)
        k_by_head = self.k_norm(k_by_head)
        k = k_by_head.view(k.shape)
        return self._finish(positions, q, k, v)


class Qwen3MoeSglangAttention(_Block):
    """sglang Qwen3MoeAttention through models/utils.apply_qk_norm's non-fused path:
    q.reshape(-1, D) -> q_norm -> view(q.shape), sglang RMSNorm rounding (once)."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = SglangRMSNorm(c.head_dim, c.rms_norm_eps, dtype)
        self.k_norm = SglangRMSNorm(c.head_dim, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q_by_head = self.q_norm(q.reshape(-1, self.head_dim))
        k_by_head = self.k_norm(k.reshape(-1, self.head_dim))
        q = q_by_head.view(q.shape)
        k = k_by_head.view(k.shape)
        return self._finish(positions, q, k, v)


class Glm4MoeAttention(_Block):
    """vLLM Glm4MoeAttention (GLM-4.5): qkv bias (attention_bias), use_qk_norm with per-head
    RMSNorm(head_dim) on q.reshape(-1, H, D), partial rotary factor 0.5 (NeoX)."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = VllmRMSNorm(c.head_dim, c.rms_norm_eps, dtype)
        self.k_norm = VllmRMSNorm(c.head_dim, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = self.q_norm(q.reshape(-1, self.num_heads, self.head_dim)).reshape(q.shape)
        k = self.k_norm(k.reshape(-1, self.num_kv_heads, self.head_dim)).reshape(k.shape)
        return self._finish(positions, q, k, v)


class Gemma3Attention(_Block):
    """vLLM Gemma3Attention: q.unflatten(-1, (H, D)) -> GemmaRMSNorm -> flatten(-2, -1)."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = GemmaRMSNorm(c.head_dim, c.rms_norm_eps, dtype)
        self.k_norm = GemmaRMSNorm(c.head_dim, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = q.unflatten(-1, (self.num_heads, self.head_dim))
        q = self.q_norm(q)
        q = q.flatten(-2, -1)
        k = k.unflatten(-1, (self.num_kv_heads, self.head_dim))
        k = self.k_norm(k)
        k = k.flatten(-2, -1)
        return self._finish(positions, q, k, v)


class Olmo2Attention(_Block):
    """vLLM Olmo2Attention: q_norm = RMSNorm(hidden_size) over the FULL q width H*D and
    k_norm = RMSNorm(Hkv*D) over the full k width, on the split slices, before any head reshape."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        if c.q_size != c.hidden_size:
            raise ValueError("OLMo 2: q_norm is RMSNorm(hidden_size), so H * D must equal hidden_size")
        super().__init__(c, dtype)
        self.q_norm = VllmRMSNorm(c.hidden_size, c.rms_norm_eps, dtype)
        self.k_norm = VllmRMSNorm(c.kv_size, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = self.q_norm(q)
        k = self.k_norm(k)
        return self._finish(positions, q, k, v)


class Qwen3NextAttention(_Block):
    """vLLM Qwen3NextAttention (attn_output_gate): the q part of the fused projection is [T, H, 2*D]
    with [q_h | gate_h] per head, torch.chunk(..., 2, dim=-1); q_norm/k_norm are Qwen3NextRMSNorm
    (= GemmaRMSNorm, 1 + w) per head; partial rotary 0.25; output multiplied by sigmoid(gate)."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype, num_q_proj_heads=2 * c.num_heads)
        self.q_norm = GemmaRMSNorm(c.head_dim, c.rms_norm_eps, dtype)
        self.k_norm = GemmaRMSNorm(c.head_dim, c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q_gate, k, v = qkv.split([self.q_size * 2, self.kv_size, self.kv_size], dim=-1)
        orig_shape = q_gate.shape[:-1]
        q_gate = q_gate.view(*orig_shape, self.num_heads, -1)
        q, gate = torch.chunk(q_gate, 2, dim=-1)
        q = q.reshape(*orig_shape, -1)
        gate = gate.reshape(*orig_shape, -1)
        q = self.q_norm(q.view(-1, self.num_heads, self.head_dim)).view(-1, self.num_heads * self.head_dim)
        k = self.k_norm(k.view(-1, self.num_kv_heads, self.head_dim)).view(-1, self.num_kv_heads * self.head_dim)
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(positions, q, k, v)
        attn_output = attn_output * torch.sigmoid(gate)
        output, _ = self.o_proj(attn_output)
        return output


class CohereLayerNorm(nn.Module):
    """vLLM models/commandr.py LayerNorm (Cohere Command-R's QK norm): mean-subtracted, weight of
    shape [H, D] per head, no bias, in f32, rounded once. A LayerNorm, not an RMSNorm."""

    def __init__(self, param_shape, eps: float, dtype: torch.dtype):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(param_shape, dtype=dtype))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        mean = hidden_states.mean(-1, keepdim=True)
        variance = (hidden_states - mean).pow(2).mean(-1, keepdim=True)
        hidden_states = (hidden_states - mean) * torch.rsqrt(variance + self.variance_epsilon)
        hidden_states = self.weight.to(torch.float32) * hidden_states
        return hidden_states.to(input_dtype)


class CohereQKLayerNormAttention(_Block):
    """vLLM CohereAttention with use_qk_norm: q.view(T, H, D) -> LayerNorm([H, D]) -> view(T, H*D).
    A negative fixture: the QK norm is a LayerNorm (mean subtracted), which must not be raised."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = CohereLayerNorm((c.num_heads, c.head_dim), c.rms_norm_eps, dtype)
        self.k_norm = CohereLayerNorm((c.num_kv_heads, c.head_dim), c.rms_norm_eps, dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = self.q_norm(q.view(*q.shape[:-1], -1, self.head_dim)).view(q.shape)
        k = self.k_norm(k.view(*k.shape[:-1], -1, self.head_dim)).view(k.shape)
        return self._finish(positions, q, k, v)


class Qwen3TorchRMSNormAttention(_Block):
    """Qwen3 layout (vLLM view into heads) with torch.nn.RMSNorm as the QK norm: computes in the
    activation dtype (no f32 up-cast). Not a QK RMSNorm of the f32-statistics kind in bf16."""

    def __init__(self, c: ZooConfig, dtype: torch.dtype):
        super().__init__(c, dtype)
        self.q_norm = TorchRMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=dtype)
        self.k_norm = TorchRMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = self.q_norm(q.view(*q.shape[:-1], self.num_heads, self.head_dim)).view(q.shape)
        k = self.k_norm(k.view(*k.shape[:-1], self.num_kv_heads, self.head_dim)).view(k.shape)
        return self._finish(positions, q, k, v)


# ---------------------------------------------------------------------------------------------
# deterministic initialisation


def init_parameters(module: nn.Module, seed: int = 0) -> nn.Module:
    """Deterministic weights: projections ~ N(0, 1/fan_in), biases ~ N(0, 0.02^2), norm weights
    1 + 0.1 N(0, 1) (0.1 N(0, 1) for the 1 + w norms), so that every weight matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, mod in sorted(module.named_modules()):
            w = getattr(mod, "weight", None)
            if not isinstance(w, nn.Parameter):
                continue
            if isinstance(mod, (QKVParallelLinear, RowParallelLinear)):
                w.copy_(torch.randn(w.shape, generator=g) / math.sqrt(w.shape[1]))
                if getattr(mod, "bias", None) is not None:
                    mod.bias.copy_(0.02 * torch.randn(mod.bias.shape, generator=g))
            elif isinstance(mod, GemmaRMSNorm):
                w.copy_(0.1 * torch.randn(w.shape, generator=g))
            else:
                w.copy_(1.0 + 0.1 * torch.randn(w.shape, generator=g))
    return module


# ---------------------------------------------------------------------------------------------
# the zoo


@dataclass(frozen=True)
class ZooEntry:
    name: str
    cls: Callable[[ZooConfig, torch.dtype], nn.Module]
    config: ZooConfig
    engine: str           # which engine source the block follows
    norm: str             # the QK norm: form, width, rounding
    sites: int            # QK-norm sites in the graph (norm computations on q and/or k)
    ranges: int           # q/k ranges of the fused projection that those sites normalise
    negative_dtypes: Tuple[str, ...] = ()   # dtypes in which the sites are NOT f32-statistics norms

    def module(self, dtype: torch.dtype, seed: int = 0) -> nn.Module:
        torch.manual_seed(seed)
        return init_parameters(self.cls(self.config, dtype).eval(), seed)

    def example_inputs(self, dtype: torch.dtype, num_tokens: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed + 1)
        positions = torch.arange(num_tokens, dtype=torch.int64)
        hidden_states = torch.randn(num_tokens, self.config.hidden_size, generator=g).to(dtype)
        return positions, hidden_states

    def build(self, dtype: torch.dtype, num_tokens: int = 8, seed: int = 0):
        """(module, (positions [T] int64, hidden_states [T, hidden] dtype))."""
        return self.module(dtype, seed), self.example_inputs(dtype, num_tokens, seed)

    def expected_raised(self, dtype: str) -> int:
        """Norms a correct qk-raise-rms-norm raises in this dtype ('bf16' / 'f32')."""
        return 0 if dtype in self.negative_dtypes else self.sites


DTYPES: Dict[str, torch.dtype] = {"bf16": torch.bfloat16, "f32": torch.float32}

_SMALL = ZooConfig()


def _small(family: str, **fixture) -> ZooConfig:
    """_SMALL with the family's norm epsilon and rotary facts (the ones it records); `fixture`
    overrides, for values the checked-in fixtures were exported with."""
    f = families.get(family)
    kw = dict(rms_norm_eps=f.eps, rope_theta=f.rope_theta, partial_rotary_factor=f.partial_rotary_factor,
              qkv_bias=f.qkv_bias)
    kw = {k: v for k, v in kw.items() if v is not None}
    kw.update(fixture)
    return replace(_SMALL, **kw)


ENTRIES: Dict[str, ZooEntry] = {e.name: e for e in [
    ZooEntry("llama4", Llama4Attention, _small("llama4_scout"),
             "sglang models/llama4.py (before PR #25089); norm as vLLM Llama4 (has_weight=False, f32)",
             "weight-less x*rsqrt(mean(x^2)+eps) in f32 over qk.reshape(-1, D).contiguous(), "
             "rounded once; RoPE BEFORE the norm", sites=1, ranges=1),
    ZooEntry("qwen3", Qwen3Attention, _small("qwen3_8b"),
             "vLLM models/qwen3.py Qwen3Attention (= qwen3_moe.py Qwen3MoeAttention)",
             "vLLM RMSNorm(D) per head on q.view(T, H, D): x_hat rounded, then * w in bf16", sites=2, ranges=2),
    ZooEntry("qwen3_moe_sglang", Qwen3MoeSglangAttention, _small("qwen3_235b", num_kv_heads=1),
             "sglang models/qwen3_moe.py Qwen3MoeAttention + models/utils.py apply_qk_norm (non-fused path)",
             "sglang RMSNorm(D) per head on q.reshape(-1, D): (x_hat * w) in f32, rounded once", sites=2, ranges=2),
    # eps and rope theta: the fixtures' (exported before the registry), not GLM-4.5's 1e-5 and 1e6
    ZooEntry("glm4_moe", Glm4MoeAttention, _small("glm4_5", rms_norm_eps=1e-6, rope_theta=10000.0),
             "vLLM models/glm4_moe.py Glm4MoeAttention (GLM-4.5)",
             "vLLM RMSNorm(D) per head on q.reshape(-1, H, D); qkv bias; partial rotary 0.5", sites=2, ranges=2),
    ZooEntry("gemma3", Gemma3Attention, _small("gemma3_27b"),
             "vLLM models/gemma3.py Gemma3Attention",
             "GemmaRMSNorm(D) per head on q.unflatten(-1, (H, D)): x_hat * (1 + w) in f32, rounded once",
             sites=2, ranges=2),
    ZooEntry("olmo2", Olmo2Attention, _small("olmo2_7b", num_heads=2, num_kv_heads=2),
             "vLLM models/olmo2.py Olmo2Attention",
             "vLLM RMSNorm over the full q width H*D (= hidden) and full k width Hkv*D, before the head "
             "reshape", sites=2, ranges=2),
    # rope theta: the fixtures' (the registry records none for Qwen3-Next)
    ZooEntry("qwen3_next", Qwen3NextAttention, _small("qwen3_next", rope_theta=5000000.0),
             "vLLM models/qwen3_next.py Qwen3NextAttention (attn_output_gate, eager path)",
             "Qwen3NextRMSNorm (= GemmaRMSNorm, 1 + w) per head on q chunked out of [T, H, 2D]; "
             "partial rotary 0.25; sigmoid(gate) on the output", sites=2, ranges=2),
    ZooEntry("qwen3_torch_rmsnorm", Qwen3TorchRMSNormAttention, _small("qwen3_8b"),
             "Qwen3 layout with torch.nn.RMSNorm (F.rms_norm) as the QK norm",
             "aten.rms_norm, decomposed by torch-mlir in the input dtype (bf16 statistics in bf16: "
             "a negative fixture)", sites=2, ranges=2, negative_dtypes=("bf16",)),
    ZooEntry("cohere_qk_layernorm", CohereQKLayerNormAttention, replace(_SMALL, rope_theta=10000.0),
             "vLLM models/commandr.py CohereAttention (use_qk_norm)",
             "LayerNorm over each head (mean subtracted, [H, D] weight, f32): not an RMSNorm, a "
             "negative fixture", sites=2, ranges=2, negative_dtypes=("bf16", "f32")),
]}


def entries():
    return list(ENTRIES.values())
