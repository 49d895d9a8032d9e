// Raising decomposed RMSNorm (torch-mlir forms: one generic per step, and
// after --linalg-fuse-elementwise-ops) to qk.rms_norm. Each function of the
// inputs becomes exactly one qk.rms_norm with the graph's epsilon, weight,
// weight offset and rounding order, and no linalg op survives.
// RUN: qk-opt %inputs/rmsnorm/positive.mlir --qk-raise-rms-norm | FileCheck %s
// RUN: qk-opt %inputs/rmsnorm/positive-fused.mlir --qk-raise-rms-norm | FileCheck %s
// The raised IR decomposes back into linalg that verifies.
// RUN: qk-opt %inputs/rmsnorm/positive.mlir --qk-raise-rms-norm --qk-decompose | FileCheck %s --check-prefix=DECOMPOSED

// CHECK-LABEL: func.func @torch_aten_rms_norm_bf16_keepdim_const0(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_bf16_keepdim_dropped(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_bf16_weight_extf_generic(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @hf_rms_norm_bf16_powf_round_before_weight(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @hf_rms_norm_bf16_fpowi_round_before_weight(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @hf_rms_norm_bf16_mulf_round_before_weight(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) {rounding = #qk.rounding<before_weight>} -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @gemma3_rms_norm_bf16_one_plus_w(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) {weight_offset = 1.000000e+00 : f32} -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @llama4_l2_norm_bf16_no_weight(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999974E-6) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_f32_static_64x128(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<64x128xf32>) weight(%{{.*}} : tensor<128xf32>) outs(%{{.*}} : tensor<64x128xf32>) epsilon(9.99999997E-7) -> tensor<64x128xf32>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_f32_dynamic(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xf32>) weight(%{{.*}} : tensor<128xf32>) outs(%{{.*}} : tensor<?x128xf32>) epsilon(9.99999997E-7) -> tensor<?x128xf32>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_f16_static_64x128(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<64x128xf16>) weight(%{{.*}} : tensor<128xf16>) outs(%{{.*}} : tensor<64x128xf16>) epsilon(9.99999997E-7) -> tensor<64x128xf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_bf16_3d_keepdim_const0(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x8x128xbf16>) weight(%{{.*}} : tensor<128xbf16>) outs(%{{.*}} : tensor<?x8x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x8x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// CHECK-LABEL: func.func @torch_aten_rms_norm_bf16_act_f32_weight(
// CHECK-NOT: linalg
// CHECK: qk.rms_norm ins(%{{.*}} : tensor<?x128xbf16>) weight(%{{.*}} : tensor<128xf32>) outs(%{{.*}} : tensor<?x128xbf16>) epsilon(9.99999997E-7) -> tensor<?x128xbf16>
// CHECK-NOT: linalg
// CHECK: return

// DECOMPOSED-LABEL: func.func @torch_aten_rms_norm_bf16_keepdim_const0(
// DECOMPOSED: linalg.fill
// DECOMPOSED: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// DECOMPOSED: math.rsqrt
// DECOMPOSED-NOT: qk.
