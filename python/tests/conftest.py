"""Shared fixtures. Environment:
  QK_REQUIRE_TOOLS=1   a missing qk-opt / LLVM tool / runtime library / torch-mlir fails instead of
                       skipping (scripts/test-python.sh sets it in CPU mode: CI must not pass by
                       skipping; --gpu leaves it unset: no LLVM and no torch-mlir there)
  QK_TEST_INSTALLED=1  the tests must import the pip-installed package, not python/ sources
"""
import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _require() -> bool:
    return os.environ.get("QK_REQUIRE_TOOLS", "") not in ("", "0")


def missing(what: str):
    """Skip (locally) or fail (QK_REQUIRE_TOOLS=1) for a missing tool."""
    if _require():
        pytest.fail(f"required for this test and missing: {what}")
    pytest.skip(f"missing: {what}")


@pytest.fixture(scope="session")
def qk_opt():
    from qk import _discovery
    try:
        return str(_discovery.find_qk_opt())
    except _discovery.ToolNotFoundError as e:
        missing(str(e))


@pytest.fixture(scope="session")
def llvm_tools(qk_opt):
    from qk import _discovery
    try:
        for t in ("mlir-translate", "llc"):
            _discovery.find_llvm_tool(t)
        _discovery.find_c_compiler()
    except _discovery.ToolNotFoundError as e:
        missing(str(e))
    return True


@pytest.fixture(scope="session")
def host_runtime():
    from qk import runtime
    try:
        return runtime.load("host")
    except Exception as e:  # noqa: BLE001
        missing(f"libqk_runtime_host.so ({e})")


@pytest.fixture(scope="session")
def torch_mlir():
    """The PyTorch frontend (torch.export + torch-mlir + ml_dtypes)."""
    pytest.importorskip("torch")
    from qk.frontend import torch_mlir_available
    if not torch_mlir_available():
        missing("torch-mlir / ml_dtypes (the PyTorch frontend; pip install torch-mlir ml_dtypes)")
    return True


_EXPORTS = {}


def exported(name, dtype=None, dynamic=True, elide_weights=False, **module_kwargs):
    """(module, example_inputs, EmittedModule) of a reference model, exported once per session."""
    import torch
    from qk import models
    from qk.frontend import to_mlir
    dtype = dtype or torch.bfloat16
    key = (name, dtype, dynamic, elide_weights, tuple(sorted(module_kwargs.items())))
    if key not in _EXPORTS:
        module, inputs = models.build(name, dtype=dtype, **module_kwargs)
        _EXPORTS[key] = (module, inputs, to_mlir(module, inputs, dynamic=dynamic, elide_weights=elide_weights))
    return _EXPORTS[key]


def pytest_report_header(config):
    lines = []
    try:
        import torch
        lines.append(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
    except ImportError:
        lines.append("torch: not installed")
    try:
        import importlib.metadata as md
        lines.append(f"torch-mlir {md.version('torch-mlir')}")
    except Exception:  # noqa: BLE001
        lines.append("torch-mlir: not installed")
    import qk
    lines.append(f"qk from {Path(qk.__file__).parent}")
    from qk import _discovery
    try:
        lines.append(f"qk-opt: {_discovery.find_qk_opt()}")
    except Exception as e:  # noqa: BLE001
        lines.append(f"qk-opt: {e}")
    return lines


def pytest_sessionstart(session):
    if os.environ.get("QK_TEST_INSTALLED", "") not in ("", "0"):
        import qk
        src = (REPO / "python" / "qk").resolve()
        if Path(qk.__file__).resolve().parent == src:
            raise pytest.UsageError(f"QK_TEST_INSTALLED=1 but qk is imported from the source tree {src}")


@pytest.fixture(params=["registered", "python"])
def path(request):
    """For the op tests: the registered op (native when built), or the Python (ctypes)
    implementation called directly."""
    from qk import ops
    if request.param == "registered":
        yield ops.REGISTRATION
    elif ops.REGISTRATION != "native":
        pytest.skip("the registered op is the Python one")
    else:
        with ops.python_path():
            yield "python"
