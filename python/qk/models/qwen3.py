"""Qwen3 attention as serving engines write it: fused qkv_proj, split, per-head q_norm/k_norm
with separate [D] weights (Hugging Face/vLLM rounding: x_hat is rounded to the activation type
before the weight multiply), neox RoPE, attention, o_proj.

style="sglang": q.reshape(-1, D) -> norm -> view(q.shape) (sglang's apply_qk_norm fallback);
style="vllm":   q.view(T, H, D)  -> norm -> view(q.shape) (vLLM's Qwen3Attention).
"""

import torch
import torch.nn as nn

from .common import (Attention, AttentionConfig, QKVParallelLinear, RMSNorm, RotaryEmbedding,
                     RowParallelLinear)


class Qwen3Attention(nn.Module):
    def __init__(self, config: AttentionConfig, style: str = "sglang"):
        super().__init__()
        if style not in ("sglang", "vllm"):
            raise ValueError("style must be 'sglang' or 'vllm'")
        c = config
        self.style = style
        self.head_dim = c.head_dim
        self.q_size, self.kv_size = c.q_size, c.kv_size
        self.qkv_proj = QKVParallelLinear(c.hidden_size, c.q_size, c.kv_size, dtype=c.dtype)
        self.q_norm = RMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=c.dtype)
        self.k_norm = RMSNorm(c.head_dim, eps=c.rms_norm_eps, dtype=c.dtype)
        self.rotary_emb = RotaryEmbedding(c.head_dim, c.max_position, c.rope_theta, True, c.dtype)
        self.attn = Attention(c.num_heads, c.head_dim, c.head_dim ** -0.5, c.num_kv_heads)
        self.o_proj = RowParallelLinear(c.q_size, c.hidden_size, dtype=c.dtype)

    def _apply_qk_norm(self, q, k):
        if self.style == "sglang":
            q_by_head = self.q_norm(q.reshape(-1, self.head_dim))
            k_by_head = self.k_norm(k.reshape(-1, self.head_dim))
        else:
            q_by_head = self.q_norm(q.view(*q.shape[:-1], q.shape[-1] // self.head_dim, self.head_dim))
            k_by_head = self.k_norm(k.view(*k.shape[:-1], k.shape[-1] // self.head_dim, self.head_dim))
        return q_by_head.view(q.shape), k_by_head.view(k.shape)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q, k = self._apply_qk_norm(q, k)
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(q, k, v)
        output, _ = self.o_proj(attn_output)
        return output
