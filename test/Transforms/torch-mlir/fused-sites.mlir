// What the fuse pass makes of torch-mlir's output (fixtures in
// test/Inputs/torch-mlir, regenerate with generate.py there): one fused op
// per block with the graph's epsilon, weights and rounding; the producer's
// reshape chains (tensor.reshape with a runtime shape for dynamic T) of the
// norm results are gone; after bufferization no copy touches q or k.

// vLLM Qwen3, bf16, dynamic T: x_hat rounded before the bf16 weight multiply.
// RUN: qk-opt %inputs/torch-mlir/qwen3-bf16-dynamic.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=QWEN3
// QWEN3-LABEL: func.func @qwen3_bf16_dynamic(
// QWEN3: qk.fused_qk_norm ins(%{{.*}}, %{{.*}} : tensor<32xbf16>, tensor<32xbf16>) outs(%{{.*}} : tensor<?x256xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 32, epsilon = 9.99999997E-7, weight = 0, rounding = before_weight>, #qk.range<column_offset = 128, num_groups = 2, group_size = 32, epsilon = 9.99999997E-7, weight = 1, rounding = before_weight>]
// QWEN3-NOT: qk.rms_norm
// QWEN3-NOT: tensor.reshape {{.*}}bf16
// QWEN3: return

// vLLM Qwen3-Next, bf16: q heads are 32 wide and 64 apart (between the gate
// heads): one strided range; the gate is re-read from the fused result.
// RUN: qk-opt %inputs/torch-mlir/qwen3_next-bf16-static.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm | FileCheck %s --check-prefix=NEXT
// NEXT-LABEL: func.func @qwen3_next_bf16_static(
// NEXT: %[[F:.*]] = qk.fused_qk_norm {{.*}} ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 32, epsilon = 9.99999997E-7, weight = 0, weight_offset = 1.000000e+00, group_stride = 64>, #qk.range<column_offset = 256, num_groups = 2, group_size = 32, epsilon = 9.99999997E-7, weight = 1, weight_offset = 1.000000e+00>]
// NEXT-NOT: qk.rms_norm
// NEXT: tensor.extract_slice %[[F]][0, 0] [8, 256]
// NEXT: return

// Bufferized: the norm inputs and results are views; the copies that remain
// are RoPE's rotate_half cat and the attention's, the same as unfused.
// RUN: qk-opt %inputs/torch-mlir/qwen3-bf16-dynamic.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --one-shot-bufferize=bufferize-function-boundaries | FileCheck %s --check-prefix=BUF
// BUF-LABEL: func.func @qwen3_bf16_dynamic(
// BUF: qk.fused_qk_norm
// BUF-SAME: outs(%{{.*}} : memref<?x256xbf16>)
// BUF-NOT: memref.copy %{{.*}} : memref<?x128xbf16, strided
// BUF: return

// Remarks: one passed remark per block; the nn.RMSNorm that computes in bf16
// is left alone with the reason.
// RUN: qk-opt %inputs/torch-mlir/qwen3_torch_rmsnorm-bf16-dynamic.mlir --qk-raise-rms-norm --remarks-filter='^qk-raise-rms-norm$' --remark-format=emitRemark -o /dev/null 2>&1 | FileCheck %s --check-prefix=NEG
// NEG-COUNT-2: not raised to qk.rms_norm: the sum of squares is not accumulated in f32
// RUN: qk-opt %inputs/torch-mlir/gemma3-bf16-dynamic.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --remarks-filter='^qk-fuse-strided-qk-norm$' --remark-format=emitRemark -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// REMARK: fused QK RMSNorm: 4 q + 2 k heads, head_dim 32, in place
