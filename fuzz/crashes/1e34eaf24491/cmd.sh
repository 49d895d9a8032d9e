#!/bin/sh
# from seed test/Transforms/fuse-rope-first.mlir#0
build/bin/qk-opt --qk-fuse-rope fuzz/crashes/1e34eaf24491/input.mlir
