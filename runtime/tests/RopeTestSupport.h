//===- RopeTestSupport.h - Checks of qk_fused_rms_norm_rope ---------------===//
//
// Shared by the host test and the GPU check. A rope case is a norm case of
// TestSupport.h plus a rotation (docs/rope-abi.md). The rotation is checked
// against the tests' own reference, written here from the contract and not
// from qk/Runtime/Epilogue.h:
//
//   * before_norm = 0: the implementation's plain qk_fused_rms_norm output y
//     (same backend, same input) is rotated by the reference; the rope call
//     must equal it bit for bit in every element of the output buffer
//     (rotated elements, pass-through elements, v columns, padding, slack);
//   * before_norm = 1: the reference rotates x; the plain call on that
//     rotated input must equal the rope call bit for bit.
//
// The reference rotation is exact, not a tolerance: PER_OP rounds every
// product and the sum to the activation type (computed in float64, whose
// product of two floats is exact and whose rounding to float or narrower is
// innocuous for one operation), ONCE forms the fp32 products and fp32 sum
// and rounds once. So a wrong partner, sign, column, row, rounding order or
// an FMA shows as a bit difference. A float64 sanity check of the whole
// pipeline (norm in float64, rotation in float64) bounds the distance as
// well: |out - ref| <= tol * (|a| + |b| + |ref|) + tiny, tol = 2^-6 (bf16),
// 2^-9 (f16), 1e-5 (f32): it catches a plain call and a rope call that are
// wrong in the same way.
//
// Out-of-range positions (GPU only: the host rejects them): the rotated
// elements of such a token must be NaN, everything else as above.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_TESTS_ROPETESTSUPPORT_H
#define QK_RUNTIME_TESTS_ROPETESTSUPPORT_H

#include "TestSupport.h"

namespace qktest {

enum class PosKind { None, I32, I64 };

struct RopeSpec {
  qk_rope_style_t style = QK_ROPE_STYLE_NEOX;
  qk_rope_rounding_t rounding = QK_ROPE_ROUNDING_PER_OP;
  int beforeNorm = 0;
  int perPair = 0;
  int64_t headDim = 128;
  int64_t rotaryDim = 128;
  bool tableF32 = false;
  PosKind pos = PosKind::None;
  int64_t extraRows = 5; // table rows beyond what the tokens need
  // Layout of the tables: one shared table [rows, cos | sin] (sglang's
  // cos_sin_cache, sin == cos) or two; a column offset and row padding.
  bool shared = false;
  int64_t cosColumn = 0, sinColumn = 0; // two tables only
  int64_t rowPad = 0;
  uint32_t rotated = 0; // 0: every range
  // Tokens whose position is out of range (t % badEvery == 1; 0: none), set
  // to table_rows + t or -1 - t alternately.
  int64_t badEvery = 0;
};

struct RopeCase {
  Case c;
  RopeSpec r;
  // Whether the implementation's rope call must normalise bit-identically
  // to its plain call. The host always does; the CUDA runtime does when both
  // take the same lanes per element (aligned rows and tables), while its
  // element-by-element rope kernel and the norm's shifted kernel sum in
  // different orders. Where false, up to 1% (+8) of the 16-bit elements
  // and any f32 element may differ, each within the float64 sanity bound.
  bool exactNorm = true;
};

// One rope call on a backend (host memory or device memory).
struct RopeBackend {
  virtual ~RopeBackend() = default;
  virtual Backend &base() = 0;
  virtual qk_status_t callRope(qk_dtype_t dtype, const void *in,
                               int64_t inStride, void *out, int64_t outStride,
                               int64_t numTokens, const qk_norm_range_t *ranges,
                               int32_t numRanges, const qk_rope_t *rope,
                               uint32_t rotated) = 0;
};

// Rounds v to the dtype: f32 through float (double rounding of one exact
// float64 operation is innocuous), 16-bit types with roundTo.
inline double roundOp(qk_dtype_t d, double v) {
  if (d == QK_DTYPE_F32)
    return double(float(v));
  return roundTo(d, v);
}

// How often the PER_OP reference and a graph rounding every op of the
// activation type directly disagreed (must stay 0).
inline int64_t &perOpGraphMismatches() {
  static int64_t n = 0;
  return n;
}

// The reference rotation of one head (contract text, docs/rope-abi.md).
inline void refRotateHead(const RopeSpec &s, qk_dtype_t d, const double *v,
                          double *r, const double *cosRow,
                          const double *sinRow) {
  const int64_t half = s.rotaryDim / 2;
  for (int64_t j = 0; j < s.headDim; ++j) {
    if (j >= s.rotaryDim) {
      r[j] = v[j];
      continue;
    }
    int64_t p, f;
    double sign;
    if (s.style == QK_ROPE_STYLE_NEOX) {
      p = j < half ? j + half : j - half;
      sign = j < half ? -1.0 : 1.0;
      f = j % half;
    } else {
      p = j ^ 1;
      sign = j % 2 == 0 ? -1.0 : 1.0;
      f = j / 2;
    }
    const int64_t col = s.perPair ? f : j;
    const double c = cosRow[col], sn = sinRow[col];
    const double a = v[j], b = v[p];
    if (s.rounding == QK_ROPE_ROUNDING_PER_OP) {
      // The contract's formula: each fp32 operation, rounded.
      const double ac = roundOp(d, double(float(a * c)));
      const double bs = roundOp(d, double(float(sign * b * sn)));
      r[j] = roundOp(d, double(float(ac + bs)));
      // With tables of the activation type this is the graph that rounds
      // every op to the activation type directly (the contract's claim:
      // fp32 has >= 2p+2 bits); with f32 tables the products are no
      // 16-bit ops and the two may differ.
      if (!s.tableF32 &&
          r[j] != roundOp(d, roundOp(d, a * c) + roundOp(d, sign * b * sn)))
        ++perOpGraphMismatches();
    } else {
      const double ac = double(float(a * c)), bs = double(float(sign * b * sn));
      r[j] = roundOp(d, double(float(ac + bs)));
    }
  }
}

// Everything of a rope case besides the norm case's data.
struct RopeData {
  qk_dtype_t tdt = QK_DTYPE_F32;
  int64_t rows = 0, columns = 0, cosStride = 0, sinStride = 0;
  int64_t cosCol = 0, sinCol = 0;
  std::vector<uint8_t> hcos, hsin; // hsin empty when shared
  std::vector<int64_t> positions;  // the row of every token (may be bad)
  std::vector<uint8_t> hpos;
  void *dcos = nullptr, *dsin = nullptr, *dpos = nullptr;
  qk_rope_t rope = {};
  uint32_t rotated = 0;

