"""Runs compiled modules on the CPU: LLVM-dialect output of qk-opt -> mlir-translate -> llc ->
a shared object, called through its `_mlir_ciface_<name>` entry with memref descriptors built
from torch tensors.

    compiled = qk.execute.build(emitted, target="cpu")      # or "cuda" (runtime calls, linked
    out = compiled(positions, hidden_states)                 #   with the host runtime here)

The module's weights are constants of the IR (torch-mlir's frozen import): the function takes the
forward's tensor inputs and returns its tensor outputs. The memref descriptor of rank R is
{allocated ptr, aligned ptr, int64 offset, int64 sizes[R], int64 strides[R]}; the results are
returned through a descriptor (or a struct of descriptors) passed first.
"""

import ctypes
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from . import _discovery
from .driver import compile as qk_compile
from .frontend import EmittedModule

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


# memref.get_global lowers the allocated pointer of a global to this marker: never freed
_GLOBAL_MARKER = 0xDEADBEEF


class CompiledModule:
    """The compiled function of an EmittedModule, callable with the module's forward inputs."""

    def __init__(self, emitted: EmittedModule, lib_path: Path, tmpdir, compile_result, target: str):
        self.emitted = emitted
        self.lib_path = lib_path
        self._tmpdir = tmpdir
        self.compile_result = compile_result
        self.target = target
        self.lib = ctypes.CDLL(str(lib_path))
        self._entry = getattr(self.lib, f"_mlir_ciface_{emitted.func_name}")
        self._entry.restype = None

    def argument_tensors(self, *inputs) -> List[torch.Tensor]:
        args = []
        for a in self.emitted.arguments:
            t = inputs[a.source]
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"argument {a.name} must be a tensor")
            if t.dtype != a.dtype:
                raise TypeError(f"argument {a.name}: expected {a.dtype}, got {t.dtype}")
            if t.dim() != len(a.shape) or any(d != "T" and d != s for d, s in zip(a.shape, t.shape)):
                raise TypeError(f"argument {a.name}: expected shape {a.shape}, got {tuple(t.shape)}")
            args.append(t.detach().contiguous().cpu())
        return args

    def __call__(self, *inputs):
        args = self.argument_tensors(*inputs)
        results = self.emitted.results
        arg_descs = [descriptor_for(t) for t in args]
        if len(results) == 1:
            res_descs = [descriptor_type(len(results[0].shape))()]
            res_ptr = ctypes.byref(res_descs[0])
        else:
            fields = [(f"r{i}", descriptor_type(len(r.shape))) for i, r in enumerate(results)]
            packed = type("Results", (ctypes.Structure,), {"_fields_": fields})()
            res_descs = [getattr(packed, f"r{i}") for i in range(len(results))]
            res_ptr = ctypes.byref(packed)
        self._entry(res_ptr, *[ctypes.byref(d) for d in arg_descs])
        outs = [tensor_from_descriptor(d, len(r.shape), r.dtype) for d, r in zip(res_descs, results)]
        # results own their allocation unless they view an input or a global (or share one)
        inputs_alloc = {d.allocated for d in arg_descs}
        owners = [d.allocated for d in res_descs]
        for p in set(owners):
            if p and p != _GLOBAL_MARKER and p not in inputs_alloc:
                _libc.free(p)
        return self.emitted.restructure(outs)


def build(emitted: EmittedModule, target: str = "cpu", *, qk_opt: Optional[str] = None,
          extra_args: Sequence[str] = (), keep_dir: Optional[str] = None) -> CompiledModule:
    """Compiles `emitted` (from `qk.frontend.to_mlir`) for the CPU.

    target: "cpu" (qk-norm-pipeline, norms as loops), "cuda" (qk-norm-pipeline with runtime
    calls, linked with libqk_runtime_host.so so that it runs on host memory), "cpu-decompose"
    (raise + fuse + qk-decompose + upstream lowering, see qk.driver) or "cpu-unfused" (the
    upstream lowering alone: the reference)."""
    res = qk_compile(emitted, target=target, qk_opt=qk_opt, extra_args=list(extra_args))
    if f"_mlir_ciface_{emitted.func_name}" not in res.ir:
        raise ExecutionError(f"the compiled module has no _mlir_ciface_{emitted.func_name} entry point")
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
    so = d / "module.so"
    cmd = [str(_discovery.find_c_compiler()), "-shared", "-fPIC", "-o", str(so), str(obj)]
    llvm_lib = _discovery.LLVM_PREFIX / "lib"
    if (llvm_lib / "libmlir_c_runner_utils.so").exists():
        cmd += [f"-L{llvm_lib}", "-lmlir_c_runner_utils", f"-Wl,-rpath,{llvm_lib}"]
    if target == "cuda":
        host = _discovery.find_runtime_library("host")
        cmd += [str(host), f"-Wl,-rpath,{host.parent}"]
    cmd += ["-lm"]
    _run(cmd, "linking")
    return CompiledModule(emitted, so, tmp, res, target)
