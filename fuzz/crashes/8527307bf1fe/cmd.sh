#!/bin/sh
# from seed test/Inputs/torch-mlir/qwen3_moe_sglang-f32-dynamic.mlir#0
build/bin/qk-opt --qk-norm-pipeline=target=cpu fuzz/crashes/8527307bf1fe/input.mlir
