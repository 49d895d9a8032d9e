#!/bin/sh
# from seed test/Transforms/fuse-strided-groups.mlir#4
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/debff267950d/input.mlir
