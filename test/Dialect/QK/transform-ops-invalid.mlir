// RUN: qk-opt %s -split-input-file -verify-diagnostics

// A pattern descriptor only selects patterns: written directly in a sequence
// it would apply nothing (and the interpreter would crash on it), so it must
// sit inside transform.apply_patterns.
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    // expected-error @+1 {{'transform.apply_patterns.qk.raise_rms_norm' op expects parent op 'transform.apply_patterns'}}
    transform.apply_patterns.qk.raise_rms_norm
    transform.yield
  }
}

// -----

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    // expected-error @+1 {{'transform.apply_patterns.qk.fuse_strided_qk_norm' op expects parent op 'transform.apply_patterns'}}
    transform.apply_patterns.qk.fuse_strided_qk_norm
    transform.yield
  }
}
