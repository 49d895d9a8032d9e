// RUN: qk-opt %s --split-input-file --verify-diagnostics

func.func @odd_rotary_dim(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   // expected-error @+1 {{rotary_dim must be even and at least 2, got 63}}
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 63, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @rotary_dim_beyond_head(%qkv: tensor<?x256xbf16>, %t: tensor<64x128xbf16>) -> tensor<?x256xbf16> {
  %r = qk.fused_qk_norm tables(%t : tensor<64x128xbf16>) outs(%qkv : tensor<?x256xbf16>)
         // expected-error @+1 {{head_dim 64 must divide group_size 64 and hold rotary_dim 128}}
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 128, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @head_dim_not_dividing_group(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         // expected-error @+1 {{head_dim 48 must divide group_size 128}}
         ranges [#qk.range<column_offset = 0, num_groups = 1, group_size = 128, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 32, head_dim = 48, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @two_rotations(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         // expected-error @+1 {{a range has at most one #qk.rope step, got 2}}
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>, #qk.rms<epsilon = 1.0e-06>,
                   #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @no_norm(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         // expected-error @+1 {{a range needs exactly one #qk.rms step, got 0}}
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @missing_table(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{range #0 reads table #1 but the op has 1 table(s)}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 1>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @columns_outside_table(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{range #0 reads columns [40, 72) of table #0 of 64 columns}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0, sin_column = 40>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @table_dtype(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{table #0 must be 2-D of the element type 'bf16' or f32, got 'tensor<64x64xf16>'}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @positions_dtype(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>, %p: tensor<?xi16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{positions must be 1-D of i32 or i64, got 'tensor<?xi16>'}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) positions(%p : tensor<?xi16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @positions_count(%qkv: tensor<8x256xbf16>, %t: tensor<64x64xbf16>, %p: tensor<7xi64>) -> tensor<8x256xbf16> {
  // expected-error @+1 {{positions has 7 entries for 8 tokens}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) positions(%p : tensor<7xi64>) outs(%qkv : tensor<8x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<8x256xbf16>
  return %r : tensor<8x256xbf16>
}

// -----

func.func @ranges_rotate_differently(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{range #1 rotates differently from an earlier range}}
  %r = qk.fused_qk_norm tables(%t : tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>,
                 #qk.range<column_offset = 128, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = gptj, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @unused_table(%qkv: tensor<?x256xbf16>, %t: tensor<64x64xbf16>, %u: tensor<64x64xbf16>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{table #1 is not read by any range}}
  %r = qk.fused_qk_norm tables(%t, %u : tensor<64x64xbf16>, tensor<64x64xbf16>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0>]>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @positions_without_rope(%qkv: tensor<?x256xbf16>, %p: tensor<?xi64>) -> tensor<?x256xbf16> {
  // expected-error @+1 {{has positions but no #qk.rope step}}
  %r = qk.fused_qk_norm positions(%p : tensor<?xi64>) outs(%qkv : tensor<?x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, epsilon = 1.0e-06>]
         -> tensor<?x256xbf16>
  return %r : tensor<?x256xbf16>
}

// -----

func.func @table_rows_per_token(%qkv: tensor<8x256xbf16>, %t: tensor<4x64xbf16>) -> tensor<8x256xbf16> {
  // expected-error @+1 {{table #0 has 4 rows for 8 tokens and the op has no positions}}
  %r = qk.fused_qk_norm tables(%t : tensor<4x64xbf16>) outs(%qkv : tensor<8x256xbf16>)
         ranges [#qk.range<column_offset = 0, num_groups = 2, group_size = 64, steps = [
                   #qk.rms<epsilon = 1.0e-06>, #qk.rope<style = neox, rotary_dim = 64, cos = 0, sin = 0, sin_column = 32>]>]
         -> tensor<8x256xbf16>
  return %r : tensor<8x256xbf16>
}