  double cosAt(int64_t row, int64_t col) const {
    return decode(tdt, getBits(tdt, hcos, 0, row * cosStride + cosCol + col));
  }
  double sinAt(int64_t row, int64_t col) const {
    const std::vector<uint8_t> &t = hsin.empty() ? hcos : hsin;
    return decode(tdt, getBits(tdt, t, 0, row * sinStride + sinCol + col));
  }
  bool badRow(int64_t t) const {
    return positions[size_t(t)] < 0 || positions[size_t(t)] >= rows;
  }
};

inline bool makeRope(const RopeCase &rc, Backend &be, RopeData &rd) {
  const RopeSpec &s = rc.r;
  const Case &c = rc.c;
  rd.tdt = s.tableF32 ? QK_DTYPE_F32 : c.dtype;
  const int64_t need = s.perPair ? s.rotaryDim / 2 : s.rotaryDim;
  rd.rows = std::max<int64_t>(c.numTokens, 1) + s.extraRows;
  if (s.shared) {
    rd.cosCol = 0;
    rd.sinCol = need;
    rd.columns = 2 * need;
  } else {
    rd.cosCol = s.cosColumn;
    rd.sinCol = s.sinColumn;
    // Rows of whole 16-byte vectors unless the case asks for padding (the
    // vector path needs aligned rows; tab-unaligned cases test the other).
    rd.columns = (std::max(s.cosColumn, s.sinColumn) + need + 7) / 8 * 8;
  }
  rd.cosStride = rd.sinStride = rd.columns + s.rowPad;
  const int64_t tes = sizeOf(rd.tdt);
  const int64_t elems = rd.rows * rd.cosStride;
  auto fill = [&](std::vector<uint8_t> &buf, uint64_t seed) {
    buf.assign(size_t(elems * tes), 0);
    for (int64_t i = 0; i < elems; ++i)
      setBits(rd.tdt, buf, 0, i,
              encodeExact(rd.tdt, roundTo(rd.tdt, uniform(seed, uint64_t(i)))));
  };
  fill(rd.hcos, c.seed * 13 + 1);
  if (!s.shared)
    fill(rd.hsin, c.seed * 13 + 2);
  // Positions: random rows (or t), some out of range on request.
  rd.positions.assign(size_t(c.numTokens), 0);
  for (int64_t t = 0; t < c.numTokens; ++t) {
    int64_t p =
        s.pos == PosKind::None
            ? t
            : int64_t(mix(c.seed * 17 + uint64_t(t)) % uint64_t(rd.rows));
    if (s.badEvery && s.pos != PosKind::None && t % s.badEvery == 1)
      p = (t / s.badEvery) % 2 ? -1 - t : rd.rows + t;
    rd.positions[size_t(t)] = p;
  }
  const int64_t pes = s.pos == PosKind::I64 ? 8 : 4;
  rd.hpos.assign(size_t(std::max<int64_t>(c.numTokens, 1) * pes), 0);
  for (int64_t t = 0; t < c.numTokens; ++t) {
    if (pes == 8) {
      int64_t v = rd.positions[size_t(t)];
      std::memcpy(&rd.hpos[size_t(t * 8)], &v, 8);
    } else {
      int32_t v = int32_t(rd.positions[size_t(t)]);
      std::memcpy(&rd.hpos[size_t(t * 4)], &v, 4);
    }
  }
  rd.dcos = be.alloc(rd.hcos.size());
  bool ok = rd.dcos && be.upload(rd.dcos, rd.hcos.data(), rd.hcos.size());
  if (!s.shared) {
    rd.dsin = be.alloc(rd.hsin.size());
    ok = ok && rd.dsin && be.upload(rd.dsin, rd.hsin.data(), rd.hsin.size());
  }
  if (s.pos != PosKind::None) {
    rd.dpos = be.alloc(rd.hpos.size());
    ok = ok && rd.dpos && be.upload(rd.dpos, rd.hpos.data(), rd.hpos.size());
  }
  qk_rope_t &q = rd.rope;
  q.style = s.style;
  q.rounding = s.rounding;
  q.before_norm = s.beforeNorm;
  q.per_pair = s.perPair;
  q.head_dim = s.headDim;
  q.rotary_dim = s.rotaryDim;
  q.cos = rd.dcos;
  q.sin = s.shared ? rd.dcos : rd.dsin;
  q.table_dtype = rd.tdt;
  q.table_rows = rd.rows;
  q.table_columns = rd.columns;
  q.cos_row_stride = rd.cosStride;
  q.sin_row_stride = rd.sinStride;
  q.cos_column = rd.cosCol;
  q.sin_column = rd.sinCol;
  q.positions = s.pos == PosKind::None ? nullptr : rd.dpos;
  q.positions_dtype = s.pos == PosKind::I64 ? QK_INDEX_I64 : QK_INDEX_I32;
  rd.rotated = s.rotated ? s.rotated : uint32_t((1u << c.ranges.size()) - 1u);
  return ok;
}

inline void releaseRope(Backend &be, RopeData &rd) {
  if (rd.dcos)
    be.release(rd.dcos);
  if (rd.dsin)
    be.release(rd.dsin);
  if (rd.dpos)
    be.release(rd.dpos);
}

// Applies `fn(t, r, g, base)` to every rotated group: base is its element
// index in a buffer laid out like the input (offset inMisalign) or the
// output (offset outOff / es).
template <class Fn>
void forRotatedGroups(const Case &c, const RopeData &rd, Fn fn) {
  for (int64_t t = 0; t < c.numTokens; ++t)
    for (size_t r = 0; r < c.ranges.size(); ++r) {
      if (!((rd.rotated >> r) & 1u))
        continue;
      const RangeSpec &s = c.ranges[r];
      for (int64_t g = 0; g < s.numGroups; ++g)
        fn(t, r, g, s.columnOffset + g * s.groupStride);
    }
}

// Rotates, in `buf` (dtype bits, `base0` elements before element (0, 0),
// row stride `stride`), every head of every rotated group of the case.
// Tokens with a bad row get NaN in their rotated elements.
inline void refRotateBuffer(const RopeCase &rc, const RopeData &rd,
                            std::vector<uint8_t> &buf, int64_t base0,
                            int64_t stride) {
  const Case &c = rc.c;
  const RopeSpec &s = rc.r;
  const qk_dtype_t d = c.dtype;
  std::vector<double> v(size_t(s.headDim)), r(size_t(s.headDim)),
      cs(size_t(rd.columns)), sn(size_t(rd.columns));
  forRotatedGroups(c, rd, [&](int64_t t, size_t ri, int64_t, int64_t col) {
    const RangeSpec &g = c.ranges[ri];
    const bool bad = rd.badRow(t);
    const int64_t row = rd.positions[size_t(t)];
    const int64_t need = s.perPair ? s.rotaryDim / 2 : s.rotaryDim;
    for (int64_t k = 0; !bad && k < need; ++k) {
      cs[size_t(k)] = rd.cosAt(row, k);
      sn[size_t(k)] = rd.sinAt(row, k);
    }
    for (int64_t h = 0; h < g.groupSize; h += s.headDim) {
      const int64_t e0 = base0 + t * stride + col + h;
      for (int64_t j = 0; j < s.headDim; ++j)
        v[size_t(j)] = decode(d, getBits(d, buf, 0, e0 + j));
      if (bad) {
        for (int64_t j = 0; j < s.headDim; ++j)
          r[size_t(j)] = j < s.rotaryDim ? NAN : v[size_t(j)];
      } else {
        refRotateHead(s, d, v.data(), r.data(), cs.data(), sn.data());
      }
      for (int64_t j = 0; j < s.headDim; ++j)
        if (j < s.rotaryDim)
          setBits(d, buf, 0, e0 + j,
                  std::isnan(r[size_t(j)]) ? poisonBits(d) | 1u
                                           : encodeExact(d, r[size_t(j)]));
    }
  });
}

inline bool isNanBits(qk_dtype_t d, uint32_t b) {
  return std::isnan(decode(d, b)) ||
         (d == QK_DTYPE_F32 && (b & 0x7fffffffu) > 0x7f800000u) ||
         (d == QK_DTYPE_BF16 && (b & 0x7fffu) > 0x7f80u);
}

// The float64 sanity bound of the file comment for one rotated group.
inline void sanityCheck(const RopeCase &rc, const CaseData &cd,
                        const RopeData &rd, const std::vector<uint8_t> &out,
                        int64_t outBase, CaseResult &res, double &worst) {
  const Case &c = rc.c;
  const RopeSpec &s = rc.r;
  const qk_dtype_t d = c.dtype;
  const double tol = d == QK_DTYPE_BF16  ? 0x1p-6
                     : d == QK_DTYPE_F16 ? 0x1p-9
                                         : 1e-5;
  std::vector<double> x, y, r(size_t(s.headDim));
  std::vector<double> cs(size_t(rd.columns)), sn(size_t(rd.columns));
  forRotatedGroups(c, rd, [&](int64_t t, size_t ri, int64_t, int64_t col) {
    if (rd.badRow(t))
      return;
    const RangeSpec &g = c.ranges[ri];
    const int64_t row = rd.positions[size_t(t)];
    const int64_t need = s.perPair ? s.rotaryDim / 2 : s.rotaryDim;
    for (int64_t k = 0; k < need; ++k) {
      cs[size_t(k)] = rd.cosAt(row, k);
      sn[size_t(k)] = rd.sinAt(row, k);
    }
    x.assign(size_t(g.groupSize), 0.0);
    for (int64_t i = 0; i < g.groupSize; ++i)
      x[size_t(i)] = decode(
          d, getBits(d, cd.hin, 0, c.inMisalign + t * cd.inStride + col + i));
    auto rotateAll = [&](std::vector<double> &v) {
      for (int64_t h = 0; h < g.groupSize; h += s.headDim) {
        refRotateHead(s, d, v.data() + h, r.data(), cs.data(), sn.data());
        for (int64_t j = 0; j < s.headDim; ++j)
          v[size_t(h + j)] = r[size_t(j)];
      }
    };
    if (s.beforeNorm)
      rotateAll(x);
    double ss = 0.0;
    for (double v : x)
      ss += v * v;
    const double inv =
        1.0 / std::sqrt(ss / double(g.groupSize) + double(g.epsilon));
    y.assign(size_t(g.groupSize), 0.0);
    for (int64_t i = 0; i < g.groupSize; ++i) {
      double w = 1.0;
      if (!cd.hw[ri].empty())
        w = double(g.weightOffset) +
            decode(cd.wdt[ri],
                   getBits(cd.wdt[ri], cd.hw[ri],
                           c.weightMisalign * sizeOf(cd.wdt[ri]), i));
      double n = x[size_t(i)] * inv;
      if (g.rounding == QK_ROUNDING_BEFORE_WEIGHT)
        n = roundTo(d, n);
      y[size_t(i)] = roundOp(d, n * w);
    }
    std::vector<double> pre = y;
    if (!s.beforeNorm)
      rotateAll(y);
    for (int64_t i = 0; i < g.groupSize; ++i) {
      const int64_t j = i % s.headDim;
      const double o =
          decode(d, getBits(d, out, 0, outBase + t * cd.outStride + col + i));
      double mag = std::fabs(y[size_t(i)]) + std::fabs(pre[size_t(i)]);
      if (j < s.rotaryDim) {
        const int64_t h = i - j;
        const int64_t half = s.rotaryDim / 2;
        const int64_t p = s.style == QK_ROPE_STYLE_NEOX
                              ? (j < half ? j + half : j - half)
                              : (j ^ 1);
        mag += std::fabs(pre[size_t(h + p)]);
      }
      const double err = std::fabs(o - y[size_t(i)]);
      const double bound = tol * mag + 1e-30;
      if (mag > 0)
        worst = std::max(worst, err / mag);
      if (!(err <= bound))
        res.error("sanity: t=%lld range %zu col %lld elem %lld: got %.6g, "
                  "float64 pipeline %.6g",
                  (long long)t, ri, (long long)col, (long long)i, o,
                  y[size_t(i)]);
    }
  });
}

// Runs one rope case; prints a line; returns whether it passed. `plainCall`
// runs the backend's qk_fused_rms_norm (the expected values' source).
inline bool runRopeCase(const RopeCase &rc, RopeBackend &rb,
                        bool verbose = true, bool strict = true) {
  const Case &c = rc.c;
  Backend &be = rb.base();
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
  RopeData rd;
  makeActivations(c, cd);
  if (!uploadCase(c, be, cd) || !makeRope(rc, be, rd))
    res.error("backend allocation or upload failed");
  const void *pin =
      c.numTokens ? static_cast<uint8_t *>(cd.din) + cd.inOff : nullptr;
  void *pout =
      c.numTokens ? static_cast<uint8_t *>(cd.dout) + cd.outOff : nullptr;
  if (c.inPlace)
    pout = const_cast<void *>(pin);
  std::vector<uint8_t> got, gotIn, expect;
  const std::vector<uint8_t> &hostOut0 = c.inPlace ? cd.hin : cd.hout;
  // Element (0, 0) of the output in the downloaded output buffer.
  const int64_t outBase = (c.inPlace ? cd.inOff : cd.outOff) / cd.es;
  auto fetch = [&](std::vector<uint8_t> &o, std::vector<uint8_t> &i) {
    i.resize(cd.inBytes);
    bool ok = be.download(i.data(), cd.din, cd.inBytes);
    if (c.inPlace) {
      o = i;
    } else {
      o.resize(cd.outBytes);
      ok = ok && be.download(o.data(), cd.dout, cd.outBytes);
    }
    if (!ok)
      res.error("download failed");
  };
  // 1. The call under test.
  if (res.ok) {
    qk_status_t st = rb.callRope(
        cd.dtype, pin, cd.inStride, pout, cd.outStride, c.numTokens,
        cd.ranges.data(), int32_t(cd.ranges.size()), &rd.rope, rd.rotated);
    if (st != QK_STATUS_OK)
      res.error("status %d: %s", int(st), qk_last_error_message());
    else
      fetch(got, gotIn);
  }
  // 2. The expected buffer: the plain call on x (then rotated) or on the
  // rotated x.
  if (res.ok) {
    std::vector<uint8_t> input = cd.hin;
    if (rc.r.beforeNorm)
      refRotateBuffer(rc, rd, input, c.inMisalign, cd.inStride);
    bool ok = be.upload(cd.din, input.data(), cd.inBytes) &&
              (c.inPlace || be.upload(cd.dout, cd.hout.data(), cd.outBytes));
    qk_status_t st =
        ok ? be.call(cd.dtype, pin, cd.inStride, pout, cd.outStride,
                     c.numTokens, cd.ranges.data(), int32_t(cd.ranges.size()))
           : QK_STATUS_DEVICE_ERROR;
    std::vector<uint8_t> dummy;
    if (st != QK_STATUS_OK)
      res.error("plain call: status %d: %s", int(st), qk_last_error_message());
    else
      fetch(expect, dummy);
    if (res.ok && !rc.r.beforeNorm)
      refRotateBuffer(rc, rd, expect, outBase, cd.outStride);
  }
  // 3. Bit for bit, NaN for bad rows (the expected buffer holds a NaN
  // there; any NaN passes).
  int64_t rotatedChecked = 0, diffs = 0, firstDiff = 0;
  if (res.ok) {
    const qk_dtype_t d = cd.dtype;
    const int64_t n = int64_t(got.size()) / cd.es;
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t g = getBits(d, got, 0, i), e = getBits(d, expect, 0, i);
      const bool same = g == e || (isNanBits(d, e) && isNanBits(d, g) &&
                                   !(isNanBits(d, getBits(d, hostOut0, 0, i)) &&
                                     g == getBits(d, hostOut0, 0, i)));
      if (!same) {
        if (!diffs)
          firstDiff = i;
        ++diffs;
      }
    }
    // Where the norm may sum in another order (file comment), a 16-bit
    // output flips only near rounding ties (1% + 8 allowed), while f32
    // outputs all move in their last bits: there only the float64 sanity
    // bound applies.
    const bool exact = strict || rc.exactNorm;
    const int64_t allowed = exact ? 0 : (d == QK_DTYPE_F32 ? n : n / 100 + 8);
    if (diffs > allowed) {
      const uint32_t g = getBits(d, got, 0, firstDiff),
                     e = getBits(d, expect, 0, firstDiff);
      res.error("%lld elements differ (allowed %lld); first: element %lld: "
                "got bits 0x%x (%.6g), expected 0x%x (%.6g)",
                (long long)diffs, (long long)allowed,
                (long long)(firstDiff - outBase), g, decode(d, g), e,
                decode(d, e));
    }
    forRotatedGroups(c, rd, [&](int64_t, size_t ri, int64_t, int64_t) {
      rotatedChecked += c.ranges[ri].groupSize;
    });
    if (!c.inPlace && gotIn != cd.hin)
      res.error("out of place, but the input buffer changed");
  }
  if (perOpGraphMismatches())
    res.error("PER_OP differs from the activation-type graph %lld times",
              (long long)perOpGraphMismatches());
  double worst = 0.0;
  if (res.ok)
    sanityCheck(rc, cd, rd, got, outBase, res, worst);
  releaseRope(be, rd);
  releaseCase(c, be, cd);
  if (verbose || !res.ok) {
    std::printf("%s rope %-62s %-4s T=%-5lld rotated=%-8lld diffs=%lld "
                "sanity_rel=%.2e\n",
                res.ok ? "PASS" : "FAIL", c.name.c_str(), nameOf(c.dtype),
                (long long)c.numTokens, (long long)rotatedChecked,
                (long long)diffs, worst);
    if (!res.ok)
      std::printf("     %s\n", res.firstError.c_str());
  }
  return res.ok;
}

