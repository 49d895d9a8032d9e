"""Runs compiled modules on the CPU: LLVM-dialect output of qk-opt -> mlir-translate -> llc ->
a shared object, called through its `_mlir_ciface_<name>` entry with memref descriptors built
from torch tensors. Opaque callees (attention) call back into Python.

    compiled = qk.execute.build(emitted, target="cpu")      # or "cuda" (runtime calls, linked
    out = compiled(positions, hidden_states)                 #   with the host runtime here)

The memref descriptor of rank R is {allocated ptr, aligned ptr, int64 offset, int64 sizes[R],
int64 strides[R]}; a function result is returned through a descriptor pointer passed first.
"""

import ctypes
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from . import _discovery
from .driver import compile as qk_compile
from .frontend.emitter import EmittedModule, _TensorSlot, _get_attr
from .frontend.shapes import Sym

_ELEM_SIZE = {torch.float32: 4, torch.float16: 2, torch.bfloat16: 2, torch.float64: 8, torch.int64: 8,
              torch.int32: 4, torch.int16: 2, torch.int8: 1, torch.uint8: 1, torch.bool: 1}

_DESC_TYPES: Dict[int, type] = {}


def descriptor_type(rank: int) -> type:
    if rank not in _DESC_TYPES:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p), ("offset", ctypes.c_int64)]
        if rank > 0:
            fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
        _DESC_TYPES[rank] = type(f"MemRefDescriptor{rank}D", (ctypes.Structure,), {"_fields_": fields})
    return _DESC_TYPES[rank]


def descriptor_for(t: torch.Tensor):
    """A descriptor viewing `t` (which must stay alive while the descriptor is used)."""
    d = descriptor_type(t.dim())()
    base = t.data_ptr() - t.storage_offset() * t.element_size()
    d.allocated = base
    d.aligned = base
    d.offset = t.storage_offset()
    for i in range(t.dim()):
        d.sizes[i] = t.shape[i]
        d.strides[i] = t.stride(i)
    return d


def tensor_from_descriptor(d, rank: int, dtype: torch.dtype, copy: bool = True) -> torch.Tensor:
    sizes = [d.sizes[i] for i in range(rank)]
    strides = [d.strides[i] for i in range(rank)]
    if any(s == 0 for s in sizes):
        return torch.empty(sizes, dtype=dtype)
    extent = d.offset + 1 + sum((s - 1) * st for s, st in zip(sizes, strides))
    nbytes = extent * _ELEM_SIZE[dtype]
    buf = (ctypes.c_char * nbytes).from_address(d.aligned)
    flat = torch.frombuffer(buf, dtype=dtype, count=extent)
    t = flat.as_strided(sizes, strides, d.offset)
    return t.clone() if copy else t


_libc = ctypes.CDLL(None)
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]


class ExecutionError(RuntimeError):
    pass


def _run(cmd: List[str], what: str):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ExecutionError(f"{what} failed ({' '.join(map(str, cmd[:3]))} ...):\n{proc.stderr[-4000:]}")
    return proc


_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p))


