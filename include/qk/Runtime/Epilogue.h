//===- Epilogue.h - The per-group norm formula, host and device -*- C++ -*-===//
//
// The formula of QKNormRuntime.h for one element of a normalised group,
// stated once for every implementation: the host reference
// (runtime/host/HostRuntime.cpp) and the CUDA kernels (runtime/cuda/) both
// call these functions, so the order of the operations -- and with it the
// rounding -- cannot drift apart between them. What differs per
// implementation is passed in: how fp32 rounds to the activation type
// (`Round`), and the reciprocal square root (`rsqrtf` on the device, an
// exact 1/sqrt on the host).
//
// A new per-group step (another rounding point, an output type) is added
// here first, as the rotation of qk_fused_rms_norm_rope was; the kernels and
// the host loop only decide where the elements come from and where they go.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_EPILOGUE_H
#define QK_RUNTIME_EPILOGUE_H

#if defined(__CUDACC__)
#define QK_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define QK_HOST_DEVICE inline
#endif

namespace qk::runtime::epilogue {

/// 1 / sqrt(ms + eps), ms = mean(x^2) of the group in fp32. (The kernels
/// form ms as sum * (1 / group_size), the host as sum / group_size: the
/// tree-shaped GPU sum and the host's partial sums differ in their last bits
/// anyway, and both are inside the tolerance the tests state.)
template <class Rsqrt>
QK_HOST_DEVICE float inverseRms(float meanSquare, float epsilon, Rsqrt rsqrt) {
  return rsqrt(meanSquare + epsilon);
}

/// w_i of the header: weight_offset + w[i] (1 without a weight, which the
/// callers pass as weightOffset = 1, w = 0 or skip entirely).
QK_HOST_DEVICE float weightFactor(float weightOffset, float w) {
  return weightOffset + w;
}

/// y[i] before its final rounding to the activation type:
///   QK_ROUNDING_ONCE:          n_i * w_i
///   QK_ROUNDING_BEFORE_WEIGHT: round(n_i) * w_i
/// with n_i = x_i * inv. `round` rounds fp32 to the activation type and
/// back (round to nearest even).
template <class Round>
QK_HOST_DEVICE float normalize(float x, float inv, float w, bool roundBefore,
                               Round round) {
  float n = x * inv;
  if (roundBefore)
    n = round(n);
  return n * w;
}

//===----------------------------------------------------------------------===//
// The rotation of qk_fused_rms_norm_rope (docs/rope-abi.md), for element j
// of a head (0 <= j < rotary_dim; elements at or after rotary_dim pass
// through unchanged), half = rotary_dim / 2:
//   NEOX: p = j < half ? j + half : j - half; sign = j < half ? -1 : +1;
//         f = j % half
//   GPTJ: p = j ^ 1;                          sign = j even ? -1 : +1;
//         f = j / 2
//   table column = per_pair ? f : j
//   PER_OP: r = round(round(a * c) + round(sign * b * s))
//   ONCE:   r = round(a * c + sign * b * s)
// with a = v[j], b = v[p], c = cos[row][column], s = sin[row][column].
//===----------------------------------------------------------------------===//

/// The element j pairs with.
QK_HOST_DEVICE int ropePartner(bool gptj, int j, int half) {
  return gptj ? (j ^ 1) : (j < half ? j + half : j - half);
}

/// Whether the partner's term is subtracted (sign = -1).
QK_HOST_DEVICE bool ropeNegates(bool gptj, int j, int half) {
  return gptj ? (j & 1) == 0 : j < half;
}

/// The frequency index f of element j.
QK_HOST_DEVICE int ropeFrequency(bool gptj, int j, int half) {
  return gptj ? j / 2 : (j < half ? j : j - half);
}

/// The column of the cos/sin tables that element j reads (relative to
/// cos_column / sin_column).
QK_HOST_DEVICE int ropeColumn(bool gptj, bool perPair, int j, int half) {
  return perPair ? ropeFrequency(gptj, j, half) : j;
}

/// One fp32 product and one fp32 sum, each rounded on its own: FMA
/// contraction would change the ONCE result for f32 and the PER_OP result
/// whenever round() is the identity. The device says so explicitly; the
/// host files that include this are compiled with -ffp-contract=off
/// (runtime/CMakeLists.txt), which is what the plain operators then mean.
QK_HOST_DEVICE float mulRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
QK_HOST_DEVICE float addRn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

/// r[j] of the rotation, already rounded to the activation type: `a` is
/// v[j], `b` is v[p], `c` and `s` the table values, `negate` the sign
/// (ropeNegates). `round` rounds fp32 to the activation type and back; the
/// caller converts the result to storage (exact). sign * b is exact.
template <class Round>
QK_HOST_DEVICE float rotate(float a, float b, float c, float s, bool negate,
                            bool perOp, Round round) {
  const float sb = negate ? -b : b;
  if (perOp)
    return round(addRn(round(mulRn(a, c)), round(mulRn(sb, s))));
  return round(addRn(mulRn(a, c), mulRn(sb, s)));
}

} // namespace qk::runtime::epilogue

#endif // QK_RUNTIME_EPILOGUE_H