//===----------------------------------------------------------------------===//
// The case matrix
//===----------------------------------------------------------------------===//

struct RopeModel {
  const char *name;
  std::vector<RangeSpec> ranges;
  int64_t stride; // token stride (elements)
  int64_t headDim;
  int64_t rotaryDim;
};

// The model shapes of the brief, `scale` < 1 shrinking the heads of the
// big ones for the host (the shapes stay the same kind).
inline std::vector<RopeModel> ropeModels(bool full) {
  std::vector<RopeModel> m;
  auto qk = [](int64_t hq, int64_t hkv, int64_t D, int64_t qStride) {
    RangeSpec q, k;
    q.numGroups = hq;
    q.groupSize = D;
    q.groupStride = qStride;
    q.weight = WeightKind::Act;
    k = q;
    k.numGroups = hkv;
    k.groupStride = D;
    k.columnOffset = (hq - 1) * qStride + qStride;
    return std::vector<RangeSpec>{q, k};
  };
  const int64_t hq = full ? 32 : 4, hkv = full ? 8 : 2;
  {
    // Qwen3-8B: 32 q + 8 k heads of 128 in a 6144-wide qkv row.
    auto r = qk(hq, hkv, 128, 128);
    m.push_back({"qwen3-8b D128 rot128", r, (hq + 2 * hkv) * 128, 128, 128});
    m.push_back({"glm4.5-like D128 rot64", r, (hq + 2 * hkv) * 128, 128, 64});
  }
  {
    // Qwen3-Next: q heads interleaved with gate heads (stride 2D), rotary
    // a quarter of the head.
    auto r = qk(hq / 2, hkv / 2 ? hkv / 2 : 1, 256, 512);
    m.push_back({"qwen3-next-like strided q D256 rot64", r,
                 r[1].columnOffset + 2 * r[1].numGroups * 256 + 8, 256, 64});
  }
  {
    // Gemma3: D256, (1 + w) with f32 weights.
    auto r = qk(hq / 2, hkv / 2 ? hkv / 2 : 1, 256, 256);
    for (auto &x : r) {
      x.weight = WeightKind::F32;
      x.weightOffset = 1.0f;
    }
    m.push_back({"gemma3 D256 1+w", r,
                 r[1].columnOffset + 2 * r[1].numGroups * 256, 256, 256});
  }
  {
    // OLMo2: the norm spans all q (and all k) heads; rope per head.
    const int64_t H = full ? 32 : 4, D = 128;
    RangeSpec q, k;
    q.groupSize = q.groupStride = H * D;
    q.weight = WeightKind::Act;
    k = q;
    k.columnOffset = H * D;
    m.push_back({"olmo2 full-width norm D128", {q, k}, 3 * H * D + 16, D, D});
  }
  {
    // Llama4: weight-less norm after the rotation, GPTJ (set by the
    // caller's flags), q and k heads.
    auto r = qk(full ? 40 : 5, hkv, 128, 128);
    for (auto &x : r)
      x.weight = WeightKind::None;
    m.push_back({"llama4-like no weight D128", r,
                 (r[0].numGroups + 2 * hkv) * 128, 128, 128});
  }
  {
    // Small and odd head dims; a rotary part that is no multiple of a
    // vector (half = 10).
    auto r = qk(4, 2, 64, 64);
    m.push_back({"D64 rot20", r, 8 * 64 + 24, 64, 20});
    auto r80 = qk(4, 2, 80, 80);
    m.push_back({"D80 rot80", r80, 8 * 80, 80, 80});
    auto r512 = qk(2, 1, 512, 512);
    m.push_back({"D512 rot256", r512, 4 * 512, 512, 256});
    auto r32 = qk(4, 2, 128, 128);
    m.push_back({"D128 rot32", r32, 8 * 128, 128, 32});
  }
  return m;
}

