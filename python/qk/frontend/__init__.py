"""PyTorch frontend: exports a module with torch.export and lowers it with torch-mlir's FX importer
to the upstream dialects that qk-opt reads (func/arith/math/tensor/linalg on tensors).

    import qk.frontend as fe
    emitted = fe.to_mlir(attn, (positions, hidden_states))
    print(emitted.mlir)          # torch-mlir's linalg-on-tensors output, with debug locations
    emitted.arguments            # the forward's tensor inputs, "T" where the token count is dynamic

This is `torch_mlir.fx.export_and_import(module, *inputs, output_type="linalg-on-tensors",
func_name=..., dynamic_shapes=...)` plus what a compiler driver needs around it:

- **Dynamic token count.** One `torch.export.Dim("T")` on the token dimension of every tensor
  input: "T" (or None) entries of a `TensorSpec`, else dimension 0 of every tensor input whose
  size there is the token count of the example (the first tensor input's dim 0), unless
  `dynamic_dims` says otherwise. `dynamic=False` exports with a static token count.
- **Locations.** The IR is printed with debug info: every op carries the Python file and line
  torch.export recorded (a callsite chain, innermost first), so qk-opt's remarks and errors point
  at the user's source.
- **Errors as exceptions.** A failing export, an op torch-mlir cannot lower (a diagnostic of its
  pipeline, or a `torch`/`tm_tensor` op left in the output) raises `FrontendError` /
  `UnsupportedOpError` naming the op and the user's line; torch-mlir's diagnostics are captured
  (`.diagnostics`), not printed.
- Non-persistent buffers (vLLM's cos/sin cache) are frozen like parameters (torch-mlir's frozen
  import only looks in the state dict).

Parameters and buffers become constants of the IR (torch-mlir's frozen import): the function's
arguments are the forward's tensor inputs, its results the forward's tensor outputs (flattened).
torch and torch-mlir are imported when `to_mlir` runs: `TensorSpec`, `make_inputs` and the
exception classes work with torch alone.
"""

import inspect
import linecache
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

__all__ = ["to_mlir", "TensorSpec", "EmittedModule", "Argument", "Result", "Frame", "FrontendError",
           "UnsupportedOpError", "TorchMlirUnavailableError", "make_inputs", "torch_mlir_available",
           "DEFAULT_NUM_TOKENS"]

_ELIDE_LIMIT = 64  # bytes: resources above it print without their data (elide_weights=True)
DEFAULT_NUM_TOKENS = 8  # the example token count of TensorSpec inputs (torch.export needs >= 2)

# ops that must not be left in the output (torch-mlir did not lower them to upstream dialects)
_FOREIGN_DIALECTS = ("torch", "torch_c", "tm_tensor")

_ELEMENT_TYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64,
                  "i64": torch.int64, "i32": torch.int32, "i16": torch.int16, "i8": torch.int8,
                  "ui8": torch.uint8, "i1": torch.bool}


@dataclass(frozen=True)
class TensorSpec:
    """An input given by shape and dtype: "T" (or None) marks the token dimension. Integer specs
    are filled with 0, 1, 2, ... (positions), float specs with N(0, 1)."""
    shape: Sequence[Union[int, str, None]]
    dtype: torch.dtype = torch.float32


@dataclass(frozen=True)
class Frame:
    """A Python source line (from the IR's debug locations or a traceback)."""
    file: str
    line: int
    code: str = ""

    def __str__(self):
        return f"{self.file}:{self.line}"


class FrontendError(RuntimeError):
    """The module could not be exported or lowered. `.frame` is the user's source line when known
    (innermost first in `.call_stack`), `.diagnostics` torch-mlir's diagnostics as text."""

    def __init__(self, message: str, frame: Optional[Frame] = None, call_stack: Sequence[Frame] = (),
                 diagnostics: Sequence[str] = ()):
        self.message = message
        self.frame = frame
        self.call_stack = list(call_stack) or ([frame] if frame else [])
        self.diagnostics = list(diagnostics)
        text = message
        if frame is not None:
            text += f" at {frame}" + (f": {frame.code}" if frame.code else "")
        super().__init__(text)


class UnsupportedOpError(FrontendError):
    """torch-mlir cannot lower an op of the module to upstream dialects. `.op` is its name (e.g.
    "aten.erfinv", or "tm_tensor.scan" for an op torch-mlir lowers to its own dialect)."""

    def __init__(self, op: str, frame: Optional[Frame] = None, call_stack: Sequence[Frame] = (),
                 diagnostics: Sequence[str] = (), detail: str = ""):
        self.op = op
        super().__init__(f"unsupported op {op}{detail}", frame, call_stack, diagnostics)


