//===- HostRuntimeTest.cpp - CPU test of libqk_runtime_host ---------------===//
//
// Runs the case matrix of TestSupport.h (every feature x dtype x head dim x
// token count, fresh data per case, poisoned outputs, untouched elements
// checked bitwise) and every invalid-argument path against the host
// reference runtime. Exit status 0 iff everything passed. Tolerances: see
// TestSupport.h. Usage: qk-runtime-host-test [-q]   (-q: print failures only)
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include <cstdlib>
#include <cstring>

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
  int invalid = qktest::runInvalidArgumentTests(be);
  std::printf("host runtime: %d of %d cases failed, %d invalid-argument "
              "checks failed\n",
              failures, total, invalid);
  return failures || invalid ? 1 : 0;
}
