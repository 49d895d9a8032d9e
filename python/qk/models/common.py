"""Building blocks written the way serving engines (vLLM, sglang) write them: a fused qkv
projection returning (output, bias) like QKVParallelLinear, a rotary embedding that gathers a
cos/sin cache by position, and an attention layer in plain torch (what an engine's attention
backend computes, written so that torch.export + torch-mlir lower it to linalg)."""

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class AttentionConfig:
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position: int = 4096
    dtype: torch.dtype = torch.bfloat16

    @property
    def q_size(self):
        return self.num_heads * self.head_dim

    @property
    def kv_size(self):
        return self.num_kv_heads * self.head_dim


class QKVParallelLinear(nn.Module):
    """Fused q|k|v projection (one GEMM), returning (output, output_bias) like vLLM's."""

    def __init__(self, hidden_size, q_size, kv_size, bias=False, dtype=torch.bfloat16):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(q_size + 2 * kv_size, hidden_size, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(q_size + 2 * kv_size, dtype=dtype)) if bias else None
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(hidden_size))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias), None


class RowParallelLinear(nn.Module):
    def __init__(self, in_features, out_features, dtype=torch.bfloat16):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=dtype))
        nn.init.normal_(self.weight, std=1.0 / math.sqrt(in_features))

    def forward(self, x):
        return F.linear(x, self.weight), None


class RotaryEmbedding(nn.Module):
    """vLLM's RotaryEmbedding.forward_native: cos/sin gathered from a cache by position;
    neox style rotates halves (chunk + cat), GPT-J style rotates pairs (::2, stack, flatten)."""

    def __init__(self, head_dim, max_position, base, is_neox_style=True, dtype=torch.bfloat16):
        super().__init__()
        self.head_size = head_dim
        self.rotary_dim = head_dim
        self.is_neox_style = is_neox_style
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        t = torch.arange(max_position, dtype=torch.float32)
        freqs = torch.outer(t, inv_freq)
        cache = torch.cat((freqs.cos(), freqs.sin()), dim=-1).to(dtype)
        self.register_buffer("cos_sin_cache", cache, persistent=False)

    def _rotate(self, x, cos, sin):  # not `_apply`: that is nn.Module._apply (.to, .cuda)
        cos = cos.unsqueeze(-2).to(x.dtype)
        sin = sin.unsqueeze(-2).to(x.dtype)
        if self.is_neox_style:
            x1, x2 = torch.chunk(x, 2, dim=-1)
        else:
            x1 = x[..., ::2]
            x2 = x[..., 1::2]
        o1 = x1 * cos - x2 * sin
        o2 = x2 * cos + x1 * sin
        if self.is_neox_style:
            return torch.cat((o1, o2), dim=-1)
        return torch.stack((o1, o2), dim=-1).flatten(-2)

    def forward(self, positions, query, key):
        num_tokens = positions.shape[0]
        cos_sin = self.cos_sin_cache.index_select(0, positions)
        cos, sin = cos_sin.chunk(2, dim=-1)
        query_shape = query.shape
        query = query.view(num_tokens, -1, self.head_size)
        query = self._rotate(query, cos, sin).reshape(query_shape)
        key_shape = key.shape
        key = key.view(num_tokens, -1, self.head_size)
        key = self._rotate(key, cos, sin).reshape(key_shape)
        return query, key


def causal_attention(q, k, v, num_heads, num_kv_heads, head_dim, scale):
    """Reference attention over one causal sequence: q [T, Hq*D], k/v [T, Hkv*D] -> [T, Hq*D].
    Softmax in f32, GQA by repeating kv heads."""
    T = q.shape[0]
    qh = q.reshape(T, num_heads, head_dim).transpose(0, 1).float()
    kh = k.reshape(T, num_kv_heads, head_dim).transpose(0, 1).float()
    vh = v.reshape(T, num_kv_heads, head_dim).transpose(0, 1).float()
    rep = num_heads // num_kv_heads
    kh = kh.repeat_interleave(rep, dim=0)
    vh = vh.repeat_interleave(rep, dim=0)
    scores = torch.matmul(qh, kh.transpose(1, 2)) * scale
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    out = torch.matmul(probs, vh)
    return out.transpose(0, 1).reshape(T, num_heads * head_dim).to(q.dtype)


class Attention(nn.Module):
    """The attention backend (FlashInfer/FlashAttention in an engine), as plain torch math:
    `causal_attention` (scores and softmax in f32, GQA by repeating kv heads). torch-mlir lowers
    it to linalg like the rest of the block; qk-opt leaves it alone."""

    def __init__(self, num_heads, head_dim, scale, num_kv_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.scale = scale
        self.num_kv_heads = num_kv_heads

    def forward(self, q, k, v):
        return causal_attention(q, k, v, self.num_heads, self.num_kv_heads, self.head_dim, self.scale)


class RMSNorm(nn.Module):
    """vLLM's RMSNorm.forward_native: f32 statistics, cast back, then the weight (rounding before
    the weight); `has_weight=False` gives the weight-less form."""

    def __init__(self, hidden_size, eps=1e-6, has_weight=True, dtype=torch.bfloat16):
        super().__init__()
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


def randomize_norm_weights(module: nn.Module, seed: int = 0, offset: float = 1.0, scale: float = 0.1):
    """Norm weights start at 1 (or 0 for Gemma): perturb them so that tests see the weights."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        if name.endswith("norm.weight"):
            with torch.no_grad():
                p.copy_((offset + scale * torch.randn(p.shape, generator=g)).to(p.dtype))
    return module
