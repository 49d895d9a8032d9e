"""torch.fx tracing with source locations, opaque (not lowered) calls, and tuple unpacking that
works on every torch from 1.13 (whose Proxy.__iter__ misreads Python 3.11 bytecode) to 2.x."""

import dis
import inspect
import os
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

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
            import functools

            @functools.wraps(t)
            def wrapper(*args, **kwargs):
                proxies = []
                fx.node.map_aggregate((args, kwargs), lambda a: proxies.append(a) if isinstance(a, fx.Proxy) else None)
                if proxies:  # while tracing: one call_function node, not traced into
                    return proxies[0].tracer.create_proxy("call_function", wrapper, args, kwargs)
                return t(*args, **kwargs)

            _OPAQUE_FUNCTIONS[wrapper] = callee
            return wrapper
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
        super().__init__()
        self.stop_code = None
        self.example_values = None  # the forward's inputs for one token count, for _concrete
        self._concrete_cache = {}

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
            n = self.static_length(node)
        if n is None:
            raise TraceError(f"cannot iterate over the result of {node.format_node()} while tracing: "
                             "unpack it into a fixed number of names (a, b = ...) or index it")
        return (obj[i] for i in range(n))

    def static_length(self, node):
        """len() of a tuple-valued node (e.g. `q.shape[:-1]`: ranks do not depend on the token
        count), from an evaluation on the example inputs; None when unknown."""
        if self.example_values is None:
            return None
        try:
            v = self._concrete(node)
        except Exception:
            return None
        if isinstance(v, (tuple, list, torch.Size)) and not any(isinstance(x, fx.Proxy) for x in v):
            return len(v)
        return None

    def _concrete(self, node):
        """The value of a node of the graph being built, on the example inputs (with the
        tracer's patches of nn.Module.__getattr__/__call__ lifted meanwhile)."""
        from torch.fx import _symbolic_trace as st
        saved = (nn.Module.__getattr__, nn.Module.__call__)
        nn.Module.__getattr__ = st._orig_module_getattr
        nn.Module.__call__ = st._orig_module_call
        try:
            return self._concrete_unpatched(node)
        finally:
            nn.Module.__getattr__, nn.Module.__call__ = saved

    def _concrete_unpatched(self, node):
        if node in self._concrete_cache:
            return self._concrete_cache[node]
        if node.op == "placeholder":
            idx = [n for n in node.graph.nodes if n.op == "placeholder"].index(node)
            v = self.example_values[idx]
        elif node.op == "get_attr":
            v = self.root
            for part in node.target.split("."):
                v = getattr(v, part)
        else:
            args = fx.node.map_arg(node.args, self._concrete_unpatched)
            kwargs = fx.node.map_arg(node.kwargs, self._concrete_unpatched)
            with torch.no_grad():
                if node.op == "call_function":
                    v = node.target(*args, **kwargs)
                elif node.op == "call_method":
                    v = getattr(args[0], node.target)(*args[1:], **kwargs)
                elif node.op == "call_module":
                    v = self.root.get_submodule(node.target)(*args, **kwargs)
                else:
                    raise TraceError(f"cannot evaluate {node.format_node()}")
        self._concrete_cache[node] = v
        return v


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


def _proxy_len(self):
    n = self.tracer.static_length(self.node) if isinstance(self.tracer, QKTracer) else None
    if n is None:
        raise RuntimeError(f"len() of {self.node.format_node()} is not known while tracing")
    return n


def trace(module: nn.Module, example_values=None) -> fx.GraphModule:
    tracer = QKTracer()
    tracer.example_values = example_values
    tracer.stop_code = getattr(type(module).forward, "__code__", None)
    saved = (fx.Proxy.__iter__, fx.Proxy.__len__)
    fx.Proxy.__iter__ = _proxy_iter
    fx.Proxy.__len__ = _proxy_len
    try:
        graph = tracer.trace(module)
    finally:
        fx.Proxy.__iter__, fx.Proxy.__len__ = saved
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
