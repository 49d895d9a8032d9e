"""The model families' attention-block facts, written once.

One `Family` per model (or tensor-parallel shard of a model) whose QK norm this project handles:
the head counts and head_dim of the fused q|k|v projection, the QK norm's form (per head or over
the full projection width, weighted or not, one norm for q and k or two, the weight offset of
Gemma's x_hat * (1 + w)), its epsilon and rounding order, and the rotary facts.

Who reads it (nothing else states these numbers; what cannot import it is checked against it by
python/tests/test_families.py):
  test/Integration/gen_qk_block.py   --model llama4|qwen3|gemma3|olmo2 (and through it
                                     test/Integration/lit.local.cfg)
  python/qk/models/__init__.py       the full-size reference modules (qwen3_8b() & co.) and the
                                     epsilon of the *_tiny ones
  python/qk/models/zoo.py            the torch-mlir fixtures' epsilon and rotary facts
  benchmarks/bench_qknorm.py, bench_kernel_gaps.py, eager_host_cost.py   the kernel configs
  checked, not shared: runtime/tests/TestSupport.h (models[] of buildCases), the headers of
                                     examples/*.mlir, test/Integration/gen_strided_block.py
                                     (the Qwen3-Next layout)

Standard library only, no relative imports: scripts that must run without torch or without the
qk package installed load this file by path, e.g.

    spec = importlib.util.spec_from_file_location("qk_model_families", REPO / "python/qk/models/families.py")

(inside the package it is `qk.models.families`).

`rounding` is the Hugging Face reference's order ("once": x_hat * w in f32, rounded once;
"before_weight": x_hat rounded to the activation type, then * w in it); engines differ (sglang's
RMSNorm.forward_native rounds once, vLLM's before the weight): the zoo's entries say which engine
each fixture follows. Values that were already in this repository before the registry are kept
as they were; each family's `source` says where its numbers come from and which were not checked.
"""

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

NORM_WIDTHS = ("head", "full")
ROUNDINGS = ("once", "before_weight")
ROPE_STYLES = ("neox", "gptj")


