//===- HostRuntime.cpp - Plain C++ reference of the QK-norm runtime -------===//
//
// The same C ABI as the CUDA runtime, on host memory. It exists so that the
// compiler's call path (descriptors, strides, offsets) can be tested on
// machines without a GPU, and as a readable statement of the semantics: it
// follows the formulas of QKNormRuntime.h literally, with fp32 arithmetic.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/Epilogue.h"
#include "qk/Runtime/QKNormRuntime.h"

#include "../common/Validate.h"

#include <cmath>
#include <cstdint>
#include <cstring>

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

void normalizeGroup(qk_dtype_t dtype, const qk_norm_range_t &rg, const void *in,
                    int64_t inBase, void *out, int64_t outBase) {
  // fp32 accumulation as the header says; eight partial sums keep the
  // rounding error of long (full-width) groups near that of the GPU's tree
  // reduction instead of growing linearly with the group size.
  float partial[8] = {};
  for (int64_t i = 0; i < rg.group_size; ++i) {
    float x = load(dtype, in, inBase + i);
    partial[i & 7] += x * x;
  }
  float sum = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
              ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  namespace ep = qk::runtime::epilogue;
  const float inv = ep::inverseRms(sum / float(rg.group_size), rg.epsilon,
                                   [](float v) { return 1.0f / std::sqrt(v); });
  const bool roundBefore = rg.rounding == QK_ROUNDING_BEFORE_WEIGHT;
  auto round = [dtype](float v) { return roundTo(dtype, v); };
  // Every x[i] is read before y[i] is written and nothing reads it again,
  // so in == out needs no buffer.
  for (int64_t i = 0; i < rg.group_size; ++i) {
    const float w = rg.weight
                        ? ep::weightFactor(rg.weight_offset,
                                           load(rg.weight_dtype, rg.weight, i))
                        : 1.0f;
    store(
        dtype, out, outBase + i,
        ep::normalize(load(dtype, in, inBase + i), inv, w, roundBefore, round));
  }
}

} // namespace

extern "C" QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens, const qk_norm_range_t *ranges,
    int32_t num_ranges, void * /*stream*/) {
  qk::runtime::clearError();
  qk::runtime::CallInfo info;
  qk_status_t st = qk::runtime::validateCall(dtype, in, in_token_stride, out,
                                             out_token_stride, num_tokens,
                                             ranges, num_ranges, info);
  if (st != QK_STATUS_OK)
    return st;
  for (int64_t t = 0; t < num_tokens; ++t)
    for (int32_t r = 0; r < num_ranges; ++r) {
      const qk_norm_range_t &rg = ranges[r];
      for (int64_t g = 0; g < rg.num_groups; ++g) {
        int64_t col = rg.column_offset + g * rg.group_stride;
        normalizeGroup(dtype, rg, in, t * in_token_stride + col, out,
                       t * out_token_stride + col);
      }
    }
  return QK_STATUS_OK;
}

extern "C" QK_RUNTIME_EXPORT const char *qk_runtime_name(void) {
  return "host";
}
