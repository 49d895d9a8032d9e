"""Emits the input IR of qk-opt from a traced torch.fx graph.

The output uses upstream dialects only (func, arith, math, tensor, linalg), torch-mlir style:
one `linalg.generic` per elementwise step or reduction, keepdim reductions with a constant-0
output map, `tensor.empty` destinations (`linalg.fill`'d for reductions and matmuls), reshapes as
`tensor.expand_shape` / `tensor.collapse_shape`, slices as `tensor.extract_slice`, and every
opaque callee (attention) as a `func.call` of a private declaration whose operands are marked
`{bufferization.access = "read"}`. Numerics follow PyTorch eager on the CPU: reduced-precision
(bf16/f16) arithmetic with a Python scalar or through a transcendental function is done in f32
and rounded once, reductions accumulate in f32, a bf16 matmul accumulates in f32.
"""

import math
import operator
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from .shapes import Sym, TensorMeta, contains_tensor, refine
from .tracer import Frame, opaque_name

_MLIR_TYPE = {
    torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "i8",
    torch.bool: "i1",
}
_FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)
_REDUCED = (torch.float16, torch.bfloat16)
_FBITS = {torch.float16: 16, torch.bfloat16: 16, torch.float32: 32, torch.float64: 64}


_RMS_ROUNDING: Dict[Tuple[torch.dtype, torch.dtype], str] = {}


def torch_rms_norm_rounding(dtype: torch.dtype, weight_dtype: torch.dtype) -> str:
    """How this torch's rms_norm rounds a reduced-precision result with a weight: "before_weight"
    (normalise, round to the input dtype, multiply by the weight: torch 2.4's composite) or
    "once" (multiply by the weight in f32, round once: the fused kernels of later releases).
    Measured once per dtype pair on random data against both formulas."""
    key = (dtype, weight_dtype)
    if key not in _RMS_ROUNDING:
        fn = getattr(torch, "rms_norm", None) or getattr(F, "rms_norm", None)
        if fn is None:
            return "before_weight"
        g = torch.Generator().manual_seed(0)
        x = (torch.randn(64, 64, generator=g) * 3).to(dtype)
        w = (1 + 0.1 * torch.randn(64, generator=g)).to(weight_dtype)
        with torch.no_grad():
            y = fn(x, (64,), w, 1e-6)
            xf = x.float()
            n = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)
            once = (n * w.float()).to(y.dtype)
            before = (n.to(dtype).float() * w.float()).to(y.dtype)
        _RMS_ROUNDING[key] = "once" if int((y != once).sum()) <= int((y != before).sum()) else "before_weight"
    return _RMS_ROUNDING[key]


class FrontendError(RuntimeError):
    """The module cannot be emitted; the message names the op and its source line."""

    def __init__(self, message: str, frame: Optional[Frame] = None, op: Optional[str] = None):
        self.op = op
        self.frame = frame
        self.reason = message
        where = f" at {frame.file}:{frame.line}: {frame.code}" if frame else ""
        super().__init__(message + where)


class UnsupportedOpError(FrontendError):
    """An op the frontend does not lower: `.op` is its name, `.frame` its source line."""


def mlir_type(dtype: torch.dtype) -> str:
    try:
        return _MLIR_TYPE[dtype]
    except KeyError:
        raise FrontendError(f"dtype {dtype} has no MLIR element type here")


def tensor_type(shape, dtype) -> str:
    dims = "".join(("?" if isinstance(d, Sym) else str(d)) + "x" for d in shape)
    return f"tensor<{dims}{mlir_type(dtype)}>"


