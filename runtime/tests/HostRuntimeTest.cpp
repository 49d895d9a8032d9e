//===- HostRuntimeTest.cpp - CPU test of libqk_runtime_host ---------------===//
//
// Runs the case matrix of TestSupport.h (every feature x dtype x head dim x
// token count, fresh data per case, poisoned outputs, untouched elements
// checked bitwise) and every invalid-argument path against the host
// reference runtime. Exit status 0 iff everything passed. Tolerances: see
// TestSupport.h. Usage: qk-runtime-host-test [-q]   (-q: print failures only)
//
//===----------------------------------------------------------------------===//

#include "RopeTestSupport.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct HostBackend final : qktest::Backend {
  const char *name() const override { return "host"; }
  void *alloc(size_t bytes) override {
    return std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  }
  void release(void *p) override { std::free(p); }
  bool upload(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return true;
  }
  bool download(void *dst, const void *src, size_t bytes) override {
    std::memcpy(dst, src, bytes);
    return true;
  }
  qk_status_t call(qk_dtype_t dtype, const void *in, int64_t inStride,
                   void *out, int64_t outStride, int64_t numTokens,
                   const qk_norm_range_t *ranges, int32_t numRanges) override {
    return qk_fused_rms_norm(dtype, in, inStride, out, outStride, numTokens,
                             ranges, numRanges, nullptr);
  }
};

struct HostRopeBackend final : qktest::RopeBackend {
  HostBackend host;
  qktest::Backend &base() override { return host; }
  qk_status_t callRope(qk_dtype_t dtype, const void *in, int64_t inStride,
                       void *out, int64_t outStride, int64_t numTokens,
                       const qk_norm_range_t *ranges, int32_t numRanges,
                       const qk_rope_t *rope, uint32_t rotated) override {
    return qk_fused_rms_norm_rope(dtype, in, inStride, out, outStride,
                                  numTokens, ranges, numRanges, rope, rotated,
                                  nullptr);
  }
};