@dataclass(frozen=True)
class Family:
    name: str                   # registry key: the name the benchmarks, tests and qk.models use
    title: str                  # the model as its authors name it
    hidden_size: int
    num_heads: int              # Hq: q heads (of this rank, for a shard)
    num_kv_heads: int           # Hkv: k heads = v heads (of this rank)
    head_dim: int               # D
    eps: float                  # the QK norm's epsilon (rms_norm_eps)
    norm_width: str = "head"    # "head": each head over D; "full": q over Hq * D, k over Hkv * D
    norm_weight: bool = True    # False: weight-less (Llama 4's L2 norm)
    shared_qk_norm: bool = False  # one norm (and one weight) for the q and the k heads
    rounding: str = "once"      # ROUNDINGS (Hugging Face's order; see the module docstring)
    weight_offset: float = 0.0  # 1.0: x_hat * (1 + w) (Gemma, Qwen3-Next)
    rope_theta: Optional[float] = None  # None: not recorded (see source)
    rope_style: str = "neox"    # "neox": rotate halves; "gptj": rotate interleaved pairs
    partial_rotary_factor: float = 1.0  # rotary part of each head (rotary_dim = D * factor)
    rope_before_norm: bool = False  # the model applies RoPE before the QK norm
    qkv_bias: bool = False      # the fused qkv projection has a bias
    q_gate: bool = False        # the q projection holds [q_h | gate_h] per head (output gate)
    tp: int = 1                 # tensor-parallel degree this entry is one rank of
    source: str = ""

    def __post_init__(self):
        assert self.norm_width in NORM_WIDTHS, self.norm_width
        assert self.rounding in ROUNDINGS, self.rounding
        assert self.rope_style in ROPE_STYLES, self.rope_style
        assert self.norm_weight or self.weight_offset == 0.0, "a weight offset needs a weight"

    @property
    def qkv_width(self) -> int:
        """Columns of one token's fused projection (q | [gates |] k | v)."""
        return ((2 if self.q_gate else 1) * self.num_heads + 2 * self.num_kv_heads) * self.head_dim

    @property
    def q_group(self) -> int:
        """Columns one q norm reduces over: D, or Hq * D for a full-width norm."""
        return (self.num_heads if self.norm_width == "full" else 1) * self.head_dim

    @property
    def k_group(self) -> int:
        """Columns one k norm reduces over: D, or Hkv * D for a full-width norm."""
        return (self.num_kv_heads if self.norm_width == "full" else 1) * self.head_dim

    def shard(self, tp: int, name: Optional[str] = None) -> "Family":
        """One rank of tensor parallelism of degree tp, heads divided as vLLM/sglang divide them:
        q heads split evenly; kv heads split when there are at least tp of them, else
        replicated (max(1, Hkv // tp) per rank)."""
        if self.tp != 1:
            raise ValueError(f"{self.name} is already a shard")
        if self.num_heads % tp:
            raise ValueError(f"{self.name}: {self.num_heads} q heads do not split over {tp} ranks")
        if self.num_kv_heads >= tp and self.num_kv_heads % tp:
            raise ValueError(f"{self.name}: {self.num_kv_heads} kv heads do not split over {tp} ranks")
        if self.num_kv_heads < tp and tp % self.num_kv_heads:
            raise ValueError(f"{self.name}: {self.num_kv_heads} kv heads do not replicate over {tp} ranks")
        return replace(self, name=name or f"{self.name}_tp{tp}", title=f"{self.title} TP-{tp} shard",
                       num_heads=self.num_heads // tp, num_kv_heads=max(1, self.num_kv_heads // tp), tp=tp,
                       source=f"one rank of {self.name} at TP {tp}; " + self.source)


LLAMA4_SCOUT = Family(
    "llama4_scout", "Llama 4 Scout (17B-16E)", hidden_size=5120, num_heads=40, num_kv_heads=8, head_dim=128,
    eps=1e-5, norm_weight=False, shared_qk_norm=True, rope_theta=500000.0, rope_style="gptj",
    rope_before_norm=True,
    source="HF meta-llama/Llama-4-Scout-17B-16E text_config (rms_norm_eps, rope_theta; QK norm on the "
           "RoPE layers only); Llama4TextL2Norm, weight-less; sglang before PR #25089: one norm over "
           "qkv[:, :q+kv].reshape(-1, D), RoPE (interleaved pairs) applied before it. examples/"
           "llama4_scout.mlir and qk.models normalise first (a documented simplification).")

QWEN3_8B = Family(
    "qwen3_8b", "Qwen3-8B", hidden_size=4096, num_heads=32, num_kv_heads=8, head_dim=128, eps=1e-6,
    rounding="before_weight", rope_theta=1000000.0,
    source="HF Qwen/Qwen3-8B config; Qwen3RMSNorm per head, separate q_norm/k_norm weights [D], "
           "weight * x_hat.to(dtype) (vLLM RMSNorm the same; sglang rounds once).")

QWEN3_235B = Family(
    "qwen3_235b", "Qwen3-235B-A22B", hidden_size=4096, num_heads=64, num_kv_heads=4, head_dim=128,
    eps=1e-6, rounding="before_weight", rope_theta=1000000.0,
    source="HF Qwen/Qwen3-235B-A22B config (64 q / 4 kv heads per the model card; hidden_size not "
           "checked against a copy in this repo); Qwen3MoeRMSNorm as Qwen3's.")

QWEN3_235B_TP8 = QWEN3_235B.shard(8, "qwen3_235b_tp8")

