#!/bin/sh
# upstream-only (found through qk-norm-pipeline=target=cpu on a mutant of test/Inputs/torch-mlir/qwen3-f32-static.mlir: a weight constant retyped tensor<?xf32>)
/usr/lib/llvm-22/bin/mlir-opt fuzz/crashes/55f7ac40a3da/upstream-only.mlir --one-shot-bufferize=bufferize-function-boundaries
