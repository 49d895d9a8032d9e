// Near misses that are not exactly an RMSNorm are never raised, and each
// reports why as a missed remark.
// RUN: qk-opt %inputs/rmsnorm/negative.mlir --qk-raise-rms-norm | FileCheck %s
// RUN: qk-opt %inputs/rmsnorm/negative.mlir --qk-raise-rms-norm --remarks-filter='^qk-raise-rms-norm$' --remark-format=emitRemark -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// CHECK-NOT: qk.rms_norm
// CHECK-LABEL: func.func @not_rms_norm_divisor_127(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_eps_outside_rsqrt(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_reduce_dim0(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_reduce_dim0_reduction_loop_last(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_mean_of_x(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_missing_rsqrt(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_sqrt_instead_of_rsqrt(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_mean_in_bf16(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_reduction_init_one(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_weight_per_row(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_divide_by_dynamic_row_count(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_scales_other_tensor(
// CHECK-NOT: qk.rms_norm
// CHECK: return
// CHECK-LABEL: func.func @not_rms_norm_layernorm_mean_subtracted(
// CHECK-NOT: qk.rms_norm
// CHECK: return

// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the mean divides by 127.00 instead of the row size 128"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: epsilon is added after the rsqrt (x * (rsqrt(mean(x^2)) + eps)), not inside it"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: a reduction result is read per element (the reduction does not keep one value per row of the last dimension)"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the row sum is not a sum of squares"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the input is not multiplied by rsqrt(mean(x^2) + eps)"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the sum of squares is not accumulated in f32"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the reduction init is not zero"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: a per-row value is not computed by a reduction"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: a value from outside the generic is not a constant"
// REMARK-DAG: remark: [Missed] NotRaised | Category:qk-raise-rms-norm | Remark="not raised to qk.rms_norm: the sum of squares and the scaled value read different inputs"
// REMARK-NOT: [Passed]