class TorchMlirUnavailableError(FrontendError, ImportError):
    """torch-mlir (or ml_dtypes, which it needs for bf16 constants) is not installed."""


def torch_mlir_available() -> bool:
    try:
        import torch_mlir.fx  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Argument:
    """A function argument: the forward's tensor input `source` (a position)."""
    name: str
    kind: str  # "input"
    source: int
    shape: Tuple[Union[int, str], ...]  # "T" for the dynamic token count
    dtype: torch.dtype


@dataclass
class Result:
    shape: Tuple[Union[int, str], ...]
    dtype: torch.dtype


@dataclass
class EmittedModule:
    mlir: str  # the module's text with debug locations
    name: str  # a file stem for diagnostics (e.g. "qwen3_attention")
    func_name: str
    arguments: List[Argument]
    results: List[Result]
    module: Optional[nn.Module] = None
    dynamic: bool = True  # whether the token count is a dynamic size
    num_tokens: int = DEFAULT_NUM_TOKENS  # the example token count of the export
    output_spec: Any = None  # torch.utils._pytree spec of the forward's outputs
    exported_program: Any = field(default=None, repr=False)
    weights_elided: bool = False  # to_mlir(elide_weights=True): the IR cannot run

    def write(self, path) -> None:
        with open(path, "w") as f:
            f.write(self.mlir)

    def restructure(self, flat: Sequence[Any]):
        """The forward's output structure (tuple, ...) from the function's results."""
        if self.output_spec is None:
            return flat[0] if len(flat) == 1 else tuple(flat)
        import torch.utils._pytree as pytree
        return pytree.tree_unflatten(list(flat), self.output_spec)


# --------------------------------------------------------------------------------------------
# inputs


def _spec_token_dims(spec: TensorSpec):
    return {i for i, d in enumerate(spec.shape) if d is None or d == "T"}


def _override_dims(k, name, dynamic_dims):
    """The token dims of input k from `dynamic_dims` ({name or position: dim, [dims] or None}),
    or None when it does not mention the input."""
    if dynamic_dims is None:
        return None
    for key in (name, k):
        if key is not None and key in dynamic_dims:
            v = dynamic_dims[key]
            return set() if v is None else ({v} if isinstance(v, int) else set(v))
    return set()


def _example_token_count(example_inputs, dynamic_dims, names, default):
    """The token count of the example: dim 0 of the first tensor input that has a token dim."""
    for k, ex in enumerate(example_inputs):
        if isinstance(ex, torch.Tensor) and ex.dim() >= 1:
            name = names[k] if names and k < len(names) else None
            dims = _override_dims(k, name, dynamic_dims)
            if dims is None:
                return int(ex.shape[0])
            if dims:
                return int(ex.shape[min(dims)])
    return default


def token_dims(example_inputs, dynamic_dims=None, names=None, num_tokens=None):
    """[set of token dims] per input (empty for non-tensors and inputs without a token dim)."""
    T = _example_token_count(example_inputs, dynamic_dims, names, num_tokens)
    out = []
    for k, ex in enumerate(example_inputs):
        name = names[k] if names and k < len(names) else None
        dims = _override_dims(k, name, dynamic_dims)
        if isinstance(ex, TensorSpec):
            out.append(_spec_token_dims(ex) if dims is None else dims)
        elif isinstance(ex, torch.Tensor):
            if dims is None:
                dims = {0} if ex.dim() >= 1 and T is not None and ex.shape[0] == T else set()
            out.append(dims)
        else:
            out.append(set())
    return out


def make_inputs(example_inputs: Sequence[Any], num_tokens: int, dynamic_dims=None, names=None,
                generator: Optional[torch.Generator] = None):
    """Inputs like `example_inputs` (tensors or TensorSpecs) with `num_tokens` along their token
    dimensions; fresh data (N(0, 1) for floats, 0, 1, 2, ... for integers, modulo the example's
    maximum for integer tensors)."""
    dims_of = token_dims(example_inputs, dynamic_dims, names, num_tokens)
    out = []
    for k, ex in enumerate(example_inputs):
        dims = dims_of[k]
        if isinstance(ex, TensorSpec):
            shape = [num_tokens if (i in dims or d is None or d == "T") else int(d) for i, d in enumerate(ex.shape)]
            dtype, base = ex.dtype, None
        elif isinstance(ex, torch.Tensor):
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


