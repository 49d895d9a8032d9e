//===- MemRefABITest.cpp - Entry points of compiled MLIR, on the host -----===//
//
// The `_mlir_ciface_qk_fused_rms_norm_*` wrappers (runtime/common/
// MemRefABI.cpp) as compiled code calls them: descriptors with offsets and
// strides. Checks that (1) a valid call equals the plain qk_fused_rms_norm
// call it stands for, bit for bit, with the descriptor offset applied, and
// (2) every descriptor the ABI forbids is rejected with INVALID_ARGUMENT, a
// message naming the problem, and the buffer, with guard regions around
// it, bitwise untouched. Each rejected call runs in a child process, so a
// call that writes out of bounds and crashes fails its own check only.
// Usage: qk-runtime-memref-abi-test   (exit 0 iff every check passes)
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;

bool check(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  failures += !ok;
  return ok;
}

// A [T, 64] f32 buffer with 8 padding columns per row (row stride 72) and
// 5 leading elements before the view (descriptor offset 5), inside guard
// regions (qktest::GuardedBuffer).
constexpr int64_t kTokens = 3, kCols = 64, kStride = 72, kOffset = 5;
constexpr int64_t kElems = kOffset + kTokens * kStride;

struct Buffer : qktest::GuardedBuffer {
  Buffer() : GuardedBuffer(kElems * sizeof(float)) {
    for (int64_t i = 0; i < kElems; ++i) {
      float v = 0.25f + float((i * 37) % 101) / 50.0f * ((i % 3) ? 1.f : -1.f);
      std::memcpy(payload() + i * sizeof(float), &v, sizeof v);
    }
    seal();
  }
  float *data() { return reinterpret_cast<float *>(payload()); }
};

qk_memref_2d_t view(Buffer &b) {
  return qk_memref_2d_t{
      b.data(), b.data(), kOffset, {kTokens, kCols}, {kStride, 1}};
}

// q: 2 groups of 16 at column 0 with a weight; k: 1 group of 16 at 32.
struct Call {
  qk_memref_2d_t in, out;
  qk_memref_1d_t w0, w1;
  bool nullWeight0 = false; // pass a NULL weight_0 descriptor
  bool bf16 = false;        // the bf16 entry point on the same bytes
  int64_t col0 = 0, groups0 = 2, size0 = 16, stride0 = 16;
  int64_t col1 = 32, groups1 = 1, size1 = 16, stride1 = 16;
};

int32_t invoke(const Call &c) {
  auto *entry = c.bf16 ? _mlir_ciface_qk_fused_rms_norm_bf16_r2
                       : _mlir_ciface_qk_fused_rms_norm_f32_r2;
  return entry(&c.in, &c.out, c.nullWeight0 ? nullptr : &c.w0, c.col0,
               c.groups0, c.size0, c.stride0, 1e-6f, 0.f, QK_ROUNDING_ONCE,
               &c.w1, c.col1, c.groups1, c.size1, c.stride1, 1e-6f, 0.f,
               QK_ROUNDING_ONCE, nullptr);
}

// An address near the top of the address space, aligned for any element:
// no object lives there, so a pointer computed from it that wrapped around
// to a low address would be dereferenced by an unchecked runtime.
void *nearTop(uintptr_t below) {
  return reinterpret_cast<void *>(~uintptr_t(0) - below + 1);
}

constexpr int64_t kI64Max = INT64_MAX;
constexpr int64_t k2Pow(int n) { return int64_t(1) << n; }

} // namespace

