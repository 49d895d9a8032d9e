// RUN: qk-opt %s --split-input-file --qk-decompose | FileCheck %s

// --qk-decompose of a qk.fused_qk_norm with a #qk.rope step (the CPU path):
// the step becomes one elementwise linalg.generic over the [T, G, D] view of
// a range that reads its partner element and the cos/sin table entries with
// tensor.extract (the row is positions[t], or t without positions), in the
// order of the steps: norm then rotation, or rotation then norm. per_op
// rounds each product and the sum to the element type (truncf/extf pairs);
// once computes in f32 and rounds the sum only.

// Norm, then NeoX over the whole head, cos|sin cache by i64 positions, per_op.
// CHECK-LABEL: func.func @norm_then_rope_per_op(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<?x128xbf16>, %[[W:[^:]*]]: tensor<16xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<?xi64>)
// CHECK-NOT: qk.fused_qk_norm
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [%{{.*}}, 4, 16] : tensor<?x64xbf16> into tensor<?x4x16xbf16>
// The norm reads the view.
// CHECK: %[[NORM:.*]] = linalg.generic {{.*}} ins(%[[VIEW]], %{{.*}}, %[[W]] :
// CHECK: math.rsqrt
// The rotation reads the norm's result: element j at its head and partner.
// CHECK: %[[ROT:.*]] = linalg.generic {{.*}} ins(%[[NORM]] : tensor<?x4x16xbf16>)
// CHECK: %[[T:.*]] = linalg.index 0 : index
// CHECK: %[[P:.*]] = tensor.extract %[[POS]][%[[T]]] : tensor<?xi64>
// CHECK: %[[ROW:.*]] = arith.index_cast %[[P]] : i64 to index
// CHECK: %[[C:.*]] = tensor.extract %[[CACHE]][%[[ROW]], %{{.*}}] : tensor<32x16xbf16>
// CHECK: %[[CF:.*]] = arith.extf %[[C]] : bf16 to f32
// CHECK: %[[S:.*]] = tensor.extract %[[CACHE]][%[[ROW]], %{{.*}}] : tensor<32x16xbf16>
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : bf16 to f32
// CHECK: %[[PARTNER:.*]] = tensor.extract %[[NORM]][%[[T]], %{{.*}}, %{{.*}}] : tensor<?x4x16xbf16>
// CHECK: arith.negf
// CHECK: %[[PS:.*]] = arith.mulf %{{.*}}, %[[SF]] : f32
// CHECK-NEXT: %[[PSR:.*]] = arith.truncf %[[PS]] : f32 to bf16
// CHECK-NEXT: %[[PSE:.*]] = arith.extf %[[PSR]] : bf16 to f32
// CHECK-NEXT: %[[XC:.*]] = arith.mulf %{{.*}}, %[[CF]] : f32
// CHECK-NEXT: %[[XCR:.*]] = arith.truncf %[[XC]] : f32 to bf16
// CHECK-NEXT: %[[XCE:.*]] = arith.extf %[[XCR]] : bf16 to f32
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[XCE]], %[[PSE]] : f32
// CHECK-NEXT: arith.truncf %[[SUM]] : f32 to bf16
// CHECK: -> tensor<?x4x16xbf16>
// CHECK: %[[BACK:.*]] = tensor.collapse_shape %[[ROT]]
// CHECK: %[[R:.*]] = tensor.insert_slice %[[BACK]] into %[[QKV]][0, 0] [%{{.*}}, 64] [1, 1]
// CHECK: return %[[R]]
func.func @norm_then_rope_per_op(%qkv: tensor<?x128xbf16>, %wq: tensor<16xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<?xi64>) -> tensor<?x128xbf16> {
  %f = qk.fused_qk_norm ins(%wq : tensor<16xbf16>) tables(%cache : tensor<32x16xbf16>) positions(%pos : tensor<?xi64>) outs(%qkv : tensor<?x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 1.0e-06, weight = 0, rounding = before_weight>, #qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>]>] -> tensor<?x128xbf16>
  return %f : tensor<?x128xbf16>
}

// -----

// Norm, then GPT-J over the first 8 of 16 elements, per-token f32 cos and
// sin (no positions: the row is the token), one column per element, once:
// f32 products and sum, one truncf; the other 8 elements pass through.
// CHECK-LABEL: func.func @norm_then_rope_once(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[W:[^:]*]]: tensor<16xbf16>, %[[COS:[^:]*]]: tensor<8x8xf32>, %[[SIN:[^:]*]]: tensor<8x8xf32>)
// CHECK: %[[NORM:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[W]] :
// CHECK: %[[ROT:.*]] = linalg.generic {{.*}} ins(%[[NORM]] : tensor<8x4x16xbf16>)
// CHECK-NEXT: ^bb0(%[[IN:.*]]: bf16, %{{.*}}: bf16):
// CHECK: %[[T:.*]] = linalg.index 0 : index
// CHECK-NOT: tensor.extract %{{.*}} : tensor<{{.*}}xi
// CHECK: %[[C:.*]] = tensor.extract %[[COS]][%[[T]], %{{.*}}] : tensor<8x8xf32>
// CHECK: %[[S:.*]] = tensor.extract %[[SIN]][%[[T]], %{{.*}}] : tensor<8x8xf32>
// CHECK: %[[X:.*]] = arith.extf %[[IN]] : bf16 to f32
// CHECK: tensor.extract %[[NORM]][%[[T]], %{{.*}}, %{{.*}}] : tensor<8x4x16xbf16>
// CHECK: %[[PS:.*]] = arith.mulf %{{.*}}, %[[S]] : f32
// CHECK-NEXT: %[[XC:.*]] = arith.mulf %[[X]], %[[C]] : f32
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[XC]], %[[PS]] : f32
// CHECK-NEXT: %[[RND:.*]] = arith.truncf %[[SUM]] : f32 to bf16
// CHECK-NEXT: %[[OUT:.*]] = arith.select %{{.*}}, %[[RND]], %[[IN]] : bf16
// CHECK-NEXT: linalg.yield %[[OUT]] : bf16
// CHECK: tensor.collapse_shape %[[ROT]]
func.func @norm_then_rope_once(%qkv: tensor<8x128xbf16>, %wq: tensor<16xbf16>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> tensor<8x128xbf16> {
  %f = qk.fused_qk_norm ins(%wq : tensor<16xbf16>) tables(%cos, %sin : tensor<8x8xf32>, tensor<8x8xf32>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 4, group_size = 16, steps = [#qk.rms<epsilon = 1.0e-06, weight = 0>, #qk.rope<style = gptj, rotary_dim = 8, cos = 0, sin = 1, per_pair = false>]>] -> tensor<8x128xbf16>
  return %f : tensor<8x128xbf16>
}

// -----

// Rotation, then norm (Llama4: RoPE before a weight-less norm), i32
// positions: the rotation reads the qkv view, the norm reads the rotation.
// CHECK-LABEL: func.func @rope_then_norm(
// CHECK-SAME: %[[QKV:[^:]*]]: tensor<8x128xbf16>, %[[CACHE:[^:]*]]: tensor<32x16xbf16>, %[[POS:[^:]*]]: tensor<8xi32>)
// CHECK: %[[VIEW:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2]] output_shape [8, 6, 16]
// CHECK-NOT: math.rsqrt
// CHECK: %[[ROT:.*]] = linalg.generic {{.*}} ins(%[[VIEW]] : tensor<8x6x16xbf16>)
// CHECK: %[[P:.*]] = tensor.extract %[[POS]][%{{.*}}] : tensor<8xi32>
// CHECK: arith.index_cast %[[P]] : i32 to index
// CHECK: tensor.extract %[[CACHE]]
// CHECK: tensor.extract %[[CACHE]]
// CHECK: tensor.extract %[[VIEW]]
// CHECK: -> tensor<8x6x16xbf16>
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} ins(%[[ROT]] : tensor<8x6x16xbf16>)
// CHECK: %[[NORM:.*]] = linalg.generic {{.*}} ins(%[[ROT]], %[[SQ]] :
// CHECK: math.rsqrt
// CHECK: tensor.collapse_shape %[[NORM]]
func.func @rope_then_norm(%qkv: tensor<8x128xbf16>, %cache: tensor<32x16xbf16>, %pos: tensor<8xi32>) -> tensor<8x128xbf16> {
  %f = qk.fused_qk_norm tables(%cache : tensor<32x16xbf16>) positions(%pos : tensor<8xi32>) outs(%qkv : tensor<8x128xbf16>) ranges [#qk.range<column_offset = 0, num_groups = 6, group_size = 16, steps = [#qk.rope<style = neox, rotary_dim = 16, cos = 0, sin = 0, sin_column = 8, rounding = per_op>, #qk.rms<epsilon = 1.0e-05>]>] -> tensor<8x128xbf16>
  return %f : tensor<8x128xbf16>
}
