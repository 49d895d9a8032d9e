"""PyTorch frontend: traces an attention module with torch.fx and emits the input IR of qk-opt.

    import qk.frontend as fe
    emitted = fe.to_mlir(attn, (positions, hidden_states))
    print(emitted.mlir)          # func/arith/math/tensor/linalg, dynamic token count
    emitted.arguments            # what each function argument is (input i, or a parameter)

The token count T is dynamic: dimension 0 of every tensor input is T unless `dynamic_dims` says
otherwise. Shapes are found by running the traced graph twice (with 3 and 5 tokens) and merging:
a size that changes must be c*T. What is not lowered (attention) is called opaquely: mark a
function or nn.Module class with `@qk.frontend.opaque`; `F.scaled_dot_product_attention` is
opaque by default. An op the frontend does not know raises `UnsupportedOpError` naming the op and
its source line.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Union

import torch
import torch.fx as fx
import torch.nn as nn

from . import shapes
from .emitter import Argument, EmittedModule, Emitter, FrontendError, OpaqueCall, UnsupportedOpError
from .shapes import Sym, TensorMeta
from .tracer import Frame, TraceError, opaque, trace, _snake

__all__ = ["to_mlir", "TensorSpec", "opaque", "EmittedModule", "Argument", "OpaqueCall", "FrontendError",
           "UnsupportedOpError", "TraceError", "Sym", "TensorMeta", "make_inputs"]


@dataclass(frozen=True)
class TensorSpec:
    """An input given by shape and dtype: "T" (or None) marks the token dimension. Integer specs
    are filled with 0, 1, 2, ... (positions), float specs with N(0, 1)."""
    shape: Sequence[Union[int, str, None]]
    dtype: torch.dtype = torch.float32


def _is_dyn(d):
    return d is None or d == "T"


def make_inputs(example_inputs: Sequence[Any], num_tokens: int, dynamic_dims=None, names=None,
                generator: Optional[torch.Generator] = None):
    """Inputs like `example_inputs` with `num_tokens` along their token dimensions."""
    out = []
    for k, ex in enumerate(example_inputs):
        name = names[k] if names and k < len(names) else None
        if isinstance(ex, TensorSpec):
            shape = [num_tokens if _is_dyn(d) else int(d) for d in ex.shape]
            dtype, base = ex.dtype, None
        elif isinstance(ex, torch.Tensor):
            dims = _dyn_dims_for(ex, k, name, dynamic_dims)
            shape = [num_tokens if i in dims else s for i, s in enumerate(ex.shape)]
            dtype, base = ex.dtype, ex
        else:
            out.append(ex)
            continue
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=generator, dtype=torch.float32).to(dtype)
        elif dtype == torch.bool:
            t = torch.zeros(shape, dtype=torch.bool)
        else:
            n = 1
            for s in shape:
                n *= s
            t = torch.arange(n, dtype=torch.int64).reshape(shape)
            if base is not None and base.numel() > 0:
                t = t % (int(base.max()) + 1)
            t = t.to(dtype)
        out.append(t)
    return tuple(out)


def _dyn_dims_for(ex, k, name, dynamic_dims):
    if dynamic_dims is not None:
        for key in (name, k):
            if key is not None and key in dynamic_dims:
                v = dynamic_dims[key]
                return set() if v is None else ({v} if isinstance(v, int) else set(v))
        return set()
    return {0} if ex.dim() >= 1 else set()


class _Recorder(fx.Interpreter):
    def __init__(self, gm):
        super().__init__(gm)
        self.values: Dict[fx.Node, Any] = {}

    def run_node(self, n):
        try:
            out = super().run_node(n)
        except (FrontendError, shapes.ShapeError):
            raise
        except Exception as e:
            stack = n.meta.get("qk_stack", ())
            frame = stack[0] if stack else None
            raise FrontendError(f"running {n.format_node()} on example inputs failed: {e}", frame) from e
        self.values[n] = _summarize(out)
        return out


def _summarize(v):
    if isinstance(v, torch.Tensor):
        return torch.empty(tuple(v.shape), dtype=v.dtype, device="meta")
    if isinstance(v, (list, tuple)) and not isinstance(v, torch.Size):
        return type(v)(_summarize(x) for x in v) if isinstance(v, list) else tuple(_summarize(x) for x in v)
    return v


def _merge_all(gm, r1, r2):
    metas = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        stack = node.meta.get("qk_stack", ())
        try:
            metas[node] = shapes.merge(r1.values[node], r2.values[node], f"the result of {node.format_node()}")
        except shapes.ShapeError as e:
            raise FrontendError(str(e), stack[0] if stack else None) from e
    return metas


def _finalize_metas(metas):
    return {n: _to_tensor_meta(v) for n, v in metas.items()}


def _to_tensor_meta(v):
    if isinstance(v, TensorMeta):
        return v
    if isinstance(v, (list, tuple)):
        return type(v)(_to_tensor_meta(x) for x in v) if isinstance(v, list) else tuple(_to_tensor_meta(x) for x in v)
    return v


def to_mlir(module: nn.Module, example_inputs: Sequence[Any] = (), *, dynamic_dims: Optional[Dict] = None,
            func_name: Optional[str] = None, opaque_c_interface: bool = False,
            matmul_accumulate: str = "f32") -> EmittedModule:
    """Traces `module` and emits one `func.func` in qk-opt's input form.

    example_inputs: the forward's inputs as tensors or `TensorSpec`s (their sizes along the token
        dimension do not matter). dynamic_dims: {input name or position: dim or [dims] or None}
        overrides the default (dim 0 of every tensor input is the token count T).
    opaque_c_interface: also mark the opaque declarations `llvm.emit_c_interface` (for running
        the compiled module with Python callees, see `qk.execute`).
    matmul_accumulate: "f32" (like PyTorch's CPU kernels; bf16 results are rounded once) or
        "input" (accumulate in the element type, like torch-mlir's bf16 mm).
    """
    if not isinstance(module, nn.Module):
        raise TypeError("to_mlir expects an nn.Module")
    import inspect as _inspect
    try:
        params = [p for p in _inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        sig_names = [p.name for p in params]
    except (TypeError, ValueError):
        sig_names = None
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        trace_values = make_inputs(example_inputs, shapes.T1, dynamic_dims, sig_names, gen)
    gm = trace(module, trace_values)
    names = [n.name for n in gm.graph.nodes if n.op == "placeholder"]
    if len(example_inputs) != len(names):
        raise TypeError(f"{type(module).__name__}.forward takes {len(names)} inputs ({', '.join(names)}), "
                        f"{len(example_inputs)} example inputs given")
    runs = []
    with torch.no_grad():
        for t in (shapes.T1, shapes.T2):
            rec = _Recorder(gm)
            inputs = make_inputs(example_inputs, t, dynamic_dims, names, gen)
            rec.run(*inputs)
            runs.append(rec)
    metas = _finalize_metas(_merge_all(gm, *runs))
    name = type(module).__name__
    em = Emitter(gm, metas, module, func_name or _snake(name), opaque_c_interface=opaque_c_interface,
                 matmul_accumulate=matmul_accumulate)
    lines, structure = em.run()
    return EmittedModule(mlir="\n".join(lines) + "\n", name=_snake(name), func_name=em.func_name,
                         arguments=em.arguments, results=em.results, output_structure=structure,
                         opaque_calls=em.opaque_calls, graph_module=gm, module=module)
