#!/bin/sh
# from seed test/Transforms/fuse-strided-qk-norm.mlir#4
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/fd51973441d9/input.mlir