// Every flag combination over the model shapes. The table dtype, positions
// dtype and table layout cycle with the combination index so that every
// value meets every style, rounding, order and per_pair setting.
inline std::vector<RopeCase>
buildRopeCases(bool full, const std::vector<int64_t> &tokens, int stride = 1) {
  std::vector<RopeCase> cases;
  uint64_t seed = 5000;
  const qk_dtype_t dtypes[] = {QK_DTYPE_BF16, QK_DTYPE_F16, QK_DTYPE_F32};
  int idx = 0;
  for (qk_dtype_t d : dtypes)
    for (const RopeModel &m : ropeModels(full))
      for (int style = 0; style < 2; ++style)
        for (int rounding = 0; rounding < 2; ++rounding)
          for (int bn = 0; bn < 2; ++bn)
            for (int pp = 0; pp < 2; ++pp) {
              const int k = idx++;
              if (k % stride != 0)
                continue;
              RopeCase rc;
              rc.c.dtype = d;
              rc.c.ranges = m.ranges;
              rc.c.inStride = m.stride;
              rc.r.style = style ? QK_ROPE_STYLE_GPTJ : QK_ROPE_STYLE_NEOX;
              rc.r.rounding =
                  rounding ? QK_ROPE_ROUNDING_ONCE : QK_ROPE_ROUNDING_PER_OP;
              rc.r.beforeNorm = bn;
              rc.r.perPair = pp;
              rc.r.headDim = m.headDim;
              rc.r.rotaryDim = m.rotaryDim;
              rc.r.tableF32 = (k / 3) % 2 == 1;
              rc.r.pos = PosKind(k % 3);
              rc.r.shared = (k / 2) % 2 == 0;
              if (!rc.r.shared && k % 5 == 0) { // unaligned table columns
                rc.r.cosColumn = 3;
                rc.r.sinColumn = 1;
                rc.r.rowPad = 5;
                rc.exactNorm = false;
              }
              // The vector path needs half a multiple of the vector width
              // (8 for 16-bit types, 4 for f32); else element by element.
              if ((m.rotaryDim / 2) % (d == QK_DTYPE_F32 ? 4 : 8) != 0)
                rc.exactNorm = false;
              if (k % 7 == 3) // only q rotates
                rc.r.rotated = 1;
              std::string flags = std::string(style ? " gptj" : " neox") +
                                  (rounding ? " once" : " per_op") +
                                  (bn ? " before_norm" : "") +
                                  (pp ? " per_pair" : "") +
                                  (rc.r.tableF32 ? " tab=f32" : "") +
                                  (rc.r.pos == PosKind::I32   ? " pos=i32"
                                   : rc.r.pos == PosKind::I64 ? " pos=i64"
                                                              : "") +
                                  (rc.r.cosColumn ? " tab-unaligned" : "") +
                                  (rc.r.shared ? " cos_sin_cache" : "") +
                                  (rc.r.rotated == 1 ? " q-only" : "");
              for (int64_t T : tokens) {
                RopeCase x = rc;
                x.c.numTokens = T;
                x.c.seed = ++seed;
                x.c.name = std::string(m.name) + flags;
                cases.push_back(x);
              }
            }
  // Layout variants on one shape: out of place, unaligned rows (a token
  // stride of W + 3 and a misaligned pointer), a before-weight rounding.
  for (qk_dtype_t d : dtypes)
    for (int v = 0; v < 4; ++v) {
      RopeModel m = ropeModels(false)[1];
      RopeCase rc;
      rc.c.dtype = d;
      rc.c.ranges = m.ranges;
      rc.c.inStride = m.stride;
      rc.r.headDim = m.headDim;
      rc.r.rotaryDim = m.rotaryDim;
      rc.r.pos = PosKind::I32;
      std::string name = m.name;
      if (v == 0) {
        rc.c.inPlace = false;
        rc.c.outStride = m.stride + 16;
        name += " out of place";
      } else if (v == 1) {
        rc.c.inStride = m.stride + 3;
        rc.exactNorm = false;
        name += " stride W+3";
      } else if (v == 2) {
        rc.c.inMisalign = 1;
        rc.exactNorm = false;
        rc.c.inStride = m.stride + 1;
        rc.r.style = QK_ROPE_STYLE_GPTJ;
        rc.r.beforeNorm = 1;
        name += " misaligned ptr gptj before_norm";
      } else {
        for (auto &x : rc.c.ranges)
          x.rounding = QK_ROUNDING_BEFORE_WEIGHT;
        rc.r.perPair = 1;
        rc.r.rounding = QK_ROPE_ROUNDING_ONCE;
        name += " norm round-before-weight";
      }
      for (int64_t T : tokens) {
        RopeCase x = rc;
        x.c.numTokens = T;
        x.c.seed = ++seed;
        x.c.name = name;
        cases.push_back(x);
      }
    }
  return cases;
}