// Sizes, offsets and addresses that overflow int64 or wrap around the
// address space: validateCall computes every one of them with checked
// arithmetic and rejects the call. Guarded buffers (poisoned guard regions
// around the activation and the weight) must stay bitwise untouched; each
// call runs in a child process, so a call that reads or writes a wrapped
// address fails its own check instead of ending the program.
int runOverflowTests() {
  constexpr int64_t D = 128, T = 2, W = 3 * D;
  constexpr int64_t k62 = int64_t(1) << 62;
  // Near the top of the address space, aligned for any element: nothing
  // lives there, so only a pointer that wrapped would be dereferenced.
  auto nearTop = [](uintptr_t below) {
    return reinterpret_cast<void *>(~uintptr_t(0) - below + 1);
  };
  struct Call {
    void *in, *out;
    int64_t inStride = W, outStride = W, tokens = T;
    qk_norm_range_t range;
  };
  struct Bad {
    const char *name, *message;
    void (*mutate)(Call &, void *(*)(uintptr_t));
  };
  const Bad bad[] = {
      {"weight's group wraps around the address space",
       "range 0: weight 0xfffffffffffffff0 + 128 elements wraps around",
       [](Call &c, void *(*top)(uintptr_t)) { c.range.weight = top(16); }},
      {"(num_groups - 1) * group_stride overflows",
       "range 0: column extent overflows int64",
       [](Call &c, void *(*)(uintptr_t)) {
         c.range.num_groups = 3;
         c.range.group_stride = k62;
       }},
      {"column_offset + (num_groups - 1) * group_stride overflows",
       "range 0: column extent overflows int64",
       [](Call &c, void *(*)(uintptr_t)) {
         c.range.column_offset = INT64_MAX - 100; // + 128 overflows
         c.range.num_groups = 2;
       }},
      {"(T - 1) * token stride overflows",
       "the addressed span of 3 tokens overflows",
       [](Call &c, void *(*)(uintptr_t)) {
         c.tokens = 3;
         c.inStride = c.outStride = k62;
       }},
      {"the span's bytes overflow ((T-1)*stride fits)",
       "the addressed span of 2 tokens overflows",
       [](Call &c, void *(*)(uintptr_t)) {
         c.inStride = c.outStride = k62; // (2^62 + 128) * 2 bytes
       }},
      {"in + span wraps around the address space",
       "the addressed span of 1 tokens overflows",
       [](Call &c, void *(*top)(uintptr_t)) {
         c.tokens = 1;
         c.in = c.out = top(128); // 128 bytes below 2^64, 256 addressed
       }},
  };
  int failures = 0;
  for (const Bad &b : bad) {
    std::string what = std::string("overflow: rejects ") + b.name;
    failures += !qktest::runIsolated(what, [&] {
      qktest::GuardedBuffer act(size_t(T * W * 2)), weight(size_t(D * 2));
      for (int64_t i = 0; i < T * W; ++i) { // bf16 in [1, 2)
        uint16_t v = uint16_t(0x3f80u | (qktest::mix(uint64_t(i)) & 0x7fu));
        std::memcpy(act.payload() + 2 * i, &v, 2);
      }
      for (int64_t i = 0; i < D; ++i) {
        uint16_t v = uint16_t(0x3f80u | (qktest::mix(uint64_t(i) + 7) & 0x7fu));
        std::memcpy(weight.payload() + 2 * i, &v, 2);
      }
      act.seal();
      weight.seal();
      Call c{act.payload(), act.payload()};
      c.range = qk_norm_range_t{0,
                                1,
                                D,
                                D,
                                weight.payload(),
                                QK_DTYPE_BF16,
                                1e-6f,
                                0.f,
                                QK_ROUNDING_ONCE};
      b.mutate(c, +nearTop);
      qk_status_t st =
          qk_fused_rms_norm(QK_DTYPE_BF16, c.in, c.inStride, c.out, c.outStride,
                            c.tokens, &c.range, 1, nullptr);
      std::string msg = qk_last_error_message();
      bool same = act.untouched() && weight.untouched();
      bool ok = st == QK_STATUS_INVALID_ARGUMENT &&
                msg.find(b.message) != std::string::npos && same;
      std::printf("%s %s -> status %d, \"%s\"%s\n", ok ? "PASS" : "FAIL",
                  what.c_str(), int(st), msg.c_str(),
                  same ? "" : " [BUFFER CHANGED]");
      return ok;
    });
  }
  return failures;
}

} // namespace

int main(int argc, char **argv) {
  const bool quiet = argc > 1 && std::strcmp(argv[1], "-q") == 0;
  if (std::strcmp(qk_runtime_name(), "host") != 0) {
    std::printf("FAIL qk_runtime_name() is \"%s\"\n", qk_runtime_name());
    return 1;
  }
  qktest::MatrixOptions o;
  o.tokens = {0, 1, 5};
  o.headDims = {64, 80, 96, 128, 192, 256, 512};
  o.fullWidths = {1024, 4096, 16384};
  o.wideTokens = {1, 3};
  o.modelTokens = {2, 17};
  HostBackend be;
  int failures = 0, total = 0;
  for (const qktest::Case &c : qktest::buildCases(o)) {
    ++total;
    failures += !qktest::runCase(c, be, !quiet);
  }
  int invalid = qktest::runInvalidArgumentTests(be) + runOverflowTests();
  // Norm + RoPE: every style x rounding x order x per_pair x dtype over the
  // model shapes (table dtype, positions dtype and table layout cycling),
  // T in {0, 1, 3}.
  HostRopeBackend rb;
  int ropeFailures = 0, ropeTotal = 0;
  for (const qktest::RopeCase &c : qktest::buildRopeCases(false, {0, 1, 3})) {
    ++ropeTotal;
    ropeFailures += !qktest::runRopeCase(c, rb, !quiet);
  }
  int ropeInvalid = qktest::runRopeInvalidTests(rb, true);
  std::printf("host runtime: %d of %d cases failed, %d invalid-argument "
              "checks failed; rope: %d of %d cases failed, %d rope "
              "invalid-argument checks failed\n",
              failures, total, invalid, ropeFailures, ropeTotal, ropeInvalid);
  return failures || invalid || ropeFailures || ropeInvalid ? 1 : 0;
}
