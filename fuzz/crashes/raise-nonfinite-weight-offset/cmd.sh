#!/bin/sh
# test/Inputs/rmsnorm/positive.mlir with the `1 +` constant of (1 + w) set to NaN (also +inf)
build/bin/qk-opt --qk-raise-rms-norm fuzz/crashes/raise-nonfinite-weight-offset/input.mlir
