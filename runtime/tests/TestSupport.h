//===- TestSupport.h - Checks shared by the host test and the GPU check ---===//
//
// Builds a test case (a strided activation buffer with ranges), runs one
// implementation of qk_fused_rms_norm on it through a Backend (host memory
// or device memory) and compares with an independent float64 reference
// written here, from the formulas of QKNormRuntime.h. Nothing here calls
// the runtime's own conversion code.
//
// Tolerances, per output element, against the float64 reference value v
// (for QK_ROUNDING_BEFORE_WEIGHT v includes the intermediate rounding of
// the normalised value, done here in float64 with round-to-nearest-even):
//   bf16, f16: every element within 1 ulp(v) (QK_ROUNDING_ONCE), or
//              within ulp(n)|w| + ulp(v) (QK_ROUNDING_BEFORE_WEIGHT, where
//              the fp32 n of the runtime may round to the other neighbour
//              of a near-tie: one ulp of n, scaled by w, which can be two
//              ulp of v when n*w drops into the binade below); and at most
//              0.5% + 2 of the elements may differ from v by more than
//              0.51 ulp (correct rounding, up to such near-ties; a wrong
//              rounding order or a wrong weight breaks far more);
//   f32:       |out - v| <= 2e-5 |v| + 1e-30 (fp32 accumulation over up to
//              16384 elements, rsqrt to 2 ulp).
// Elements outside the ranges must be bitwise unchanged (in place) or keep
// their poison (out of place), and out of place the input must be bitwise
// unchanged. NaN never passes.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_TESTS_TESTSUPPORT_H
#define QK_RUNTIME_TESTS_TESTSUPPORT_H

#include "qk/Runtime/QKNormRuntime.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#define QKTEST_HAVE_FORK 1
#endif

namespace qktest {

//===----------------------------------------------------------------------===//
// Number formats (independent of the runtime's conversions)
//===----------------------------------------------------------------------===//

// Size and name come from the one table of codes; the number formats below
// are the tests' own, independent of the runtime's conversions.
inline int64_t sizeOf(qk_dtype_t d) {
  switch (d) {
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, MLIR_TYPE, TORCH)                   \
  case QK_DTYPE_##NAME:                                                        \
    return BYTES;
#include "qk/Runtime/Codes.def"
  }
  return 0;
}
inline const char *nameOf(qk_dtype_t d) {
  switch (d) {
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, MLIR_TYPE, TORCH)                   \
  case QK_DTYPE_##NAME:                                                        \
    return #CNAME;
#include "qk/Runtime/Codes.def"
  }
  return "?";
}
// Significand bits (with the implicit one) and exponent of the smallest
// normal number.
inline int precisionOf(qk_dtype_t d) {
  return d == QK_DTYPE_F32 ? 24 : d == QK_DTYPE_F16 ? 11 : 8;
}
inline int minExpOf(qk_dtype_t d) { return d == QK_DTYPE_F16 ? -14 : -126; }

// Spacing of the dtype's numbers around v.
inline double ulpOf(qk_dtype_t d, double v) {
  int e = 0;
  std::frexp(v == 0.0 ? 1e-300 : v, &e); // v = m 2^e, 0.5 <= |m| < 1
  return std::ldexp(1.0, std::max(e, minExpOf(d) + 1) - precisionOf(d));
}

// Round to nearest even at the dtype's precision (no overflow in tests).
inline double roundTo(qk_dtype_t d, double v) {
  if (v == 0.0 || !std::isfinite(v))
    return v;
  double q = ulpOf(d, v);
  return std::nearbyint(v / q) * q;
}

// Bits of a value already representable in the dtype.
inline uint32_t encodeExact(qk_dtype_t d, double v) {
  float f = float(v);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (d == QK_DTYPE_F32)
    return u;
  if (d == QK_DTYPE_BF16)
    return u >> 16;
  // signbit, not v < 0: -0.0 (a rotation's products can cancel or
  // underflow to it) must keep its sign bit.
  uint32_t sign = std::signbit(v) ? 0x8000u : 0u;
  double a = std::fabs(v);
  if (a == 0.0)
    return sign;
  int e = 0;
  double m = std::frexp(a, &e); // a = m 2^e
  if (e - 1 < -14)              // subnormal: a = k 2^-24
    return sign | uint32_t(std::ldexp(a, 24));
  uint32_t mant = uint32_t(std::ldexp(m, 11)) & 0x3ffu;
  return sign | (uint32_t(e - 1 + 15) << 10) | mant;
}