def _forward_names(module):
    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        return [p.name for p in params]
    except (TypeError, ValueError):
        return None


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# locations and errors

_FILE_LOC_RE = re.compile(r'"((?:[^"\\]|\\.)*)":(\d+):(\d+)')
_OWN_DIRS = None


def frames_of_location(loc) -> List[Frame]:
    """The file:line frames of an MLIR location (its text), innermost first (callsite chains)."""
    frames = []
    for m in _FILE_LOC_RE.finditer(str(loc)):
        file, line = m.group(1), int(m.group(2))
        frames.append(Frame(file, line, linecache.getline(file, line).strip() if os.path.isabs(file) else ""))
    return frames


# libraries whose frames are never the user's source line
_LIBRARY_PACKAGES = ("torch", "torch_mlir", "functorch", "sympy", "optree", "numpy", "ml_dtypes")


def _library_dirs():
    global _OWN_DIRS
    if _OWN_DIRS is None:
        import sys
        dirs = [os.path.dirname(os.path.abspath(__file__)),  # this frontend
                os.path.dirname(os.path.abspath(inspect.__file__))]  # the standard library
        for name in _LIBRARY_PACKAGES:
            mod = sys.modules.get(name)
            for p in list(getattr(mod, "__path__", None) or []):
                dirs.append(os.path.abspath(p))
        _OWN_DIRS = tuple(d + os.sep for d in dirs)
    return _OWN_DIRS


def _user_frames_of_traceback(tb) -> List[Frame]:
    """Frames of a traceback outside torch, torch-mlir, this package and the standard library,
    innermost first."""
    frames = []
    lib = _library_dirs()
    while tb is not None:
        f = tb.tb_frame.f_code.co_filename
        if os.path.isabs(f) and not os.path.abspath(f).startswith(lib):
            frames.append(Frame(f, tb.tb_lineno, linecache.getline(f, tb.tb_lineno).strip()))
        tb = tb.tb_next
    return frames[::-1]


def _user_frames_of_exception(e: BaseException) -> List[Frame]:
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        frames = _user_frames_of_traceback(e.__traceback__)
        if frames:
            return frames
        e = e.__cause__ or e.__context__
    return []


_ILLEGAL_OP_RE = re.compile(r"failed to legalize operation '([\w.]+)'")
_OPERATOR_NAME_RE = re.compile(r'name = "([\w.]+)"')


def _op_of_diagnostic(message: str) -> Optional[str]:
    m = _ILLEGAL_OP_RE.search(message)
    if not m:
        return None
    op = m.group(1)
    if op == "torch.operator":
        n = _OPERATOR_NAME_RE.search(message)
        if n:
            op = n.group(1)
    return op[len("torch."):] if op.startswith("torch.aten.") or op.startswith("torch.prims.") else op


@dataclass
class _Diag:
    severity: str
    message: str
    location: str
    notes: List["_Diag"]

    def __str__(self):
        return f"{self.location}: {self.severity}: {self.message}"


def _capture(d) -> _Diag:
    from torch_mlir import ir
    sev = {ir.DiagnosticSeverity.ERROR: "error", ir.DiagnosticSeverity.WARNING: "warning",
           ir.DiagnosticSeverity.NOTE: "note", ir.DiagnosticSeverity.REMARK: "remark"}.get(d.severity, "error")
    return _Diag(sev, str(d.message), str(d.location), [_capture(n) for n in d.notes])


def _error_from_diagnostics(diags: List[_Diag], what: str, cause: BaseException) -> FrontendError:
    errors = [d for d in diags if d.severity == "error"] or diags
    texts = [str(d) for d in diags]
    for d in errors:
        op = _op_of_diagnostic(d.message)
        if op:
            frames = frames_of_location(d.location)
            return UnsupportedOpError(op, frames[0] if frames else None, frames, texts,
                                      detail=" (torch-mlir cannot lower it to linalg)")
    if errors:
        d = errors[0]
        frames = frames_of_location(d.location)
        return FrontendError(f"{what}: {d.message.splitlines()[0]}", frames[0] if frames else None, frames, texts)
    return FrontendError(f"{what}: {str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__}",
                         None, (), texts)


# --------------------------------------------------------------------------------------------
# the export


