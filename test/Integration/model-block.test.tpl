; The differential test of one model's QK-norm block, instantiated by
; lit.local.cfg for every model of gen_qk_block.py (MODELS) and every dtype
; (bf16, f16, f32): lit names each instance model-block.test.tpl::<model>-<dtype>,
; and the instance sees %{model}, %{dtype} and %{v_offset} (the first v column
; of the printed result: q and k widths, from MODELS).
;
; The unfused graph lowered by stock mlir-opt is the reference;
; qk-norm-pipeline target=cpu (loops) and target=cuda (runtime calls, linked
; with the host runtime) must match it within the tolerance of compare_bits.py
; for the dtype; the v columns must be bit-identical. Static T = 5, and a
; dynamic T (5 at run time).
; REQUIRES: qk-runtime

; RUN: %python %S/gen_qk_block.py --model %{model} --dtype %{dtype} --tokens 5 > %t.5.mlir
; RUN: mlir-opt %t.5.mlir %upstream_cpu_lowering | %mlir_run > %t.5.ref
; RUN: qk-opt %t.5.mlir --qk-norm-pipeline=target=cpu | %mlir_run > %t.5.cpu
; RUN: qk-opt %t.5.mlir --qk-norm-pipeline=target=cuda | %mlir_run_host_runtime > %t.5.call
; RUN: %python %S/compare_bits.py --dtype %{dtype} --exact-from %{v_offset} %t.5.ref %t.5.cpu %t.5.call | FileCheck %s --check-prefix=SAME
; RUN: qk-opt %t.5.mlir --qk-norm-pipeline="target=cuda lower-to-llvm=false" | FileCheck %s --check-prefix=CALL -DDTYPE=%{dtype}

; RUN: %python %S/gen_qk_block.py --model %{model} --dtype %{dtype} --tokens dynamic > %t.dynamic.mlir
; RUN: mlir-opt %t.dynamic.mlir %upstream_cpu_lowering | %mlir_run > %t.dynamic.ref
; RUN: qk-opt %t.dynamic.mlir --qk-norm-pipeline=target=cpu | %mlir_run > %t.dynamic.cpu
; RUN: qk-opt %t.dynamic.mlir --qk-norm-pipeline=target=cuda | %mlir_run_host_runtime > %t.dynamic.call
; RUN: %python %S/compare_bits.py --dtype %{dtype} --exact-from %{v_offset} %t.dynamic.ref %t.dynamic.cpu %t.dynamic.call | FileCheck %s --check-prefix=SAME
; RUN: qk-opt %t.dynamic.mlir --qk-norm-pipeline="target=cuda lower-to-llvm=false" | FileCheck %s --check-prefix=CALL -DDTYPE=%{dtype}

; SAME: OK {{.*}}.cpu: {{.*}} bit-identical
; SAME: OK {{.*}}.call: {{.*}} bit-identical

; One runtime call for q and k, and no copy of the strided q/k slices before it
; (the copies after it are the stand-in attention reading q, k, v).
; CALL-LABEL: func.func @qk_block(
; CALL-NOT: memref.copy
; CALL: call @qk_fused_rms_norm_[[DTYPE]](
; CALL-LABEL: func.func @main(
