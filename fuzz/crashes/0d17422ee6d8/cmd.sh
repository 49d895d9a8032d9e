#!/bin/sh
# from seed test/Inputs/rmsnorm/positive.mlir#0
build/bin/qk-opt --qk-raise-rms-norm fuzz/crashes/0d17422ee6d8/input.mlir