def _import_torch_mlir():
    try:
        import ml_dtypes  # noqa: F401  (torch-mlir needs it for bf16 constants)
        import torch_mlir.fx as tm_fx
        from torch_mlir import ir
        from torch_mlir.dialects import torch as torch_d
        from torch_mlir.extras.fx_importer import FxImporter
    except ImportError as e:
        raise TorchMlirUnavailableError(
            f"the PyTorch frontend needs torch-mlir and ml_dtypes ({e}); install them with "
            "`pip install torch-mlir ml_dtypes` (scripts/test-python.sh pins the versions it tests)") from e
    return tm_fx, ir, torch_d, FxImporter


def _freeze_non_persistent_buffers(prog):
    """torch-mlir's frozen import looks buffers up in the state dict; non-persistent ones (vLLM's
    cos/sin cache) live in `constants`."""
    sig = prog.graph_signature
    state = prog.state_dict
    consts = getattr(prog, "constants", {}) or {}
    for _, name in sig.inputs_to_buffers.items():
        if name not in state and name in consts:
            state[name] = consts[name]


def _export(module, args, dynamic_shapes):
    from torch.export import export
    try:
        with torch.no_grad():
            return export(module, tuple(args), dynamic_shapes=dynamic_shapes, strict=False)
    except Exception as e:  # noqa: BLE001 - torch.export raises many types
        frames = _user_frames_of_exception(e)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        text = str(e)
        if "Constraints violated" in text or "specialized" in text:
            why = [l.strip()[2:].split(". ")[0] for l in text.splitlines() if l.strip().startswith("- ")]
            msg = (f"torch.export could not keep the token count T dynamic: {why[0] if why else first} "
                   f"(export with dynamic=False, or name the token dims with dynamic_dims)")
        else:
            msg = f"torch.export failed: {type(e).__name__}: {first}"
        err = FrontendError(msg, frames[0] if frames else None, frames, [text])
        raise err from e


def _tensor_type_info(t) -> Tuple[Tuple[Union[int, str], ...], torch.dtype]:
    text = str(t)  # tensor<?x64xbf16>
    m = re.fullmatch(r"tensor<(.*)>", text)
    if not m:
        raise FrontendError(f"unexpected function type {text} in torch-mlir's output")
    parts = m.group(1).split("x")
    elem = parts[-1]
    shape = tuple("T" if p == "?" else int(p) for p in parts[:-1])
    if elem not in _ELEMENT_TYPES:
        raise FrontendError(f"unexpected element type {elem} in torch-mlir's output")
    return shape, _ELEMENT_TYPES[elem]


def _walk(op, fn):
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                fn(inner)
                _walk(inner.operation if hasattr(inner, "operation") else inner, fn)


