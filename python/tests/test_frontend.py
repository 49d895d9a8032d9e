"""PyTorch module -> torch.export + torch-mlir (qk.frontend.to_mlir) -> qk-opt's input IR: static and
dynamic token count, the forms of RMSNorm engines write, locations that point at the user's
Python lines, and clear exceptions for what cannot be exported or lowered."""
import inspect
import re
import sys

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn
import torch.nn.functional as F

import qk
from qk import frontend as fe
from qk.frontend import FrontendError, TensorSpec, UnsupportedOpError
from qk.models.common import RMSNorm

# torch-mlir's linalg-on-tensors output: what qk-opt reads (affine.apply and cf.assert come with
# dynamic shapes)
UPSTREAM_DIALECTS = {"func", "arith", "math", "tensor", "linalg", "affine", "cf"}


def dialects_of(mlir: str):
    return set(re.findall(r"^\s*(?:%[\w.#:]+(?::\d+)? = )?\"?([a-z_]+)\.[a-z_]+", mlir, re.M)) - {"module"}


def assert_upstream_only(mlir: str):
    assert dialects_of(mlir) <= UPSTREAM_DIALECTS, dialects_of(mlir) - UPSTREAM_DIALECTS


def line_of(pattern, obj):
    src, start = inspect.getsourcelines(obj)
    for i, line in enumerate(src):
        if pattern in line:
            return start + i
    raise AssertionError(pattern)


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


FORMS = {
    # name: (factory of one norm, expected raise remark suffix)
    "hf_vllm_before_weight": (lambda: RMSNorm(16, 1e-6, dtype=torch.bfloat16),
                              "rows of 16 bf16, epsilon 1.000000e-06, weight, rounding before_weight"),
    "weightless_square_to": (lambda: SquareNorm(1e-5), "rows of 16 bf16, epsilon 1.000000e-05, no weight, rounding once"),
    "gemma_one_plus_w": (lambda: GemmaNorm(16), "rows of 16 bf16, epsilon 1.000000e-06, weight (1.000000e+00 + w), rounding once"),
    "weight_in_f32_once": (lambda: OnceNorm(16), "rows of 16 bf16, epsilon 1.000000e-06, weight, rounding once"),
    "vllm_weightless": (lambda: RMSNorm(16, 1e-6, has_weight=False), "rows of 16 bf16, epsilon 1.000000e-06, no weight, rounding once"),
}


# --------------------------------------------------------------------------------------------
# static and dynamic token count


def test_dynamic_token_count(torch_mlir):
    e = fe.to_mlir(QKBlock(RMSNorm(16), RMSNorm(16)), block_inputs())
    assert e.dynamic and e.func_name == "qkblock"
    assert re.search(r"func\.func @qkblock\(%arg0: tensor<\?x128xbf16>.*\) -> \(tensor<\?x64xbf16>, "
                     r"tensor<\?x32xbf16>, tensor<\?x32xbf16>\)", e.mlir)
    assert [(a.name, a.kind, a.source, a.shape, a.dtype) for a in e.arguments] == [
        ("qkv", "input", 0, ("T", 128), torch.bfloat16)]
    assert [(r.shape, r.dtype) for r in e.results] == [(("T", 64), torch.bfloat16), (("T", 32), torch.bfloat16),
                                                       (("T", 32), torch.bfloat16)]
    assert_upstream_only(e.mlir)


def test_static_token_count(torch_mlir):
    e = fe.to_mlir(QKBlock(RMSNorm(16), RMSNorm(16)), block_inputs(), dynamic=False, num_tokens=5)
    assert not e.dynamic and e.num_tokens == 5
    assert re.search(r"func\.func @qkblock\(%arg0: tensor<5x128xbf16>", e.mlir)
    assert e.arguments[0].shape == (5, 128) and e.results[0].shape == (5, 64)
    assert "?" not in e.mlir.split("func.func", 1)[1].split("{", 1)[0]
    assert_upstream_only(e.mlir)


def test_reference_model_arguments_are_the_forward_inputs(torch_mlir):
    from conftest import exported
    _, _, e = exported("qwen3_tiny")
    assert re.search(r"func\.func @qwen3_attention\(%arg0: tensor<\?xi64>.*, %arg1: tensor<\?x64xbf16>.*\) "
                     r"-> tensor<\?x64xbf16>", e.mlir)
    assert [(a.name, a.shape) for a in e.arguments] == [("positions", ("T",)), ("hidden_states", ("T", 64))]
    # the weights are constants of the IR (torch-mlir's frozen import)
    assert "dense_resource<torch_tensor_" in e.mlir and "dialect_resources" in e.mlir
    assert_upstream_only(e.mlir)


