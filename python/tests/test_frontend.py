"""PyTorch module -> qk-opt input IR: forms of RMSNorm, reshapes, RoPE ops, opaque calls,
dynamic token count, and clear errors for what is not supported."""
import inspect
import re

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn
import torch.nn.functional as F

import qk
from qk import frontend as fe
from qk.frontend import TensorSpec, UnsupportedOpError, FrontendError
from qk.frontend.shapes import Sym, refine
from qk.models.common import RMSNorm

HAS_NN_RMSNORM = hasattr(nn, "RMSNorm")
ALLOWED_DIALECTS = {"func", "arith", "math", "tensor", "linalg"}


def assert_upstream_only(mlir: str):
    for op in re.findall(r"^\s*(?:%[\w.#:]+ = )?([a-z_]+)\.([a-z_]+)", mlir, re.M):
        assert op[0] in ALLOWED_DIALECTS, f"op {op[0]}.{op[1]} is not in the input dialects"


class QKBlock(nn.Module):
    """qkv [T, (4+2+2)*16] -> split -> per-head norm of q and k (module given) -> q, k, v."""

    def __init__(self, q_norm, k_norm, head_dim=16, hq=4, hk=2):
        super().__init__()
        self.q_norm, self.k_norm = q_norm, k_norm
        self.d, self.hq, self.hk = head_dim, hq, hk

    def forward(self, qkv):
        q, k, v = qkv.split([self.hq * self.d, self.hk * self.d, self.hk * self.d], dim=-1)
        q = self.q_norm(q.reshape(-1, self.d)).view(q.shape)
        k = self.k_norm(k.reshape(-1, self.d)).view(k.shape)
        return q, k, v


def block_inputs(dtype=torch.bfloat16):
    return (TensorSpec(("T", 128), dtype),)


class GemmaNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d) * 0.1)
        self.eps = eps

    def forward(self, x):
        out = x.float()
        out = out * torch.rsqrt(out.pow(2).mean(-1, keepdim=True) + self.eps)
        out = out * (1.0 + self.weight.float())
        return out.type_as(x)


class SquareNorm(nn.Module):
    """x * x instead of pow(2), .to(torch.float32) / .to(dtype), weight-less."""

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        xf = x.to(torch.float32)
        var = (xf * xf).mean(dim=-1, keepdim=True)
        return (xf * torch.rsqrt(var + self.eps)).to(dtype)


class OnceNorm(nn.Module):
    """Weight multiply in f32, rounded once (OLMo 2 style)."""

    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d, dtype=torch.bfloat16))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.to(torch.float32)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return (self.weight * x).to(dt)


def compile_block(q_norm, k_norm, dtype=torch.bfloat16):
    m = QKBlock(q_norm, k_norm)
    e = fe.to_mlir(m, block_inputs(dtype))
    assert_upstream_only(e.mlir)
    return e, qk.compile(e)


FORMS = {
    # name: (factory of one norm, expected raise remark suffix)
    "hf_vllm_before_weight": (lambda: RMSNorm(16, 1e-6, dtype=torch.bfloat16),
                              "rows of 16 bf16, epsilon 1.000000e-06, weight, rounding before_weight"),
    "weightless_square_to": (lambda: SquareNorm(1e-5), "rows of 16 bf16, epsilon 1.000000e-05, no weight, rounding once"),
    "gemma_one_plus_w": (lambda: GemmaNorm(16), "rows of 16 bf16, epsilon 1.000000e-06, weight (1.000000e+00 + w), rounding once"),
    "weight_in_f32_once": (lambda: OnceNorm(16), "rows of 16 bf16, epsilon 1.000000e-06, weight, rounding once"),
    "vllm_weightless": (lambda: RMSNorm(16, 1e-6, has_weight=False), "rows of 16 bf16, epsilon 1.000000e-06, no weight, rounding once"),
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_rms_norm_forms_are_raised_and_fused(qk_opt, form):
    make, expected = FORMS[form]
    e, res = compile_block(make(), make())
    assert [r.message for r in res.raised] == [f"raised RMSNorm to qk.rms_norm: {expected}"] * 2
    assert [r.message for r in res.fused] == ["fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed"]
    assert res.statistics["qk-fuse-strided-qk-norm"]["copies_kept"] == 0
    assert res.missed == []


@pytest.mark.skipif(not HAS_NN_RMSNORM, reason="torch < 2.4 has no nn.RMSNorm / F.rms_norm")
@pytest.mark.parametrize("affine", [True, False])
def test_nn_rmsnorm_module(qk_opt, affine):
    q = nn.RMSNorm(16, eps=1e-6, elementwise_affine=affine, dtype=torch.bfloat16)
    k = nn.RMSNorm(16, eps=1e-6, elementwise_affine=affine, dtype=torch.bfloat16)
    e, res = compile_block(q, k)
    from qk.frontend.emitter import torch_rms_norm_rounding
    w = f"weight, rounding {torch_rms_norm_rounding(torch.bfloat16, torch.bfloat16)}" if affine else "no weight, rounding once"
    assert [r.message for r in res.raised] == [f"raised RMSNorm to qk.rms_norm: rows of 16 bf16, epsilon 1.000000e-06, {w}"] * 2
    assert len(res.fused) == 1


@pytest.mark.skipif(not hasattr(F, "rms_norm"), reason="torch < 2.4 has no F.rms_norm")
def test_functional_rms_norm(qk_opt):
    class FNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(16, dtype=torch.bfloat16))

        def forward(self, x):
            return F.rms_norm(x, (16,), self.weight, 1e-6)

    e, res = compile_block(FNorm(), FNorm())
    assert len(res.raised) == 2 and len(res.fused) == 1