// Out-of-range positions (the CUDA runtime's NaN contract): every third
// token's position below 0 or at/after table_rows, both orders, both
// positions dtypes.
inline std::vector<RopeCase>
buildRopeBadPositionCases(const std::vector<int64_t> &tokens) {
  std::vector<RopeCase> cases;
  uint64_t seed = 9000;
  for (int bn = 0; bn < 2; ++bn)
    for (int pk = 1; pk <= 2; ++pk)
      for (qk_dtype_t d : {QK_DTYPE_BF16, QK_DTYPE_F32}) {
        RopeModel m = ropeModels(true)[bn ? 5 : 0];
        RopeCase rc;
        rc.c.dtype = d;
        rc.c.ranges = m.ranges;
        rc.c.inStride = m.stride;
        rc.r.headDim = m.headDim;
        rc.r.rotaryDim = m.rotaryDim;
        rc.r.style = bn ? QK_ROPE_STYLE_GPTJ : QK_ROPE_STYLE_NEOX;
        rc.r.beforeNorm = bn;
        rc.r.pos = PosKind(pk);
        rc.r.shared = true;
        rc.r.perPair = 1;
        rc.r.badEvery = 3;
        for (int64_t T : tokens) {
          RopeCase x = rc;
          x.c.numTokens = T;
          x.c.seed = ++seed;
          x.c.name = std::string(m.name) + " out-of-range positions" +
                     (pk == 2 ? " i64" : " i32") +
                     (bn ? " before_norm gptj" : "");
          cases.push_back(x);
        }
      }
  return cases;
}

