//===- MemRefABITest.cpp - Entry points of compiled MLIR, on the host -----===//
//
// The `_mlir_ciface_qk_fused_rms_norm_*` wrappers (runtime/common/
// MemRefABI.cpp) as compiled code calls them: descriptors with offsets and
// strides. Checks that (1) a valid call equals the plain qk_fused_rms_norm
// call it stands for, bit for bit, with the descriptor offset applied, and
// (2) every descriptor the ABI forbids is rejected with INVALID_ARGUMENT, a
// message naming the problem, and the buffer bitwise untouched.
// Usage: qk-runtime-memref-abi-test   (exit 0 iff every check passes)
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  failures += !ok;
}

// A [T, 64] f32 buffer with 8 padding columns per row (row stride 72) and
// 5 leading elements before the view (descriptor offset 5).
constexpr int64_t kTokens = 3, kCols = 64, kStride = 72, kOffset = 5;

std::vector<float> makeBuffer() {
  std::vector<float> b(kOffset + kTokens * kStride);
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = 0.25f + float((i * 37) % 101) / 50.0f * ((i % 3) ? 1.f : -1.f);
  return b;
}

qk_memref_2d_t view(std::vector<float> &b) {
  return qk_memref_2d_t{b.data(), b.data(), kOffset, {kTokens, kCols},
                        {kStride, 1}};
}

// q: 2 groups of 16 at column 0 with a weight; k: 1 group of 16 at 32.
struct Call {
  qk_memref_2d_t in, out;
  qk_memref_1d_t w0, w1;
  int64_t col1 = 32;
  int64_t groups0 = 2;
};

int32_t invoke(const Call &c) {
  return _mlir_ciface_qk_fused_rms_norm_f32_r2(
      &c.in, &c.out, &c.w0, 0, c.groups0, 16, 16, 1e-6f, 0.f,
      QK_ROUNDING_ONCE, &c.w1, c.col1, 1, 16, 16, 1e-6f, 0.f,
      QK_ROUNDING_ONCE, nullptr);
}

} // namespace

int main() {
  std::vector<float> weight(16), none;
  for (int i = 0; i < 16; ++i)
    weight[i] = 0.5f + 0.0625f * float(i);
  qk_memref_1d_t w{weight.data(), weight.data(), 0, {16}, {1}};
  qk_memref_1d_t noWeight{nullptr, nullptr, 0, {0}, {1}};

  // (1) The wrapper is qk_fused_rms_norm on (aligned + offset, strides[0]).
  {
    std::vector<float> a = makeBuffer(), b = makeBuffer();
    Call c{view(a), view(a), w, noWeight};
    int32_t s = invoke(c);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight.data(), QK_DTYPE_F32, 1e-6f, 0.f,
         QK_ROUNDING_ONCE},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE}};
    int32_t t = qk_fused_rms_norm(QK_DTYPE_F32, b.data() + kOffset, kStride,
                                  b.data() + kOffset, kStride, kTokens, ranges,
                                  2, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK &&
              std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0,
          "descriptor call equals the plain call (offset 5, row stride 72)");
    check(a != makeBuffer(), "the call wrote the ranges");
  }

  // (2) Rejected descriptors: status, message, nothing written.
  struct Bad {
    const char *name, *message;
    void (*mutate)(Call &);
  };
  static std::vector<float> shortWeight(8);
  const Bad bad[] = {
      {"column stride 2", "in column stride is 2, expected 1",
       [](Call &c) { c.in.strides[1] = c.out.strides[1] = 2; }},
      {"token counts differ", "in has 3 tokens but out has 2",
       [](Call &c) { c.out.sizes[0] = 2; }},
      {"range beyond the view's columns",
       "range 1: columns [60, 76) exceed the 64 columns",
       [](Call &c) { c.col1 = 60; }},
      {"weight size differs from the group",
       "range 0: weight has 8 elements, group_size is 16",
       [](Call &c) { c.w0.sizes[0] = 8; }},
      {"weight stride 2", "range 0: weight stride is 2, expected 1",
       [](Call &c) { c.w0.strides[0] = 2; }},
      {"null weight with a size", "range 0: weight is NULL",
       [](Call &c) { c.w0.aligned = nullptr; }},
      {"negative offset", "in offset -1 is negative",
       [](Call &c) { c.in.offset = -1; }},
      {"zero groups (checked by qk_fused_rms_norm)",
       "range 0: num_groups must be >= 1",
       [](Call &c) { c.groups0 = 0; }},
  };
  for (const Bad &b : bad) {
    std::vector<float> buf = makeBuffer();
    Call c{view(buf), view(buf), w, noWeight};
    b.mutate(c);
    int32_t s = invoke(c);
    std::string msg = qk_last_error_message();
    check(s == QK_STATUS_INVALID_ARGUMENT &&
              msg.find(b.message) != std::string::npos && buf == makeBuffer(),
          std::string("rejects ") + b.name + " (\"" + msg + "\")");
  }
  {
    check(_mlir_ciface_qk_fused_rms_norm_f32_r1(
              nullptr, nullptr, &noWeight, 0, 1, 16, 16, 1e-6f, 0.f,
              QK_ROUNDING_ONCE, nullptr) == QK_STATUS_INVALID_ARGUMENT &&
              std::string(qk_last_error_message()) == "in descriptor is NULL",
          "rejects a NULL descriptor");
  }
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
