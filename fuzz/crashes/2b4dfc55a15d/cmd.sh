#!/bin/sh
# from seed test/Transforms/fuse-strided-qk-norm.mlir#0
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/2b4dfc55a15d/input.mlir