int main() {
  // The weight lives in a guarded buffer too: reading before or after it
  // reads poison (a NaN pattern), never another object.
  qktest::GuardedBuffer weightBuf(16 * sizeof(float));
  float *weight = reinterpret_cast<float *>(weightBuf.payload());
  for (int i = 0; i < 16; ++i)
    weight[i] = 0.5f + 0.0625f * float(i);
  weightBuf.seal();
  qk_memref_1d_t w{weight, weight, 0, {16}, {1}};
  qk_memref_1d_t noWeight{nullptr, nullptr, 0, {0}, {1}};

  // (1) The wrapper is qk_fused_rms_norm on (aligned + offset, strides[0]).
  {
    Buffer a, b;
    Call c{view(a), view(a), w, noWeight};
    int32_t s = invoke(c);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE}};
    int32_t t = qk_fused_rms_norm(QK_DTYPE_F32, b.data() + kOffset, kStride,
                                  b.data() + kOffset, kStride, kTokens, ranges,
                                  2, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK && a.bytes == b.bytes,
          "descriptor call equals the plain call (offset 5, row stride 72)");
    check(!a.untouched(), "the call wrote the ranges");
  }

  // (2) Rejected descriptors: status, message, nothing written. The second
  // group lists what an unchecked or wrapping computation let through.
  struct Bad {
    const char *name, *message;
    void (*mutate)(Call &);
  };
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
       "range 0: num_groups must be >= 1", [](Call &c) { c.groups0 = 0; }},

      // The column check must not be skipped for large strides or counts.
      {"T=1, one group past the columns, group_stride 2^41",
       "range 1: columns [56, 72) exceed the 64 columns",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.col1 = 56;
         c.stride1 = k2Pow(41);
       }},
      {"T=1, two groups 2^41 columns apart",
       "range 1: columns [32, 2199023255600) exceed the 64 columns",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.groups1 = 2;
         c.stride1 = k2Pow(41);
       }},
      {"2^32 + 1 groups of one column",
       "range 1: columns [32, 4294967329) exceed the 64 columns",
       [](Call &c) {
         c.groups1 = k2Pow(32) + 1;
         c.size1 = c.stride1 = 1;
       }},
      {"(num_groups - 1) * group_stride overflows",
       "range 1: column extent overflows int64",
       [](Call &c) {
         c.groups1 = 3;
         c.stride1 = k2Pow(62);
       }},

      // Descriptor offsets: the byte offset and the address are checked.
      {"offset 2^63-1 (bytes wrap to one element before aligned)",
       "in offset 9223372036854775807 overflows the address space",
       [](Call &c) { c.in.offset = c.out.offset = kI64Max; }},
      {"offset 2^62 (f32 bytes wrap to aligned itself)",
       "in offset 4611686018427387904 overflows the address space",
       [](Call &c) { c.in.offset = c.out.offset = k2Pow(62); }},
      {"offset 2^62, bf16 (bytes wrap to aligned - 2^63)",
       "in offset 4611686018427387904 overflows the address space",
       [](Call &c) {
         c.bf16 = true;
         c.w0 = c.w1; // no weights: the f32 weight is not bf16
         c.in.offset = c.out.offset = k2Pow(62);
       }},
      {"out offset alone overflows",
       "out offset 9223372036854775807 overflows the address space",
       [](Call &c) { c.out.offset = kI64Max; }},
      {"aligned + offset wraps around the address space",
       "in offset 32 overflows the address space",
       [](Call &c) {
         c.in.aligned = c.out.aligned = nearTop(64);
         c.in.offset = c.out.offset = 32; // 128 bytes: wraps to 0x40
       }},
      {"T=0 with an overflowing offset",
       "in offset 9223372036854775807 overflows the address space",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 0;
         c.in.offset = c.out.offset = kI64Max;
       }},
      {"a view of 2^61 f32 columns (its bytes overflow)",
       "in view [1, 2305843009213693952] (token stride 72, offset 5) "
       "overflows the address space",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.in.sizes[1] = c.out.sizes[1] = k2Pow(61);
       }},

      // Weight descriptors: NULL, negative and overflowing offsets.
      {"NULL weight descriptor", "range 0: weight descriptor is NULL",
       [](Call &c) { c.nullWeight0 = true; }},
      {"weight offset -1 (reads before the weight)",
       "range 0: weight offset -1 is negative",
       [](Call &c) { c.w0.offset = -1; }},
      {"weight offset -1 on a zero-size (no weight) view",
       "range 1: weight offset -1 is negative",
       [](Call &c) { c.w1.offset = -1; }},
      {"weight size -1", "range 0: weight size -1 is negative",
       [](Call &c) { c.w0.sizes[0] = -1; }},
      {"weight offset 2^62 (bytes wrap to aligned)",
       "range 0: weight offset 4611686018427387904 overflows the address space",
       [](Call &c) { c.w0.offset = k2Pow(62); }},
      {"weight offset 2^63-1 (bytes wrap to one element before aligned)",
       "range 0: weight offset 9223372036854775807 overflows the address "
       "space",
       [](Call &c) { c.w0.offset = kI64Max; }},
      {"weight aligned + offset wraps around the address space",
       "range 0: weight offset 32 overflows the address space",
       [](Call &c) {
         c.w0.aligned = nearTop(64);
         c.w0.offset = 32; // 128 bytes: wraps to 0x40
       }},
      {"weight's 16 elements wrap around the address space",
       "range 0: weight 0xfffffffffffffff0 + 16 elements wraps around",
       [](Call &c) { c.w0.aligned = nearTop(16); }},
  };
  for (const Bad &b : bad) {
    std::string what = std::string("rejects ") + b.name;
    failures += !qktest::runIsolated(what, [&] {
      Buffer buf;
      Call c{view(buf), view(buf), w, noWeight};
      b.mutate(c);
      int32_t s = invoke(c);
      std::string msg = qk_last_error_message();
      bool ok = s == QK_STATUS_INVALID_ARGUMENT &&
                msg.find(b.message) != std::string::npos && buf.untouched() &&
                weightBuf.untouched();
      std::printf("%s %s -> status %d, \"%s\"%s\n", ok ? "PASS" : "FAIL",
                  what.c_str(), int(s), msg.c_str(),
                  buf.untouched() ? "" : " [BUFFER CHANGED]");
      return ok;
    });
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
