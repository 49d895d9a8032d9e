#!/bin/sh
# from seed test/Transforms/fuse-strided-groups.mlir#0
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/1c0d34da1ed0/input.mlir
# Upstream-only: the same with stock mlir-opt on the decomposed IR (no qk op left):
#   /usr/lib/llvm-22/bin/mlir-opt fuzz/crashes/1c0d34da1ed0/upstream-only.mlir \
#     --one-shot-bufferize=bufferize-function-boundaries --canonicalize
