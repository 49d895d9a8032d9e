"""Finds the tools and libraries of a qk build: qk-opt, the runtime libraries, LLVM's tools.

Search order for every item (first hit wins):
  1. an explicit path given by the caller;
  2. its environment variable (QK_OPT, QK_RUNTIME_HOST_LIB, QK_RUNTIME_CUDA_LIB, ...);
  3. QK_BUILD_DIR (``<dir>/bin/qk-opt``, ``<dir>/lib/libqk_runtime_*.so``);
  4. PATH (tools) or the system library path (libraries);
  5. a ``build/`` directory of a qk checkout: the current directory and its parents, then the
     checkout this package was installed from (an editable install or running from source).
"""

import ctypes.util
import os
import shutil
from pathlib import Path
from typing import Iterable, List, Optional

LLVM_PREFIX = Path(os.environ.get("QK_LLVM_PREFIX", "/usr/lib/llvm-22"))


class ToolNotFoundError(FileNotFoundError):
    """A tool or library of the qk build could not be found; the message says where we looked."""


def _candidate_build_dirs() -> List[Path]:
    dirs = []
    env = os.environ.get("QK_BUILD_DIR")
    if env:
        dirs.append(Path(env))
    here = Path.cwd().resolve()
    for d in [here, *here.parents]:
        dirs.append(d / "build")
    # python/qk/_discovery.py -> <checkout>/build (source tree or editable install)
    pkg_root = Path(__file__).resolve().parent.parent.parent
    dirs.append(pkg_root / "build")
    seen, out = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def _first_existing(paths: Iterable[Path]) -> Optional[Path]:
    for p in paths:
        if p.is_file():
            return p
    return None


def build_dir() -> Optional[Path]:
    """The build directory holding ``bin/qk-opt``, if one can be found."""
    for d in _candidate_build_dirs():
        if (d / "bin" / "qk-opt").is_file():
            return d
    return None


def find_qk_opt(explicit: Optional[str] = None) -> Path:
    tried = []
    if explicit:
        p = Path(explicit)
        if p.is_file():
            return p
        raise ToolNotFoundError(f"qk-opt not found at {explicit}")
    env = os.environ.get("QK_OPT")
    if env:
        if Path(env).is_file():
            return Path(env)
        raise ToolNotFoundError(f"QK_OPT={env} does not exist")
    if os.environ.get("QK_BUILD_DIR"):
        p = Path(os.environ["QK_BUILD_DIR"]) / "bin" / "qk-opt"
        tried.append(str(p))
        if p.is_file():
            return p
    which = shutil.which("qk-opt")
    if which:
        return Path(which)
    tried.append("PATH")
    for d in _candidate_build_dirs():
        p = d / "bin" / "qk-opt"
        tried.append(str(p))
        if p.is_file():
            return p
    raise ToolNotFoundError(
        "qk-opt not found (build it with `ninja -C build`, or set QK_OPT / QK_BUILD_DIR); tried: "
        + ", ".join(tried))


def find_llvm_tool(name: str) -> Path:
    """mlir-translate, llc, ... from QK_LLVM_PREFIX (default /usr/lib/llvm-22), then PATH."""
    env = os.environ.get("QK_" + name.upper().replace("-", "_"))
    if env and Path(env).is_file():
        return Path(env)
    p = LLVM_PREFIX / "bin" / name
    if p.is_file():
        return p
    for cand in (name + "-22", name):
        which = shutil.which(cand)
        if which:
            return Path(which)
    raise ToolNotFoundError(f"{name} not found in {LLVM_PREFIX}/bin or on PATH")


def find_c_compiler() -> Path:
    for cand in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cand:
            which = shutil.which(cand)
            if which:
                return Path(which)
    raise ToolNotFoundError("no C compiler/linker driver (cc, gcc, clang) on PATH")


_RUNTIME_ENV = {"host": "QK_RUNTIME_HOST_LIB", "cuda": "QK_RUNTIME_CUDA_LIB"}


def find_runtime_library(kind: str, explicit: Optional[str] = None) -> Path:
    """libqk_runtime_host.so (kind="host") or libqk_runtime_cuda.so (kind="cuda")."""
    if kind not in _RUNTIME_ENV:
        raise ValueError(f"runtime kind must be 'host' or 'cuda', not {kind!r}")
    fname = f"libqk_runtime_{kind}.so"
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise ToolNotFoundError(f"{fname} not found at {explicit}")
    env = os.environ.get(_RUNTIME_ENV[kind])
    if env:
        if Path(env).is_file():
            return Path(env)
        raise ToolNotFoundError(f"{_RUNTIME_ENV[kind]}={env} does not exist")
    tried = []
    libdir = os.environ.get("QK_RUNTIME_LIB_DIR")
    if libdir:
        tried.append(str(Path(libdir) / fname))
        if (Path(libdir) / fname).is_file():
            return Path(libdir) / fname
    for d in _candidate_build_dirs():
        for sub in ("lib", "runtime/lib"):
            p = d / sub / fname
            tried.append(str(p))
            if p.is_file():
                return p
    # standalone runtime builds (cmake -S runtime -B build-rt)
    here = Path.cwd().resolve()
    for d in [here, *here.parents, Path(__file__).resolve().parent.parent.parent]:
        for p in sorted(d.glob("build-*/lib/" + fname)):
            tried.append(str(p))
            return p
    found = ctypes.util.find_library(f"qk_runtime_{kind}")
    if found:
        return Path(found)
    raise ToolNotFoundError(
        f"{fname} not found (build it with `ninja -C build`, or set {_RUNTIME_ENV[kind]} / "
        f"QK_RUNTIME_LIB_DIR / QK_BUILD_DIR); tried: " + ", ".join(tried[:8]))