//===----------------------------------------------------------------------===//
// Invalid rope arguments: every check rejects, names the field, writes
// nothing (guard regions around every buffer, checked bitwise).
//===----------------------------------------------------------------------===//

inline int runRopeInvalidTests(RopeBackend &rb, bool hostPositions) {
  Backend &be = rb.base();
  int failures = 0;
  const int64_t D = 128, T = 4, W = 4 * D, guard = 256;
  // Activation: [T, W] bf16 (q: 2 groups, k: 1 group, then D v columns),
  // guard bytes around.
  const size_t actBytes = size_t(T * W * 2 + 2 * guard);
  const size_t tabElems = 64 * D; // 64 rows x 128 f32 columns
  const size_t tabBytes = tabElems * 4 + 2 * guard;
  std::vector<uint8_t> act(actBytes), tab(tabBytes), pos(64 + 2 * guard);
  for (size_t i = 0; i < actBytes; i += 2) {
    uint16_t v = uint16_t(0x3f80u | (mix(i) & 0x7fu));
    std::memcpy(&act[i], &v, 2);
  }
  for (size_t i = 0; i < tabBytes; i += 4) {
    float f = float(uniform(9, i));
    std::memcpy(&tab[i], &f, 4);
  }
  for (size_t i = 0; i < pos.size(); ++i)
    pos[i] = uint8_t(0xa5);
  int32_t goodPos[T] = {0, 3, 63, 7};
  std::memcpy(&pos[guard], goodPos, sizeof goodPos);
  uint8_t *dact = static_cast<uint8_t *>(be.alloc(actBytes));
  uint8_t *dtab = static_cast<uint8_t *>(be.alloc(tabBytes));
  uint8_t *dpos = static_cast<uint8_t *>(be.alloc(pos.size()));
  if (!dact || !dtab || !dpos || !be.upload(dact, act.data(), actBytes) ||
      !be.upload(dtab, tab.data(), tabBytes) ||
      !be.upload(dpos, pos.data(), pos.size())) {
    std::printf("FAIL rope invalid-argument setup\n");
    return 1;
  }
  uint8_t *x = dact + guard;
  qk_norm_range_t ranges[2] = {};
  ranges[0].num_groups = 2;
  ranges[0].group_size = ranges[0].group_stride = D;
  ranges[0].weight_dtype = QK_DTYPE_BF16;
  ranges[0].epsilon = 1e-6f;
  ranges[1] = ranges[0];
  ranges[1].column_offset = 2 * D;
  ranges[1].num_groups = 1;
  qk_rope_t good = {};
  good.style = QK_ROPE_STYLE_NEOX;
  good.rounding = QK_ROPE_ROUNDING_PER_OP;
  good.head_dim = D;
  good.rotary_dim = D;
  good.cos = dtab + guard;
  good.sin = dtab + guard + 64 * 4; // column 64 of the same f32 table
  good.table_dtype = QK_DTYPE_F32;
  good.table_rows = 64;
  good.table_columns = D;
  good.cos_row_stride = good.sin_row_stride = D;
  good.per_pair = 1; // 64 columns read from each
  good.positions = dpos + guard;
  good.positions_dtype = QK_INDEX_I32;

  struct Bad {
    const char *what, *message;
    qk_status_t expect;
    qk_rope_t rope;
    uint32_t rotated = 3;
    void *out = nullptr; // default: x (in place)
    int64_t tokens = T;
  };
  std::vector<Bad> bad;
  auto make = [&](const char *what, const char *message,
                  qk_status_t st = QK_STATUS_INVALID_ARGUMENT) {
    Bad b{what, message, st, good};
    bad.push_back(b);
    return &bad.back();
  };
  make("rotated bit 2 of 2 ranges", "rotated_ranges 0x4 names a range")
      ->rotated = 4;
  make("rotated bit 31", "rotated_ranges 0x80000001 names a range")->rotated =
      0x80000001u;
  make("style 2", "rope style 2 is not a qk_rope_style_t value")->rope.style =
      qk_rope_style_t(2);
  make("rounding -1", "rope rounding -1 is not a qk_rope_rounding_t value")
      ->rope.rounding = qk_rope_rounding_t(-1);
  make("table_dtype 5", "rope table_dtype 5 is not a qk_dtype_t value")
      ->rope.table_dtype = qk_dtype_t(5);
  make("table_dtype f16 for bf16",
       "rope table_dtype f16 must be the "
       "activation dtype (bf16) or f32",
       QK_STATUS_UNSUPPORTED)
      ->rope.table_dtype = QK_DTYPE_F16;
  make("positions_dtype 2", "rope positions_dtype 2 is not a qk_index_t value")
      ->rope.positions_dtype = qk_index_t(2);
  make("before_norm 2", "rope before_norm is 2, expected 0 or 1")
      ->rope.before_norm = 2;
  make("per_pair -1", "rope per_pair is -1, expected 0 or 1")->rope.per_pair =
      -1;
  {
    Bad *b = make("no positions, fewer table rows than tokens",
                  "rope without positions reads table row t for token t: 4 "
                  "tokens, 3 table rows");
    b->rope.positions = nullptr;
    b->rope.table_rows = 3;
  }
  make("head_dim 0", "rope head_dim must be > 0 (got 0)")->rope.head_dim = 0;
  make("head_dim -128", "rope head_dim must be > 0 (got -128)")->rope.head_dim =
      -128;
  make("head_dim 96 does not divide 128",
       "rope head_dim 96 does not divide group_size 128 of rotated range 0")
      ->rope.head_dim = 96;
  {
    Bad *b = make("rotary_dim odd", "rope rotary_dim 63 must be even");
    b->rope.rotary_dim = 63;
  }
  make("rotary_dim 0", "rope rotary_dim 0 must be even and in [2, head_dim")
      ->rope.rotary_dim = 0;
  make("rotary_dim > head_dim", "rope rotary_dim 130 must be even")
      ->rope.rotary_dim = 130;
  make("cos NULL", "rope cos is NULL")->rope.cos = nullptr;
  make("sin NULL", "rope sin is NULL")->rope.sin = nullptr;
  make("cos misaligned", "rope cos 0x")->rope.cos = dtab + guard + 2;
  make("table_rows 0", "rope table_rows must be >= 1 (got 0)")
      ->rope.table_rows = 0;
  make("cos_column -1", "rope cos_column is negative (-1)")->rope.cos_column =
      -1;
  make("sin_column + 64 > columns",
       "rope sin_column 65 + 64 columns read exceeds table_columns 128")
      ->rope.sin_column = 65;
  {
    Bad *b = make("per_pair 0 reads 128 columns from column 1",
                  "rope cos_column 1 + 128 columns read exceeds");
    b->rope.per_pair = 0;
    b->rope.cos_column = 1;
  }
  make("cos_column overflows", "rope cos_column 9223372036854775807 + 64")
      ->rope.cos_column = INT64_MAX;
  make("row stride < columns",
       "rope cos_row_stride 127 is smaller than table_columns 128")
      ->rope.cos_row_stride = 127;
  {
    Bad *b = make("table span overflows", "rope sin table of 64 rows");
    b->rope.sin_row_stride = INT64_MAX / 8;
  }
  {
    // The table inside the written part of the output: in place, cos at
    // q's second group of token 1.
    Bad *b = make("cos overlaps a written group",
                  "rope cos table overlaps elements that out's ranges write");
    b->rope.cos = x + (W + D) * 2;
    b->rope.table_rows = 1;
    b->rope.table_columns = 64;
    b->rope.cos_row_stride = b->rope.sin_row_stride = 64;
  }
  int ok = 0;
  for (const Bad &b : bad) {
    qk_status_t st = rb.callRope(QK_DTYPE_BF16, x, W, b.out ? b.out : x, W,
                                 b.tokens, ranges, 2, &b.rope, b.rotated);
    std::string msg = qk_last_error_message();
    std::vector<uint8_t> a1(actBytes), t1(tabBytes), p1(pos.size());
    const bool same = be.download(a1.data(), dact, actBytes) &&
                      be.download(t1.data(), dtab, tabBytes) &&
                      be.download(p1.data(), dpos, pos.size()) && a1 == act &&
                      t1 == tab && p1 == pos;
    const bool pass =
        st == b.expect && msg.find(b.message) != std::string::npos && same;
    std::printf("%s rope invalid: %-44s -> status %d, \"%s\"%s\n",
                pass ? "PASS" : "FAIL", b.what, int(st), msg.c_str(),
                same ? "" : " [BUFFER CHANGED]");
    failures += !pass;
    ok += pass;
  }
  // A table in out's v columns (not written) is fine; so is a valid call
  // with rope == NULL or no rotated range (the plain call), and T = 0.
  {
    qk_rope_t r = good;
    r.cos = x + 3 * D * 2; // token 0's v columns: 64 bf16 = 32 f32
    r.table_rows = 1;
    r.table_columns = 32; // 32 f32 = 64 bf16 columns
    r.cos_row_stride = r.sin_row_stride = 32;
    r.sin = r.cos;
    r.per_pair = 1;
    r.rotary_dim = 64;
    r.head_dim = 128;
    r.positions = nullptr;
    // T = 1 so that row 0 (no positions) exists; the call writes token 0.
    qk_status_t st =
        rb.callRope(QK_DTYPE_BF16, x, W, x, W, 1, ranges, 2, &r, 3);
    std::string msg = qk_last_error_message();
    const bool pass = st == QK_STATUS_OK && msg.empty();
    std::printf("%s rope: a table in out's unwritten v columns is accepted "
                "(status %d \"%s\")\n",
                pass ? "PASS" : "FAIL", int(st), msg.c_str());
    failures += !pass;
    be.upload(dact, act.data(), actBytes); // restore
  }
  if (hostPositions) {
    // The host reads the positions: out of range is INVALID_ARGUMENT.
    for (int32_t badPos : {64, -1}) {
      int32_t p[T] = {0, 3, badPos, 7};
      std::vector<uint8_t> pos2 = pos;
      std::memcpy(&pos2[guard], p, sizeof p);
      be.upload(dpos, pos2.data(), pos2.size());
      qk_status_t st =
          rb.callRope(QK_DTYPE_BF16, x, W, x, W, T, ranges, 2, &good, 3);
      std::string msg = qk_last_error_message();
      std::vector<uint8_t> a1(actBytes);
      const bool same = be.download(a1.data(), dact, actBytes) && a1 == act;
      char want[96];
      std::snprintf(want, sizeof want,
                    "rope positions[2] = %d is outside [0, table_rows = 64)",
                    int(badPos));
      const bool pass = st == QK_STATUS_INVALID_ARGUMENT &&
                        msg.find(want) != std::string::npos && same;
      std::printf("%s rope invalid: position %d -> status %d, \"%s\"%s\n",
                  pass ? "PASS" : "FAIL", int(badPos), int(st), msg.c_str(),
                  same ? "" : " [BUFFER CHANGED]");
      failures += !pass;
    }
    be.upload(dpos, pos.data(), pos.size());
  }
  // rope == NULL and rotated_ranges == 0 are the plain call: same bits.
  {
    std::vector<uint8_t> a0(actBytes), a1(actBytes), a2(actBytes);
    bool ok2 =
        be.call(QK_DTYPE_BF16, x, W, x, W, T, ranges, 2) == QK_STATUS_OK &&
        be.download(a0.data(), dact, actBytes);
    be.upload(dact, act.data(), actBytes);
    ok2 = ok2 &&
          rb.callRope(QK_DTYPE_BF16, x, W, x, W, T, ranges, 2, nullptr, 3) ==
              QK_STATUS_OK &&
          be.download(a1.data(), dact, actBytes);
    be.upload(dact, act.data(), actBytes);
    ok2 = ok2 &&
          rb.callRope(QK_DTYPE_BF16, x, W, x, W, T, ranges, 2, &good, 0) ==
              QK_STATUS_OK &&
          be.download(a2.data(), dact, actBytes);
    be.upload(dact, act.data(), actBytes);
    const bool pass = ok2 && a0 == a1 && a0 == a2 && a0 != act;
    std::printf("%s rope: rope == NULL and rotated_ranges == 0 equal the "
                "plain call bit for bit\n",
                pass ? "PASS" : "FAIL");
    failures += !pass;
  }
  be.release(dact);
  be.release(dtab);
  be.release(dpos);
  return failures;
}

} // namespace qktest

#endif // QK_RUNTIME_TESTS_ROPETESTSUPPORT_H
