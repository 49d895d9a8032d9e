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
// A new per-group step (another rounding point, a rotation, an output type)
// is added here first; the kernels and the host loop only decide where the
// elements come from and where they go.
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

} // namespace qk::runtime::epilogue

#endif // QK_RUNTIME_EPILOGUE_H