@pytest.mark.skipif(not hasattr(F, "rms_norm"), reason="torch < 2.4 has no F.rms_norm")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "f16"])
def test_rms_norm_rounding_probe_matches_eager(dtype):
    """The rounding the frontend emits for nn.RMSNorm / F.rms_norm (which changed between torch
    releases) reproduces this torch's eager result bit for bit."""
    from qk.frontend.emitter import torch_rms_norm_rounding
    from qk.ops import reference_qk_rmsnorm
    rounding = torch_rms_norm_rounding(dtype, dtype)
    g = torch.Generator().manual_seed(7)
    x = (torch.randn(300, 128, generator=g) * 4).to(dtype)
    n = nn.RMSNorm(128, eps=1e-6, dtype=dtype)
    with torch.no_grad():
        n.weight.copy_(1 + 0.1 * torch.randn(128, generator=g))
        assert torch.equal(n(x), reference_qk_rmsnorm(x, n.weight, 1e-6, rounding=rounding))


def test_dynamic_token_count_and_arguments():
    from qk import models
    m, inp = models.build("qwen3_tiny")
    e = fe.to_mlir(m, inp)
    assert "%T = tensor.dim %positions, %c0 : tensor<?xi64>" in e.mlir
    assert re.search(r"func\.func @qwen3_attention\(%positions: tensor<\?xi64>, %hidden_states: tensor<\?x64xbf16>", e.mlir)
    kinds = [(a.name, a.kind, a.transform) for a in e.arguments]
    assert kinds[:2] == [("positions", "input", None), ("hidden_states", "input", None)]
    assert ("qkv_proj.weight.T", "parameter", "transpose") in kinds
    assert e.results[0].shape == (Sym(1), 64)
    assert_upstream_only(e.mlir)


def test_opaque_attention_declaration():
    from qk import models
    m, inp = models.build("llama4_tiny")
    e = fe.to_mlir(m, inp)
    decl = ('func.func private @attention(tensor<?x64xbf16> {bufferization.access = "read"}, '
            'tensor<?x32xbf16> {bufferization.access = "read"}, tensor<?x32xbf16> {bufferization.access = "read"}) '
            '-> tensor<?x64xbf16>')
    assert decl in e.mlir
    assert e.mlir.count("func.call @attention(") == 1
    assert list(e.opaque_calls) == ["attention"]


def test_opaque_function_decorator():
    @fe.opaque(name="my_kernel")
    def my_kernel(a, b):
        return a * b + 1

    class M(nn.Module):
        def forward(self, x):
            return my_kernel(x, x) * 2

    e = fe.to_mlir(M(), (TensorSpec(("T", 8), torch.float32),))
    assert 'func.func private @my_kernel(tensor<?x8xf32> {bufferization.access = "read"}, tensor<?x8xf32> {bufferization.access = "read"}) -> tensor<?x8xf32>' in e.mlir


