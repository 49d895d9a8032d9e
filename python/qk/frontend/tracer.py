"""torch.fx tracing with source locations, opaque (not lowered) calls, and tuple unpacking that
works on every torch from 1.13 (whose Proxy.__iter__ misreads Python 3.11 bytecode) to 2.x."""

import dis
import inspect
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.fx as fx
import torch.nn as nn

_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_FRONTEND_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB_DIRS = tuple(os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (os, inspect))


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    col: int
    function: str
    code: str

    def __str__(self):
        return f"{self.file}:{self.line}"


# -- opaque calls -------------------------------------------------------------------------------

_OPAQUE_FUNCTIONS: Dict[Callable, str] = {}
_OPAQUE_MODULE_TYPES: Dict[type, str] = {}


def opaque(target=None, *, name: Optional[str] = None):
    """Marks a function or an nn.Module class as opaque: the frontend does not trace into it and
    emits a `func.call` to a private declaration instead (operands `{bufferization.access =
    "read"}`), as for an attention backend. Use as `@opaque`, `@opaque(name="attention")`."""

    def mark(t):
        callee = name or (t.__name__ if not isinstance(t, type) else _snake(t.__name__))
        if isinstance(t, type):
            if not issubclass(t, nn.Module):
                raise TypeError("opaque classes must be nn.Module subclasses")
            _OPAQUE_MODULE_TYPES[t] = callee
        else:
            _OPAQUE_FUNCTIONS[t] = callee
            # torch.fx.wrap works on module-level functions by name; autowrap_functions (below)
            # covers every registered function regardless of where it is called from.
        return t

    if target is None:
        return mark
    return mark(target)


def opaque_name(target) -> Optional[str]:
    if isinstance(target, nn.Module):
        for cls in type(target).__mro__:
            if cls in _OPAQUE_MODULE_TYPES:
                return _OPAQUE_MODULE_TYPES[cls]
        return None
    return _OPAQUE_FUNCTIONS.get(target)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# -- source locations ---------------------------------------------------------------------------

def _frame_col(frame) -> int:
    try:
        positions = list(frame.f_code.co_positions())  # Python >= 3.11
        pos = positions[frame.f_lasti // 2]
        if pos[2] is not None:
            return pos[2] + 1
    except Exception:
        pass
    return 1


def user_stack(stop_code=None) -> Tuple[Frame, ...]:
    """The frames of user code (not torch, not this frontend, not the stdlib), innermost first,
    up to and including the frame running `stop_code` (the traced module's forward)."""
    frames = []
    f = sys._getframe(1)
    while f is not None:
        fn = os.path.abspath(f.f_code.co_filename)
        if not (fn.startswith(_TORCH_DIR) or fn.startswith(_FRONTEND_DIR) or fn.startswith(_STDLIB_DIRS)
                or fn.startswith("<")):
            line = f.f_lineno
            try:
                import linecache
                code = linecache.getline(fn, line).strip()
            except Exception:
                code = ""
            frames.append(Frame(fn, line, _frame_col(f), f.f_code.co_name, code))
        if stop_code is not None and f.f_code is stop_code:
            break
        f = f.f_back
    # Frames above the traced module's forward (the caller of to_mlir) are not part of the model.
    return tuple(frames)


# -- the tracer ---------------------------------------------------------------------------------

class TraceError(RuntimeError):
    pass


class QKTracer(fx.Tracer):
    def __init__(self):
        super().__init__(autowrap_functions=tuple(_OPAQUE_FUNCTIONS))
        self.stop_code = None
        self.module_stack: List[str] = []

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if opaque_name(m) is not None:
            return True
        return super().is_leaf_module(m, qualname)

    def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
        node = super().create_node(kind, target, args, kwargs, name, type_expr)
        # the frames from the op up to the traced module's forward (not the caller of to_mlir)
        node.meta["qk_stack"] = user_stack(self.stop_code)
        return node

    def iter(self, obj):
        """Iteration that is not a tuple unpacking: the count comes from the producing node
        (split with a list of sizes, chunk)."""
        node = obj.node
        n = None
        if node.op in ("call_method", "call_function"):
            tname = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
            if tname in ("split", "split_with_sizes") and len(node.args) > 1 and isinstance(node.args[1], (list, tuple)):
                n = len(node.args[1])
            elif tname == "chunk" and len(node.args) > 1 and isinstance(node.args[1], int):
                n = node.args[1]
        if n is None:
            raise TraceError(f"cannot iterate over the result of {node.format_node()} while tracing: "
                             "unpack it into a fixed number of names (a, b = ...) or index it")
        return (obj[i] for i in range(n))


def _proxy_iter(self):
    """Proxy.__iter__ for `a, b, c = proxy`: the count comes from the UNPACK_SEQUENCE that asks,
    found by byte offset (torch 1.13 indexes the instruction list by f_lasti // 2, which is wrong
    on Python 3.11 where inline caches sit between instructions)."""
    frame = inspect.currentframe()
    try:
        caller = frame.f_back
        if caller is not None:
            by_offset = {ins.offset: ins for ins in dis.get_instructions(caller.f_code)}
            ins = by_offset.get(caller.f_lasti)
            if ins is not None and ins.opname == "UNPACK_SEQUENCE":
                return (self[i] for i in range(ins.argval))
    finally:
        del frame
    return self.tracer.iter(self)


def trace(module: nn.Module) -> fx.GraphModule:
    tracer = QKTracer()
    tracer.stop_code = getattr(type(module).forward, "__code__", None)
    saved = fx.Proxy.__iter__
    fx.Proxy.__iter__ = _proxy_iter
    try:
        graph = tracer.trace(module)
    finally:
        fx.Proxy.__iter__ = saved
    _reject_in_place(graph)
    gm = fx.GraphModule(tracer.root, graph, type(module).__name__)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def _reject_in_place(graph: fx.Graph):
    """In-place tensor ops have no tensor-level meaning here (and dead-code elimination would
    drop them): reject them with their source line."""
    for node in graph.nodes:
        inplace = (node.op == "call_method" and isinstance(node.target, str) and node.target.endswith("_")
                   and not node.target.startswith("_"))
        inplace = inplace or (node.op == "call_function" and "out" in node.kwargs)
        inplace = inplace or (node.op == "call_function" and getattr(node.target, "__name__", "").startswith("__i"))
        if inplace:
            from .emitter import UnsupportedOpError, _fn_name
            stack = node.meta.get("qk_stack", ())
            raise UnsupportedOpError(f"unsupported op {_fn_name(node.target)} (in-place or out= ops are not lowered)",
                                     stack[0] if stack else None, _fn_name(node.target))
