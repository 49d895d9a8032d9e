#!/usr/bin/env bash
# One device call of issue 12's measurements on the H200 machine (docs/rope-performance-h200.md):
# the rope GPU check on the default dispatch and on the stream kernel alone, then the side-by-side
# benchmark against sglang, vLLM and Triton. Run from the repository root with a prebuilt runtime
# (cmake -S runtime -B build-rope2 -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build-rope2) and
# .anchors (git-ignored: the anchors' sources and the tvm-ffi wheel) carried along. Logs go to $OUT.
#
#   benchmarks/run_rope_h200.sh [build-dir] [bench args...]
#   ROPE_CHECKS="auto stream" (default): the kernels the rope check runs on; empty: no check
set -uo pipefail
build=${1:-build-rope2}
shift || true
out=${OUT:-rope-h200-out}
mkdir -p "$out"
export LD_LIBRARY_PATH="$PWD/$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader | tee "$out/device.txt"
for k in ${ROPE_CHECKS-auto stream}; do
  QK_RUNTIME_ROPE_KERNEL=$k timeout 250 "$build/bin/qk-runtime-gpu-check" -q --rope \
    >"$out/gpu-check-rope-$k.log" 2>&1
  echo "gpu-check --rope ($k): $(grep -E '^SUMMARY' "$out/gpu-check-rope-$k.log")"
done
python3 -m pip install -q --no-index --no-deps --target /tmp/site .anchors/whl/apache_tvm_ffi-*.whl
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
bash benchmarks/anchors/build_rope_anchors.sh .anchors/src /tmp/anc >"$out/anchors-build.log" 2>&1
ls /tmp/anc/*.so | sed 's#.*/##' | tr '\n' ' '
echo
python3 benchmarks/bench_qk_norm_rope.py --lib "$build/lib/libqk_runtime_cuda.so" --anchors /tmp/anc \
  --out "$out" "$@" 2>&1 | tee "$out/bench.log" | tail -60