class CompiledModule:
    """A compiled function of an EmittedModule, callable with the module's forward inputs."""

    def __init__(self, emitted: EmittedModule, lib_path: Path, tmpdir, compile_result, target: str):
        self.emitted = emitted
        self.lib_path = lib_path
        self._tmpdir = tmpdir
        self.compile_result = compile_result
        self.target = target
        self.lib = ctypes.CDLL(str(lib_path))
        self._entry = getattr(self.lib, f"_mlir_ciface_{emitted.func_name}")
        self._entry.restype = None
        self._callbacks = []
        self._callback_error: Optional[BaseException] = None
        for name, call in emitted.opaque_calls.items():
            cb = _CB(self._make_callback(call))
            self._callbacks.append(cb)
            ctypes.c_void_p.in_dll(self.lib, f"qk_exec_cb_{name}").value = ctypes.cast(cb, ctypes.c_void_p).value

    def _make_callback(self, call):
        ranks = [_rank_of(t) for t in call.arg_types]
        dtypes = [_dtype_of(t) for t in call.arg_types]
        res = call.results[0]

        def cb(result_ptr, args_ptr):
            try:
                tensors = []
                for i, (r, dt) in enumerate(zip(ranks, dtypes)):
                    d = ctypes.cast(args_ptr[i], ctypes.POINTER(descriptor_type(r))).contents
                    tensors.append(tensor_from_descriptor(d, r, dt))

                def fill(v):
                    if isinstance(v, _TensorSlot):
                        return tensors[v.index]
                    if isinstance(v, (list, tuple)):
                        return type(v)(fill(x) for x in v)
                    if isinstance(v, dict):
                        return {k: fill(x) for k, x in v.items()}
                    return v

                with torch.no_grad():
                    out = call.target(*fill(call.template), **fill(call.kwargs))
                if isinstance(out, (tuple, list)):
                    out = out[0]
                if out.dtype != res.dtype or out.dim() != len(res.shape):
                    raise ExecutionError(f"opaque callee {call.callee} returned {out.dtype} rank {out.dim()}, "
                                         f"expected {res.dtype} rank {len(res.shape)}")
            except BaseException as e:  # noqa: B902 - must not unwind through C
                self._callback_error = self._callback_error or e
                t_guess = tensors[0].shape[0] if tensors and tensors[0].dim() else 1
                out = torch.zeros([d.at(t_guess) if isinstance(d, Sym) else d for d in res.shape], dtype=res.dtype)
            out = out.contiguous()
            nbytes = max(1, out.numel() * out.element_size())
            ptr = _libc.malloc(nbytes)  # compiled code may free it (ownership moves to the caller)
            ctypes.memmove(ptr, out.data_ptr(), out.numel() * out.element_size())
            d = ctypes.cast(result_ptr, ctypes.POINTER(descriptor_type(out.dim()))).contents
            d.allocated = ptr
            d.aligned = ptr
            d.offset = 0
            for i in range(out.dim()):
                d.sizes[i] = out.shape[i]
                d.strides[i] = out.stride(i)

        return cb

    def argument_tensors(self, *inputs) -> List[torch.Tensor]:
        module = self.emitted.module
        args = []
        for a in self.emitted.arguments:
            if a.kind == "input":
                t = inputs[a.source]
            else:
                t = _get_attr(module, a.source).detach()
                if a.transform == "transpose":
                    t = t.t()
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"argument {a.name} must be a tensor")
            if t.dtype != a.dtype:
                raise TypeError(f"argument {a.name}: expected {a.dtype}, got {t.dtype}")
            args.append(t.contiguous().cpu())
        return args

    def __call__(self, *inputs):
        args = self.argument_tensors(*inputs)
        results = self.emitted.results
        arg_descs = [descriptor_for(t) for t in args]
        self._callback_error = None
        if len(results) == 1:
            res_descs = [descriptor_type(len(results[0].shape))()]
            res_ptr = ctypes.byref(res_descs[0])
        else:
            fields = [(f"r{i}", descriptor_type(len(r.shape))) for i, r in enumerate(results)]
            packed = type("Results", (ctypes.Structure,), {"_fields_": fields})()
            res_descs = [getattr(packed, f"r{i}") for i in range(len(results))]
            res_ptr = ctypes.byref(packed)
        self._entry(res_ptr, *[ctypes.byref(d) for d in arg_descs])
        if self._callback_error is not None:
            raise self._callback_error
        outs = []
        inputs_alloc = {t.data_ptr() for t in args}
        freed = set()
        for d, r in zip(res_descs, results):
            outs.append(tensor_from_descriptor(d, len(r.shape), r.dtype))
        owners = [d.allocated for d in res_descs]
        for p in owners:
            if p and p not in inputs_alloc and p not in freed and owners.count(p) == 1:
                _libc.free(p)
                freed.add(p)
        return _restructure(self.emitted.output_structure, outs)


def _restructure(structure, flat):
    if isinstance(structure, int):
        return flat[structure]
    return tuple(_restructure(s, flat) for s in structure)


