// The remarks carry their figures as structured arguments: MLIR's YAML
// remark output (--remark-format=yaml) lists them under `Args` next to the
// message (`Remark`), so that tools (python/qk/remarks.py) read the figures
// instead of the message text.

// One raise + fuse run on torch-mlir's Qwen3-Next (q heads 32 wide, 64 apart).
// RUN: qk-opt %inputs/torch-mlir/qwen3_next-bf16-static.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm --remarks-filter='qk-.*' --remark-format=yaml --remarks-output-file=%t.next.yaml -o /dev/null
// RUN: FileCheck %s --check-prefix=NEXT --input-file=%t.next.yaml
// NEXT:      --- !Passed
// NEXT-NEXT: Pass: qk-raise-rms-norm
// NEXT-NEXT: Name: Raised
// NEXT:      Args:
// NEXT-NEXT:   - Remark: 'raised RMSNorm to qk.rms_norm: rows of 32 bf16, epsilon 1.000000e-06, weight (1.000000e+00 + w), rounding once'
// NEXT-NEXT:   - row_size: '32'
// NEXT-NEXT:   - element_type: bf16
// NEXT-NEXT:   - epsilon: '1.000000e-06'
// NEXT-NEXT:   - weight: 'true'
// NEXT-NEXT:   - weight_offset: '1.000000e+00'
// NEXT-NEXT:   - rounding: once
// NEXT-NEXT: ...
// NEXT:      --- !Analysis
// NEXT-NEXT: Pass: 'qk-summary:qk-raise-rms-norm'
// NEXT-NEXT: Name: Summary
// NEXT:      Args:
// NEXT-NEXT:   - Remark: '2 RMSNorm(s) raised, 0 candidate(s) rejected'
// NEXT-NEXT:   - raised: '2'
// NEXT-NEXT:   - rejected: '0'
// NEXT-NEXT: ...
// The fused op's location fuses the norms' locations, which the YAML's
// DebugLoc cannot hold ('<unknown file>'): the `loc` argument names it.
// NEXT:      --- !Passed
// NEXT-NEXT: Pass: qk-fuse-strided-qk-norm
// NEXT-NEXT: Name: Fused
// NEXT-NEXT: DebugLoc: { File: '<unknown file>', Line: 0, Column: 0 }
// NEXT:      Args:
// NEXT-NEXT:   - Remark: 'fused QK RMSNorm: 4 q + 2 k heads, head_dim 32; q heads 64 apart, in place'
// NEXT-NEXT:   - norms: '2'
// NEXT-NEXT:   - groups: '6'
// NEXT-NEXT:   - columns: '192'
// NEXT-NEXT:   - ranges: '2'
// NEXT-NEXT:   - group_size: '32'
// NEXT-NEXT:   - full_width: 'false'
// NEXT-NEXT:   - q_groups: '4'
// NEXT-NEXT:   - q_group_size: '32'
// NEXT-NEXT:   - q_columns: '128'
// NEXT-NEXT:   - q_group_stride: '64'
// NEXT-NEXT:   - k_groups: '2'
// NEXT-NEXT:   - k_group_size: '32'
// NEXT-NEXT:   - k_columns: '64'
// NEXT-NEXT:   - bufferization: in_place
// NEXT-NEXT:   - copies_before: '0'
// NEXT-NEXT:   - copies_after: '0'
// NEXT-NEXT:   - loc: '{{.*}}qwen3_next-bf16-static.mlir:{{[0-9]+}}:{{[0-9]+}}'
// NEXT-NEXT: ...
// NEXT:      --- !Analysis
// NEXT-NEXT: Pass: 'qk-summary:qk-fuse-strided-qk-norm'
// NEXT-NEXT: Name: Summary
// NEXT:      Args:
// NEXT-NEXT:   - Remark: '1 site(s) fused (2 norms), 0 rejected, 0 with a copy kept'
// NEXT-NEXT:   - sites_fused: '1'
// NEXT-NEXT:   - norms_fused: '2'
// NEXT-NEXT:   - rejected: '0'
// NEXT-NEXT:   - copies_kept: '0'
// NEXT-NEXT: ...