def to_mlir(module: nn.Module, example_inputs: Sequence[Any] = (), *, dynamic_dims: Optional[Dict] = None,
            dynamic: bool = True, func_name: Optional[str] = None, num_tokens: Optional[int] = None,
            debug_info: bool = True, elide_weights: bool = False) -> EmittedModule:
    """Exports `module` with torch.export and lowers it with torch-mlir to linalg on tensors.

    example_inputs: the forward's inputs, tensors or `TensorSpec`s ("T" marks the token
        dimension). Tensors are used as given; TensorSpecs are filled with `num_tokens` tokens
        (default: the tensors' token count, else DEFAULT_NUM_TOKENS).
    dynamic: make the token count a dynamic size (`torch.export.Dim("T")` on every token
        dimension); False exports the example's static shapes.
    dynamic_dims: {input name or position: dim, [dims] or None} gives the token dimensions of the
        inputs it names; inputs it does not name have none.
    debug_info: print the IR with its locations (the user's Python lines).
    elide_weights: print the weights (dense_resource blobs) as references without data: qk-opt
        still raises, fuses and bufferizes the IR, but it cannot run. Large models print ~2x
        their weight bytes otherwise.
    Raises FrontendError / UnsupportedOpError (with the user's source line), or
    TorchMlirUnavailableError when torch-mlir is not installed.
    """
    if not isinstance(module, nn.Module):
        raise TypeError("to_mlir expects an nn.Module")
    tm_fx, ir, torch_d, FxImporter = _import_torch_mlir()
    names = _forward_names(module)
    example_inputs = tuple(example_inputs)
    if names is not None and len(example_inputs) != len(names):
        raise TypeError(f"{type(module).__name__}.forward takes {len(names)} inputs ({', '.join(names)}), "
                        f"{len(example_inputs)} example inputs given")
    T = _example_token_count(example_inputs, dynamic_dims, names, None)
    if T is None:
        T = num_tokens or DEFAULT_NUM_TOKENS
    dims_of = token_dims(example_inputs, dynamic_dims, names, T)
    gen = torch.Generator().manual_seed(0)
    specs_filled = make_inputs([ex if isinstance(ex, TensorSpec) else None for ex in example_inputs], T,
                               dynamic_dims, names, gen)
    args = [ex if not isinstance(ex, TensorSpec) else specs_filled[k] for k, ex in enumerate(example_inputs)]
    is_dynamic = dynamic and any(dims_of)
    dynamic_shapes = None
    if is_dynamic:
        from torch.export import Dim
        if T < 2:
            raise FrontendError(f"the example token count is {T}: torch.export needs at least 2 to keep it dynamic")
        tok = Dim("T")
        dynamic_shapes = tuple({d: tok for d in sorted(dims)} if isinstance(a, torch.Tensor) and dims else None
                               for a, dims in zip(args, dims_of))
    was_training = module.training
    module.eval()
    try:
        prog = _export(module, args, dynamic_shapes)
    finally:
        module.train(was_training)
    try:
        from torch_mlir.extras.fx_decomp_util import get_decomposition_table
        prog = prog.run_decompositions(get_decomposition_table())
    except Exception as e:  # noqa: BLE001
        frames = _user_frames_of_exception(e)
        raise FrontendError(f"torch.export decompositions failed: {type(e).__name__}: {e}",
                            frames[0] if frames else None, frames) from e
    _freeze_non_persistent_buffers(prog)

    fname = func_name or _snake(type(module).__name__)
    ctx = ir.Context()
    torch_d.register_dialect(ctx)
    diags: List[_Diag] = []

    def handler(d):
        diags.append(_capture(d))
        return True  # handled: nothing is printed

    ctx.attach_diagnostic_handler(handler)
    try:
        out = tm_fx.export_and_import(prog, output_type="linalg-on-tensors", func_name=fname,
                                      fx_importer=FxImporter(context=ctx), decomposition_table={})
    except NotImplementedError as e:
        m = re.search(r"operation '([\w.]+)'", str(e))
        raise UnsupportedOpError(m.group(1) if m else str(e).splitlines()[0], None, (), [str(e)],
                                 detail=f" (torch-mlir's importer: {str(e).splitlines()[0]})") from e
    except Exception as e:  # noqa: BLE001 - TorchMlirCompilerError and the like
        raise _error_from_diagnostics(diags, "torch-mlir could not lower the module", e) from e

    foreign = []

    def check(op):
        name = op.operation.name if hasattr(op, "operation") else op.name
        if name.split(".", 1)[0] in _FOREIGN_DIALECTS:
            foreign.append((name, op.operation.location if hasattr(op, "operation") else op.location))

    _walk(out.operation, check)
    if foreign:
        name, loc = foreign[0]
        frames = frames_of_location(loc)
        raise UnsupportedOpError(name, frames[0] if frames else None, frames, [str(d) for d in diags],
                                 detail=" (torch-mlir lowers it to an op outside the upstream dialects)")

    func = None
    for op in out.body.operations:
        if op.operation.name == "func.func" and ir.StringAttr(op.attributes["sym_name"]).value == fname:
            func = op
    if func is None:
        raise FrontendError(f"torch-mlir's output has no function @{fname}")
    ftype = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
    tensor_positions = [k for k, a in enumerate(args) if isinstance(a, torch.Tensor)]
    if len(ftype.inputs) != len(tensor_positions):
        raise FrontendError(f"torch-mlir's @{fname} takes {len(ftype.inputs)} arguments for "
                            f"{len(tensor_positions)} tensor inputs")
    arguments = []
    for t, k in zip(ftype.inputs, tensor_positions):
        shape, dtype = _tensor_type_info(t)
        arguments.append(Argument(names[k] if names and k < len(names) else f"arg{k}", "input", k, shape, dtype))
    results = [Result(*_tensor_type_info(t)) for t in ftype.results]
    text = out.operation.get_asm(enable_debug_info=debug_info,
                                 large_resource_limit=_ELIDE_LIMIT if elide_weights else None)
    out_spec = getattr(getattr(prog, "call_spec", None), "out_spec", None)
    return EmittedModule(mlir=text if text.endswith("\n") else text + "\n", name=fname, func_name=fname,
                         arguments=arguments, results=results, module=module, dynamic=is_dynamic,
                         num_tokens=T, output_spec=out_spec, exported_program=prog,
                         weights_elided=elide_weights)
