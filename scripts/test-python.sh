#!/usr/bin/env bash
# Tests of the Python package (python/): installs what it needs (idempotent), pip-installs
# ./python into a virtual environment, and runs the pytest suite against this checkout's build.
#
#   scripts/test-python.sh            # CI, on the CPU: a venv (build/torch-venv) of Debian's
#                                     # python3 with torch, torch-mlir, ml_dtypes from PyPI
#   scripts/test-python.sh --gpu      # on a GPU machine with torch (CUDA) and nvcc, no LLVM:
#                                     # builds runtime/ standalone, runs every test that needs
#                                     # no qk-opt and no torch-mlir (GPU op tests included),
#                                     # log in docs/
#   scripts/test-python.sh -- -k ops  # extra arguments after -- go to pytest
#
# CPU mode needs the build (scripts/setup.sh; it runs it when build/bin/qk-opt is missing) and
# creates the venv once (~5.6 GB: PyPI's torch wheel pulls CUDA libraries; later runs reuse it
# while its pinned requirements match). QK_TORCH_VENV=DIR uses another venv location (created
# the same way), QK_PYTHON another interpreter (default /usr/bin/python3); QK_SKIP_INSTALL=1
# fails instead of installing anything; QK_OPT overrides build/bin/qk-opt. Missing tools fail
# the run instead of skipping tests (QK_REQUIRE_TOOLS=1), and the tests import the installed
# package, not python/ (QK_TEST_INSTALLED=1).
#
# The torch op is the native one (python/qk/csrc/torch_op.cpp, built by qk.ops at its first
# import with torch.utils.cpp_extension: g++ and ninja, installed here in CPU mode), cached in
# build/torch-op (--gpu: <runtime build>/torch-op; QK_NATIVE_OP_DIR overrides). Both modes set
# QK_REQUIRE_NATIVE_OP=1: a build that fails fails the run instead of falling back to the Python
# op (export QK_REQUIRE_NATIVE_OP=0 to allow the fallback, QK_NATIVE_OP=0 to test the Python op).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=cpu
PYTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu) MODE=gpu; shift ;;
    --) shift; PYTEST_ARGS+=("$@"); break ;;
    *) PYTEST_ARGS+=("$1"); shift ;;
  esac
done

install_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ -n "${QK_SKIP_INSTALL:-}" ]; then
      echo "test-python: missing ${missing[*]} (QK_SKIP_INSTALL is set)" >&2
      exit 1
    fi
    echo "test-python: installing ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# the versions known to work together (torch-mlir's wheel pins no torch version; ml_dtypes is
# what torch-mlir needs for bf16 constants)
TORCH_REQUIREMENTS=(torch==2.15.0 torch-mlir==20261001 ml_dtypes==0.6.0 pytest==9.2.0)

make_torch_venv() {  # $1 = python (3.10+), $2 = venv dir; idempotent
  local py=$1 venv=$2 stamp="$2/.qk-requirements"
  local want="${TORCH_REQUIREMENTS[*]}"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
     "$venv/bin/python" -c 'import torch, torch_mlir.fx, ml_dtypes, pytest, setuptools' 2>/dev/null; then
    return 0
  fi
  if [ -n "${QK_SKIP_INSTALL:-}" ]; then
    echo "test-python: $venv lacks $want (QK_SKIP_INSTALL is set)" >&2
    exit 1
  fi
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  echo "test-python: installing $want into $venv (PyPI; several GB on the first run)"
  local t0=$SECONDS
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${TORCH_REQUIREMENTS[@]}" setuptools
  echo "$want" > "$stamp"
  echo "test-python: venv ready in $((SECONDS - t0)) s"
}

if [ "$MODE" = cpu ]; then
  install_apt python3 python3-venv g++ ninja-build  # g++ and ninja: the native torch op
  [ -x build/bin/qk-opt ] && [ -f build/lib/libqk_runtime_host.so ] || scripts/setup.sh
  VENV=${QK_TORCH_VENV:-build/torch-venv}
  case "$VENV" in /*) ;; *) VENV=$ROOT/$VENV ;; esac
  make_torch_venv "${QK_PYTHON:-/usr/bin/python3}" "$VENV"
  # no build isolation: setuptools is the venv's (nothing to download); --no-deps: the package
  # declares none (torch is the venv's)
  "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall \
    --disable-pip-version-check "$ROOT/python"
  export QK_BUILD_DIR="$ROOT/build"
  export QK_OPT="${QK_OPT:-$ROOT/build/bin/qk-opt}"
  export QK_RUNTIME_HOST_LIB="$ROOT/build/lib/libqk_runtime_host.so"
  export QK_REQUIRE_TOOLS=1 QK_REQUIRE_RUNTIME=1 QK_TEST_INSTALLED=1
  export QK_REQUIRE_NATIVE_OP="${QK_REQUIRE_NATIVE_OP:-1}" QK_NATIVE_OP_DIR="${QK_NATIVE_OP_DIR:-$ROOT/build/torch-op}"
  # run from build/ so that `import qk` finds the installed package, not python/qk
  cd build
  "$VENV/bin/python" -c 'import sys, torch, importlib.metadata as m; print("test-python: python", sys.version.split()[0], "torch", torch.__version__, "torch-mlir", m.version("torch-mlir"))'
  # builds the native op now (once; cached), so that a failing build is reported here, first
  "$VENV/bin/python" -c 'from qk import ops; print("test-python: torch op:", ops.op_info())'
  exec "$VENV/bin/python" -m pytest "$ROOT/python/tests" -p no:cacheprovider -q -rs "${PYTEST_ARGS[@]}"
fi

# --gpu: the GPU machine (torch with CUDA and nvcc, no LLVM/MLIR: tests needing qk-opt skip, and
# so do the frontend's when torch-mlir is not installed there)
PY=${PYTHON:-python3}
"$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "test-python --gpu: torch sees no CUDA device")'
BUILD_RT=${QK_RUNTIME_BUILD:-build-rt}
if [ ! -f "$BUILD_RT/lib/libqk_runtime_cuda.so" ]; then
  cmake -S runtime -B "$BUILD_RT" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQK_RUNTIME_BUILD_TESTS=OFF >/dev/null
  cmake --build "$BUILD_RT" >/dev/null
fi
# the GPU machine's torch usually lives in a virtual environment, which a nested venv would not
# see: install the package into a directory of its own on PYTHONPATH instead
SITE=$ROOT/$BUILD_RT/python-site
rm -rf "$SITE"
"$PY" -m pip install -q --no-deps --no-build-isolation --disable-pip-version-check --target "$SITE" "$ROOT/python"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
export QK_RUNTIME_CUDA_LIB="$ROOT/$BUILD_RT/lib/libqk_runtime_cuda.so"
export QK_RUNTIME_HOST_LIB="$ROOT/$BUILD_RT/lib/libqk_runtime_host.so"
export QK_REQUIRE_RUNTIME=1 QK_TEST_INSTALLED=1
export QK_REQUIRE_NATIVE_OP="${QK_REQUIRE_NATIVE_OP:-1}" QK_NATIVE_OP_DIR="${QK_NATIVE_OP_DIR:-$ROOT/$BUILD_RT/torch-op}"
LOG=${QK_GPU_LOG:-$ROOT/docs/python-gpu-test-log.txt}
cd "$BUILD_RT"
{
  echo "# scripts/test-python.sh --gpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit ${QK_GIT_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  "$PY" -c 'from qk import ops; print("qk torch op:", ops.op_info())'
  "$PY" -m pytest "$ROOT/python/tests" -p no:cacheprovider -v -rs "${PYTEST_ARGS[@]}"
} 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
