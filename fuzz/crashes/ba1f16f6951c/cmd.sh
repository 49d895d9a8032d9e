#!/bin/sh
# from seed test/Dialect/QK/transform-ops-out-of-range-dim.mlir#0
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/ba1f16f6951c/input.mlir
