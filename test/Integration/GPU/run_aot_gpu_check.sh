#!/usr/bin/env bash
# AOT end-to-end check on a GPU (test/Integration/GPU/aot_gpu_check.cu).
#   run_aot_gpu_check.sh build [OUT]   on a machine with the qk build (build/)
#                                      and nvcc: compiles the Llama4/Qwen3 QK
#                                      blocks for target=cuda and target=cpu,
#                                      and links the check against
#                                      build/lib/libqk_runtime_cuda.so
#   run_aot_gpu_check.sh run [OUT]     on the GPU machine: runs it
# OUT defaults to build-gpu/aot (ignored by git; carry it to the GPU machine).
set -euo pipefail
cd "$(dirname "$0")/../../.."
MODE=${1:?build or run}
OUT=${2:-build-gpu/aot}
LLVM=/usr/lib/llvm-22
if [ "$MODE" = build ]; then
  mkdir -p "$OUT"
  for m in llama4 qwen3; do
    for target in cuda cpu; do
      python3 test/Integration/gen_qk_block.py --model $m --dtype bf16 \
        --tokens dynamic --no-main --consumer views --func-name ${m}_$target \
        | build/bin/qk-opt --qk-norm-pipeline="target=$target buffer-deallocation=false" \
        | $LLVM/bin/mlir-translate --mlir-to-llvmir \
        | $LLVM/bin/llc -filetype=obj -relocation-model=pic -o "$OUT/${m}_$target.o"
    done
  done
  cp build/lib/libqk_runtime_cuda.so "$OUT/"
  /usr/local/cuda/bin/nvcc -std=c++17 -O2 -Iinclude \
    test/Integration/GPU/aot_gpu_check.cu "$OUT"/*.o -L"$OUT" -lqk_runtime_cuda \
    -Xlinker -rpath -Xlinker '$ORIGIN' -o "$OUT/aot_gpu_check"
  echo "built $OUT/aot_gpu_check"
else
  "$OUT/aot_gpu_check"
fi
