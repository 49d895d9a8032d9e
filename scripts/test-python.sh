#!/usr/bin/env bash
# Tests of the Python package (python/): installs what it needs (idempotent), pip-installs
# ./python into a virtual environment, and runs the pytest suite against this checkout's build.
#
#   scripts/test-python.sh            # CI, on the CPU: Debian python3 + python3-torch (1.13)
#   scripts/test-python.sh --gpu      # on a GPU machine with torch (CUDA) and nvcc, no LLVM:
#                                     # builds runtime/ standalone, runs every test that needs
#                                     # no qk-opt (GPU op tests included), log in docs/
#   scripts/test-python.sh -- -k ops  # extra arguments after -- go to pytest
#
# CPU mode needs the build (scripts/setup.sh; it runs it when build/bin/qk-opt is missing).
# Missing tools fail the run instead of skipping tests (QK_REQUIRE_TOOLS=1), and the tests
# import the installed package, not python/ (QK_TEST_INSTALLED=1).
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

make_venv() {  # $1 = python with torch, $2 = venv dir
  local py=$1 venv=$2
  if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv --system-site-packages "$venv"
  fi
  # no build isolation: setuptools comes from the system (nothing to download); --no-deps:
  # torch is the system's (never a PyPI wheel)
  "$venv/bin/python" -m pip install -q --no-deps --no-build-isolation --force-reinstall \
    --disable-pip-version-check "$ROOT/python"
}

if [ "$MODE" = cpu ]; then
  install_apt python3 python3-venv python3-pip python3-setuptools python3-wheel python3-torch \
    python3-numpy python3-pytest
  [ -x build/bin/qk-opt ] && [ -f build/lib/libqk_runtime_host.so ] || scripts/setup.sh
  VENV=build/python-venv
  make_venv /usr/bin/python3 "$VENV"
  export QK_BUILD_DIR="$ROOT/build"
  export QK_OPT="$ROOT/build/bin/qk-opt"
  export QK_RUNTIME_HOST_LIB="$ROOT/build/lib/libqk_runtime_host.so"
  export QK_REQUIRE_TOOLS=1 QK_REQUIRE_RUNTIME=1 QK_TEST_INSTALLED=1
  # run from build/ so that `import qk` finds the installed package, not python/qk
  cd build
  exec "$ROOT/$VENV/bin/python" -m pytest "$ROOT/python/tests" -p no:cacheprovider -q -rs "${PYTEST_ARGS[@]}"
fi

# --gpu: the GPU machine (torch with CUDA and nvcc, no LLVM/MLIR: tests needing qk-opt skip)
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
LOG=${QK_GPU_LOG:-$ROOT/docs/python-gpu-test-log.txt}
cd "$BUILD_RT"
{
  echo "# scripts/test-python.sh --gpu, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit ${QK_GIT_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  "$PY" -m pytest "$ROOT/python/tests" -p no:cacheprovider -v -rs "${PYTEST_ARGS[@]}"
} 2>&1 | tee "$LOG"
exit "${PIPESTATUS[0]}"
