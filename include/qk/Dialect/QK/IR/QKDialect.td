//===- QKDialect.td - The qk dialect -----------------------*- tablegen -*-===//
//
// The `qk` dialect: RMSNorm as one op, and the strided in-place fused QK-norm
// that replaces reshape -> contiguous -> RMSNorm on slices of a fused qkv
// projection.
//
//===----------------------------------------------------------------------===//

#ifndef QK_DIALECT_QK_IR_QKDIALECT_TD
#define QK_DIALECT_QK_IR_QKDIALECT_TD

include "mlir/IR/OpBase.td"

def QK_Dialect : Dialect {
  let name = "qk";
  let cppNamespace = "::mlir::qk";
  let summary = "RMSNorm and strided in-place fused QK RMSNorm";
  let description = [{
    Attention blocks of modern LLMs normalise the query and key heads with an
    RMSNorm (QK norm). Serving engines compute q, k and v with one fused
    projection, so q and k are strided column slices of one `[T, C]` qkv
    buffer; reshaping such a slice to `[T * H, D]` is not expressible as a
    view and costs a copy before the norm writes yet another buffer.

    The dialect has two ops:

    * `qk.rms_norm` is one RMSNorm over the last dimension, with the rounding
      order of the graph it came from. Frontends emit it directly, or
      `qk-raise-rms-norm` recovers it from decomposed linalg.
    * `qk.fused_qk_norm` normalises several column ranges (the q heads, the k
      heads) of the whole qkv buffer in place. Its init is the qkv buffer, so
      one-shot bufferization writes the result into the buffer that the
      projection produced: no copy, one kernel launch.

    Both ops are destination-style, bufferize like `linalg.softmax`, and
    decompose into upstream linalg.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

class QK_Op<string mnemonic, list<Trait> traits = []>
    : Op<QK_Dialect, mnemonic, traits>;

#endif // QK_DIALECT_QK_IR_QKDIALECT_TD
