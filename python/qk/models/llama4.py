"""Llama 4 attention (QK-norm layers) as sglang wrote it before the fused kernel: one weight-less
L2 norm over all q and k heads of `qkv[:, :q_size + kv_size].reshape(-1, D).contiguous()`, split
back into q and k, GPT-J style RoPE, attention, o_proj.

As in examples/llama4_scout.mlir, the norm comes before RoPE (real Llama 4 applies RoPE in place
on the q/k views first), so that the norm input is the strided slice of the projection."""

import torch
import torch.nn as nn

from .common import Attention, AttentionConfig, QKVParallelLinear, RotaryEmbedding, RowParallelLinear


class Llama4TextL2Norm(nn.Module):
    def __init__(self, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.variance_epsilon = eps

    def _norm(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

    def forward(self, x):
        return self._norm(x.float()).type_as(x)


class Llama4Attention(nn.Module):
    def __init__(self, config: AttentionConfig):
        super().__init__()
        c = config
        self.head_dim = c.head_dim
        self.q_size, self.kv_size = c.q_size, c.kv_size
        self.qkv_proj = QKVParallelLinear(c.hidden_size, c.q_size, c.kv_size, dtype=c.dtype)
        self.qk_norm = Llama4TextL2Norm(eps=c.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(c.head_dim, c.max_position, c.rope_theta, False, c.dtype)
        self.attn = Attention(c.num_heads, c.head_dim, c.head_dim ** -0.5, c.num_kv_heads)
        self.o_proj = RowParallelLinear(c.q_size, c.hidden_size, dtype=c.dtype)

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        num_tokens = hidden_states.shape[0]
        qk = qkv[:, : self.q_size + self.kv_size]
        qk = qk.reshape(-1, self.head_dim).contiguous()
        qk = self.qk_norm(qk)
        q, k = qk.reshape(num_tokens, -1).split([self.q_size, self.kv_size], dim=-1)
        v = qkv[:, self.q_size + self.kv_size:]
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(q, k, v)
        output, _ = self.o_proj(attn_output)
        return output