// A rejected candidate: the reason as a code, and its figures.
// RUN: qk-opt %inputs/rmsnorm/negative.mlir --qk-raise-rms-norm --remarks-filter='qk-.*' --remark-format=yaml --remarks-output-file=%t.neg.yaml -o /dev/null
// RUN: FileCheck %s --check-prefix=NEG --input-file=%t.neg.yaml
// NEG:      Name: NotRaised
// NEG:        - Remark: 'not raised to qk.rms_norm: a value is subtracted from the input before it is normalised (x - mean(x): a LayerNorm, not an RMSNorm)'
// NEG-NEXT:   - reason: mean-subtracted
// NEG:        - reason: not-sum-of-squares
// NEG:      Name: NotRaised
// NEG:        - Remark: 'not raised to qk.rms_norm: the mean divides by 127.00 instead of the row size 128'
// NEG-NEXT:   - reason: wrong-divisor
// NEG-NEXT:   - divisor: '1.270000e+02'
// NEG-NEXT:   - row_size: '128'
// NEG:      Name: Summary
// NEG:        - raised: '0'
// NEG-NEXT:   - rejected: '13'

// Call-site locations (torch-mlir's debug locations: the norm's line, called
// from a module's forward): the shown location and the callers as arguments.
// RUN: qk-opt %s --qk-fuse-strided-qk-norm --remarks-filter='qk-.*' --remark-format=yaml --remarks-output-file=%t.loc.yaml -o /dev/null
// RUN: FileCheck %s --check-prefix=LOC --input-file=%t.loc.yaml
// LOC:      --- !Missed
// LOC-NEXT: Pass: qk-fuse-strided-qk-norm
// LOC-NEXT: Name: NotFused
// LOC-NEXT: DebugLoc: { File: '<unknown file>', Line: 0, Column: 0 }
// LOC:      Args:
// LOC-NEXT:   - Remark: 'not fused: the slice of qkv has a non-unit stride'
// LOC-NEXT:   - reason: non-unit-stride
// LOC-NEXT:   - loc: 'model.py:12:3'
// LOC-NEXT:   - called_from_1: 'block.py:30:7'
// LOC-NEXT:   - called_from_2: 'outer.py:40:5'
// LOC-NEXT: ...
// LOC:      --- !Passed
// LOC-NEXT: Pass: qk-fuse-strided-qk-norm
// LOC-NEXT: Name: Fused
// LOC:        - Remark: 'fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed'
// LOC:        - loc: 'model.py:20:9'
// LOC-NEXT:   - called_from_1: 'outer.py:41:5'
// LOC-NEXT: ...
// LOC:      Name: Summary
// LOC:        - sites_fused: '1'
// LOC-NEXT:   - norms_fused: '2'
// LOC-NEXT:   - rejected: '1'
// LOC-NEXT:   - copies_kept: '0'

func.func @strided(%qkv: tensor<8x128xf32>) -> tensor<8x32xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 32] [1, 2] : tensor<8x128xf32> to tensor<8x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  %n = qk.rms_norm ins(%q : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32> loc(callsite("model.py":12:3 at callsite("block.py":30:7 at "outer.py":40:5)))
  return %n : tensor<8x32xf32>
}

func.func @fused(%qkv: tensor<8x128xbf16>) -> (tensor<8x4x16xbf16>, tensor<8x2x16xbf16>) {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 1] : tensor<8x128xbf16> to tensor<8x64xbf16>
  %k = tensor.extract_slice %qkv[0, 64] [8, 32] [1, 1] : tensor<8x128xbf16> to tensor<8x32xbf16>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xbf16> into tensor<8x4x16xbf16>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<8x4x16xbf16> into tensor<32x16xbf16>
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [8, 2, 16] : tensor<8x32xbf16> into tensor<8x2x16xbf16>
  %k2 = tensor.collapse_shape %k3 [[0, 1], [2]] : tensor<8x2x16xbf16> into tensor<16x16xbf16>
  %eq = tensor.empty() : tensor<32x16xbf16>
  %qn = qk.rms_norm ins(%q2 : tensor<32x16xbf16>) outs(%eq : tensor<32x16xbf16>) epsilon(1.0e-06) -> tensor<32x16xbf16> loc(callsite("model.py":20:9 at "outer.py":41:5))
  %ek = tensor.empty() : tensor<16x16xbf16>
  %kn = qk.rms_norm ins(%k2 : tensor<16x16xbf16>) outs(%ek : tensor<16x16xbf16>) epsilon(1.0e-06) -> tensor<16x16xbf16> loc(callsite("model.py":20:9 at "outer.py":42:5))
  %qo = tensor.expand_shape %qn [[0, 1], [2]] output_shape [8, 4, 16] : tensor<32x16xbf16> into tensor<8x4x16xbf16>
  %ko = tensor.expand_shape %kn [[0, 1], [2]] output_shape [8, 2, 16] : tensor<16x16xbf16> into tensor<8x2x16xbf16>
  return %qo, %ko : tensor<8x4x16xbf16>, tensor<8x2x16xbf16>
}
