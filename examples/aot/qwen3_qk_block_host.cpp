//===- qwen3_qk_block_host.cpp - A C++ host of an AOT-compiled QK block ---===//
//
// Calls the QK-norm part of a Qwen3 attention block compiled ahead of time:
//
//   gen_qk_block.py --model qwen3 --dtype bf16 --tokens dynamic --no-main
//     | qk-opt --qk-norm-pipeline=target=cuda          (runtime calls)
//     | mlir-translate --mlir-to-llvmir | llc -filetype=obj
//
// linked with a runtime of the C ABI (libqk_runtime_host.so here: host
// memory; libqk_runtime_cuda.so for device buffers) and MLIR's
// libmlir_c_runner_utils.so (memrefCopy, used by the stand-in consumer).
//
// The compiled function is `qk_block(qkv[T, 6144], wq[128], wk[128]) ->
// out[T, 6144]`: it normalises q (32 heads) and k (8 heads) of qkv IN PLACE
// with one runtime call and returns what the consumer read (q | k | v).
// This host checks the result against its own float64 reference of the
// Hugging Face Qwen3 RMSNorm (round x_hat to bf16, multiply by the bf16
// weight, round again): every q/k element within one bf16 ulp, v bit for
// bit, and qkv's own q/k columns overwritten in place.
// Exit status 0 iff all checks pass.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

// The C entry point convert-func-to-llvm emits for a public function with
// llvm.emit_c_interface: the result descriptor first, then one pointer per
// memref argument.
extern "C" void _mlir_ciface_qk_block(qk_memref_2d_t *result,
                                      qk_memref_2d_t *qkv,
                                      qk_memref_1d_t *wq, qk_memref_1d_t *wk);

namespace {

constexpr int64_t kTokens = 7, kHeadsQ = 32, kHeadsK = 8, kHeadDim = 128;
constexpr int64_t kCols = (kHeadsQ + 2 * kHeadsK) * kHeadDim; // q | k | v
constexpr double kEps = 1e-6;

float bf16ToFloat(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t doubleToBf16(double d) { // round to nearest even, via exact steps
  float f = float(d);               // d is a product/quotient of bf16 values
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
double value(int64_t i, double seed) { // never zero, both signs
  double s = std::sin(0.731 * double(i) + seed);
  return s + std::copysign(0.25, s);
}

} // namespace

int main() {
  std::vector<uint16_t> qkv(kTokens * kCols), wq(kHeadDim), wk(kHeadDim);
  for (size_t i = 0; i < qkv.size(); ++i)
    qkv[i] = doubleToBf16(value(int64_t(i), 0.0));
  for (int64_t i = 0; i < kHeadDim; ++i) {
    wq[i] = doubleToBf16(value(i, 0.5));
    wk[i] = doubleToBf16(value(i, 1.3));
  }
  const std::vector<uint16_t> original = qkv;

  qk_memref_2d_t qkvDesc{qkv.data(), qkv.data(), 0, {kTokens, kCols},
                         {kCols, 1}};
  qk_memref_1d_t wqDesc{wq.data(), wq.data(), 0, {kHeadDim}, {1}};
  qk_memref_1d_t wkDesc{wk.data(), wk.data(), 0, {kHeadDim}, {1}};
  qk_memref_2d_t out{};
  _mlir_ciface_qk_block(&out, &qkvDesc, &wqDesc, &wkDesc);
  if (out.sizes[0] != kTokens || out.sizes[1] != kCols) {
    std::printf("FAIL: result has shape [%lld, %lld]\n",
                (long long)out.sizes[0], (long long)out.sizes[1]);
    return 1;
  }
  auto result = [&](int64_t t, int64_t c) {
    return static_cast<const uint16_t *>(out.aligned)[out.offset +
                                                      t * out.strides[0] +
                                                      c * out.strides[1]];
  };

  int64_t bad = 0, checked = 0, exact = 0;
  for (int64_t t = 0; t < kTokens; ++t) {
    for (int64_t g = 0; g < kHeadsQ + kHeadsK; ++g) {
      const std::vector<uint16_t> &w = g < kHeadsQ ? wq : wk;
      const uint16_t *x = &original[t * kCols + g * kHeadDim];
      double ms = 0;
      for (int64_t i = 0; i < kHeadDim; ++i)
        ms += double(bf16ToFloat(x[i])) * bf16ToFloat(x[i]);
      double r = 1.0 / std::sqrt(ms / kHeadDim + kEps);
      for (int64_t i = 0; i < kHeadDim; ++i) {
        double n = bf16ToFloat(doubleToBf16(bf16ToFloat(x[i]) * r));
        double ref = bf16ToFloat(doubleToBf16(n * bf16ToFloat(w[i])));
        int64_t c = g * kHeadDim + i;
        double got = bf16ToFloat(result(t, c));
        // One bf16 ulp of the reference (2^-7 relative at the low end).
        bool ok = std::fabs(got - ref) <= std::ldexp(std::fabs(ref), -7);
        bad += !ok;
        exact += got == ref;
        ++checked;
        // In place: qkv's own q/k columns hold the normalised values.
        bad += qkv[t * kCols + c] != result(t, c);
      }
    }
    for (int64_t c = (kHeadsQ + kHeadsK) * kHeadDim; c < kCols; ++c)
      bad += result(t, c) != original[t * kCols + c] ||
             qkv[t * kCols + c] != original[t * kCols + c];
  }
  std::free(out.allocated);
  std::printf("%s: %lld q/k values within 1 bf16 ulp of the float64 reference "
              "(%lld exact), v unchanged, q/k normalised in place; %lld "
              "mismatches\n",
              bad ? "FAIL" : "PASS", (long long)checked, (long long)exact,
              (long long)bad);
  return bad ? 1 : 0;
}