def test_tensor_inputs_token_dims_and_dynamic_dims(torch_mlir):
    class M(nn.Module):
        def forward(self, x, table, y):
            return x * 2 + y.sum(-1, keepdim=True), table * 3

    x, table, y = torch.randn(6, 8), torch.randn(4, 8), torch.randn(6, 3)
    e = fe.to_mlir(M(), (x, table, y))  # dim 0 of x and y is the token count (6), table's (4) is not
    assert [a.shape for a in e.arguments] == [("T", 8), (4, 8), ("T", 3)]
    e = fe.to_mlir(M(), (x, table, y), dynamic_dims={"x": 0, 2: [0]})
    assert [a.shape for a in e.arguments] == [("T", 8), (4, 8), ("T", 3)]
    e = fe.to_mlir(M(), (x, table, y), dynamic=False)
    assert [a.shape for a in e.arguments] == [(6, 8), (4, 8), (6, 3)]


def test_token_dim_other_than_zero(torch_mlir):
    class M(nn.Module):
        def forward(self, q, k):
            return torch.matmul(q, k.transpose(-1, -2)).softmax(-1)

    spec = TensorSpec((2, "T", 16), torch.float32)
    e = fe.to_mlir(M(), (spec, spec))
    assert [a.shape for a in e.arguments] == [(2, "T", 16), (2, "T", 16)]
    assert e.results[0].shape == (2, "T", "T")


def test_specialized_token_count_is_a_clear_error(torch_mlir):
    class Fixed(nn.Module):
        def forward(self, x):
            return x.view(8, -1) * 2

    with pytest.raises(FrontendError) as ei:
        fe.to_mlir(Fixed(), (TensorSpec(("T", 8), torch.float32),))
    msg = str(ei.value)
    assert "could not keep the token count T dynamic" in msg and "dynamic=False" in msg
    assert fe.to_mlir(Fixed(), (TensorSpec(("T", 8), torch.float32),), dynamic=False).arguments[0].shape == (8, 8)


def test_non_persistent_buffers_are_frozen(torch_mlir):
    """vLLM keeps the cos/sin cache as a non-persistent buffer (not in the state dict)."""
    class Rope(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("cache", torch.randn(32, 16), persistent=False)

        def forward(self, positions, x):
            cos, sin = self.cache.index_select(0, positions).chunk(2, dim=-1)
            x1, x2 = x.chunk(2, dim=-1)
            return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    e = fe.to_mlir(Rope(), (TensorSpec(("T",), torch.int64), TensorSpec(("T", 16), torch.float32)))
    assert "tensor<32x16xf32>" in e.mlir and "dense_resource" in e.mlir
    assert_upstream_only(e.mlir)


def test_output_structure(torch_mlir):
    e = fe.to_mlir(QKBlock(RMSNorm(16), RMSNorm(16)), block_inputs())
    out = e.restructure(["q", "k", "v"])
    assert out == ("q", "k", "v")


def test_example_input_count_is_checked(torch_mlir):
    with pytest.raises(TypeError):
        fe.to_mlir(QKBlock(RMSNorm(16), RMSNorm(16)), ())


def test_make_inputs():
    specs = (TensorSpec(("T",), torch.int64), TensorSpec(("T", 4), torch.bfloat16))
    pos, h = fe.make_inputs(specs, 5)
    assert pos.tolist() == [0, 1, 2, 3, 4] and h.shape == (5, 4) and h.dtype == torch.bfloat16
    x, table = fe.make_inputs((torch.zeros(3, 2), torch.zeros(7, 2)), 9)
    assert x.shape == (9, 2) and table.shape == (7, 2)


# --------------------------------------------------------------------------------------------
# RMSNorm forms through qk-opt


def compile_block(q_norm, k_norm, dynamic=True, dtype=torch.bfloat16):
    e = fe.to_mlir(QKBlock(q_norm, k_norm), block_inputs(dtype), dynamic=dynamic)
    assert_upstream_only(e.mlir)
    return e, qk.compile(e)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_rms_norm_forms_are_raised_and_fused(torch_mlir, qk_opt, form, dynamic):
    make, expected = FORMS[form]
    e, res = compile_block(make(), make(), dynamic)
    assert [r.message for r in res.raised] == [f"raised RMSNorm to qk.rms_norm: {expected}"] * 2
    assert [r.message for r in res.fused] == ["fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed"]
    assert res.statistics["qk-fuse-strided-qk-norm"]["copies_kept"] == 0
    assert res.missed == []


def test_nn_rmsnorm_in_bf16_is_not_raised(torch_mlir, qk_opt):
    """torch-mlir decomposes aten.rms_norm in the input dtype (bf16 sum of squares, unlike eager's
    f32): qk-opt must not turn that into an f32-accumulating qk.rms_norm."""
    n = lambda: nn.RMSNorm(16, eps=1e-6, dtype=torch.bfloat16)  # noqa: E731
    e, res = compile_block(n(), n())
    assert res.raised == [] and res.fused == []
    assert {r.message for r in res.missed} == {"not raised to qk.rms_norm: the sum of squares is not accumulated in f32"}


def test_nn_rmsnorm_in_f32_is_raised(torch_mlir, qk_opt):
    n = lambda: nn.RMSNorm(16, eps=1e-6, dtype=torch.float32)  # noqa: E731
    e, res = compile_block(n(), n(), dtype=torch.float32)
    assert [r.message for r in res.raised] == [
        "raised RMSNorm to qk.rms_norm: rows of 16 f32, epsilon 1.000000e-06, weight, rounding once"] * 2
    assert len(res.fused) == 1


def test_elided_weights_still_fuse(torch_mlir, qk_opt):
    from conftest import exported
    _, _, full = exported("qwen3_tiny")
    _, _, elided = exported("qwen3_tiny", elide_weights=True)
    assert elided.weights_elided and len(elided.mlir) < len(full.mlir) // 2
    a, b = qk.compile(full), qk.compile(elided)
    assert [r.message for r in a.fused] == [r.message for r in b.fused] and len(b.fused) == 1


# --------------------------------------------------------------------------------------------
# locations: remarks point at the user's Python lines


class LocatedNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(16, dtype=torch.bfloat16))

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)
        return xf.to(x.dtype) * self.w


class LocatedBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_norm, self.k_norm = LocatedNorm(), LocatedNorm()

    def forward(self, qkv):
        q, k, v = qkv.split([64, 32, 32], dim=-1)
        q = self.q_norm(q.reshape(-1, 16)).view(q.shape)
        k = self.k_norm(k.reshape(-1, 16)).view(k.shape)
        return q, k, v


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = LocatedBlock()

    def forward(self, qkv):
        return self.block(qkv)


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
def test_remark_locations_point_at_the_users_lines(torch_mlir, qk_opt, dynamic):
    """torch.export records the line of each module forward on the way to an op (not of helper
    functions in between): innermost the norm's own line, then where each module was called."""
    e = fe.to_mlir(Outer(), block_inputs(), dynamic=dynamic)
    assert f'"{__file__}":' in e.mlir  # debug locations are printed
    res = qk.compile(e)
    [fused] = res.fused
    norm_lines = set(range(line_of("xf = x.float()", LocatedNorm.forward),
                           line_of("* self.w", LocatedNorm.forward) + 1))
    assert fused.location.file == __file__ and fused.location.line in norm_lines
    outer_line = line_of("return self.block(qkv)", Outer.forward)
    assert [(l.file, l.line) for l in fused.call_stack] == [
        (__file__, line_of("q = self.q_norm(", LocatedBlock.forward)), (__file__, outer_line)]
    assert fused.source_location.line == outer_line
    calls = sorted(r.call_stack[0].line for r in res.raised)
    assert calls == [line_of("q = self.q_norm(", LocatedBlock.forward), line_of("k = self.k_norm(", LocatedBlock.forward)]
    for r in res.raised:
        assert r.location.file == __file__ and r.location.line in norm_lines


def test_compile_accepts_a_module(torch_mlir, qk_opt):
    res = qk.compile(Outer(), example_inputs=block_inputs(), dynamic=False)
    assert len(res.fused) == 1 and res.fused[0].location.file == __file__


# --------------------------------------------------------------------------------------------
# errors


class Erfinv(nn.Module):
    def forward(self, x):
        y = x * 2
        return torch.erfinv(y)


class Cumsum(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=-1)


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return x


def test_unsupported_op_names_op_and_line(torch_mlir):
    with pytest.raises(UnsupportedOpError) as ei:
        fe.to_mlir(Erfinv(), (TensorSpec(("T", 8), torch.float32),))
    e = ei.value
    assert e.op == "aten.erfinv"
    assert (e.frame.file, e.frame.line) == (__file__, line_of("torch.erfinv", Erfinv.forward))
    msg = str(e)
    assert msg.startswith("unsupported op aten.erfinv") and f"{__file__}:{e.frame.line}" in msg
    assert msg.endswith("return torch.erfinv(y)")
    assert any("failed to legalize operation 'torch.aten.erfinv'" in d for d in e.diagnostics)


def test_unsupported_op_through_compile(torch_mlir):
    with pytest.raises(UnsupportedOpError):
        qk.compile(Erfinv(), example_inputs=(TensorSpec(("T", 8), torch.float32),))


def test_op_left_outside_upstream_dialects_is_unsupported(torch_mlir):
    """cumsum becomes tm_tensor.scan (torch-mlir's own dialect), which qk-opt cannot read."""
    with pytest.raises(UnsupportedOpError) as ei:
        fe.to_mlir(Cumsum(), (TensorSpec(("T", 8), torch.float32),), dynamic=False)
    assert ei.value.op == "tm_tensor.scan"
    assert ei.value.frame.line == line_of("torch.cumsum", Cumsum.forward)


def test_export_failure_names_the_line(torch_mlir):
    with pytest.raises(FrontendError) as ei:
        fe.to_mlir(DataDependent(), (TensorSpec(("T", 8), torch.float32),))
    assert str(ei.value).startswith("torch.export failed:")
    assert (ei.value.frame.file, ei.value.frame.line) == (__file__, line_of("if x.sum() > 0", DataDependent.forward))


def test_missing_torch_mlir_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_mlir.fx", None)
    assert not fe.torch_mlir_available()
    with pytest.raises(ImportError) as ei:
        fe.to_mlir(Erfinv(), (TensorSpec(("T", 8), torch.float32),))
    assert isinstance(ei.value, fe.TorchMlirUnavailableError) and "torch-mlir" in str(ei.value)
