#!/bin/sh
# random_blocks.py --seed 2 case 13: f16, D 32, Hq 5, Hkv 2, Qwen3-Next strided q
# ([q_h | gate_h] per head), T = 1 static, vLLM view (norm on [T, H, D]),
# weight w with vLLM rounding. q is raised to qk.rms_norm but not fused; its
# input is a head-strided view (stride 64) and its init a fresh contiguous
# buffer (stride 32): target=cuda lowers it to a runtime call guarded by
# cf.assert "qk.rms_norm: input and init need the same stride on dimension 1",
# which aborts. target=cpu and the upstream lowering run and agree.
L=/usr/lib/llvm-22/lib
build/bin/qk-opt fuzz/crashes/cuda-runtime-stride-abort/input.mlir --qk-norm-pipeline=target=cuda |
  stdbuf -o0 /usr/lib/llvm-22/bin/mlir-runner -e main -entry-point-result=void \
    --shared-libs=$L/libmlir_runner_utils.so,$L/libmlir_c_runner_utils.so,build/lib/libqk_runtime_host.so
