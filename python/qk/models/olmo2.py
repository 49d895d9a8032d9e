"""OLMo 2 attention as vLLM writes it: fused qkv_proj, chunk(3), full-width q_norm/k_norm over
the whole projection (Hugging Face Olmo2RMSNorm: the weight multiply in f32, rounded once), neox
RoPE, attention, o_proj."""

import torch
import torch.nn as nn

from .common import Attention, AttentionConfig, QKVParallelLinear, RotaryEmbedding, RowParallelLinear


class Olmo2RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps=1e-6, dtype=torch.bfloat16):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size, dtype=dtype))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return (self.weight * hidden_states).to(input_dtype)


class Olmo2Attention(nn.Module):
    def __init__(self, config: AttentionConfig):
        super().__init__()
        c = config
        if c.num_heads != c.num_kv_heads:
            raise ValueError("OLMo 2 has as many kv heads as q heads (qkv.chunk(3))")
        self.qkv_proj = QKVParallelLinear(c.hidden_size, c.q_size, c.kv_size, dtype=c.dtype)
        self.q_norm = Olmo2RMSNorm(c.q_size, eps=c.rms_norm_eps, dtype=c.dtype)
        self.k_norm = Olmo2RMSNorm(c.kv_size, eps=c.rms_norm_eps, dtype=c.dtype)
        self.rotary_emb = RotaryEmbedding(c.head_dim, c.max_position, c.rope_theta, True, c.dtype)
        self.attn = Attention(c.num_heads, c.head_dim, c.head_dim ** -0.5, c.num_kv_heads)
        self.o_proj = RowParallelLinear(c.q_size, c.hidden_size, dtype=c.dtype)

    def _apply_qk_norm(self, q, k):
        q = self.q_norm(q.contiguous())
        k = self.k_norm(k.contiguous())
        return q, k

    def forward(self, positions, hidden_states):
        qkv, _ = self.qkv_proj(hidden_states)
        q, k, v = qkv.chunk(chunks=3, dim=-1)
        q, k = self._apply_qk_norm(q, k)
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attn(q, k, v)
        output, _ = self.o_proj(attn_output)
        return output
