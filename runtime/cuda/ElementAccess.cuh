//===- ElementAccess.cuh - Element and 16-byte vector access ----*- CUDA
//-*-===//
//
// How the kernels move activation elements: one element (Elem<T>), or VW of
// them as one 16-byte access (Access<T, VW>), converted to and from fp32.
// Everything dtype-specific of the kernels lives here; a new storage type
// (fp8, ...) is a new Elem/Access specialisation and nothing else in the
// kernels changes.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_ELEMENTACCESS_CUH
#define QK_RUNTIME_CUDA_ELEMENTACCESS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace qk::runtime::cuda {
template <class T> struct Elem;
template <> struct Elem<float> {
  static __device__ float toFloat(float v) { return v; }
  static __device__ float fromFloat(float v) { return v; }
};
template <> struct Elem<__half> {
  static __device__ float toFloat(__half v) { return __half2float(v); }
  static __device__ __half fromFloat(float v) { return __float2half_rn(v); }
};
template <> struct Elem<__nv_bfloat16> {
  static __device__ float toFloat(__nv_bfloat16 v) {
    return __bfloat162float(v);
  }
  static __device__ __nv_bfloat16 fromFloat(float v) {
    return __float2bfloat16_rn(v);
  }
};

// VW elements moved as one access: a 16-byte vector, or one element. The
// vector forms pack and unpack with explicit bit operations: writing the
// elements through a T* into a uint4 made nvcc split each 16-byte store
// into four 4-byte ones.
template <class T, int VW> struct Access;

__device__ inline void unpackWord(__nv_bfloat16 *, uint32_t w, float &lo,
                                  float &hi) {
  lo = __uint_as_float(w << 16);
  hi = __uint_as_float(w & 0xffff0000u);
}
__device__ inline uint32_t packWord(__nv_bfloat16 *, float lo, float hi) {
  __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&h);
}
__device__ inline void unpackWord(__half *, uint32_t w, float &lo, float &hi) {
  float2 f = __half22float2(*reinterpret_cast<__half2 *>(&w));
  lo = f.x;
  hi = f.y;
}
__device__ inline uint32_t packWord(__half *, float lo, float hi) {
  __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&h);
}

// One 16-byte store. A plain uint4 assignment was split by nvcc into four
// 4-byte stores (seen in the PTX), which quadruples the store instructions
// and turns full-sector writes into partial ones.
__device__ inline void store16(void *p, uint32_t a, uint32_t b, uint32_t c,
                               uint32_t d) {
  asm volatile("st.global.v4.b32 [%0], {%1, %2, %3, %4};" ::"l"(p), "r"(a),
               "r"(b), "r"(c), "r"(d)
               : "memory");
}

template <class T> struct Access<T, 8> { // 16-bit types
  using Raw = uint4;
  static __device__ Raw zero() { return make_uint4(0, 0, 0, 0); }
  static __device__ Raw load(const T *p) {
    return *reinterpret_cast<const uint4 *>(p);
  }
  static __device__ void unpack(const Raw &r, float (&f)[8]) {
    unpackWord((T *)nullptr, r.x, f[0], f[1]);
    unpackWord((T *)nullptr, r.y, f[2], f[3]);
    unpackWord((T *)nullptr, r.z, f[4], f[5]);
    unpackWord((T *)nullptr, r.w, f[6], f[7]);
  }
  // Values already representable in T (rounded) pack exactly.
  static __device__ Raw pack(const float (&f)[8]) {
    return make_uint4(packWord((T *)nullptr, f[0], f[1]),
                      packWord((T *)nullptr, f[2], f[3]),
                      packWord((T *)nullptr, f[4], f[5]),
                      packWord((T *)nullptr, f[6], f[7]));
  }
  static __device__ void store(T *p, const float (&f)[8]) {
    store16(p, packWord((T *)nullptr, f[0], f[1]),
            packWord((T *)nullptr, f[2], f[3]),
            packWord((T *)nullptr, f[4], f[5]),
            packWord((T *)nullptr, f[6], f[7]));
  }
};
template <> struct Access<float, 4> {
  using Raw = float4;
  static __device__ Raw zero() { return make_float4(0, 0, 0, 0); }
  static __device__ Raw load(const float *p) {
    return *reinterpret_cast<const float4 *>(p);
  }
  static __device__ void unpack(const Raw &r, float (&f)[4]) {
    f[0] = r.x;
    f[1] = r.y;
    f[2] = r.z;
    f[3] = r.w;
  }
  static __device__ Raw pack(const float (&f)[4]) {
    return make_float4(f[0], f[1], f[2], f[3]);
  }
  static __device__ void store(float *p, const float (&f)[4]) {
    store16(p, __float_as_uint(f[0]), __float_as_uint(f[1]),
            __float_as_uint(f[2]), __float_as_uint(f[3]));
  }
};
template <class T> struct Access<T, 1> {
  using Raw = T;
  static __device__ Raw zero() { return Elem<T>::fromFloat(0.0f); }
  static __device__ Raw load(const T *p) { return *p; }
  static __device__ void unpack(const Raw &r, float (&f)[1]) {
    f[0] = Elem<T>::toFloat(r);
  }
  static __device__ Raw pack(const float (&f)[1]) {
    return Elem<T>::fromFloat(f[0]);
  }
  static __device__ void store(T *p, const float (&f)[1]) {
    *p = Elem<T>::fromFloat(f[0]);
  }
};

template <class T> __device__ float roundTrip(float v) {
  return Elem<T>::toFloat(Elem<T>::fromFloat(v));
}

// round() of QKNormRuntime.h: fp32 to the activation type and back.
template <class T> struct RoundTo {
  __device__ float operator()(float v) const { return roundTrip<T>(v); }
};

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ELEMENTACCESS_CUH