@pytest.mark.skipif(not hasattr(F, "scaled_dot_product_attention"), reason="torch < 2.0 has no SDPA")
def test_sdpa_is_opaque():
    class M(nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    spec = TensorSpec((2, "T", 16), torch.float32)
    e = fe.to_mlir(M(), (spec, spec, spec), dynamic_dims={0: 1, 1: 1, 2: 1})
    assert "func.call @scaled_dot_product_attention(" in e.mlir
    assert e.opaque_calls["scaled_dot_product_attention"].kwargs == {"is_causal": True}


def _line_of(pattern, obj):
    src, start = inspect.getsourcelines(obj)
    for i, line in enumerate(src):
        if pattern in line:
            return start + i
    raise AssertionError(pattern)


class Cumsum(nn.Module):
    def forward(self, x):
        y = x * 2
        return torch.cumsum(y, dim=-1)


def test_unsupported_op_names_op_and_line():
    with pytest.raises(UnsupportedOpError) as ei:
        fe.to_mlir(Cumsum(), (TensorSpec(("T", 8), torch.float32),))
    e = ei.value
    assert e.op == "torch.cumsum"
    assert e.frame.line == _line_of("torch.cumsum", Cumsum.forward)
    assert e.frame.file == __file__
    msg = str(e)
    assert "unsupported op torch.cumsum" in msg and f"{__file__}:{e.frame.line}" in msg
    assert "return torch.cumsum(y, dim=-1)" in msg


class InPlace(nn.Module):
    def forward(self, x):
        y = x + 1
        y.mul_(2)
        return y


def test_in_place_op_is_rejected_with_line():
    with pytest.raises(UnsupportedOpError) as ei:
        fe.to_mlir(InPlace(), (TensorSpec(("T", 8), torch.float32),))
    assert ei.value.op == "Tensor.mul_"
    assert ei.value.frame.line == _line_of("y.mul_(2)", InPlace.forward)


class TokenSlice(nn.Module):
    def forward(self, x):
        return x[:2] * 2


def test_token_dimension_slicing_is_an_error():
    with pytest.raises(FrontendError) as ei:
        fe.to_mlir(TokenSlice(), (TensorSpec(("T", 8), torch.float32),))
    assert "token dimension" in str(ei.value)
    assert ei.value.frame.line == _line_of("x[:2]", TokenSlice.forward)


class NotMultiple(nn.Module):
    def forward(self, x):
        return torch.cat([x, x[:1]], dim=0)


def test_non_multiple_dynamic_size_is_an_error():
    with pytest.raises(FrontendError) as ei:
        fe.to_mlir(NotMultiple(), (TensorSpec(("T", 8), torch.float32),))
    assert "not a multiple of the token count" in str(ei.value) or "token dimension" in str(ei.value)


class RopeOps(nn.Module):
    """Both RoPE styles and the ops they use: index_select, chunk, unsqueeze, ::2, stack,
    flatten, cat, neg."""

    def __init__(self):
        super().__init__()
        self.register_buffer("cache", torch.randn(32, 16))

    def forward(self, positions, x):
        cs = self.cache.index_select(0, positions)
        cos, sin = cs.chunk(2, dim=-1)
        x = x.view(x.shape[0], -1, 16)
        x1, x2 = torch.chunk(x, 2, dim=-1)
        neox = torch.cat((x1 * cos.unsqueeze(-2) - x2 * sin.unsqueeze(-2), -x1), dim=-1)
        e, o = x[..., ::2], x[..., 1::2]
        gptj = torch.stack((e * cos.unsqueeze(1), o), dim=-1).flatten(-2)
        return (neox + gptj).reshape(x.shape[0], -1)


def test_rope_ops_emit_upstream_ir(qk_opt):
    inp = (TensorSpec(("T",), torch.int64), TensorSpec(("T", 64), torch.float32))
    e = fe.to_mlir(RopeOps(), inp)
    assert_upstream_only(e.mlir)
    for needle in ("tensor.concat dim(2)", "[1, 1, 2]", "tensor.extract %cache", "arith.negf"):
        assert needle in e.mlir, needle
    qk.compile(e, target="bufferized")  # parses, verifies and bufferizes


def test_emitted_ir_roundtrips_through_qk_opt(qk_opt):
    from qk import models
    for name in ("llama4_tiny", "qwen3_tiny", "gemma3_tiny", "olmo2_tiny"):
        m, inp = models.build(name)
        e = fe.to_mlir(m, inp)
        out, _, _ = qk.driver.run_qk_opt(e.mlir, [], remarks=False)
        assert "func.func @" in out


def test_reshape_refinement():
    T = Sym(1)
    assert refine((Sym(48), 128), (T, 6144)) == ([T, 48, 128], [[0, 1], [2]], [[0], [1, 2]])
    assert refine((T, 4096), (T, 32, 128)) == ([T, 32, 128], [[0], [1, 2]], [[0], [1], [2]])
    assert refine((T, 16), (T, 1, 16))[0] == [T, 1, 16]
    assert refine((6, 4), (8, 3)) is None


def test_example_input_count_is_checked():
    with pytest.raises(TypeError):
        fe.to_mlir(Cumsum(), ())
