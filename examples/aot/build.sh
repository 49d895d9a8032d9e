#!/usr/bin/env bash
# The AOT path end to end, from the repository root after scripts/setup.sh:
#   examples/aot/build.sh     # compiles the Qwen3 QK block, links it with the
#                             # host runtime into a C++ program and runs it
# The same object links with libqk_runtime_cuda.so when the host passes
# device buffers instead (docs/lowering.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
LLVM=/usr/lib/llvm-22
OUT=${OUT:-build/aot}
mkdir -p "$OUT"
python3 test/Integration/gen_qk_block.py --model qwen3 --dtype bf16 \
  --tokens dynamic --no-main > "$OUT/qwen3_qk_block.mlir"
build/bin/qk-opt "$OUT/qwen3_qk_block.mlir" --qk-norm-pipeline=target=cuda \
  | $LLVM/bin/mlir-translate --mlir-to-llvmir \
  | $LLVM/bin/llc -filetype=obj -relocation-model=pic -o "$OUT/qwen3_qk_block.o"
${CXX:-g++} -std=c++17 -O2 -Iinclude examples/aot/qwen3_qk_block_host.cpp \
  "$OUT/qwen3_qk_block.o" -Lbuild/lib -lqk_runtime_host \
  -L$LLVM/lib -lmlir_c_runner_utils \
  -Wl,-rpath,"$PWD/build/lib" -Wl,-rpath,$LLVM/lib -o "$OUT/qwen3_qk_block_host"
"$OUT/qwen3_qk_block_host"