def _float_literal(value: float, dtype: torch.dtype) -> str:
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        if dtype == torch.float64:
            return "0x%016X" % struct.unpack("<Q", struct.pack("<d", value))[0]
        bits = torch.tensor([value], dtype=dtype).view(torch.int16 if _FBITS[dtype] == 16 else torch.int32)
        return "0x%0*X" % (_FBITS[dtype] // 4, int(bits.item()) & ((1 << _FBITS[dtype]) - 1))
    rounded = float(torch.tensor(value, dtype=dtype).item()) if dtype != torch.float64 else value
    return ("%.17e" if dtype == torch.float64 else "%.9e") % rounded


@dataclass
class TV:
    """An emitted tensor value."""
    ssa: str
    shape: Tuple
    dtype: torch.dtype

    @property
    def type(self):
        return tensor_type(self.shape, self.dtype)

    @property
    def rank(self):
        return len(self.shape)


class LazyTuple:
    """The parts of a split/chunk/unbind: emitted when a part is used."""

    def __init__(self, makers: List[Callable[[], TV]]):
        self.makers = makers
        self.cache: Dict[int, TV] = {}

    def __len__(self):
        return len(self.makers)

    def get(self, i: int) -> TV:
        if i < 0:
            i += len(self.makers)
        if i not in self.cache:
            self.cache[i] = self.makers[i]()
        return self.cache[i]

    def all(self) -> List[TV]:
        return [self.get(i) for i in range(len(self))]


@dataclass
class Argument:
    """One argument of the emitted function: a forward input (`source` = its position) or a
    parameter/buffer of the module (`source` = its qualified name). `transform` is "transpose"
    for a linear weight passed as [in, out]."""
    name: str
    kind: str
    source: Any
    shape: Tuple
    dtype: torch.dtype
    transform: Optional[str] = None


@dataclass
class OpaqueCall:
    callee: str
    target: Any  # the function or module called
    template: Tuple  # args with tensors replaced by _TensorSlot(i)
    kwargs: Dict[str, Any]
    arg_types: List[str]
    results: List[TensorMeta]


@dataclass(frozen=True)
class _ParamRef:
    qualname: str


@dataclass(frozen=True)
class _TensorSlot:
    index: int


@dataclass
class EmittedModule:
    """The result of `to_mlir`: the IR text and what is needed to call the function it holds."""
    mlir: str
    name: str
    func_name: str
    arguments: List[Argument]
    results: List[TensorMeta]
    output_structure: Any  # nested tuple of result indices, or a single index
    opaque_calls: Dict[str, OpaqueCall]
    graph_module: Any = None
    module: Any = None

    def __str__(self):
        return self.mlir

    def write(self, path):
        with open(path, "w") as f:
            f.write(self.mlir)


# ----------------------------------------------------------------------------------------------

def _affine(n: int, exprs: Sequence[str]) -> str:
    dims = ", ".join(f"d{i}" for i in range(n))
    return f"affine_map<({dims}) -> ({', '.join(exprs)})>"


def _fn_name(target) -> str:
    if isinstance(target, str):
        return f"Tensor.{target}"
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", repr(target))
    if mod in ("_operator", "operator"):
        return f"operator.{name}"
    if mod.startswith("torch._C") or mod == "torch":
        return f"torch.{name}"
    if mod.startswith("torch.nn.functional"):
        return f"torch.nn.functional.{name}"
    return f"{mod}.{name}" if mod else name


class Emitter:
    def __init__(self, gm: fx.GraphModule, metas: Dict[fx.Node, Any], root: nn.Module, func_name: str,
                 opaque_c_interface: bool = False, matmul_accumulate: str = "f32"):
        self.gm = gm
        self.metas = metas
        self.root = root
        self.func_name = func_name
        self.opaque_c_interface = opaque_c_interface
        if matmul_accumulate not in ("f32", "input"):
            raise ValueError("matmul_accumulate must be 'f32' or 'input'")
        self.matmul_accumulate = matmul_accumulate
        self.lines: List[str] = []
        self.consts: Dict[Tuple, str] = {}
        self.const_lines: List[str] = []
        self.prologue: List[str] = []
        self.sym_cache: Dict[int, str] = {}
        self.arguments: List[Argument] = []
        self.arg_decls: List[str] = []
        self.param_args: Dict[Tuple[str, Optional[str]], TV] = {}
        self.env: Dict[fx.Node, Any] = {}
        self.tmp_counts: Dict[str, int] = {}
        self.locs: Dict[Tuple, str] = {}
        self.loc_lines: List[str] = []
        self.decls: Dict[str, str] = {}
        self.opaque_calls: Dict[str, OpaqueCall] = {}
        self.node: Optional[fx.Node] = None
        self.t_ssa: Optional[str] = None
        self.t_source: Optional[Tuple[str, int, int]] = None  # (arg ssa, dim, coef)
        self._handlers = _build_handlers(self)

    # -- naming, locations, constants -----------------------------------------------------------

    def tmp(self, base: Optional[str] = None) -> str:
        base = base or (self.node.name if self.node is not None else "v")
        k = self.tmp_counts.get(base, 0)
        self.tmp_counts[base] = k + 1
        return f"%{base}.{k}"

    def frame(self) -> Optional[Frame]:
        stack = self.node.meta.get("qk_stack", ()) if self.node is not None else ()
        return stack[0] if stack else None

    def _loc_alias(self, key, text) -> str:
        if key not in self.locs:
            alias = f"#loc{len(self.locs)}"
            self.locs[key] = alias
            self.loc_lines.append(f"{alias} = loc({text})")
        return self.locs[key]

    def loc(self) -> str:
        stack = self.node.meta.get("qk_stack", ()) if self.node is not None else ()
        if not stack:
            return ""
        aliases = []
        for fr in stack:
            aliases.append(self._loc_alias(("f", fr.file, fr.line, fr.col),
                                           f'"{_escape(fr.file)}":{fr.line}:{fr.col}'))
        cur = aliases[-1]
        for inner in reversed(aliases[:-1]):
            cur = self._loc_alias(("c", inner, cur), f"callsite({inner} at {cur})")
        return f" loc({cur})"

    def index_const(self, v: int) -> str:
        key = ("index", int(v))
        if key not in self.consts:
            name = f"%c{int(v)}" if v >= 0 else f"%c_neg{-int(v)}"
            self.consts[key] = name
            self.const_lines.append(f"  {name} = arith.constant {int(v)} : index")
        return self.consts[key]

    def scalar_const(self, v, dtype: torch.dtype) -> str:
        """A constant for use inside generic bodies (defined at function level)."""
        ty = mlir_type(dtype)
        if dtype in _FLOATS:
            lit = _float_literal(v, dtype)
        elif dtype == torch.bool:
            lit = "true" if v else "false"
        else:
            lit = str(int(v))
        key = (ty, lit)
        if key not in self.consts:
            name = f"%cst.{sum(1 for k in self.consts if k[0] != 'index')}"
            self.consts[key] = name
            self.const_lines.append(f"  {name} = arith.constant {lit} : {ty}")
        return self.consts[key]

    def emit(self, line: str):
        self.lines.append("  " + line)

    # -- dynamic sizes --------------------------------------------------------------------------

    def sym_ssa(self, s: Sym) -> str:
        if self.t_ssa is None:
            raise FrontendError("a dynamic size is needed but no input has the token dimension")
        if s.coef == 1:
            return self.t_ssa
        if s.coef not in self.sym_cache:
            name = f"%T_x{s.coef}"
            self.prologue.append(f"  {name} = arith.muli {self.t_ssa}, {self.index_const(s.coef)} : index")
            self.sym_cache[s.coef] = name
        return self.sym_cache[s.coef]

    def size_ssa(self, d, candidates: Sequence[TV] = ()) -> str:
        """An SSA value for size d. Dynamic sizes always derive from %T (`tensor.dim` of the
        input that carries the token count, times a constant), like the examples: a
        `tensor.dim` of an intermediate value would keep that value (e.g. the pre-norm slice of
        qkv) alive after fusion and cost the in-place write."""
        if not isinstance(d, Sym):
            return self.index_const(d)
        return self.sym_ssa(d)

    def empty(self, shape, dtype, candidates: Sequence[TV] = (), base=None) -> TV:
        dyn = [self.size_ssa(d, candidates) for d in shape if isinstance(d, Sym)]
        name = self.tmp(base)
        self.emit(f"{name} = tensor.empty({', '.join(dyn)}) : {tensor_type(shape, dtype)}{self.loc()}")
        return TV(name, tuple(shape), dtype)

    # -- generic builder ------------------------------------------------------------------------

    def generic(self, ins: Sequence[Tuple[TV, List[str]]], out: TV, out_exprs: List[str], iterators: List[str],
                body: Callable[[List[str], "Body"], str], result_dtype=None, base=None) -> TV:
        n = len(iterators)
        maps = [_affine(n, e) for _, e in ins] + [_affine(n, out_exprs)]
        its = ", ".join(f'"{it}"' for it in iterators)
        name = self.tmp(base)
        head = f"{name} = linalg.generic {{indexing_maps = [{', '.join(maps)}], iterator_types = [{its}]}}"
        lines = [head]
        ins_part = ""
        if ins:
            ins_part = f"ins({', '.join(tv.ssa for tv, _ in ins)} : {', '.join(tv.type for tv, _ in ins)}) "
        lines.append(f"    {ins_part}outs({out.ssa} : {out.type}) {{")
        args = [f"%in.{i}" for i in range(len(ins))] + ["%out.0"]
        types = [mlir_type(tv.dtype) for tv, _ in ins] + [mlir_type(out.dtype)]
        lines.append("  ^bb0(" + ", ".join(f"{a}: {t}" for a, t in zip(args, types)) + "):")
        b = Body(self)
        res = body(args, b)
        lines += ["    " + ln for ln in b.lines]
        lines.append(f"    linalg.yield {res} : {mlir_type(out.dtype)}")
        lines.append(f"  }} -> {out.type}{self.loc()}")
        for ln in lines:
            self.emit(ln)
        return TV(name, out.shape, out.dtype)

    def broadcast_exprs(self, shape, out_shape) -> List[str]:
        R, r = len(out_shape), len(shape)
        exprs = []
        for j, d in enumerate(shape):
            i = R - r + j
            if d == out_shape[i]:
                exprs.append(f"d{i}")
            elif d == 1:
                exprs.append("0")
            else:
                raise FrontendError(f"cannot broadcast shape {list(shape)} to {list(out_shape)}", self.frame())
        return exprs

    def elementwise(self, operands: Sequence[Any], out_shape, out_dtype, compute_dtype,
                    fn: Callable[["Body", List[str]], str], base=None) -> TV:
        """operands: TVs or Python scalars. fn gets the operands converted to compute_dtype and
        returns the result in compute_dtype, converted to out_dtype."""
        tvs = [o for o in operands if isinstance(o, TV)]
        init = self.empty(out_shape, out_dtype, tvs, base=(base + "_init") if base else None)
        ins = [(tv, self.broadcast_exprs(tv.shape, out_shape)) for tv in tvs]
        n = len(out_shape)

        def body(args, b: Body):
            vals, k = [], 0
            for o in operands:
                if isinstance(o, TV):
                    vals.append(b.convert(args[k], o.dtype, compute_dtype)); k += 1
                else:
                    vals.append(self.scalar_const(o, compute_dtype))
            return b.convert(fn(b, vals), compute_dtype, out_dtype)

        return self.generic(ins, init, [f"d{i}" for i in range(n)], ["parallel"] * n, body, base=base)

    # -- composite helpers (on TVs) ---------------------------------------------------------------

    def cast(self, x: TV, dtype: torch.dtype) -> TV:
        if x.dtype == dtype:
            return x
        return self.elementwise([x], x.shape, dtype, dtype, lambda b, v: v[0])

    def binary(self, op: str, a, b, out_shape, out_dtype) -> TV:
        """op in add/sub/mul/div on TVs or scalars with PyTorch's CPU numerics."""
        has_scalar = not (isinstance(a, TV) and isinstance(b, TV))
        if out_dtype in _FLOATS:
            ct = torch.float32 if (out_dtype in _REDUCED and has_scalar) else out_dtype
            opname = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf"}[op]
        elif out_dtype == torch.bool:
            raise FrontendError(f"{op} on bool tensors is not supported", self.frame())
        else:
            ct = out_dtype
            if op == "div":
                raise FrontendError("integer division is not supported", self.frame())
            opname = {"add": "arith.addi", "sub": "arith.subi", "mul": "arith.muli"}[op]
        # canonical order for commutative ops: tensor first, scalar second
        if op in ("add", "mul") and not isinstance(a, TV) and isinstance(b, TV):
            a, b = b, a
        return self.elementwise([a, b], out_shape, out_dtype, ct,
                                lambda bd, v: bd.op(f"{opname} {v[0]}, {v[1]}", ct))

    def unary_math(self, x: TV, fn, out_dtype, exact: bool = False) -> TV:
        ct = out_dtype if (exact or out_dtype not in _REDUCED) else torch.float32
        return self.elementwise([x], x.shape, out_dtype, ct, lambda b, v: fn(b, v[0], ct))

    def reduce_sum(self, x: TV, dims: Sequence[int], keepdim: bool, acc_dtype: torch.dtype) -> TV:
        n = x.rank
        dims = sorted(set(d % n for d in dims))
        out_shape = tuple((1 if i in dims else d) for i, d in enumerate(x.shape) if keepdim or i not in dims)
        out_exprs = [("0" if i in dims else f"d{i}") for i in range(n) if keepdim or i not in dims]
        init = self.empty(out_shape, acc_dtype, [x])
        zero = self.scalar_const(0, acc_dtype)
        filled = self.tmp()
        self.emit(f"{filled} = linalg.fill ins({zero} : {mlir_type(acc_dtype)}) outs({init.ssa} : {init.type})"
                  f" -> {init.type}{self.loc()}")
        filled_tv = TV(filled, out_shape, acc_dtype)
        iters = ["reduction" if i in dims else "parallel" for i in range(n)]
        add = "arith.addf" if acc_dtype in _FLOATS else "arith.addi"

        def body(args, b):
            v = b.convert(args[0], x.dtype, acc_dtype)
            return b.op(f"{add} {v}, {args[1]}", acc_dtype)

        return self.generic([(x, [f"d{i}" for i in range(n)])], filled_tv, out_exprs, iters, body)

    def reduce_mean(self, x: TV, dims, keepdim, out_dtype) -> TV:
        n = x.rank
        dims = sorted(set(d % n for d in dims))
        count = 1
        for d in dims:
            if isinstance(x.shape[d], Sym):
                raise FrontendError("mean over the token dimension is not supported", self.frame())
            count *= x.shape[d]
        acc = torch.float32 if x.dtype in _REDUCED else x.dtype
        s = self.reduce_sum(x, dims, keepdim, acc)
        m = self.binary("div", s, float(count), s.shape, acc)
        return self.cast(m, out_dtype)

    def rms_norm(self, x: TV, normalized_shape, weight: Optional[TV], eps: Optional[float], out_dtype) -> TV:
        """torch.rms_norm: upcast, x * rsqrt(mean(x^2) + eps), then the weight. Where the result
        is rounded to x's dtype (before the weight multiply, as torch 2.4's composite does, or
        once after it, as later fused kernels do) is what this torch does: see
        `torch_rms_norm_rounding`."""
        ns = list(normalized_shape) if isinstance(normalized_shape, (list, tuple, torch.Size)) else [normalized_shape]
        if len(ns) != 1:
            raise FrontendError("rms_norm over more than the last dimension is not supported", self.frame())
        if x.shape[-1] != ns[0]:
            raise FrontendError(f"rms_norm: normalized_shape {ns} does not match the input {list(x.shape)}",
                                self.frame())
        opmath = torch.float32 if x.dtype in _REDUCED else x.dtype
        if eps is None:
            eps = torch.finfo(opmath).eps
        xf = self.cast(x, opmath)
        sq = self.binary("mul", xf, xf, xf.shape, opmath)
        ms = self.reduce_mean(sq, [-1], True, opmath)
        var = self.binary("add", ms, float(eps), ms.shape, opmath)
        r = self.unary_math(var, lambda b, v, ct: b.op(f"math.rsqrt {v}", ct), opmath)
        y = self.binary("mul", xf, r, xf.shape, opmath)
        if weight is None:
            return self.cast(y, out_dtype)
        if x.dtype in _REDUCED and torch_rms_norm_rounding(x.dtype, weight.dtype) == "before_weight":
            y = self.cast(y, x.dtype)
            y = self.binary("mul", y, weight, y.shape, out_dtype)
            return self.cast(y, out_dtype)
        wide = torch.float32 if out_dtype in _REDUCED else out_dtype
        y = self.binary("mul", y, weight, y.shape, wide)
        return self.cast(y, out_dtype)

    def extract_slice(self, src: TV, offsets, sizes, strides, out_shape=None) -> TV:
        """offsets/strides static ints; sizes static ints or 'full' for a dim taken whole."""
        size_strs = []
        shape = []
        for i, s in enumerate(sizes):
            if s == "full":
                d = src.shape[i]
                size_strs.append(self.sym_ssa(d) if isinstance(d, Sym) else str(d))
                shape.append(d)
            else:
                size_strs.append(str(s))
                shape.append(s)
        res_shape = tuple(out_shape) if out_shape is not None else tuple(shape)
        name = self.tmp()
        res = TV(name, res_shape, src.dtype)
        self.emit(f"{name} = tensor.extract_slice {src.ssa}[{', '.join(map(str, offsets))}] "
                  f"[{', '.join(size_strs)}] [{', '.join(map(str, strides))}] : {src.type} to {res.type}{self.loc()}")
        return res

    def reshape(self, x: TV, out_shape) -> TV:
        out_shape = tuple(out_shape)
        if tuple(x.shape) == out_shape:
            return x
        r = refine(x.shape, out_shape)
        if r is None:
            # no common refinement: go through the flat vector
            flat = refine(x.shape, (_prod(x.shape),))
            if flat is None:
                raise FrontendError(f"cannot reshape {list(x.shape)} to {list(out_shape)}", self.frame())
            mid = self.reshape(x, (_prod(x.shape),))
            return self.reshape(mid, out_shape)
        R, ga, gb = r
        cur = x
        if len(R) != x.rank:
            name = self.tmp()
            out_sizes = [self.size_ssa(d, [x]) if isinstance(d, Sym) else str(d) for d in R]
            res = TV(name, tuple(R), x.dtype)
            self.emit(f"{name} = tensor.expand_shape {x.ssa} {_reassoc(ga)} output_shape [{', '.join(out_sizes)}]"
                      f" : {x.type} into {res.type}{self.loc()}")
            cur = res
        if len(R) != len(out_shape):
            name = self.tmp()
            res = TV(name, out_shape, x.dtype)
            self.emit(f"{name} = tensor.collapse_shape {cur.ssa} {_reassoc(gb)} : {cur.type} into {res.type}{self.loc()}")
            cur = res
        return cur

    def concat(self, parts: Sequence[TV], dim: int, out_shape, out_dtype) -> TV:
        parts = [self.cast(p, out_dtype) for p in parts]
        if len(parts) == 1:
            return parts[0]
        name = self.tmp()
        res = TV(name, tuple(out_shape), out_dtype)
        self.emit(f"{name} = tensor.concat dim({dim}) {', '.join(p.ssa for p in parts)} : "
                  f"({', '.join(p.type for p in parts)}) -> {res.type}{self.loc()}")
        return res

    def transpose(self, x: TV, perm: Sequence[int], out_shape) -> TV:
        perm = [p % x.rank for p in perm]
        if perm == list(range(x.rank)):
            return x
        init = self.empty(out_shape, x.dtype, [x])
        name = self.tmp()
        self.emit(f"{name} = linalg.transpose ins({x.ssa} : {x.type}) outs({init.ssa} : {init.type}) "
                  f"permutation = [{', '.join(map(str, perm))}]{self.loc()}")
        return TV(name, tuple(out_shape), x.dtype)

    def gather_rows(self, table: TV, dim: int, index: TV, out_shape, out_dtype) -> TV:
        """out[..., i, ...] = table[..., index[i], ...] along `dim` (index 1-D integer)."""
        if index.rank != 1:
            raise FrontendError("only 1-D index tensors are supported", self.frame())
        n = len(out_shape)
        init = self.empty(out_shape, out_dtype, [index, table])
        ity = mlir_type(index.dtype)

        def body(args, b):
            idx = b.op(f"arith.index_cast {args[0]} : {ity} to index", None)
            subs = []
            for i in range(n):
                subs.append(idx if i == dim else b.op(f"linalg.index {i} : index", None))
            v = b.op(f"tensor.extract {table.ssa}[{', '.join(subs)}] : {table.type}", None)
            return b.convert(v, table.dtype, out_dtype)

        return self.generic([(index, [f"d{dim}"])], init, [f"d{i}" for i in range(n)], ["parallel"] * n, body)

    def matmul(self, x: TV, wt: TV, out_shape, out_dtype, bias: Optional[TV] = None) -> TV:
        if x.rank != 2 or wt.rank != 2:
            raise FrontendError(f"linear/matmul needs a 2-D input [tokens, features] (got {list(x.shape)}); "
                                "flatten the leading dims first", self.frame())
        acc = out_dtype
        if self.matmul_accumulate == "f32" and out_dtype in _REDUCED:
            acc = torch.float32
        if bias is not None:
            # accumulate onto the broadcast bias (PyTorch adds it in f32 before rounding, too)
            start = self.elementwise([bias], out_shape, acc, acc, lambda b, v: v[0])
        else:
            init = self.empty(out_shape, acc, [x])
            zero = self.scalar_const(0, acc)
            name = self.tmp()
            self.emit(f"{name} = linalg.fill ins({zero} : {mlir_type(acc)}) outs({init.ssa} : {init.type})"
                      f" -> {init.type}{self.loc()}")
            start = TV(name, tuple(out_shape), acc)
        name = self.tmp()
        res = TV(name, tuple(out_shape), acc)
        self.emit(f"{name} = linalg.matmul ins({x.ssa}, {wt.ssa} : {x.type}, {wt.type}) "
                  f"outs({start.ssa} : {start.type}) -> {res.type}{self.loc()}")
        return self.cast(res, out_dtype)

    # -- arguments ------------------------------------------------------------------------------

    def add_argument(self, name: str, kind: str, source, meta_shape, dtype, transform=None, loc="") -> TV:
        ssa = f"%{name}"
        tv = TV(ssa, tuple(meta_shape), dtype)
        self.arguments.append(Argument(name, kind, source, tuple(meta_shape), dtype, transform))
        self.arg_decls.append(f"{ssa}: {tv.type}{loc}")
        if kind == "input" and self.t_source is None:
            for i, d in enumerate(meta_shape):
                if isinstance(d, Sym) and d.coef == 1:
                    self.t_source = (ssa, i, tv.type)
                    self.t_ssa = "%T"
                    break
        return tv

    def param(self, qualname: str, transform: Optional[str] = None) -> TV:
        key = (qualname, transform)
        if key not in self.param_args:
            t = _get_attr(self.root, qualname)
            shape = tuple(t.shape)
            if transform == "transpose":
                shape = tuple(reversed(shape))
            name = qualname + (".T" if transform == "transpose" else "")
            self.param_args[key] = self.add_argument(name, "parameter", qualname, shape, t.dtype, transform)
        return self.param_args[key]

    # -- the walk -------------------------------------------------------------------------------

    def val(self, a):
        if isinstance(a, fx.Node):
            v = self.env[a]
            if isinstance(v, _ParamRef):
                v = self.env[a] = self.param(v.qualname)
            return v
        if isinstance(a, (list, tuple)):
            return type(a)(self.val(x) for x in a) if isinstance(a, list) else tuple(self.val(x) for x in a)
        if isinstance(a, dict):
            return {k: self.val(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(self.val(a.start), self.val(a.stop), self.val(a.step))
        return a

    def tv(self, a) -> TV:
        v = self.val(a)
        if isinstance(v, LazyTuple):
            raise FrontendError("a tuple of tensors is used where a tensor is expected", self.frame())
        if not isinstance(v, TV):
            raise FrontendError(f"expected a tensor, got {type(v).__name__}", self.frame())
        return v

    def out_meta(self, node=None) -> TensorMeta:
        m = self.metas[node or self.node]
        if not isinstance(m, TensorMeta):
            raise FrontendError("expected a tensor result", self.frame())
        return m

    def run(self) -> Tuple[List[str], Any]:
        outputs = None
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                meta = self.metas[node]
                if not isinstance(meta, TensorMeta):
                    self.env[node] = meta
                    continue
                self.env[node] = self.add_argument(node.name, "input", len([a for a in self.arguments if a.kind == "input"]),
                                                   meta.shape, meta.dtype)
            elif node.op == "get_attr":
                meta = self.metas[node]
                # materialised on first use as a tensor (a linear weight becomes its transpose)
                self.env[node] = _ParamRef(node.target) if isinstance(meta, TensorMeta) else meta
            elif node.op == "output":
                outputs = node.args[0]
            else:
                meta = self.metas[node]
                if not contains_tensor(meta):
                    self.env[node] = meta  # shapes, sizes, dtypes: known statically / symbolically
                    continue
                self.env[node] = self.dispatch(node)
        self.node = None
        return self.finish(outputs)

    def describe(self, node) -> str:
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            return f"{type(mod).__module__}.{type(mod).__qualname__} (module '{node.target}')"
        return _fn_name(node.target)

    def dispatch(self, node):
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            if opaque_name(mod) is not None:
                return self.opaque(mod, opaque_name(mod), node)
            for cls in type(mod).__mro__:
                h = self._handlers.get(("module", cls))
                if h:
                    return h(node, mod)
        elif node.op == "call_method":
            h = self._handlers.get(("method", node.target))
            if h:
                return h(node)
        elif node.op == "call_function":
            name = opaque_name(node.target)
            if name is not None:
                return self.opaque(node.target, name, node)
            h = self._handlers.get(("function", node.target))
            if h:
                return h(node)
        raise UnsupportedOpError(f"unsupported op {self.describe(node)}", self.frame(), self.describe(node))

    def opaque(self, target, callee: str, node):
        args = self.val(node.args)
        kwargs = self.val(node.kwargs)
        tensors: List[TV] = []

        def template(v):
            if isinstance(v, TV):
                tensors.append(v)
                return _TensorSlot(len(tensors) - 1)
            if isinstance(v, LazyTuple):
                return tuple(template(x) for x in v.all())
            if isinstance(v, (list, tuple)):
                return type(v)(template(x) for x in v)
            if isinstance(v, dict):
                return {k: template(x) for k, x in v.items()}
            if isinstance(v, Sym):
                raise FrontendError(f"opaque call {callee}: a size depending on the token count is passed "
                                    "as a Python value", self.frame())
            return v

        targs = tuple(template(a) for a in args)
        tkwargs = {k: template(v) for k, v in kwargs.items()}
        meta = self.metas[node]
        results = list(meta) if isinstance(meta, (list, tuple)) else [meta]
        if not all(isinstance(r, TensorMeta) for r in results):
            raise FrontendError(f"opaque call {callee} must return tensors", self.frame())
        arg_types = [tv.type for tv in tensors]
        res_types = [tensor_type(r.shape, r.dtype) for r in results]
        # one declaration per distinct signature and static arguments
        name = callee
        k = 0
        while name in self.opaque_calls and (self.opaque_calls[name].arg_types != arg_types or
                                              [tensor_type(r.shape, r.dtype) for r in self.opaque_calls[name].results] != res_types or
                                              self.opaque_calls[name].template != targs or
                                              self.opaque_calls[name].kwargs != tkwargs or
                                              self.opaque_calls[name].target is not target):
            k += 1
            name = f"{callee}_{k}"
        if name not in self.opaque_calls:
            self.opaque_calls[name] = OpaqueCall(name, target, targs, tkwargs, arg_types, results)
            attrs = " attributes {llvm.emit_c_interface}" if self.opaque_c_interface else ""
            params = ", ".join(f'{t} {{bufferization.access = "read"}}' for t in arg_types)
            rt = res_types[0] if len(res_types) == 1 else f"({', '.join(res_types)})"
            self.decls[name] = f"func.func private @{name}({params}) -> {rt}{attrs}"
        base = self.tmp()
        res_names = base if len(results) == 1 else f"{base}:{len(results)}"
        rt = res_types[0] if len(res_types) == 1 else f"({', '.join(res_types)})"
        self.emit(f"{res_names} = func.call @{name}({', '.join(tv.ssa for tv in tensors)}) : "
                  f"({', '.join(arg_types)}) -> {rt}{self.loc()}")
        if len(results) == 1 and not isinstance(meta, (list, tuple)):
            return TV(base, results[0].shape, results[0].dtype)
        tvs = [TV(f"{base}#{i}", r.shape, r.dtype) for i, r in enumerate(results)]
        return LazyTuple([(lambda tv=tv: tv) for tv in tvs])

    def finish(self, outputs):
        flat: List[TV] = []

        def walk(o):
            v = self.val(o) if isinstance(o, fx.Node) else o
            if isinstance(o, fx.Node) and isinstance(v, LazyTuple):
                return tuple(walk_tv(x) for x in v.all())
            if isinstance(v, TV):
                return walk_tv(v)
            if isinstance(o, (list, tuple)):
                return tuple(walk(x) for x in o)
            raise FrontendError(f"the module returns a {type(v).__name__}; only tensors (or tuples of "
                                "tensors) can be returned")

        def walk_tv(tv):
            flat.append(tv)
            return len(flat) - 1

        structure = walk(outputs)
        if not flat:
            raise FrontendError("the module returns no tensor")
        if self.t_source is not None:
            ssa, i, ty = self.t_source
            t_line = f"  %T = tensor.dim {ssa}, {self.index_const(i)} : {ty}"
        else:
            t_line = None
        # re-run sym requests happened before t_ssa was known? sym_ssa raises in that case.
        res_types = [tv.type for tv in flat]
        body = []
        body += self.const_lines
        if t_line:
            body.append(t_line)
        body += self.prologue
        body += self.lines
        body.append(f"  return {', '.join(tv.ssa for tv in flat)} : {', '.join(res_types)}")
        rt = res_types[0] if len(res_types) == 1 else f"({', '.join(res_types)})"
        text = []
        text += self.loc_lines
        if self.loc_lines:
            text.append("")
        for name, decl in self.decls.items():
            text.append(decl)
        if self.decls:
            text.append("")
        attrs = " attributes {llvm.emit_c_interface}" if self.opaque_c_interface else ""
        text.append(f"func.func @{self.func_name}({', '.join(self.arg_decls)}) -> {rt}{attrs} {{")
        text += body
        text.append("}")
        self.results = [TensorMeta(tv.shape, tv.dtype) for tv in flat]
        return text, structure


class Body:
    """Lines of a linalg.generic body."""

    def __init__(self, em: Emitter):
        self.em = em
        self.lines: List[str] = []
        self.n = 0

    def op(self, text: str, result_dtype) -> str:
        name = f"%b.{self.n}"
        self.n += 1
        suffix = f" : {mlir_type(result_dtype)}" if result_dtype is not None else ""
        self.lines.append(f"{name} = {text}{suffix}")
        return name

    def convert(self, v: str, src: torch.dtype, dst: torch.dtype) -> str:
        if src == dst:
            return v
        s, d = mlir_type(src), mlir_type(dst)
        if src in _FLOATS and dst in _FLOATS:
            if src == torch.bfloat16 and dst == torch.float16 or src == torch.float16 and dst == torch.bfloat16:
                v = self.convert(v, src, torch.float32)
                return self.convert(v, torch.float32, dst)
            op = "arith.extf" if _FBITS[dst] > _FBITS[src] else "arith.truncf"
        elif src in _FLOATS:
            op = "arith.fptoui" if dst == torch.bool else "arith.fptosi"
        elif dst in _FLOATS:
            op = "arith.uitofp" if src in (torch.bool, torch.uint8) else "arith.sitofp"
        else:
            bits = {"i1": 1, "i8": 8, "i16": 16, "i32": 32, "i64": 64}
            if bits[d] == bits[s]:
                return v
            op = ("arith.extui" if src in (torch.bool, torch.uint8) else "arith.extsi") if bits[d] > bits[s] else "arith.trunci"
        name = f"%b.{self.n}"
        self.n += 1
        self.lines.append(f"{name} = {op} {v} : {s} to {d}")
        return name


def _reassoc(groups) -> str:
    return "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"


def _prod(shape):
    c, p = 1, 0
    for d in shape:
        if isinstance(d, Sym):
            c *= d.coef; p += 1
        else:
            c *= d
    if p == 0:
        return c
    if p == 1:
        return Sym(c)
    raise FrontendError("a size of T^2 or more is not supported")


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _get_attr(root: nn.Module, qualname: str):
    obj = root
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# -- op handlers --------------------------------------------------------------------------------

def _norm_dims(dim, rank):
    if dim is None:
        return list(range(rank))
    if isinstance(dim, (list, tuple)):
        return [d % rank for d in dim]
    return [dim % rank]


def _build_handlers(em: Emitter) -> Dict[Tuple[str, Any], Callable]:
    H: Dict[Tuple[str, Any], Callable] = {}

    def fn(*targets):
        def reg(f):
            for t in targets:
                if t is None:
                    continue
                if isinstance(t, str):
                    H[("method", t)] = f
                else:
                    H[("function", t)] = f
            return f
        return reg

    def arg(node, i, name, default=None):
        if len(node.args) > i:
            return em.val(node.args[i])
        return em.val(node.kwargs.get(name, default))

    # elementwise binary
    def binary(op):
        def h(node):
            a, b = arg(node, 0, "input"), arg(node, 1, "other")
            alpha = node.kwargs.get("alpha", 1)
            if alpha != 1:
                raise UnsupportedOpError(f"{_fn_name(node.target)} with alpha={alpha} is not supported",
                                         em.frame(), _fn_name(node.target))
            for v in (a, b):
                if isinstance(v, Sym):
                    raise FrontendError("arithmetic with a token-count-dependent Python value is not supported",
                                        em.frame())
            m = em.out_meta()
            return em.binary(op, a, b, m.shape, m.dtype)
        return h

    fn(operator.add, torch.add, "add", "__add__")(binary("add"))
    fn(operator.sub, torch.sub, getattr(torch, "subtract", None), "sub", "subtract")(binary("sub"))
    fn(operator.mul, torch.mul, getattr(torch, "multiply", None), "mul", "multiply")(binary("mul"))
    fn(operator.truediv, torch.div, torch.true_divide, "div", "true_divide", "divide")(binary("div"))

    def rsub(node):
        a, b = arg(node, 0, "input"), arg(node, 1, "other")
        m = em.out_meta()
        return em.binary("sub", b, a, m.shape, m.dtype)
    fn(torch.rsub, "rsub")(rsub)

    # elementwise unary
    def unary(fn_body, exact=False):
        def h(node):
            x = em.tv(node.args[0])
            m = em.out_meta()
            return em.elementwise([x], m.shape, m.dtype,
                                  m.dtype if (exact or m.dtype not in _REDUCED) else torch.float32,
                                  lambda b, v: fn_body(b, v[0], m.dtype if (exact or m.dtype not in _REDUCED) else torch.float32))
        return h

    fn(operator.neg, torch.neg, "neg", "negative")(unary(lambda b, v, ct: b.op(f"arith.negf {v}", ct), exact=True))
    fn(torch.rsqrt, "rsqrt")(unary(lambda b, v, ct: b.op(f"math.rsqrt {v}", ct)))
    fn(torch.sqrt, "sqrt")(unary(lambda b, v, ct: b.op(f"math.sqrt {v}", ct)))
    fn(torch.exp, "exp")(unary(lambda b, v, ct: b.op(f"math.exp {v}", ct)))
    fn(torch.log, "log")(unary(lambda b, v, ct: b.op(f"math.log {v}", ct)))
    fn(torch.abs, "abs")(unary(lambda b, v, ct: b.op(f"math.absf {v}", ct), exact=True))
    fn(torch.sin, "sin")(unary(lambda b, v, ct: b.op(f"math.sin {v}", ct)))
    fn(torch.cos, "cos")(unary(lambda b, v, ct: b.op(f"math.cos {v}", ct)))
    fn(torch.tanh, "tanh")(unary(lambda b, v, ct: b.op(f"math.tanh {v}", ct)))
    fn(torch.square, "square")(unary(lambda b, v, ct: b.op(f"arith.mulf {v}, {v}", ct), exact=True))
    fn(torch.reciprocal, "reciprocal")(unary(
        lambda b, v, ct: b.op(f"arith.divf {em.scalar_const(1.0, ct)}, {v}", ct)))

    def sigmoid_body(b, v, ct):
        n = b.op(f"arith.negf {v}", ct)
        e = b.op(f"math.exp {n}", ct)
        d = b.op(f"arith.addf {e}, {em.scalar_const(1.0, ct)}", ct)
        return b.op(f"arith.divf {em.scalar_const(1.0, ct)}, {d}", ct)
    fn(torch.sigmoid, F.sigmoid, "sigmoid")(unary(sigmoid_body))
    fn(F.silu)(unary(lambda b, v, ct: b.op(f"arith.mulf {v}, {sigmoid_body(b, v, ct)}", ct)))
    fn(F.relu, torch.relu, "relu")(unary(lambda b, v, ct: b.op(f"arith.maximumf {v}, {em.scalar_const(0.0, ct)}", ct),
                                         exact=True))

    def pow_(node):
        x, e = arg(node, 0, "input"), arg(node, 1, "exponent")
        if not isinstance(x, TV) or isinstance(e, TV):
            raise UnsupportedOpError("pow with a tensor exponent is not supported", em.frame(), "pow")
        m = em.out_meta()
        e = float(e)
        if e == 2.0:
            return em.elementwise([x], m.shape, m.dtype, m.dtype, lambda b, v: b.op(f"arith.mulf {v[0]}, {v[0]}", m.dtype))
        ct = torch.float32 if m.dtype in _REDUCED else m.dtype
        if e == 1.0:
            return em.cast(x, m.dtype)
        table = {0.5: "math.sqrt {v}", -0.5: "math.rsqrt {v}"}
        if e in table:
            return em.elementwise([x], m.shape, m.dtype, ct, lambda b, v: b.op(table[e].format(v=v[0]), ct))
        if e == -1.0:
            return em.elementwise([x], m.shape, m.dtype, ct,
                                  lambda b, v: b.op(f"arith.divf {em.scalar_const(1.0, ct)}, {v[0]}", ct))
        if e == 3.0:
            def cube(b, v):
                sq = b.op(f"arith.mulf {v[0]}, {v[0]}", ct)
                return b.op(f"arith.mulf {sq}, {v[0]}", ct)
            return em.elementwise([x], m.shape, m.dtype, ct, cube)
        return em.elementwise([x], m.shape, m.dtype, ct,
                              lambda b, v: b.op(f"math.powf {v[0]}, {em.scalar_const(e, ct)}", ct))
    fn(torch.pow, operator.pow, "pow", "__pow__")(pow_)

    # reductions
    def reduction(kind):
        def h(node):
            x = em.tv(node.args[0])
            dim = arg(node, 1, "dim")
            keepdim = arg(node, 2, "keepdim", False)
            m = em.out_meta()  # a dtype= argument shows in the result's dtype
            dims = _norm_dims(dim, x.rank)
            if kind == "mean":
                return em.reduce_mean(x, dims, keepdim, m.dtype)
            acc = torch.float32 if x.dtype in _REDUCED else m.dtype
            s = em.reduce_sum(x, dims, keepdim, acc)
            return em.cast(s, m.dtype)
        return h
    fn(torch.mean, "mean")(reduction("mean"))
    fn(torch.sum, "sum")(reduction("sum"))

    # casts and no-ops
    def cast(node):
        x = em.tv(node.args[0])
        return em.cast(x, em.out_meta().dtype)
    fn("to", "float", "half", "bfloat16", "double", "type_as", "type")(cast)

    def alias(node):
        return em.tv(node.args[0])
    fn("contiguous", "clone", torch.clone, "detach", torch.detach)(alias)

    def dropout(node):
        training = arg(node, 2, "training", True) if node.target is F.dropout else False
        if training:
            raise UnsupportedOpError("dropout in training mode is not supported", em.frame(), "dropout")
        return em.tv(node.args[0])
    fn(F.dropout)(dropout)

    # reshapes
    def reshape(node):
        x = em.tv(node.args[0])
        return em.reshape(x, em.out_meta().shape)
    fn("view", "reshape", torch.reshape, "flatten", torch.flatten, "unflatten", torch.unflatten,
       "unsqueeze", torch.unsqueeze, "squeeze", torch.squeeze, "view_as", "reshape_as")(reshape)

    def expand(node):
        x = em.tv(node.args[0])
        m = em.out_meta()
        if tuple(x.shape) == tuple(m.shape):
            return x
        return em.elementwise([x], m.shape, m.dtype, m.dtype, lambda b, v: v[0])
    fn("expand", "expand_as", getattr(torch, "broadcast_to", None), "broadcast_to")(expand)

    def permute(node):
        x = em.tv(node.args[0])
        if node.target in ("permute", torch.permute):
            perm = arg(node, 1, "dims")
            if not isinstance(perm, (list, tuple)):
                perm = [em.val(a) for a in node.args[1:]]
        elif node.target == "t":
            perm = [1, 0] if x.rank == 2 else [0]
        else:
            d0, d1 = arg(node, 1, "dim0") % x.rank, arg(node, 2, "dim1") % x.rank
            perm = list(range(x.rank))
            perm[d0], perm[d1] = perm[d1], perm[d0]
        return em.transpose(x, perm, em.out_meta().shape)
    fn("permute", torch.permute, "transpose", torch.transpose, "t")(permute)

    # slicing
    def split_like(node):
        x = em.tv(node.args[0])
        meta = em.metas[node]
        tname = node.target if isinstance(node.target, str) else node.target.__name__
        if tname == "unbind":
            dim = arg(node, 1, "dim", 0) % x.rank
        else:
            dim = arg(node, 2, "dim", 0) % x.rank
        if isinstance(x.shape[dim], Sym):
            raise FrontendError(f"{tname} along the token dimension is not supported", em.frame())
        makers = []
        off = 0
        for part in meta:
            size = part.shape[dim] if tname != "unbind" else 1
            offsets = [0] * x.rank
            offsets[dim] = off
            sizes = ["full"] * x.rank
            sizes[dim] = size
            makers.append(lambda offsets=offsets, sizes=sizes, part=part, node=node:
                          em._at(node, lambda: em.extract_slice(x, offsets, sizes, [1] * x.rank, part.shape)))
            off += size if tname != "unbind" else 1
        return LazyTuple(makers)
    fn("split", torch.split, "chunk", torch.chunk, "unbind", torch.unbind, "split_with_sizes")(split_like)

    def getitem(node):
        obj = em.val(node.args[0])
        idx = em.val(node.args[1])
        if isinstance(obj, LazyTuple):
            if isinstance(idx, int):
                return obj.get(idx)
            raise FrontendError("only integer indices into a tuple of tensors are supported", em.frame())
        if not isinstance(obj, TV):
            raise UnsupportedOpError(f"indexing a {type(obj).__name__}", em.frame(), "operator.getitem")
        return tensor_index(obj, idx, em.out_meta())
    fn(operator.getitem)(getitem)

    def tensor_index(x: TV, idx, meta: TensorMeta) -> TV:
        if not isinstance(idx, tuple):
            idx = (idx,)
        if any(isinstance(i, TV) for i in idx):
            tensor_pos = [k for k, i in enumerate(idx) if isinstance(i, TV)]
            if len(tensor_pos) != 1 or any(not (isinstance(i, slice) and i == slice(None)) for k, i in enumerate(idx)
                                            if k != tensor_pos[0]):
                raise UnsupportedOpError("advanced indexing other than one 1-D index tensor", em.frame(),
                                         "operator.getitem")
            return em.gather_rows(x, tensor_pos[0], idx[tensor_pos[0]], meta.shape, meta.dtype)
        # expand Ellipsis
        n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        if any(i is Ellipsis for i in idx):
            k = idx.index(Ellipsis)
            idx = idx[:k] + (slice(None),) * (x.rank - n_real) + idx[k + 1:]
        idx = idx + (slice(None),) * (x.rank - sum(1 for i in idx if i is not None))
        offsets, sizes, strides, kept = [], [], [], []
        d = 0
        for i in idx:
            if i is None:
                continue
            size = x.shape[d]
            if isinstance(i, int):
                if isinstance(size, Sym):
                    raise FrontendError("indexing the token dimension with an int is not supported", em.frame())
                offsets.append(i % size); sizes.append(1); strides.append(1)
            elif isinstance(i, slice):
                start, stop, step = i.start, i.stop, i.step
                if any(isinstance(v, (Sym, TV)) for v in (start, stop, step)):
                    raise FrontendError("slice bounds depending on the token count are not supported", em.frame())
                step = 1 if step is None else step
                if step <= 0:
                    raise UnsupportedOpError("slices with a non-positive step", em.frame(), "operator.getitem")
                if isinstance(size, Sym):
                    if (start in (None, 0)) and stop is None and step == 1:
                        offsets.append(0); sizes.append("full"); strides.append(1)
                        kept.append(d)
                        d += 1
                        continue
                    raise FrontendError("slicing the token dimension is not supported", em.frame())
                s, e, st = slice(start, stop, step).indices(size)
                count = max(0, (e - s + st - 1) // st)
                offsets.append(s); sizes.append(count); strides.append(st)
            else:
                raise UnsupportedOpError(f"index of type {type(i).__name__}", em.frame(), "operator.getitem")
            if not isinstance(i, int):
                kept.append(d)
            d += 1
        full = all(o == 0 and (s == "full" or s == x.shape[k]) and st == 1
                   for k, (o, s, st) in enumerate(zip(offsets, sizes, strides)))
        cur = x
        if not full:
            red_shape = tuple((x.shape[k] if sizes[k] == "full" else sizes[k]) for k in kept)
            cur = em.extract_slice(x, offsets, sizes, strides, red_shape)
        elif len(kept) != x.rank:
            cur = em.reshape(x, tuple(x.shape[k] for k in kept))
        return em.reshape(cur, meta.shape)

    def index_select(node):
        x = em.tv(node.args[0])
        dim = arg(node, 1, "dim") % x.rank
        index = em.tv(node.args[2] if len(node.args) > 2 else node.kwargs["index"])
        m = em.out_meta()
        return em.gather_rows(x, dim, index, m.shape, m.dtype)
    fn(torch.index_select, "index_select")(index_select)

    def embedding(node):
        index = em.tv(node.args[0])
        table = em.tv(node.args[1])
        m = em.out_meta()
        if index.rank != 1:
            raise UnsupportedOpError("embedding with a multi-dimensional index", em.frame(), "embedding")
        return em.gather_rows(table, 0, index, m.shape, m.dtype)
    fn(F.embedding)(embedding)

    def cat(node):
        parts = arg(node, 0, "tensors")
        if isinstance(parts, LazyTuple):
            parts = parts.all()
        dim = arg(node, 1, "dim", 0)
        m = em.out_meta()
        parts = [p for p in parts if _numel_static(p) != 0]
        return em.concat(parts, dim % len(m.shape), m.shape, m.dtype)
    fn(torch.cat, getattr(torch, "concat", None), getattr(torch, "concatenate", None))(cat)

    def stack(node):
        parts = arg(node, 0, "tensors")
        if isinstance(parts, LazyTuple):
            parts = parts.all()
        m = em.out_meta()
        dim = arg(node, 1, "dim", 0) % len(m.shape)
        expanded = []
        for p in parts:
            shape = list(p.shape)
            shape.insert(dim, 1)
            expanded.append(em.reshape(p, tuple(shape)))
        return em.concat(expanded, dim, m.shape, m.dtype)
    fn(torch.stack)(stack)

    # linear / matmul
    def linear_from(x: TV, w_node, b_node, m: TensorMeta):
        if isinstance(w_node, fx.Node) and w_node.op == "get_attr":
            wt = em.param(w_node.target, "transpose")
        else:
            w = em.tv(w_node)
            wt = em.transpose(w, [1, 0], (w.shape[1], w.shape[0]))
        bias = em.tv(b_node) if b_node is not None else None
        return em.matmul(x, wt, m.shape, m.dtype, bias)

    def linear(node):
        x = em.tv(node.args[0])
        w = node.args[1] if len(node.args) > 1 else node.kwargs["weight"]
        b = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        return linear_from(x, w, b, em.out_meta())
    fn(F.linear)(linear)

    def matmul(node):
        a, b = em.tv(node.args[0]), em.tv(node.args[1])
        m = em.out_meta()
        return em.matmul(a, b, m.shape, m.dtype)
    fn(torch.matmul, operator.matmul, torch.mm, "matmul", "mm")(matmul)

    def linear_module(node, mod):
        x = em.tv(node.args[0])
        m = em.out_meta()
        wt = em.param(f"{node.target}.weight", "transpose")
        bias = em.param(f"{node.target}.bias") if mod.bias is not None else None
        return em.matmul(x, wt, m.shape, m.dtype, bias)
    H[("module", nn.Linear)] = linear_module

    # RMSNorm
    def rms_norm_fn(node):
        x = em.tv(node.args[0])
        ns = arg(node, 1, "normalized_shape")
        w = arg(node, 2, "weight")
        eps = arg(node, 3, "eps")
        return em.rms_norm(x, ns, w, eps, em.out_meta().dtype)
    if hasattr(F, "rms_norm"):
        fn(F.rms_norm)(rms_norm_fn)
    if hasattr(torch, "rms_norm"):
        fn(torch.rms_norm)(rms_norm_fn)

    if hasattr(nn, "RMSNorm"):
        def rms_norm_module(node, mod):
            x = em.tv(node.args[0])
            w = em.param(f"{node.target}.weight") if mod.weight is not None else None
            return em.rms_norm(x, mod.normalized_shape, w, mod.eps, em.out_meta().dtype)
        H[("module", nn.RMSNorm)] = rms_norm_module

    H[("module", nn.Identity)] = lambda node, mod: em.tv(node.args[0])
    H[("module", nn.Dropout)] = lambda node, mod: em.tv(node.args[0])

    # attention: never lowered, always an opaque call
    if hasattr(F, "scaled_dot_product_attention"):
        H[("function", F.scaled_dot_product_attention)] = lambda node: em.opaque(
            F.scaled_dot_product_attention, "scaled_dot_product_attention", node)
    return H


def _numel_static(tv: TV):
    for d in tv.shape:
        if d == 0:
            return 0
    return None


def _at(self, node, f):
    """Runs f with self.node = node (for lazily emitted values: names and locations)."""
    saved = self.node
    self.node = node
    try:
        return f()
    finally:
        self.node = saved


Emitter._at = _at
