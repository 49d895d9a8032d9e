//===- HostRuntime.cpp - Plain C++ reference of the QK-norm runtime -------===//
//
// The same C ABI as the CUDA runtime, on host memory. It exists so that the
// compiler's call path (descriptors, strides, offsets) can be tested on
// machines without a GPU, and as a readable statement of the semantics: it
// follows the formulas of QKNormRuntime.h literally, with fp32 arithmetic,
// and the rotation of qk_fused_rms_norm_rope through Epilogue.h. Compiled
// with -ffp-contract=off (runtime/CMakeLists.txt): a fused multiply-add
// would change the rotation's results.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/Epilogue.h"
#include "qk/Runtime/QKNormRuntime.h"

#include "../common/Validate.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace {

float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t floatToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float bf16ToFloat(uint16_t h) { return bitsToFloat(uint32_t(h) << 16); }

uint16_t floatToBf16(float f) {
  uint32_t u = floatToBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet, keep the sign
    return uint16_t((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u); // round to nearest even
  return uint16_t(u >> 16);
}

float f16ToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) // inf / NaN
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) { // zero / subnormal: mant * 2^-24, exact in float
    float v = float(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  return bitsToFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

uint16_t floatToF16(float f) {
  uint32_t u = floatToBits(f);
  uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u)
    return uint16_t(sign | 0x7e00u);
  if (a >= 0x477ff000u) // >= 65520 rounds to infinity
    return uint16_t(sign | 0x7c00u);
  if (a < 0x38800000u) { // below 2^-14: subnormal result in units of 2^-24
    float scaled = bitsToFloat(a) * 0x1p24f; // exact: < 1024
    return uint16_t(sign | uint16_t(std::nearbyint(scaled)));
  }
  uint32_t h = ((((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu));
  uint32_t rem = a & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    ++h; // a carry into the exponent is the correct result
  return uint16_t(sign | h);
}

// Storage and conversions of every dtype of qk/Runtime/Codes.def: a dtype
// added to the table without a specialisation here does not compile.
template <qk_dtype_t D> struct Element;
template <> struct Element<QK_DTYPE_F32> {
  using Storage = float;
  static float toFloat(float v) { return v; }
  static float fromFloat(float v) { return v; }
};
template <> struct Element<QK_DTYPE_F16> {
  using Storage = uint16_t;
  static float toFloat(uint16_t h) { return f16ToFloat(h); }
  static uint16_t fromFloat(float f) { return floatToF16(f); }
};
template <> struct Element<QK_DTYPE_BF16> {
  using Storage = uint16_t;
  static float toFloat(uint16_t h) { return bf16ToFloat(h); }
  static uint16_t fromFloat(float f) { return floatToBf16(f); }
};
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, ...)                                \
  static_assert(sizeof(Element<QK_DTYPE_##NAME>::Storage) == BYTES,            \
                "the host storage of " #CNAME " is not its Codes.def size");
#include "qk/Runtime/Codes.def"

float load(qk_dtype_t dtype, const void *base, int64_t i) {
  switch (dtype) {
#define QK_DTYPE(NAME, ...)                                                    \
  case QK_DTYPE_##NAME: {                                                      \
    using E = Element<QK_DTYPE_##NAME>;                                        \
    return E::toFloat(static_cast<const E::Storage *>(base)[i]);               \
  }
#include "qk/Runtime/Codes.def"
  }
  return 0.0f;
}

// round() of the header: fp32 to the activation type and back.
float roundTo(qk_dtype_t dtype, float v) {
  switch (dtype) {
#define QK_DTYPE(NAME, ...)                                                    \
  case QK_DTYPE_##NAME: {                                                      \
    using E = Element<QK_DTYPE_##NAME>;                                        \
    return E::toFloat(E::fromFloat(v));                                        \
  }
#include "qk/Runtime/Codes.def"
  }
  return v;
}

void store(qk_dtype_t dtype, void *base, int64_t i, float v) {
  switch (dtype) {
#define QK_DTYPE(NAME, ...)                                                    \
  case QK_DTYPE_##NAME: {                                                      \
    using E = Element<QK_DTYPE_##NAME>;                                        \
    static_cast<E::Storage *>(base)[i] = E::fromFloat(v);                      \
    return;                                                                    \
  }
#include "qk/Runtime/Codes.def"
  }
}

// The table row of token t: positions[t], or t without positions.
int64_t positionOf(const qk_rope_t &rope, int64_t t) {
  if (!rope.positions)
    return t;
  if (rope.positions_dtype == QK_INDEX_I64)
    return static_cast<const int64_t *>(rope.positions)[t];
  return static_cast<const int32_t *>(rope.positions)[t];
}

// Rotates every head of the group in `v` (values as the previous step left
// them, already rounded to the activation type) into `r`, per Epilogue.h.
void rotateGroup(qk_dtype_t dtype, const qk_rope_t &rope, int64_t row,
                 const float *v, float *r, int64_t groupSize) {
  namespace ep = qk::runtime::epilogue;
  const bool gptj = rope.style == QK_ROPE_STYLE_GPTJ;
  const bool perOp = rope.rounding == QK_ROPE_ROUNDING_PER_OP;
  const int half = int(rope.rotary_dim / 2);
  auto round = [dtype](float x) { return roundTo(dtype, x); };
  for (int64_t h = 0; h < groupSize; h += rope.head_dim)
    for (int64_t jj = 0; jj < rope.head_dim; ++jj) {
      const int j = int(jj);
      if (jj >= rope.rotary_dim) {
        r[h + jj] = v[h + jj];
        continue;
      }
      const int col = ep::ropeColumn(gptj, rope.per_pair != 0, j, half);
      const float c = load(rope.table_dtype, rope.cos,
                           row * rope.cos_row_stride + rope.cos_column + col);
      const float s = load(rope.table_dtype, rope.sin,
                           row * rope.sin_row_stride + rope.sin_column + col);
      r[h + jj] =
          ep::rotate(v[h + jj], v[h + ep::ropePartner(gptj, j, half)], c, s,
                     ep::ropeNegates(gptj, j, half), perOp, round);
    }
}

// One group: x -> (rotate) -> norm -> (rotate) -> y, through `buf` (three
// group-sized scratch arrays), so that in == out needs no care.
void processGroup(qk_dtype_t dtype, const qk_norm_range_t &rg, const void *in,
                  int64_t inBase, void *out, int64_t outBase,
                  const qk_rope_t *rope, int64_t row, float *buf) {
  namespace ep = qk::runtime::epilogue;
  const int64_t n = rg.group_size;
  float *x = buf, *y = buf + n, *tmp = buf + 2 * n;
  for (int64_t i = 0; i < n; ++i)
    x[i] = load(dtype, in, inBase + i);
  if (rope && rope->before_norm) { // Llama4: the norm reads the rotation
    rotateGroup(dtype, *rope, row, x, tmp, n);
    std::swap(x, tmp);
  }
  // fp32 accumulation as the header says; eight partial sums keep the
  // rounding error of long (full-width) groups near that of the GPU's tree
  // reduction instead of growing linearly with the group size.
  float partial[8] = {};
  for (int64_t i = 0; i < n; ++i)
    partial[i & 7] += x[i] * x[i];
  float sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
              ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  const float inv = ep::inverseRms(sum / float(n), rg.epsilon,
                                   [](float v) { return 1.0f / std::sqrt(v); });
  const bool roundBefore = rg.rounding == QK_ROUNDING_BEFORE_WEIGHT;
  auto round = [dtype](float v) { return roundTo(dtype, v); };
  for (int64_t i = 0; i < n; ++i) {
    const float w = rg.weight
                        ? ep::weightFactor(rg.weight_offset,
                                           load(rg.weight_dtype, rg.weight, i))
                        : 1.0f;
    y[i] = round(ep::normalize(x[i], inv, w, roundBefore, round));
  }
  if (rope && !rope->before_norm) { // the norm's rounded output rotates
    rotateGroup(dtype, *rope, row, y, tmp, n);
    std::swap(y, tmp);
  }
  for (int64_t i = 0; i < n; ++i)
    store(dtype, out, outBase + i, y[i]); // exact: y is rounded
}

// qk_fused_rms_norm and qk_fused_rms_norm_rope: one implementation, the
// plain call being the one without a rotation.
qk_status_t run(qk_dtype_t dtype, const void *in, int64_t inStride, void *out,
                int64_t outStride, int64_t numTokens,
                const qk_norm_range_t *ranges, int32_t numRanges,
                const qk_rope_t *rope, uint32_t rotated) {
  qk::runtime::clearError();
  qk::runtime::CallInfo info;
  qk::runtime::RopeInfo ri;
  if (qk_status_t st = qk::runtime::validateRopeCall(
          dtype, in, inStride, out, outStride, numTokens, ranges, numRanges,
          rope, rotated, info, ri))
    return st;
  if (!ri.active)
    rope = nullptr;
  // The contract's last check, which only the host can make before writing
  // anything: every position names a row of the tables.
  if (rope && rope->positions)
    for (int64_t t = 0; t < numTokens; ++t) {
      const int64_t p = positionOf(*rope, t);
      if (p < 0 || p >= rope->table_rows)
        return qk::runtime::fail(QK_STATUS_INVALID_ARGUMENT,
                                 "rope positions[%lld] = %lld is outside [0, "
                                 "table_rows = %lld)",
                                 (long long)t, (long long)p,
                                 (long long)rope->table_rows);
    }
  if (numTokens == 0)
    return QK_STATUS_OK;
  std::vector<float> buf(size_t(3 * info.maxGroupSize));
  for (int64_t t = 0; t < numTokens; ++t) {
    const int64_t row = rope ? positionOf(*rope, t) : 0;
    for (int32_t r = 0; r < numRanges; ++r) {
      const qk_norm_range_t &rg = ranges[r];
      const qk_rope_t *rr = rope && ((rotated >> r) & 1u) ? rope : nullptr;
      for (int64_t g = 0; g < rg.num_groups; ++g) {
        int64_t col = rg.column_offset + g * rg.group_stride;
        processGroup(dtype, rg, in, t * inStride + col, out,
                     t * outStride + col, rr, row, buf.data());
      }
    }
  }
  return QK_STATUS_OK;
}

} // namespace

extern "C" QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens, const qk_norm_range_t *ranges,
    int32_t num_ranges, void * /*stream*/) {
  return run(dtype, in, in_token_stride, out, out_token_stride, num_tokens,
             ranges, num_ranges, nullptr, 0);
}

extern "C" QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm_rope(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens, const qk_norm_range_t *ranges,
    int32_t num_ranges, const qk_rope_t *rope, uint32_t rotated_ranges,
    void * /*stream*/) {
  return run(dtype, in, in_token_stride, out, out_token_stride, num_tokens,
             ranges, num_ranges, rope, rotated_ranges);
}

extern "C" QK_RUNTIME_EXPORT const char *qk_runtime_name(void) {
  return "host";
}
