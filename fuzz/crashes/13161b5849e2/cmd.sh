#!/bin/sh
# from seed examples/qwen3_8b.mlir#0
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/13161b5849e2/input.mlir
