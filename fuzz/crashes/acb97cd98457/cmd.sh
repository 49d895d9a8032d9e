#!/bin/sh
# from seed test/Transforms/fuse-strided-qk-norm.mlir#2
build/bin/qk-opt --qk-fuse-strided-qk-norm fuzz/crashes/acb97cd98457/input.mlir
