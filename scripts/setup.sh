#!/usr/bin/env bash
# Installs what the build needs (idempotent), configures and builds into
# build/. Safe to run again: installs are skipped when present, the build is
# incremental.
#
#   scripts/setup.sh            # install + configure + build
#   QK_SKIP_INSTALL=1 scripts/setup.sh   # no apt (packages already there)
set -euo pipefail
cd "$(dirname "$0")/.."

LLVM_PREFIX=/usr/lib/llvm-22
PACKAGES=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools ninja-build
          cmake g++ python3)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ -z "${QK_SKIP_INSTALL:-}" ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for tool in mlir-opt mlir-runner mlir-translate FileCheck lit; do
  [ -x "$LLVM_PREFIX/bin/$tool" ] || { echo "setup: missing $LLVM_PREFIX/bin/$tool" >&2; exit 1; }
done

# The CUDA runtime library is built when nvcc is found (no GPU needed).
CUDA_ARGS=()
if [ -x /usr/local/cuda/bin/nvcc ]; then
  CUDA_ARGS+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
fi

if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    "${CUDA_ARGS[@]}"
fi
ninja -C build
