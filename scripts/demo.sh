#!/usr/bin/env bash
# The main job on a bundled example: raise + fuse the QK norm of an attention
# block and the RoPE after it, print the remarks, and count memref.copy after
# one-shot bufferization, without and with our passes.
#
#   scripts/demo.sh [examples/llama4_scout.mlir]
set -euo pipefail
cd "$(dirname "$0")/.."
example=${1:-examples/llama4_scout.mlir}
scripts/setup.sh >/dev/null
QK_OPT=build/bin/qk-opt
BUFFERIZE=--one-shot-bufferize=bufferize-function-boundaries

echo "== $example"
before=$($QK_OPT "$example" "$BUFFERIZE" | grep -c "memref.copy" || true)
echo "-- remarks of qk-raise-rms-norm, qk-fuse-strided-qk-norm and qk-fuse-rope:"
$QK_OPT "$example" --qk-raise-rms-norm --qk-fuse-strided-qk-norm --qk-fuse-rope \
  --remarks-filter='qk-.*' --remark-format=emitRemark \
  --mlir-pass-statistics -o build/demo-fused.mlir 2>&1 |
  grep -E "remark:|fused-|raised|rejected|copies-kept" | sed 's/^/   /'
after=$($QK_OPT build/demo-fused.mlir "$BUFFERIZE" | grep -c "memref.copy" || true)
echo "-- the fused op:"
grep -o "qk.fused_qk_norm.*" build/demo-fused.mlir | cut -c1-400 | sed 's/^/   /'
echo "-- memref.copy after one-shot bufferization: before $before, after $after"