inline double decode(qk_dtype_t d, uint32_t bits) {
  if (d == QK_DTYPE_F32) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  if (d == QK_DTYPE_BF16) {
    uint32_t u = bits << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  double sign = (bits & 0x8000u) ? -1.0 : 1.0;
  int e = int((bits >> 10) & 0x1fu);
  int m = int(bits & 0x3ffu);
  if (e == 31)
    return m ? NAN : sign * INFINITY;
  if (e == 0)
    return sign * std::ldexp(double(m), -24);
  return sign * std::ldexp(double(1024 + m), e - 25);
}

inline uint32_t getBits(qk_dtype_t d, const std::vector<uint8_t> &buf,
                        int64_t byteOffset, int64_t i) {
  const uint8_t *p = buf.data() + byteOffset + i * sizeOf(d);
  if (d == QK_DTYPE_F32) {
    uint32_t u;
    std::memcpy(&u, p, 4);
    return u;
  }
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}
inline void setBits(qk_dtype_t d, std::vector<uint8_t> &buf, int64_t byteOffset,
                    int64_t i, uint32_t bits) {
  uint8_t *p = buf.data() + byteOffset + i * sizeOf(d);
  if (d == QK_DTYPE_F32) {
    std::memcpy(p, &bits, 4);
  } else {
    uint16_t h = uint16_t(bits);
    std::memcpy(p, &h, 2);
  }
}
// A quiet NaN with a payload: an unwritten element can never pass.
inline uint32_t poisonBits(qk_dtype_t d) {
  return d == QK_DTYPE_F32 ? 0x7fc0dead : d == QK_DTYPE_F16 ? 0x7e55 : 0x7fd5;
}

//===----------------------------------------------------------------------===//
// Deterministic, non-repeating data
//===----------------------------------------------------------------------===//

inline uint64_t mix(uint64_t x) { // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
// Uniform in [-1, 1), a function of (seed, index) only.
inline double uniform(uint64_t seed, uint64_t i) {
  return double(mix(seed * 0x100000001b3ull ^ mix(i)) >> 11) * 0x1p-52 - 1.0;
}

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

enum class WeightKind { None, Act, F32 };

struct RangeSpec {
  int64_t columnOffset = 0;
  int64_t numGroups = 1;
  int64_t groupSize = 128;
  int64_t groupStride = 128;
  WeightKind weight = WeightKind::None;
  int shareWeightOf = -1; // use the weight buffer of an earlier range
  float epsilon = 1e-6f;
  float weightOffset = 0.0f;
  qk_rounding_t rounding = QK_ROUNDING_ONCE;
};

struct Case {
  std::string name;
  qk_dtype_t dtype = QK_DTYPE_BF16;
  int64_t numTokens = 1;
  int64_t inStride = 0; // elements
  int64_t outStride = 0;
  bool inPlace = true;
  int64_t inMisalign = 0; // elements past a 256-byte boundary
  int64_t outMisalign = 0;
  int64_t weightMisalign = 0;
  std::vector<RangeSpec> ranges;
  uint64_t seed = 1;
};

// Memory the implementation under test can address.
struct Backend {
  virtual ~Backend() = default;
  virtual const char *name() const = 0;
  // A buffer of at least `bytes`, aligned to 256 bytes; nullptr on failure.
  virtual void *alloc(size_t bytes) = 0;
  virtual void release(void *p) = 0;
  virtual bool upload(void *dst, const void *src, size_t bytes) = 0;
  virtual bool download(void *dst, const void *src, size_t bytes) = 0;
  // Calls qk_fused_rms_norm and waits for it to finish.
  virtual qk_status_t call(qk_dtype_t dtype, const void *in, int64_t inStride,
                           void *out, int64_t outStride, int64_t numTokens,
                           const qk_norm_range_t *ranges,
                           int32_t numRanges) = 0;
};

inline int64_t rowExtent(const Case &c) {
  int64_t e = 0;
  for (const RangeSpec &r : c.ranges)
    e = std::max(e, r.columnOffset + (r.numGroups - 1) * r.groupStride +
                        r.groupSize);
  return e;
}

// Elements one pointer addresses, with some slack after the last row so
// that writes past the end would show.
inline int64_t bufferElems(int64_t numTokens, int64_t stride, int64_t extent) {
  return (numTokens > 0 ? (numTokens - 1) * stride + extent : 0) + 96;
}

// The data of one case on both sides: host copies of what was uploaded,
// device (backend) buffers, the ABI ranges, and the geometry of the call.
struct CaseData {
  qk_dtype_t dtype = QK_DTYPE_BF16;
  int64_t es = 0; // bytes per element
  int64_t inStride = 0, outStride = 0;
  int64_t inOff = 0, outOff = 0; // bytes before element (0, 0)
  size_t inBytes = 0, outBytes = 0;
  std::vector<uint8_t> hin, hout;       // uploaded input; poisoned output
  std::vector<uint8_t> rin, rout;       // downloaded after the call
  std::vector<std::vector<uint8_t>> hw; // weights per range (shared: copied)
  std::vector<qk_dtype_t> wdt;
  std::vector<qk_norm_range_t> ranges;
  void *din = nullptr, *dout = nullptr;
  std::vector<void *> dw;
};

// Records the first failure of a case; later ones only clear `ok`.
struct CaseResult {
  bool ok = true;
  double worstUlp = 0.0; // 16-bit types
  double worstRel = 0.0; // f32, and the worst row ||out-ref||/||ref||
  int64_t offTies = 0;   // elements beyond 0.51 ulp
  int64_t checked = 0;   // normalised elements compared
  int64_t untouched = 0; // elements checked bitwise
  std::string firstError;

  template <class... A> void error(const char *fmt, A... args) {
    if (ok) {
      char buf[400];
      std::snprintf(buf, sizeof buf, fmt, args...);
      firstError = buf;
    }
    ok = false;
  }
};

// Input: every element random (the untouched ones too), each token row at
// its own scale so that eps and the accumulation see a wide range; the
// output of an out-of-place case poisoned.
inline void makeActivations(const Case &c, CaseData &cd) {
  static const double kScales[] = {0.03, 0.4, 1.0, 2.5, 9.0};
  const qk_dtype_t d = cd.dtype;
  cd.hin.assign(cd.inBytes, 0);
  const int64_t inTotal = int64_t(cd.inBytes) / cd.es;
  for (int64_t i = 0; i < inTotal; ++i) {
    int64_t t = cd.inStride
                    ? (i - c.inMisalign) / std::max<int64_t>(cd.inStride, 1)
                    : 0;
    double scale = kScales[mix(c.seed * 7 + uint64_t(t)) % 5];
    double v = roundTo(d, scale * 2.0 * uniform(c.seed, uint64_t(i)));
    setBits(d, cd.hin, 0, i, encodeExact(d, v));
  }
  if (!c.inPlace) {
    cd.hout.assign(cd.outBytes, 0);
    for (int64_t i = 0; i < int64_t(cd.outBytes) / cd.es; ++i)
      setBits(d, cd.hout, 0, i, poisonBits(d));
  }
}

// Weights (one buffer per range unless shared) and the ABI ranges; uploads
// every buffer. False if the backend failed.
inline bool uploadCase(const Case &c, Backend &be, CaseData &cd) {
  const qk_dtype_t d = cd.dtype;
  const size_t n = c.ranges.size();
  cd.hw.assign(n, {});
  cd.dw.assign(n, nullptr);
  cd.wdt.assign(n, d);
  cd.ranges.assign(n, qk_norm_range_t{});
  cd.din = be.alloc(cd.inBytes);
  cd.dout = c.inPlace ? cd.din : be.alloc(cd.outBytes);
  bool ok = cd.din && cd.dout && be.upload(cd.din, cd.hin.data(), cd.inBytes) &&
            (c.inPlace || be.upload(cd.dout, cd.hout.data(), cd.outBytes));
  for (size_t r = 0; ok && r < n; ++r) {
    const RangeSpec &s = c.ranges[r];
    qk_norm_range_t &q = cd.ranges[r];
    q.column_offset = s.columnOffset;
    q.num_groups = s.numGroups;
    q.group_size = s.groupSize;
    q.group_stride = s.groupStride;
    q.epsilon = s.epsilon;
    q.weight_offset = s.weightOffset;
    q.rounding = s.rounding;
    q.weight = nullptr;
    q.weight_dtype = d;
    if (s.shareWeightOf >= 0) {
      const size_t o = size_t(s.shareWeightOf);
      cd.hw[r] = cd.hw[o];
      cd.wdt[r] = cd.wdt[o];
      q.weight = cd.ranges[o].weight;
      q.weight_dtype = cd.wdt[r];
      continue;
    }
    if (s.weight == WeightKind::None)
      continue;
    cd.wdt[r] = s.weight == WeightKind::F32 ? QK_DTYPE_F32 : d;
    const int64_t wes = sizeOf(cd.wdt[r]);
    const int64_t woff = c.weightMisalign * wes;
    cd.hw[r].assign(size_t(woff + s.groupSize * wes), 0);
    for (int64_t i = 0; i < s.groupSize; ++i) {
      double u = uniform(c.seed * 31 + r + 1, uint64_t(i));
      // Gemma stores w - 1 (offset 1): small values; others near 1.
      double v = s.weightOffset != 0.0f ? 0.3 * u : 1.0 + 0.3 * u;
      setBits(cd.wdt[r], cd.hw[r], woff, i,
              encodeExact(cd.wdt[r], roundTo(cd.wdt[r], v)));
    }
    cd.dw[r] = be.alloc(cd.hw[r].size());
    ok = cd.dw[r] && be.upload(cd.dw[r], cd.hw[r].data(), cd.hw[r].size());
    q.weight = static_cast<uint8_t *>(cd.dw[r]) + woff;
    q.weight_dtype = cd.wdt[r];
  }
  return ok;
}

// The call under test, then the download of what it may have written.
inline void callAndDownload(const Case &c, Backend &be, CaseData &cd,
                            CaseResult &res) {
  const void *pin =
      c.numTokens ? static_cast<uint8_t *>(cd.din) + cd.inOff : nullptr;
  void *pout =
      c.numTokens ? static_cast<uint8_t *>(cd.dout) + cd.outOff : nullptr;
  if (c.inPlace)
    pout = const_cast<void *>(pin);
  qk_status_t st =
      be.call(cd.dtype, pin, cd.inStride, pout, cd.outStride, c.numTokens,
              cd.ranges.data(), int32_t(cd.ranges.size()));
  if (st != QK_STATUS_OK) {
    res.error("status %d: %s", int(st), qk_last_error_message());
    return;
  }
  cd.rin.resize(cd.inBytes);
  bool ok = be.download(cd.rin.data(), cd.din, cd.inBytes);
  if (!c.inPlace) {
    cd.rout.resize(cd.outBytes);
    ok = ok && be.download(cd.rout.data(), cd.dout, cd.outBytes);
  }
  if (!ok)
    res.error("download failed");
}

// Check 1: every normalised element against the float64 reference within
// the dtype's tolerance (file comment); marks the elements it compared in
// `covered`.
inline void checkGroupsAgainstReference(const Case &c, const CaseData &cd,
                                        std::vector<uint8_t> &covered,
                                        CaseResult &res) {
  const qk_dtype_t d = cd.dtype;
  const std::vector<uint8_t> &out = c.inPlace ? cd.rin : cd.rout;
  const int64_t resOff = c.inPlace ? cd.inOff : cd.outOff;
  const bool f32 = d == QK_DTYPE_F32;
  for (int64_t t = 0; t < c.numTokens; ++t)
    for (size_t r = 0; r < c.ranges.size(); ++r) {
      const RangeSpec &s = c.ranges[r];
      for (int64_t g = 0; g < s.numGroups; ++g) {
        const int64_t col = s.columnOffset + g * s.groupStride;
        const int64_t xi = c.inMisalign + t * cd.inStride + col;
        const int64_t yi = resOff / cd.es + t * cd.outStride + col;
        double ss = 0.0;
        for (int64_t i = 0; i < s.groupSize; ++i) {
          double x = decode(d, getBits(d, cd.hin, 0, xi + i));
          ss += x * x;
        }
        const double inv =
            1.0 / std::sqrt(ss / double(s.groupSize) + double(s.epsilon));
        double rowErr = 0.0, rowRef = 0.0;
        for (int64_t i = 0; i < s.groupSize; ++i) {
          double x = decode(d, getBits(d, cd.hin, 0, xi + i));
          double w = 1.0;
          if (!cd.hw[r].empty())
            w = double(s.weightOffset) +
                decode(cd.wdt[r],
                       getBits(cd.wdt[r], cd.hw[r],
                               c.weightMisalign * sizeOf(cd.wdt[r]), i));
          double n = x * inv;
          // The ulp(v) units the bound allows (see the file comment).
          double bound = 1.0;
          if (s.rounding == QK_ROUNDING_BEFORE_WEIGHT) {
            n = roundTo(d, n);
            bound = (ulpOf(d, n) * std::fabs(w) + ulpOf(d, n * w)) /
                    ulpOf(d, n * w);
          }
          const double ref = n * w;
          const double y = decode(d, getBits(d, out, 0, yi + i));
          covered[size_t(yi + i)] = 1;
          ++res.checked;
          const double err = std::fabs(y - ref);
          rowErr += err * err;
          rowRef += ref * ref;
          if (f32) {
            const double tol = 2e-5 * std::fabs(ref) + 1e-30;
            res.worstRel =
                std::max(res.worstRel, err / std::max(std::fabs(ref), 1e-30));
            if (!(err <= tol))
              res.error("t=%lld range %zu group %lld elem %lld: got %.9g "
                        "want %.9g",
                        (long long)t, r, (long long)g, (long long)i, y, ref);
          } else {
            const double ulps = err / ulpOf(d, ref);
            if (!(ulps <= bound))
              res.error("t=%lld range %zu group %lld elem %lld: got %.6g want "
                        "%.6g (%.2f ulp)",
                        (long long)t, r, (long long)g, (long long)i, y, ref,
                        ulps);
            if (ulps == ulps)
              res.worstUlp = std::max(res.worstUlp, ulps);
            if (!(ulps <= 0.51))
              ++res.offTies;
          }
        }
        if (rowRef > 0)
          res.worstRel =
              std::max(res.worstRel, std::sqrt(rowErr) / std::sqrt(rowRef));
      }
    }
}

// Check 2 (16-bit types): at most 0.5% (+2) of the elements may round
// differently from the reference: the fp32 statistics may land on the other
// side of a tie.
inline void checkCorrectlyRounded(const CaseData &cd, CaseResult &res) {
  if (cd.dtype != QK_DTYPE_F32 && res.offTies > res.checked / 200 + 2)
    res.error("%lld of %lld elements are not correctly rounded (allowed "
              "%lld)",
              (long long)res.offTies, (long long)res.checked,
              (long long)(res.checked / 200 + 2));
}

// Check 3: every element no range covers (v columns, padding, the slack
// after the last row) is bit-identical to what was there before the call.
inline void checkUntouched(const Case &c, const CaseData &cd,
                           const std::vector<uint8_t> &covered,
                           CaseResult &res) {
  const std::vector<uint8_t> &out = c.inPlace ? cd.rin : cd.rout;
  const std::vector<uint8_t> &before = c.inPlace ? cd.hin : cd.hout;
  const int64_t resOff = c.inPlace ? cd.inOff : cd.outOff;
  for (int64_t i = 0; i < int64_t(covered.size()); ++i)
    if (!covered[size_t(i)]) {
      ++res.untouched;
      if (getBits(cd.dtype, out, 0, i) != getBits(cd.dtype, before, 0, i)) {
        res.error("element %lld outside the ranges changed",
                  (long long)(i - resOff / cd.es));
        return;
      }
    }
}

// Check 4: out of place, the input is read only.
inline void checkInputUnchanged(const Case &c, const CaseData &cd,
                                CaseResult &res) {
  if (!c.inPlace && std::memcmp(cd.rin.data(), cd.hin.data(), cd.inBytes))
    res.error("out of place, but the input buffer changed");
}

inline void releaseCase(const Case &c, Backend &be, CaseData &cd) {
  be.release(cd.din);
  if (!c.inPlace)
    be.release(cd.dout);
  for (size_t r = 0; r < cd.dw.size(); ++r)
    if (cd.dw[r] && c.ranges[r].shareWeightOf < 0)
      be.release(cd.dw[r]);
}

inline void printCaseResult(const Case &c, const CaseResult &res) {
  if (c.dtype == QK_DTYPE_F32)
    std::printf("%s %-58s %-4s T=%-6lld checked=%-9lld untouched=%-9lld "
                "max_rel=%.2e\n",
                res.ok ? "PASS" : "FAIL", c.name.c_str(), nameOf(c.dtype),
                (long long)c.numTokens, (long long)res.checked,
                (long long)res.untouched, res.worstRel);
  else
    std::printf("%s %-58s %-4s T=%-6lld checked=%-9lld untouched=%-9lld "
                "max_ulp=%.2f off_ulp=%lld row_rel=%.2e\n",
                res.ok ? "PASS" : "FAIL", c.name.c_str(), nameOf(c.dtype),
                (long long)c.numTokens, (long long)res.checked,
                (long long)res.untouched, res.worstUlp, (long long)res.offTies,
                res.worstRel);
  if (!res.ok)
    std::printf("     %s\n", res.firstError.c_str());
}

// Runs one case: prepare and upload, call, then the four checks; prints a
// line; returns whether it passed.
inline bool runCase(const Case &c, Backend &be, bool verbose = true) {
  CaseData cd;
  cd.dtype = c.dtype;
  cd.es = sizeOf(c.dtype);
  const int64_t extent = rowExtent(c);
  cd.inStride = c.inStride ? c.inStride : extent;
  cd.outStride = c.inPlace ? cd.inStride : (c.outStride ? c.outStride : extent);
  cd.inOff = c.inMisalign * cd.es;
  cd.outOff = c.outMisalign * cd.es;
  cd.inBytes =
      size_t(cd.inOff + bufferElems(c.numTokens, cd.inStride, extent) * cd.es);
  cd.outBytes = size_t(cd.outOff +
                       bufferElems(c.numTokens, cd.outStride, extent) * cd.es);
  CaseResult res;
  makeActivations(c, cd);
  if (!uploadCase(c, be, cd))
    res.error("backend allocation or upload failed");
  if (res.ok)
    callAndDownload(c, be, cd, res);
  if (res.ok) {
    const std::vector<uint8_t> &out = c.inPlace ? cd.rin : cd.rout;
    std::vector<uint8_t> covered(out.size() / size_t(cd.es), 0);
    checkGroupsAgainstReference(c, cd, covered, res);
    checkCorrectlyRounded(cd, res);
    checkUntouched(c, cd, covered, res);
    checkInputUnchanged(c, cd, res);
  }
  releaseCase(c, be, cd);
  if (verbose || !res.ok)
    printCaseResult(c, res);
  return res.ok;
}

//===----------------------------------------------------------------------===//
// The case matrix
//===----------------------------------------------------------------------===//

struct MatrixOptions {
  std::vector<int64_t> tokens;      // for per-head features
  std::vector<int64_t> headDims;    // per-head group sizes
  std::vector<int64_t> fullWidths;  // full-width group sizes (OLMo2)
  std::vector<int64_t> wideTokens;  // token counts for full-width cases
  std::vector<int64_t> modelTokens; // token counts for the model layouts
};

// Qwen3 / Llama4 / Gemma layout: [q heads | k heads | v heads] + padding.
inline std::vector<RangeSpec> qkRanges(int64_t hq, int64_t hkv, int64_t dim,
                                       int64_t headStride) {
  RangeSpec q, k;
  q.numGroups = hq;
  q.groupSize = dim;
  q.groupStride = headStride;
  k = q;
  k.numGroups = hkv;
  k.columnOffset = hq * headStride;
  return {q, k};
}

inline std::vector<Case> buildCases(const MatrixOptions &o) {
  std::vector<Case> cases;
  uint64_t seed = 1000;
  const qk_dtype_t dtypes[] = {QK_DTYPE_BF16, QK_DTYPE_F16, QK_DTYPE_F32};
  auto add = [&](Case c) {
    c.seed = ++seed;
    cases.push_back(std::move(c));
  };
  auto tag = [](const char *f, long long a) {
    return std::string(f) + "=" + std::to_string(a);
  };

  for (qk_dtype_t d : dtypes) {
    // Every feature at every head dim, over the small token counts.
    for (int64_t dim : o.headDims)
      for (int64_t T : o.tokens) {
        const int64_t hq = 4, hkv = 2;
        const int64_t width = (hq + 2 * hkv) * dim;
        std::string sfx = " D=" + std::to_string(dim);
        // Llama4: one weight-less norm over q and k heads.
        Case c;
        c.dtype = d;
        c.numTokens = T;
        c.inStride = width + 8; // padding after v
        c.ranges = qkRanges(hq, hkv, dim, dim);
        c.ranges.resize(1);
        c.ranges[0].numGroups = hq + hkv;
        c.name = "no-weight" + sfx;
        add(c);
        // Shared weight for q and k, activation dtype, rounded once.
        c.ranges = qkRanges(hq, hkv, dim, dim);
        c.ranges[0].weight = WeightKind::Act;
        c.ranges[1].shareWeightOf = 0;
        c.name = "shared-weight" + sfx;
        add(c);
        // Qwen3 (HF): separate weights, round before the weight.
        c.ranges[1].shareWeightOf = -1;
        c.ranges[1].weight = WeightKind::Act;
        for (auto &r : c.ranges)
          r.rounding = QK_ROUNDING_BEFORE_WEIGHT;
        c.name = "qwen3-hf-round-before" + sfx;
        add(c);
        // Gemma: (1 + w), f32 weights, per-range eps, out of place.
        c.ranges = qkRanges(hq, hkv, dim, dim);
        for (auto &r : c.ranges) {
          r.weight = WeightKind::F32;
          r.weightOffset = 1.0f;
        }
        c.ranges[1].epsilon = 0.5f;
        c.inPlace = false;
        c.outStride = (hq + hkv) * dim + 16;
        c.name = "gemma-1+w-f32w-eps-out-of-place" + sfx;
        add(c);
        c.inPlace = true;
        // Interleaved heads (head stride > group size) and q/k weights of
        // the activation type, in place.
        c.ranges = qkRanges(hq, hkv, dim, dim + 32);
        c.ranges[0].weight = c.ranges[1].weight = WeightKind::Act;
        c.inStride = (hq + 2 * hkv) * (dim + 32) + 8;
        c.name = "head-stride>D" + sfx;
        add(c);
        // q and k heads interleaved with each other: q at even slots, k at
        // odd ones, separate f32 weights.
        c.ranges = qkRanges(hkv, hkv, dim, 2 * dim);
        c.ranges[1].columnOffset = dim;
        c.ranges[0].weight = c.ranges[1].weight = WeightKind::F32;
        c.inStride = 2 * hkv * dim + 2 * dim;
        c.name = "q/k interleaved" + sfx;
        add(c);
        // Unaligned: odd pointer offset and odd token stride (scalar path).
        c.ranges = qkRanges(hq, hkv, dim, dim);
        c.ranges[0].weight = c.ranges[1].weight = WeightKind::Act;
        c.ranges[0].rounding = QK_ROUNDING_BEFORE_WEIGHT;
        c.inStride = width + 3;
        c.inMisalign = 1;
        c.weightMisalign = 1;
        c.name = "unaligned ptr+stride" + sfx;
        add(c);
        c.inMisalign = c.weightMisalign = 0;
        // Out of place with an unaligned output only.
        c.inStride = width;
        c.inPlace = false;
        c.outStride = (hq + hkv) * dim + 1;
        c.outMisalign = 3;
        c.name = "out-of-place unaligned out" + sfx;
        add(c);
        c.outMisalign = 0;
        c.inPlace = true;
        // Shifted rows: an aligned buffer whose token stride is not a
        // multiple of 16 bytes (row width + 3: every row starts at another
        // offset), in place.
        c.ranges = qkRanges(hq, hkv, dim, dim);
        c.ranges[0].weight = c.ranges[1].weight = WeightKind::Act;
        c.inStride = width + 3;
        c.name = "shifted stride in place" + sfx;
        add(c);
        // Out of place, misaligned alike (same offset past 16 bytes, token
        // strides equal modulo a vector), f32 weights, (1 + w).
        c.inPlace = false;
        c.inMisalign = c.outMisalign = 5;
        c.outStride = width + 3 + 16;
        for (auto &r : c.ranges) {
          r.weight = WeightKind::F32;
          r.weightOffset = 1.0f;
        }
        c.name = "shifted out-of-place congruent" + sfx;
        add(c);
        c.inMisalign = c.outMisalign = 0;
        c.inPlace = true;
        // A group size that is no multiple of a vector, at an aligned stride
        // (shifted path: no lead, a tail on every row).
        c.ranges = qkRanges(hq, hkv, dim - 4, dim);
        c.ranges[0].weight = c.ranges[1].weight = WeightKind::Act;
        c.ranges[1].rounding = QK_ROUNDING_BEFORE_WEIGHT;
        c.inStride = width;
        c.name = "group size D-4 (tail)" + sfx;
        add(c);
      }

    // Full-width groups (OLMo2): one group per range, q and k of different
    // widths, separate weights.
    for (int64_t w : o.fullWidths)
      for (int64_t T : o.wideTokens) {
        Case c;
        c.dtype = d;
        c.numTokens = T;
        RangeSpec q, k;
        q.groupSize = q.groupStride = w;
        q.weight = WeightKind::Act;
        k = q;
        k.groupSize = k.groupStride = w / 4;
        k.columnOffset = w;
        k.weight = WeightKind::F32;
        k.rounding = QK_ROUNDING_BEFORE_WEIGHT;
        c.ranges = {q, k};
        c.inStride = w + 2 * (w / 4) + 8;
        c.name = tag("full-width", (long long)w);
        add(c);
        c.inMisalign = 1; // the wide scalar paths
        c.inStride += 1;
        c.name = tag("full-width unaligned", (long long)w);
        add(c);
      }

    // The four anchor models at their real shapes, plus 4 ranges at once
    // and mixed group sizes in one call.
    for (int64_t T : o.modelTokens) {
      struct M {
        const char *name;
        int64_t hq, hkv;
        bool shared, gemma;
      } models[] = {{"llama4_scout", 40, 8, true, false},
                    {"qwen3_8b", 32, 8, false, false},
                    {"qwen3_235b_tp8", 8, 1, false, false},
                    {"gemma3_27b", 32, 16, false, true}};
      for (const M &m : models) {
        Case c;
        c.dtype = d;
        c.numTokens = T;
        c.ranges = qkRanges(m.hq, m.hkv, 128, 128);
        c.inStride = (m.hq + 2 * m.hkv) * 128;
        c.ranges[0].weight = m.gemma ? WeightKind::F32 : WeightKind::Act;
        if (m.shared)
          c.ranges[1].shareWeightOf = 0;
        else
          c.ranges[1].weight = c.ranges[0].weight;
        if (m.gemma)
          c.ranges[0].weightOffset = c.ranges[1].weightOffset = 1.0f;
        c.name = m.name;
        add(c);
        // The same heads in a buffer whose token stride is 3 elements
        // longer: every row shifted (the shifted team kernel).
        c.inStride += 3;
        c.name = std::string(m.name) + " shifted stride";
        add(c);
      }
      Case c;
      c.dtype = d;
      c.numTokens = T;
      RangeSpec a;
      a.numGroups = 3;
      a.groupSize = a.groupStride = 64;
      a.weight = WeightKind::Act;
      RangeSpec b = a;
      b.columnOffset = 3 * 64 + 16;
      b.numGroups = 2;
      b.groupSize = 128;
      b.groupStride = 160;
      b.weight = WeightKind::F32;
      b.rounding = QK_ROUNDING_BEFORE_WEIGHT;
      b.epsilon = 0.25f;
      RangeSpec e = a;
      e.columnOffset = b.columnOffset + 2 * 160;
      e.numGroups = 1;
      e.groupSize = e.groupStride = 256;
      e.weight = WeightKind::None;
      RangeSpec f = a;
      f.columnOffset = e.columnOffset + 256 + 32;
      f.numGroups = 5;
      f.groupSize = 32;
      f.groupStride = 48;
      f.weightOffset = 1.0f;
      c.ranges = {a, b, e, f};
      c.inStride = f.columnOffset + 5 * 48 + 40;
      c.name = "4 ranges, mixed sizes/eps/weights";
      add(c);
    }
  }
  return cases;
}

//===----------------------------------------------------------------------===//
// Invalid arguments: every check must reject, say why, and write nothing.
//===----------------------------------------------------------------------===//

inline int runInvalidArgumentTests(Backend &be) {
  int failures = 0;
  const int64_t D = 128, T = 4, W = 3 * D;
  const size_t bytes = size_t(T * W * 2 + 64);
  std::vector<uint8_t> host(bytes);
  for (size_t i = 0; i < bytes; i += 2) {
    uint16_t v = uint16_t(0x3c00u | (mix(i) & 0x3ffu)); // bf16 in [1, 2)
    std::memcpy(&host[i], &v, 2);
  }
  uint8_t *buf = static_cast<uint8_t *>(be.alloc(bytes));
  uint8_t *other = static_cast<uint8_t *>(be.alloc(bytes));
  if (!buf || !other || !be.upload(buf, host.data(), bytes) ||
      !be.upload(other, host.data(), bytes)) {
    std::printf("FAIL invalid-argument setup\n");
    return 1;
  }
  qk_norm_range_t good[2] = {};
  good[0].column_offset = 0;
  good[0].num_groups = 2;
  good[0].group_size = D;
  good[0].group_stride = D;
  good[0].weight_dtype = QK_DTYPE_BF16;
  good[0].epsilon = 1e-6f;
  good[1] = good[0];
  good[1].column_offset = 2 * D;
  good[1].num_groups = 1;

  struct Call {
    const char *what;
    qk_status_t expect;
    qk_dtype_t dtype = QK_DTYPE_BF16;
    const void *in;
    int64_t inStride = W;
    void *out;
    int64_t outStride = W;
    int64_t tokens = T;
    int nRanges = 2;
    bool nullRanges = false;
    qk_norm_range_t r[2];
  };
  std::vector<Call> calls;
  auto make = [&](const char *what, qk_status_t st) {
    Call c;
    c.what = what;
    c.expect = st;
    c.in = buf;
    c.out = buf;
    c.r[0] = good[0];
    c.r[1] = good[1];
    calls.push_back(c);
    return &calls.back();
  };
  const qk_status_t INV = QK_STATUS_INVALID_ARGUMENT;
  make("in NULL", INV)->in = nullptr;
  make("out NULL", INV)->out = nullptr;
  make("ranges NULL", INV)->nullRanges = true;
  make("num_ranges 0", INV)->nRanges = 0;
  make("num_ranges 5", INV)->nRanges = QK_MAX_RANGES + 1;
  make("num_tokens -1", INV)->tokens = -1;
  make("dtype 7", INV)->dtype = static_cast<qk_dtype_t>(7);
  make("column_offset -1", INV)->r[0].column_offset = -1;
  make("num_groups 0", INV)->r[0].num_groups = 0;
  make("group_size 0", INV)->r[1].group_size = 0;
  make("group_size -5", INV)->r[1].group_size = -5;
  make("group_stride < group_size", INV)->r[0].group_stride = D - 1;
  make("epsilon NaN", INV)->r[0].epsilon = NAN;
  make("epsilon -1", INV)->r[1].epsilon = -1.0f;
  make("epsilon inf", INV)->r[1].epsilon = INFINITY;
  make("weight_offset NaN", INV)->r[1].weight_offset = NAN;
  make("rounding 9", INV)->r[0].rounding = static_cast<qk_rounding_t>(9);
  make("weight_dtype 9", INV)->r[0].weight_dtype = static_cast<qk_dtype_t>(9);
  {
    Call *c = make("weight f16 for bf16 activations", QK_STATUS_UNSUPPORTED);
    c->r[0].weight = other;
    c->r[0].weight_dtype = QK_DTYPE_F16;
  }
  make("weight misaligned", INV)->r[1].weight = other + 1;
  make("ranges overlap", INV)->r[1].column_offset = D;
  {
    Call *c = make("interleaved ranges collide", INV);
    c->r[0].group_stride = 2 * D; // q at 0, 2D
    c->r[1].column_offset = 2 * D + 64;
    c->r[1].group_size = 32; // inside q's second group
  }
  make("token stride < extent", INV)->inStride = W - 1;
  {
    Call *c = make("negative token stride", INV);
    c->inStride = c->outStride = -W;
  }
  {
    Call *c = make("in place with different strides", INV);
    c->outStride = W + 8;
  }
  {
    Call *c = make("out overlaps in", INV);
    c->out = buf + 2; // shifted by one element
  }
  make("in misaligned", INV)->in = buf + 1;
  {
    Call *c = make("out misaligned", INV);
    c->out = other + 1;
  }
  make("column extent overflows", INV)->r[1].column_offset = INT64_MAX - 10;
  {
    Call *c = make("token span overflows", INV);
    c->tokens = INT64_MAX / 2;
    c->inStride = c->outStride = W * 4;
  }
  {
    Call *c = make("group_size over the limit", QK_STATUS_UNSUPPORTED);
    c->r[1].group_size = c->r[1].group_stride = (int64_t(1) << 24) + 1;
  }
  {
    Call *c = make("too many groups", QK_STATUS_UNSUPPORTED);
    c->r[0].num_groups = (int64_t(1) << 16) + 1;
    c->r[0].group_size = c->r[0].group_stride = 1;
    c->r[1].column_offset = (int64_t(1) << 16) + 1;
  }
  {
    // Validation runs even when there is nothing to do.
    Call *c = make("T=0 with a bad range", INV);
    c->tokens = 0;
    c->r[0].group_size = 0;
  }

  for (const Call &c : calls) {
    qk_status_t st = be.call(c.dtype, c.in, c.inStride, c.out, c.outStride,
                             c.tokens, c.nullRanges ? nullptr : c.r, c.nRanges);
    std::string msg = qk_last_error_message();
    std::vector<uint8_t> after(bytes), after2(bytes);
    bool same = be.download(after.data(), buf, bytes) &&
                be.download(after2.data(), other, bytes) && after == host &&
                after2 == host;
    bool ok = st == c.expect && !msg.empty() && same;
    std::printf("%s invalid: %-34s -> status %d, \"%s\"%s\n",
                ok ? "PASS" : "FAIL", c.what, int(st), msg.c_str(),
                same ? "" : " [BUFFER CHANGED]");
    failures += !ok;
  }

  // A valid call afterwards clears the message; T=0 may pass NULL pointers.
  qk_status_t st = be.call(QK_DTYPE_BF16, nullptr, 0, nullptr, 0, 0, good, 2);
  bool ok = st == QK_STATUS_OK && std::string(qk_last_error_message()).empty();
  std::printf("%s T=0 with NULL pointers is a no-op and clears the message\n",
              ok ? "PASS" : "FAIL");
  failures += !ok;
  be.release(buf);
  be.release(other);
  return failures;
}

//===----------------------------------------------------------------------===//
// Rejected calls: guarded buffers, crash isolation
//===----------------------------------------------------------------------===//

// Host memory with kGuard poisoned bytes on either side of the payload. A
// test fills the payload, calls seal(), makes a call that must be rejected
// and checks untouched(): every byte, the guards included, is bitwise what
// it was, so a write just before or after a view is caught too.
struct GuardedBuffer {
  static constexpr size_t kGuard = 4096; // a multiple of every alignment
  std::vector<uint8_t> bytes, sealed;
  explicit GuardedBuffer(size_t payloadBytes)
      : bytes(payloadBytes + 2 * kGuard, uint8_t(0xa5)) {}
  uint8_t *payload() { return bytes.data() + kGuard; }
  void seal() { sealed = bytes; }
  bool untouched() const { return bytes == sealed; }
};

// Runs `body` (true = passed; it prints its own line) in a child process
// where fork() exists, so that a call which writes out of bounds and
// crashes fails this one check, with the signal reported, instead of
// ending the whole program. Host memory only (never after CUDA is used).
template <typename Body>
inline bool runIsolated(const std::string &what, Body body) {
#ifdef QKTEST_HAVE_FORK
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    bool ok = body();
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(ok ? 0 : 1);
  }
  if (pid > 0) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      std::printf("FAIL %s: waitpid failed\n", what.c_str());
      return false;
    }
    if (WIFEXITED(status))
      return WEXITSTATUS(status) == 0;
    std::printf("FAIL %s: crashed (signal %d)\n", what.c_str(),
                WIFSIGNALED(status) ? WTERMSIG(status) : -1);
    return false;
  }
#endif
  (void)what;
  return body(); // no fork(): run it here
}

} // namespace qktest

#endif // QK_RUNTIME_TESTS_TESTSUPPORT_H