GEMMA3_27B = Family(
    "gemma3_27b", "Gemma 3 27B", hidden_size=5376, num_heads=32, num_kv_heads=16, head_dim=128, eps=1e-6,
    weight_offset=1.0, rope_theta=1000000.0,
    source="HF google/gemma-3-27b-it text_config (rope_theta of the global layers; the sliding-window "
           "layers use 10000); Gemma3RMSNorm x_hat * (1 + w) in f32, rounded once (vLLM GemmaRMSNorm).")

OLMO2_7B = Family(
    "olmo2_7b", "OLMo 2 7B", hidden_size=4096, num_heads=32, num_kv_heads=32, head_dim=128, eps=1e-6,
    norm_width="full", rope_theta=500000.0,
    source="HF allenai/OLMo-2-1124-7B config; Olmo2RMSNorm over the full q (Hq * D) and k (Hkv * D) "
           "width, (weight * x_hat).to(dtype): rounded once (vLLM's RMSNorm rounds before the weight).")

GLM4_5 = Family(
    "glm4_5", "GLM-4.5 (355B-A32B)", hidden_size=5120, num_heads=96, num_kv_heads=8, head_dim=128,
    eps=1e-5, rounding="before_weight", rope_theta=1000000.0, partial_rotary_factor=0.5, qkv_bias=True,
    source="HF zai-org/GLM-4.5 config (use_qk_norm, attention_bias, partial_rotary_factor 0.5, as "
           "vLLM models/glm4_moe.py reads them); hidden 5120, 96 q / 8 kv heads and RoPE base 1e6 as "
           "NVIDIA Megatron-Bridge's GLM-4.5 page states them; head_dim 128 and eps 1e-5 from the HF "
           "config, not checked against a copy in this repo. Glm4MoeRMSNorm rounds before the weight.")

QWEN3_NEXT = Family(
    "qwen3_next", "Qwen3-Next-80B-A3B", hidden_size=2048, num_heads=16, num_kv_heads=2, head_dim=256,
    eps=1e-6, weight_offset=1.0, partial_rotary_factor=0.25, q_gate=True,
    source="HF Qwen/Qwen3-Next-80B-A3B-Instruct config (gated full-attention layers); "
           "Qwen3NextRMSNorm = GemmaRMSNorm (1 + w, f32, rounded once); q_proj yields [q_h | gate_h] "
           "per head (attn_output_gate). rope_theta not recorded (the zoo fixture uses its own).")

FAMILIES: Dict[str, Family] = {f.name: f for f in (
    LLAMA4_SCOUT, QWEN3_8B, QWEN3_235B, QWEN3_235B_TP8, GEMMA3_27B, OLMO2_7B, GLM4_5, QWEN3_NEXT)}

# The four configurations the kernel is measured and tested on (bench_qknorm.py, eager_host_cost.py,
# bench_kernel_gaps.py --cases table; runtime/tests/TestSupport.h models[] lists the same).
KERNEL_CONFIGS: Tuple[str, ...] = ("llama4_scout", "qwen3_8b", "qwen3_235b_tp8", "gemma3_27b")

# The benchmarks' epsilon for every configuration: the anchor script's (../shared/anchors), not each
# model's own (Llama 4's is 1e-5); it does not change the time of a call.
BENCH_EPS = 1e-6


def get(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"no model family {name!r}; known: {', '.join(FAMILIES)}") from None


def names() -> Tuple[str, ...]:
    return tuple(FAMILIES)


def kernel_config(name: str) -> dict:
    """A family as the kernel benchmarks describe a configuration: per-head q/k norms of D columns
    in place on [q | k | v]; shared: one weight for the q and the k heads; gemma: the weight is
    applied as (1 + w); eps: BENCH_EPS."""
    f = get(name)
    if f.norm_width != "head":
        raise ValueError(f"{name}: the kernel benchmarks take per-head norms")
    return dict(Hq=f.num_heads, Hkv=f.num_kv_heads, D=f.head_dim, eps=BENCH_EPS, shared=f.shared_qk_norm,
                gemma=f.weight_offset == 1.0)
