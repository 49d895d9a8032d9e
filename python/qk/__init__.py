"""qk: strided in-place fused QK RMSNorm for PyTorch users.

    qk.compile(module_or_ir, target=...)   # run qk-opt: IR, remarks, statistics (qk.driver)
    qk.frontend.to_mlir(module, inputs)    # PyTorch module -> qk-opt input IR (torch.export +
                                           #   torch-mlir's FX importer; needs torch, torch-mlir)
    qk.ops.fused_qk_rmsnorm_(q, k, ...)    # the kernel as an in-place torch op (needs torch; a native
                                           #   C++ op built at the first import, else Python)
    python -m qk report qk.models:qwen3_8b # what is found, fused, and why not
"""

from .driver import (CompileResult, Diagnostic, Location, PipelineUnavailableError, QKCompileError, Remark,
                     compile, has_pass)
from ._discovery import ToolNotFoundError

__version__ = "0.1.0"

__all__ = ["compile", "CompileResult", "Remark", "Diagnostic", "Location", "QKCompileError",
           "PipelineUnavailableError", "ToolNotFoundError", "has_pass", "frontend", "ops", "models"]


def __getattr__(name):
    # torch-dependent submodules load on first use, so that `import qk` works without torch
    if name in ("frontend", "ops", "models", "execute", "runtime"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'qk' has no attribute {name!r}")