def _rank_of(tensor_type: str) -> int:
    body = tensor_type[len("tensor<"):-1]
    return body.count("x")


def _dtype_of(tensor_type: str) -> torch.dtype:
    elem = tensor_type[len("tensor<"):-1].split("x")[-1]
    return {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "f64": torch.float64,
            "i64": torch.int64, "i32": torch.int32, "i16": torch.int16, "i8": torch.int8, "i1": torch.bool}[elem]


def _shim_source(emitted: EmittedModule) -> str:
    lines = ["/* generated by qk.execute: opaque callees call back into Python */",
             "typedef void (*qk_exec_cb)(void *result, void **args);"]
    for name, call in emitted.opaque_calls.items():
        n = len(call.arg_types)
        params = ", ".join(["void *result"] + [f"void *a{i}" for i in range(n)])
        arr = ", ".join(f"a{i}" for i in range(n)) or "0"
        lines.append(f"qk_exec_cb qk_exec_cb_{name};")
        lines.append(f"void _mlir_ciface_{name}({params}) {{ void *args[] = {{{arr}}}; "
                     f"qk_exec_cb_{name}(result, args); }}")
    return "\n".join(lines) + "\n"


def build(emitted: EmittedModule, target: str = "cpu", *, qk_opt: Optional[str] = None,
          extra_args: Sequence[str] = (), keep_dir: Optional[str] = None) -> CompiledModule:
    """Compiles `emitted` (made with `to_mlir(..., opaque_c_interface=True)`) for the CPU.

    target: "cpu" (qk-norm-pipeline, norms as loops), "cuda" (qk-norm-pipeline with runtime
    calls, linked with libqk_runtime_host.so so that it runs on host memory), or "cpu-decompose"
    (raise + fuse + qk-decompose + upstream lowering, see qk.driver)."""
    if emitted.opaque_calls and "llvm.emit_c_interface" not in emitted.mlir:
        raise ValueError("emit the module with to_mlir(..., opaque_c_interface=True) to run it")
    for call in emitted.opaque_calls.values():
        if len(call.results) != 1:
            raise ValueError(f"opaque callee {call.callee}: only single-result callees can be executed")
    if f"@{emitted.func_name}(" not in emitted.mlir or "llvm.emit_c_interface" not in emitted.mlir:
        raise ValueError("emit the module with to_mlir(..., opaque_c_interface=True) to run it")
    res = qk_compile(emitted, target=target, qk_opt=qk_opt, extra_args=list(extra_args))
    tmp = tempfile.TemporaryDirectory(prefix="qk-exec-") if keep_dir is None else None
    d = Path(keep_dir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    llvm_mlir = d / "module.llvm.mlir"
    llvm_mlir.write_text(res.ir)
    ll = d / "module.ll"
    obj = d / "module.o"
    _run([str(_discovery.find_llvm_tool("mlir-translate")), "--mlir-to-llvmir", str(llvm_mlir), "-o", str(ll)],
         "mlir-translate")
    _run([str(_discovery.find_llvm_tool("llc")), "-O2", "-filetype=obj", "-relocation-model=pic", str(ll),
          "-o", str(obj)], "llc")
    shim = d / "callbacks.c"
    shim.write_text(_shim_source(emitted))
    so = d / "module.so"
    cmd = [str(_discovery.find_c_compiler()), "-shared", "-fPIC", "-o", str(so), str(obj), str(shim)]
    llvm_lib = _discovery.LLVM_PREFIX / "lib"
    if (llvm_lib / "libmlir_c_runner_utils.so").exists():
        cmd += [f"-L{llvm_lib}", "-lmlir_c_runner_utils", f"-Wl,-rpath,{llvm_lib}"]
    if target == "cuda":
        host = _discovery.find_runtime_library("host")
        cmd += [str(host), f"-Wl,-rpath,{host.parent}"]
    cmd += ["-lm"]
    _run(cmd, "linking")
    cm = CompiledModule(emitted, so, tmp, res, target)
    return cm
