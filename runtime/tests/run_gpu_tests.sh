#!/usr/bin/env bash
# Builds the runtime standalone (no LLVM/MLIR needed) and runs the GPU
# correctness check, with and without programmatic dependent launch.
# Usage: runtime/tests/run_gpu_tests.sh [build-dir]   (default build-rt)
# Logs go to $OUT when it is set (the device machine), else to the build dir.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-build-rt}
log_dir=${OUT:-$build}
mkdir -p "$log_dir"
export PATH=/usr/local/cuda/bin:$PATH
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" >"$log_dir/build.log" 2>&1 || { tail -50 "$log_dir/build.log"; exit 1; }
status=0
"$build/bin/qk-runtime-host-test" -q | tee "$log_dir/host-test.log" | tail -1 || status=1
"$build/bin/qk-runtime-gpu-check" 2>&1 | tee "$log_dir/gpu-check.log" | grep -E "^(FAIL|SUMMARY|device|PASS (graphs|host))|failed" || status=1
# The same matrix twice more, failures only, with the switches that select
# other code paths (runtime/cuda/Options.h): plain launches (PDL off) on a
# two-wave grid (many tokens per team, and the first wave prefetches for
# the second: the token loop and its prefetches) with four shifted rows in
# flight; then every call on the 64-bit parameter block (the path of more
# than two ranges and huge offsets) without the next-wave L2 prefetch, with
# the own-row prefetch before the PDL wait, and shifted rows on the
# element-by-element path.
QK_RUNTIME_DISABLE_PDL=1 QK_RUNTIME_WAVES=2 QK_RUNTIME_SHIFT_ROWS=4 \
  "$build/bin/qk-runtime-gpu-check" -q 2>&1 | tee "$log_dir/gpu-check-nopdl.log" | grep -E "^(FAIL|SUMMARY|device)" || status=1
QK_RUNTIME_WIDE_PARAMS=1 QK_RUNTIME_L2_PREFETCH=0 QK_RUNTIME_EARLY_PREFETCH=1 QK_RUNTIME_NO_SHIFT=1 \
  "$build/bin/qk-runtime-gpu-check" -q 2>&1 | tee "$log_dir/gpu-check-wide.log" | grep -E "^(FAIL|SUMMARY|device)" || status=1
# The rope cases once more on each kernel alone: the runs above take the
# token kernel (small T) or the stream kernel (RopeTokenKernel.cuh) wherever
# they apply; team is RopeKernels.cuh for every shape. The stream kernel
# runs with 1, 2 and 4 heads per team forced (by default it takes more than
# one only at T far above the check's).
for k in team token stream:1 stream:2 stream:4; do
  heads=
  [[ $k == *:* ]] && heads=${k#*:}
  QK_RUNTIME_ROPE_KERNEL=${k%%:*} QK_RUNTIME_ROPE_HEADS=$heads \
    "$build/bin/qk-runtime-gpu-check" -q --rope 2>&1 | tee "$log_dir/gpu-check-rope-${k/:/-heads}.log" | grep -E "^(FAIL|SUMMARY|device)" || status=1
done
echo "run_gpu_tests: $([ $status = 0 ] && echo PASS || echo FAIL)"
exit $status
