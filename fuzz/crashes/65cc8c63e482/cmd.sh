#!/bin/sh
# from seed test/Transforms/fuse-rope-broadcast.mlir#4
build/bin/qk-opt --qk-fuse-rope fuzz/crashes/65cc8c63e482/input.mlir
