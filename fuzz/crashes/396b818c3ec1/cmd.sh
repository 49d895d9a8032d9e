#!/bin/sh
# from seed examples/llama4_scout.mlir#0
build/bin/qk-opt --qk-raise-rms-norm --qk-fuse-strided-qk-norm fuzz/crashes/396b818c3ec1/input.mlir
