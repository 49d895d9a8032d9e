// RUN: qk-opt %s --qk-lower-to-kernel-call -split-input-file -verify-diagnostics

// The lowering runs after bufferization.
func.func @still_on_tensors(%qkv: tensor<?x256xf32>) -> tensor<?x256xf32> {
  // expected-error @below {{qk-lower-to-kernel-call runs after bufferization: this op still works on tensors}}
  %0 = qk.fused_qk_norm outs(%qkv : tensor<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>] -> tensor<?x256xf32>
  return %0 : tensor<?x256xf32>
}

// -----

// The stream argument must be a pointer (a cudaStream_t).
func.func @stream_not_a_pointer(%qkv: memref<?x256xf32>, %s: i64 {qk.stream}) {
  // expected-error @below {{the {qk.stream} argument #1 must be !llvm.ptr, got 'i64'}}
  qk.fused_qk_norm outs(%qkv : memref<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>]
  return
}

// -----

// A user symbol with the entry point's name but another type is not
// silently reused.
func.func private @qk_fused_rms_norm_f32(memref<?x?xf32>) -> i32

func.func @entry_point_name_taken(%qkv: memref<?x256xf32>) {
  // expected-error @below {{runtime entry point @qk_fused_rms_norm_f32 is already declared with type}}
  qk.fused_qk_norm outs(%qkv : memref<?x256xf32>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>]
  return
}

// -----

// A group of two heads over a [T, H, D] buffer whose heads are 96 apart
// (padded) is not one contiguous run: no call can express it.
func.func @multi_head_group_padded_heads(%qkv: memref<?x4x64xf32, strided<[384, 96, 1]>>) {
  // expected-error @below {{cannot lower to a runtime call: a group of 2 heads needs packed heads (head stride 64), the qkv buffer has head stride 96}}
  qk.fused_qk_norm outs(%qkv : memref<?x4x64xf32, strided<[384, 96, 1]>>) ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, epsilon = 1.0e-06>]
  return
}

// -----

// Rank 4 whose leading dimensions are not one run of tokens.
func.func @rank4_not_collapsible(%x: memref<2x3x4x64xf32, strided<[2000, 256, 64, 1]>>, %y: memref<2x3x4x64xf32>) {
  // expected-error @below {{cannot lower to a runtime call: the leading dimensions of 'memref<2x3x4x64xf32, strided<[2000, 256, 64, 1]>>' cannot be viewed as one token dimension}}
  qk.rms_norm ins(%x : memref<2x3x4x64xf32, strided<[2000, 256, 64, 1]>>) outs(%y : memref<2x3x4x64xf32>) epsilon(1.0e-06)
  return
}

// -----

// The runtime takes one table dtype and shape for cos and sin (ABI v3).
func.func @rope_tables_of_two_types(%qkv: memref<?x256xbf16>, %c: memref<64x64xf32>, %s: memref<64x64xbf16>) {
  // expected-error @below {{cannot lower to a runtime call: the cos and sin tables have different types (the runtime takes one table dtype and shape)}}
  qk.fused_qk_norm tables(%c, %s : memref<64x64xf32>, memref<64x64xbf16>) outs(%qkv : memref<?x256xbf16>)
    ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
              #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 1>]>]
  return
}

// -----

// A rope entry point declared with another signature is an error, not a
// silent mismatch.
func.func private @qk_fused_rms_norm_rope_bf16(memref<?x?xbf16, strided<[?, ?], offset: ?>>)
func.func @rope_entry_point_redeclared(%qkv: memref<?x256xbf16>, %t: memref<64x64xbf16>) {
  // expected-error @below {{runtime entry point @qk_fused_rms_norm_rope_bf16 is already declared with type}}
  qk.fused_qk_norm tables(%t : memref<64x64xbf16>) outs(%qkv : memref<?x256xbf16>)
    ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
              #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0, sin_column = 32>]>]
  return
}
