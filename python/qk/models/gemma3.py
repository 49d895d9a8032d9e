"""Gemma 3 attention as vLLM writes it: fused qkv_proj, split, q/k unflattened into heads,
GemmaRMSNorm (x_hat * (1 + w), everything in f32, rounded once), neox RoPE, attention, o_proj."""

import torch
import torch.nn as nn

from .common import Attention, AttentionConfig, QKVParallelLinear, RotaryEmbedding, RowParallelLinear


class GemmaRMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6, dtype=torch.bfloat16):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(hidden_size, dtype=dtype))
        self.variance_epsilon = eps
        self.weight_offset = 1.0  # read by qk.ops.apply_qk_norm

    def forward(self, x):
        orig_dtype = x.dtype
        x = x.float()
        variance = x.pow(2).mean(dim=-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        x = x * (1.0 + self.weight.float())
        return x.to(orig_dtype)


class Gemma3Attention(nn.Module):
    def __init__(self, config: AttentionConfig):
        super().__init__()
        c = config
        self.num_heads, self.num_kv_heads, self.head_dim = c.num_heads, c.num_kv_heads, c.head_dim
        self.q_size, self.kv_size = c.q_size, c.kv_size
        self.qkv_proj = QKVParallelLinear(c.hidden_size, c.q_size, c.kv_size, dtype=c.dtype)
        self.q_norm = GemmaRMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=c.dtype)
        self.k_norm = GemmaRMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=c.dtype)
        self.rotary_emb = RotaryEmbedding(c.head_dim, c.max_position, c.rope_theta, True, c.dtype)
        self.attn = Attention(c.num_heads, c.head_dim, c.head_dim ** -0.5, c.num_kv_heads)
        self.o_proj = RowParallelLinear(c.q_size, c.hidden_size, dtype=c.dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q = q.unflatten(-1, (self.num_heads, self.head_dim))
        q = self.q_norm(q)
        q = q.flatten(-2, -1)
        k = k.unflatten(-1, (self.num_kv_heads, self.head_dim))
        k = self.k_norm(k)
        k = k.flatten(-2, -1)
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(q, k, v)
        output, _ = self.o_proj(attn_output)
        return output
