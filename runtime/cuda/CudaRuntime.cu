//===- CudaRuntime.cu - CUDA implementation of the QK-norm runtime --------===//
//
// One launch normalises every (token, group) row of every range. The work is
// memory bound (2 bytes read and 2 written per bf16 element, a few flops), so
// the design is about bytes in flight and launch latency:
//
//  * A "team" of TEAM lanes (8, 16 or 32: a sub-warp or a warp) owns one
//    group column g and a run of tokens (by default one token: the grid
//    holds up to 256 times the resident capacity of the GPU), so that the
//    block scheduler overlaps one block's reduce/store tail with other
//    blocks' loads; a persistent one-wave grid measured 91% of copy
//    bandwidth at T=32768 against 99-100% this way. Teams of one warp hold
//    neighbouring groups of the same tokens: their loads coalesce. Tiny T
//    launches only the teams it needs.
//  * Each lane moves 16-byte vectors when every pointer, stride and offset
//    allows it, otherwise single elements (the scalar fallback).
//  * A team keeps one row of loads in flight at small T (the shortest
//    kernel) and two above. Each team, after issuing its own loads, also
//    prefetches into L2 the rows of the team one resident wave ahead, so
//    later waves mostly hit L2.
//  * Groups too wide for a warp (full-width OLMo2 norms, up to 32768 bf16
//    elements cached in registers) use a whole block per row; anything wider
//    (or unaligned and wide) uses a two-pass block loop.
//  * The parameter block is 128 bytes with 32-bit offsets for the common
//    call (<= 2 ranges, offsets < 2^31): every touched 64-byte line of it is
//    a constant-cache miss at the start of each launch.
//  * Launches use programmatic dependent launch (PDL) so that back-to-back
//    kernels overlap their launch latency and index math; every kernel waits
//    on its predecessor before touching memory, so the ordering is
//    unchanged. Set QK_RUNTIME_DISABLE_PDL=1 to launch plainly.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include "../common/Validate.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace {

using qk::runtime::CallInfo;
using qk::runtime::fail;

//===----------------------------------------------------------------------===//
// Kernel parameters
//===----------------------------------------------------------------------===//

enum RangeFlags : int32_t {
  kWeightF32 = 1,         // weights are f32 (else the activation type)
  kRoundBeforeWeight = 2, // QK_ROUNDING_BEFORE_WEIGHT
  kWeightVector = 4,      // weights 16-byte aligned: vector loads
};

template <class Off> struct DevRange {
  Off columnOffset;
  Off groupStride;
  const void *weight; // NULL: w = 1
  int32_t groupBase;  // index of this range's first group among all groups
  int32_t groupSize;
  float invGroupSize;
  float epsilon;
  float weightOffset;
  int32_t flags; // RangeFlags
};

// The parameter block of every kernel. It lives in constant bank 0, which
// is new (and cold) at every launch, and each 64-byte line of it that a
// kernel touches is a dependent constant-cache miss before the first load
// can issue. Measured on an H100 (benchmarks/qknorm_variants.cu), the rest
// of the kernel unchanged: T = 1 took 2.1 us per call in a CUDA graph with a
// 288-byte block of 64-bit offsets and 1.4 us with the 128-byte
// CompactParams (32-bit offsets and index math, two ranges). WideParams
// covers everything else: more ranges, or offsets beyond 2^31 elements.
template <int NR, class Off> struct Params {
  const void *in;
  void *out;
  Off inStride;
  Off outStride;
  Off numTokens;
  // Teams (or blocks) per group; worker j of a group handles tokens
  // j*tokensPerTeam .. (j+1)*tokensPerTeam-1.
  Off tokensPerTeam;
  int32_t numRanges;
  int32_t totalGroups;
  int32_t teamsPerGroup;
  // Team kernel: team i prefetches into L2 the rows of team i+prefetchTeams
  // (one resident wave ahead); 0: no prefetch.
  int32_t prefetchTeams;
  DevRange<Off> ranges[NR];
};
using CompactParams = Params<2, int32_t>;
using WideParams = Params<QK_MAX_RANGES, int64_t>;
static_assert(sizeof(CompactParams) <= 128, "two constant-cache lines");

//===----------------------------------------------------------------------===//
// Element access
//===----------------------------------------------------------------------===//

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
  static __device__ void store(T *p, const float (&f)[1]) {
    *p = Elem<T>::fromFloat(f[0]);
  }
};

template <class T> __device__ float roundTrip(float v) {
  return Elem<T>::toFloat(Elem<T>::fromFloat(v));
}

// One weight element (the unaligned and the loop kernels' path). Weights
// are read-only for the whole launch (they must not alias `out`), so the
// read-only path is safe.
template <class T, class R> __device__ float loadWeight(const R &r, int64_t i) {
  float w = (r.flags & kWeightF32)
                ? __ldg(static_cast<const float *>(r.weight) + i)
                : Elem<T>::toFloat(__ldg(static_cast<const T *>(r.weight) + i));
  return r.weightOffset + w;
}

// The VW weights of access `a` (elements a*VW ..): one 16-byte load of
// activation-type weights or VW/4 of f32 weights when the range's weights
// are aligned, else VW element loads. `valid` is false past the group's end
// and for weight-less ranges: w = 1.
template <class T, int VW, class R>
__device__ void loadWeights(const R &r, int a, bool valid, float (&w)[VW]) {
  if (!valid || !r.weight) {
#pragma unroll
    for (int k = 0; k < VW; ++k)
      w[k] = 1.0f;
    return;
  }
  if constexpr (VW > 1) {
    if (r.flags & kWeightVector) {
      if (r.flags & kWeightF32) {
        const float4 *p = static_cast<const float4 *>(r.weight) + a * (VW / 4);
#pragma unroll
        for (int h = 0; h < VW / 4; ++h) {
          const float4 u = __ldg(p + h);
          w[4 * h] = u.x, w[4 * h + 1] = u.y, w[4 * h + 2] = u.z,
                w[4 * h + 3] = u.w;
        }
      } else {
        using Raw = typename Access<T, VW>::Raw;
        Access<T, VW>::unpack(__ldg(static_cast<const Raw *>(r.weight) + a), w);
      }
#pragma unroll
      for (int k = 0; k < VW; ++k)
        w[k] += r.weightOffset;
      return;
    }
  }
#pragma unroll
  for (int k = 0; k < VW; ++k)
    w[k] = loadWeight<T>(r, int64_t(a) * VW + k);
}

// The range a global group index belongs to, copied out of the parameter
// block with static offsets only: a dynamically indexed __grid_constant__
// access becomes a chain of dependent constant-bank loads at kernel start,
// which is pure latency for small T.
template <int NR, class Off>
__device__ DevRange<Off> rangeOf(const Params<NR, Off> &p, int g) {
  DevRange<Off> r = p.ranges[0];
#pragma unroll
  for (int k = 1; k < NR; ++k)
    if (k < p.numRanges && g >= p.ranges[k].groupBase)
      r = p.ranges[k];
  return r;
}

// What worker `worker` (a team, or a block of the block kernels) works on:
// its group's range, the group's first column, and its tokens
// [begin, end). Worker w handles group w % totalGroups and the
// (w / totalGroups)-th run of tokensPerTeam tokens.
template <class Off> struct WorkerRows {
  DevRange<Off> range;
  Off column;
  Off begin;
  Off end;
};

template <int NR, class Off>
__device__ WorkerRows<Off> locateWorker(const Params<NR, Off> &p,
                                        unsigned worker) {
  const int g = int(worker % unsigned(p.totalGroups));
  const Off j = Off(worker / unsigned(p.totalGroups));
  WorkerRows<Off> r;
  r.range = rangeOf(p, g);
  r.column =
      r.range.columnOffset + Off(g - r.range.groupBase) * r.range.groupStride;
  r.begin = j * p.tokensPerTeam;
  r.end = r.begin + p.tokensPerTeam;
  if (r.end > p.numTokens)
    r.end = p.numTokens;
  return r;
}

// Programmatic dependent launch, in two halves. Every kernel first lets the
// next kernel in the stream start launching (its own wait keeps it from
// touching memory before we are done), then computes its indices from the
// parameter block -- which no earlier kernel can change -- and only then
// waits until the previous kernel has finished and its writes are visible.
// The index math and the parameter-block misses thus overlap the previous
// kernel's tail. No global memory is read or written before pdlWait().
__device__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// y = round(n * w) or round(round(n) * w): the two orders of the header.
template <class T>
__device__ float finish(float x, float inv, float w, bool roundBefore) {
  float n = x * inv;
  if (roundBefore)
    n = roundTrip<T>(n);
  return n * w;
}

//===----------------------------------------------------------------------===//
// Team kernel: TEAM lanes per row, NV accesses of VW elements per lane.
//===----------------------------------------------------------------------===//

// R rows in flight per team (1 at small T: the shortest kernel; 2 above:
// on an H100 R = 2 with 128-thread blocks beat R = 1, 4 and 8 at T >= 1024,
// e.g. 6.0 against 7.1 us at T = 1024 with the rows in L2), and an L2
// prefetch of the rows that the team one resident wave ahead will load
// (Params::prefetchTeams; 0 turns it off). Register caps: six resident
// 256-thread blocks (<= 40 registers) for R = 1 (48 left five), nine
// 128-thread blocks (<= 56) for R = 2; the wide-parameter path would spill
// under them.
template <int R, int NV, int BLOCK, class P> constexpr int minTeamBlocks() {
  if constexpr (NV != 1 || !std::is_same_v<P, CompactParams>)
    return 1;
  if constexpr (R == 1 && BLOCK == 256)
    return 6;
  if constexpr (R == 2 && BLOCK == 128)
    return 9;
  return 1;
}

template <class T, int VW, int TEAM, int NV, int R, int BLOCK, class P>
__global__ void __launch_bounds__(BLOCK, minTeamBlocks<R, NV, BLOCK, P>())
    teamKernel(const __grid_constant__ P p) {
  using A = Access<T, VW>;
  using Off = decltype(p.numTokens);
  pdlLaunchDependents();
  const int lane = threadIdx.x % TEAM;
  // Grids stay far below 2^31 threads (validation caps the groups).
  const unsigned team = (blockIdx.x * BLOCK + threadIdx.x) / TEAM;
  const unsigned teams = unsigned(p.totalGroups) * unsigned(p.teamsPerGroup);
  if (team >= teams)
    return;
  const WorkerRows<Off> me = locateWorker(p, team);
  const DevRange<Off> &rg = me.range;
  const int nAcc = rg.groupSize / VW; // accesses per row (VW divides it)
  // Shuffles name only this team's lanes: other teams of the warp may have
  // left the token loop already.
  const unsigned mask = TEAM == 32 ? 0xffffffffu
                                   : ((1u << TEAM) - 1u)
                                         << (threadIdx.x % 32 / TEAM * TEAM);
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  const T *in = static_cast<const T *>(p.in) + me.column;
  T *out = static_cast<T *>(p.out) + me.column;

  // The team one wave ahead: its first row, row count and accesses per row
  // (only these stay live, not its whole range).
  const unsigned ahead = team + unsigned(p.prefetchTeams);
  const T *pfRow = nullptr;
  Off pfRows = 0;
  int pfAcc = 0;
  if (p.prefetchTeams > 0 && ahead < teams) {
    const WorkerRows<Off> next = locateWorker(p, ahead);
    pfRow =
        static_cast<const T *>(p.in) + next.column + next.begin * p.inStride;
    pfRows = next.end - next.begin;
    pfAcc = next.range.groupSize / VW;
  }
  // One prefetch per 128-byte line of a row.
  constexpr int kAccPerLine = 128 / (VW * int(sizeof(T)));

  typename A::Raw raw[R][NV];
  auto loadRows = [&](Off t0) {
#pragma unroll
    for (int i = 0; i < R; ++i)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        raw[i][v] = (t0 + i < me.end && a < nAcc)
                        ? A::load(in + (t0 + i) * p.inStride + Off(a) * VW)
                        : A::zero();
      }
  };
  // The future team's rows i0 .. i0+R-1 (relative to its first row).
  auto prefetchRows = [&](Off i0) {
#pragma unroll
    for (int i = 0; i < R; ++i)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        if (i0 + i < pfRows && a < pfAcc && a % kAccPerLine == 0)
          asm volatile("prefetch.global.L2 [%0];" ::"l"(
              pfRow + (i0 + i) * p.inStride + Off(a) * VW));
      }
  };

  pdlWait();
  // The first rows are requested before anything else: the prefetch and
  // the weights' offset and conversion would otherwise delay them, adding
  // to every small-T call.
  loadRows(me.begin);
  prefetchRows(0);
  float w[NV][VW];
#pragma unroll
  for (int v = 0; v < NV; ++v)
    loadWeights<T, VW>(rg, lane + v * TEAM, lane + v * TEAM < nAcc, w[v]);
  for (Off t0 = me.begin; t0 < me.end; t0 += R) {
    if (t0 != me.begin) {
      loadRows(t0);
      prefetchRows(t0 - me.begin);
    }
    // The raw vectors stay packed and are unpacked again for the output:
    // unpacking costs a shift or a convert, keeping R*NV*VW floats live
    // would cost occupancy.
    float ss[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
      ss[i] = 0.0f;
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        float x[VW];
        A::unpack(raw[i][v], x);
#pragma unroll
        for (int k = 0; k < VW; ++k)
          ss[i] = fmaf(x[k], x[k], ss[i]);
      }
    }
#pragma unroll
    for (int off = TEAM / 2; off > 0; off /= 2)
#pragma unroll
      for (int i = 0; i < R; ++i)
        ss[i] += __shfl_xor_sync(mask, ss[i], off, TEAM);
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const float inv = rsqrtf(ss[i] * rg.invGroupSize + rg.epsilon);
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        if (t0 + i < me.end && a < nAcc) {
          float y[VW];
          A::unpack(raw[i][v], y);
#pragma unroll
          for (int k = 0; k < VW; ++k)
            y[k] = finish<T>(y[k], inv, w[v][k], roundBefore);
          A::store(out + (t0 + i) * p.outStride + Off(a) * VW, y);
        }
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Block kernel: one block per row, the row cached in registers.
//===----------------------------------------------------------------------===//

__device__ float blockSum(float v, float (*red)[32], int parity) {
#pragma unroll
  for (int off = 16; off > 0; off /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, off);
  const int warp = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0)
    red[parity][warp] = v;
  __syncthreads();
  float s = 0.0f;
  const int nWarps = blockDim.x / 32;
  for (int k = 0; k < nWarps; ++k)
    s += red[parity][k];
  // No second barrier: the next call writes the other half of `red`, and
  // reaching the write after next means every thread passed the next
  // barrier, i.e. finished reading this one.
  return s;
}

template <class T, int VW, int NV, class P>
__global__ void __launch_bounds__(512)
    blockKernel(const __grid_constant__ P p) {
  using A = Access<T, VW>;
  using Off = decltype(p.numTokens);
  __shared__ float red[2][32];
  pdlLaunchDependents();
  const WorkerRows<Off> row = locateWorker(p, blockIdx.x);
  const DevRange<Off> rg = row.range;
  const Off tBegin = row.begin;
  const Off tEnd = row.end;
  const int nAcc = rg.groupSize / VW;
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  const T *in = static_cast<const T *>(p.in) + row.column;
  T *out = static_cast<T *>(p.out) + row.column;
  typename A::Raw raw[NV];
  auto loadRow = [&](Off t) {
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = threadIdx.x + v * blockDim.x;
      raw[v] =
          a < nAcc ? A::load(in + t * p.inStride + Off(a) * VW) : A::zero();
    }
  };
  pdlWait();
  // As in teamKernel: the first row is requested before the weights.
  loadRow(tBegin);
  float w[NV][VW];
#pragma unroll
  for (int v = 0; v < NV; ++v) {
    const int a = threadIdx.x + v * blockDim.x;
    loadWeights<T, VW>(rg, a, a < nAcc, w[v]);
  }
  int parity = 0;
  for (Off t = tBegin; t < tEnd; ++t, parity ^= 1) {
    if (t != tBegin)
      loadRow(t);
    float ss = 0.0f;
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      float x[VW];
      A::unpack(raw[v], x);
#pragma unroll
      for (int k = 0; k < VW; ++k)
        ss = fmaf(x[k], x[k], ss);
    }
    const float inv =
        rsqrtf(blockSum(ss, red, parity) * rg.invGroupSize + rg.epsilon);
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = threadIdx.x + v * blockDim.x;
      if (a < nAcc) {
        float y[VW];
        A::unpack(raw[v], y);
#pragma unroll
        for (int k = 0; k < VW; ++k)
          y[k] = finish<T>(y[k], inv, w[v][k], roundBefore);
        A::store(out + t * p.outStride + Off(a) * VW, y);
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Loop kernel: any width, element by element, two passes over the row (the
// second pass mostly hits L2). Only for rows too wide to cache or unaligned
// wide rows; correctness over speed.
//===----------------------------------------------------------------------===//

template <class T, class P>
__global__ void __launch_bounds__(256) loopKernel(const __grid_constant__ P p) {
  using Off = decltype(p.numTokens);
  __shared__ float red[2][32];
  pdlLaunchDependents();
  const WorkerRows<Off> row = locateWorker(p, blockIdx.x);
  const DevRange<Off> rg = row.range;
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  pdlWait();
  int parity = 0;
  for (Off t = row.begin; t < row.end; ++t, parity ^= 1) {
    const T *x = static_cast<const T *>(p.in) + t * p.inStride + row.column;
    T *y = static_cast<T *>(p.out) + t * p.outStride + row.column;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < rg.groupSize; i += blockDim.x) {
      const float v = Elem<T>::toFloat(x[i]);
      ss = fmaf(v, v, ss);
    }
    const float inv =
        rsqrtf(blockSum(ss, red, parity) * rg.invGroupSize + rg.epsilon);
    // Each thread re-reads only the elements it alone writes: in place is
    // safe without a barrier.
    for (int i = threadIdx.x; i < rg.groupSize; i += blockDim.x) {
      const float w = rg.weight ? loadWeight<T>(rg, i) : 1.0f;
      y[i] = Elem<T>::fromFloat(
          finish<T>(Elem<T>::toFloat(x[i]), inv, w, roundBefore));
    }
  }
}

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

constexpr int kMaxDevices = 64;

// Per-device values that never change, cached so that a call costs no
// driver queries after the first (the host budget is a few microseconds).
struct DeviceCache {
  std::atomic<int> value[kMaxDevices];
  DeviceCache() {
    for (auto &v : value)
      v.store(-1, std::memory_order_relaxed);
  }
};

qk_status_t deviceError(cudaError_t err, const char *what) {
  cudaGetLastError(); // a failed launch leaves no sticky state; clear it
  return fail(QK_STATUS_DEVICE_ERROR, "%s: %s (%s)", what,
              cudaGetErrorString(err), cudaGetErrorName(err));
}

qk_status_t smCount(int device, int &count) {
  static DeviceCache cache;
  if (device < 0 || device >= kMaxDevices)
    return fail(QK_STATUS_UNSUPPORTED, "device ordinal %d is out of range",
                device);
  count = cache.value[device].load(std::memory_order_relaxed);
  if (count > 0)
    return QK_STATUS_OK;
  cudaError_t err =
      cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
  if (err != cudaSuccess)
    return deviceError(err, "cudaDeviceGetAttribute(MultiProcessorCount)");
  cache.value[device].store(count, std::memory_order_relaxed);
  return QK_STATUS_OK;
}

// The run-time switches (read once each): unset or empty gives `dflt`,
// "0" or "never" is off, anything else on.
bool envSwitch(const char *name, bool dflt) {
  const char *v = std::getenv(name);
  if (!v || !v[0])
    return dflt;
  return std::strcmp(v, "0") != 0 && std::strcmp(v, "never") != 0;
}

// Where and how a call launches.
struct Target {
  int device = 0;
  int sms = 0;
  // Team kernels prefetch the next wave's rows into L2
  // (Params::prefetchTeams).
  bool l2Prefetch = false;
  cudaStream_t stream = nullptr;
};

// The team kernels' L2 prefetch of the next wave's rows, on unless
// QK_RUNTIME_L2_PREFETCH=0 (or "never"). Measured on an H100 (bench_qknorm.py,
// docs/kernel-performance.md): +2-3 points of copy bandwidth on cold data
// (T = 1024: 84 -> 87%; the Hq=8 shard at T = 8192: 87 -> 89%), and 0-2%
// when the rows are already in L2 (4.5% in the worst cell, the shard at
// T = 8192). With one row in flight per team it cost 5% in L2, one more
// reason for two.
bool l2PrefetchEnabled() {
  static const bool enabled = envSwitch("QK_RUNTIME_L2_PREFETCH", true);
  return enabled;
}

bool pdlEnabled() {
  static const bool enabled = !envSwitch("QK_RUNTIME_DISABLE_PDL", false);
  return enabled;
}

// Resident blocks of `Kernel` per SM at `block` threads, cached per kernel
// instantiation (the template's own static), block size and device. Block
// kernels run at several sizes, all multiples of 32 up to 1024.
template <auto Kernel>
qk_status_t blocksPerSm(int device, int block, int &count) {
  static DeviceCache byWarps[32];
  DeviceCache &c = byWarps[block / 32 - 1];
  count = c.value[device].load(std::memory_order_relaxed);
  if (count > 0)
    return QK_STATUS_OK;
  cudaError_t err =
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&count, Kernel, block, 0);
  if (err != cudaSuccess)
    return deviceError(err, "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  if (count < 1)
    count = 1;
  c.value[device].store(count, std::memory_order_relaxed);
  return QK_STATUS_OK;
}

template <auto Kernel, class P>
qk_status_t launch(const P &p, int grid, int block, cudaStream_t stream) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(unsigned(grid));
  cfg.blockDim = dim3(unsigned(block));
  cfg.dynamicSmemBytes = 0;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdlEnabled() ? 1 : 0;
  cudaError_t err = cudaLaunchKernelEx(&cfg, Kernel, p);
  if (err != cudaSuccess)
    return deviceError(err, "kernel launch failed");
  return QK_STATUS_OK;
}

// How many times the resident capacity of the GPU a grid may hold. One wave
// (a persistent grid) leaves each worker a long serial chain of load ->
// reduce -> store with no overlap between its steps; many short-lived
// workers let the block scheduler overlap one block's tail with the next
// block's loads. On an H100, 1/2/4/8/64 waves gave 91/92/93/94/99% of copy
// bandwidth at T = 32768 (llama4); 256 (one step of rows per team up to
// T = 32768 on all four anchor configs) gave 99-101% where 64 gave 98-99%.
// QK_RUNTIME_WAVES overrides it (a tuning knob, read once).
int64_t gridWaves() {
  static const int64_t waves = [] {
    const char *v = std::getenv("QK_RUNTIME_WAVES");
    long n = v ? std::strtol(v, nullptr, 10) : 0;
    return n > 0 ? int64_t(n) : int64_t(256);
  }();
  return waves;
}

// Splits the `units` (tokens, or steps of R tokens) of every group among at
// most `maxWorkers` x gridWaves() workers in total: every worker of a group
// gets the same number of units (tokensPerTeam), so no worker runs a longer
// tail than the others.
template <class P> void splitWork(P &p, int64_t units, int64_t maxWorkers) {
  int64_t perGroup = maxWorkers * gridWaves() / p.totalGroups;
  if (perGroup < 1)
    perGroup = 1;
  if (perGroup > units)
    perGroup = units;
  const int64_t chunks = (units + perGroup - 1) / perGroup;
  p.tokensPerTeam = decltype(p.tokensPerTeam)(chunks);
  p.teamsPerGroup = int32_t((units + chunks - 1) / chunks);
}

template <class T, int VW, int TEAM, int NV, int R, class P>
qk_status_t launchTeamR(P &p, const Target &t) {
  constexpr int kBlock = R == 1 ? 256 : 128;
  constexpr int64_t teamsPerBlock = kBlock / TEAM;
  constexpr auto kernel = teamKernel<T, VW, TEAM, NV, R, kBlock, P>;
  int perSm = 0;
  if (qk_status_t st = blocksPerSm<kernel>(t.device, kBlock, perSm))
    return st;
  const int64_t resident = int64_t(t.sms) * perSm * teamsPerBlock;
  // Work is split in steps of R tokens; a team's tokens are a whole number
  // of steps (the last team of a group may stop early).
  splitWork(p, (int64_t(p.numTokens) + R - 1) / R, resident);
  p.tokensPerTeam *= R;
  p.prefetchTeams = t.l2Prefetch ? int32_t(resident) : 0;
  const int64_t teams = int64_t(p.totalGroups) * p.teamsPerGroup;
  const int grid = int((teams + teamsPerBlock - 1) / teamsPerBlock);
  return launch<kernel>(p, grid, kBlock, t.stream);
}

// One row in flight per team while the GPU holds a team for every row
// (small T), else two (NV = 1 only: wider rows already keep NV accesses
// per lane in flight).
template <class T, int VW, int TEAM, int NV, class P>
qk_status_t launchTeam(P &p, const Target &t) {
  if constexpr (NV == 1) {
    int perSm = 0;
    if (qk_status_t st = blocksPerSm<teamKernel<T, VW, TEAM, NV, 1, 256, P>>(
            t.device, 256, perSm))
      return st;
    const int64_t resident = int64_t(t.sms) * perSm * (256 / TEAM);
    if (int64_t(p.numTokens) * p.totalGroups > resident)
      return launchTeamR<T, VW, TEAM, NV, 2>(p, t);
  }
  return launchTeamR<T, VW, TEAM, NV, 1>(p, t);
}

template <class T, int VW, int NV, class P>
qk_status_t launchBlock(P &p, int nAcc, const Target &t) {
  int block = ((nAcc + NV - 1) / NV + 31) / 32 * 32;
  if (block < 64)
    block = 64;
  int perSm = 0;
  if (qk_status_t st =
          blocksPerSm<blockKernel<T, VW, NV, P>>(t.device, block, perSm))
    return st;
  splitWork(p, int64_t(p.numTokens), int64_t(t.sms) * perSm);
  const int grid = p.totalGroups * p.teamsPerGroup;
  return launch<blockKernel<T, VW, NV, P>>(p, grid, block, t.stream);
}

template <class T, class P> qk_status_t launchLoop(P &p, const Target &t) {
  constexpr int kBlock = 256;
  int perSm = 0;
  if (qk_status_t st = blocksPerSm<loopKernel<T, P>>(t.device, kBlock, perSm))
    return st;
  splitWork(p, int64_t(p.numTokens), int64_t(t.sms) * perSm);
  const int grid = p.totalGroups * p.teamsPerGroup;
  return launch<loopKernel<T, P>>(p, grid, kBlock, t.stream);
}

// Picks the kernel shape from the widest group, in units of accesses.
template <class T, int VW, class P>
qk_status_t dispatch(P &p, int64_t maxGroupSize, const Target &t) {
  const int64_t nAcc = maxGroupSize / VW;
  if (nAcc <= 8)
    return launchTeam<T, VW, 8, 1>(p, t);
  if (nAcc <= 16)
    return launchTeam<T, VW, 16, 1>(p, t);
  if (nAcc <= 32)
    return launchTeam<T, VW, 32, 1>(p, t);
  if (nAcc <= 64)
    return launchTeam<T, VW, 32, 2>(p, t);
  if (nAcc <= 128)
    return launchTeam<T, VW, 32, 4>(p, t);
  if (nAcc <= 512 * 4)
    return launchBlock<T, VW, 4>(p, int(nAcc), t);
  if (nAcc <= 512 * 8)
    return launchBlock<T, VW, 8>(p, int(nAcc), t);
  return launchLoop<T>(p, t);
}

// QK_RUNTIME_WIDE_PARAMS=1 sends every call through WideParams (a test
// knob: the GPU check runs its matrix once more with it).
bool forceWideParams() {
  static const bool force = envSwitch("QK_RUNTIME_WIDE_PARAMS", false);
  return force;
}

template <class P>
P makeParams(const void *in, int64_t inStride, void *out, int64_t outStride,
             int64_t numTokens, const qk_norm_range_t *ranges, int numRanges,
             int64_t totalGroups) {
  using Off = decltype(P::numTokens);
  P p = {};
  p.in = in;
  p.out = out;
  p.inStride = Off(inStride);
  p.outStride = Off(outStride);
  p.numTokens = Off(numTokens);
  p.numRanges = numRanges;
  p.totalGroups = int32_t(totalGroups);
  int32_t base = 0;
  for (int r = 0; r < numRanges; ++r) {
    const qk_norm_range_t &src = ranges[r];
    DevRange<Off> &d = p.ranges[r];
    d.columnOffset = Off(src.column_offset);
    d.groupStride = Off(src.group_stride);
    d.weight = src.weight;
    d.groupBase = base;
    d.groupSize = int32_t(src.group_size);
    d.invGroupSize = 1.0f / float(src.group_size);
    d.epsilon = src.epsilon;
    d.weightOffset = src.weight_offset;
    d.flags =
        (src.weight_dtype == QK_DTYPE_F32 ? kWeightF32 : 0) |
        (src.rounding == QK_ROUNDING_BEFORE_WEIGHT ? kRoundBeforeWeight : 0) |
        (reinterpret_cast<uintptr_t>(src.weight) % 16 == 0 ? kWeightVector : 0);
    base += int32_t(src.num_groups);
  }
  return p;
}

template <class T>
qk_status_t dispatchType(const void *in, int64_t inStride, void *out,
                         int64_t outStride, int64_t numTokens,
                         const qk_norm_range_t *ranges, int numRanges,
                         const CallInfo &info, const Target &t) {
  constexpr int kVec = 16 / sizeof(T);
  // 16-byte accesses need every row start, and every group start inside a
  // row, on a 16-byte boundary, and whole vectors per group.
  bool vec =
      reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
      reinterpret_cast<uintptr_t>(out) % 16 == 0 &&
      (numTokens <= 1 || (inStride % kVec == 0 && outStride % kVec == 0));
  for (int r = 0; r < numRanges; ++r)
    vec = vec && ranges[r].column_offset % kVec == 0 &&
          ranges[r].group_size % kVec == 0 &&
          (ranges[r].num_groups == 1 || ranges[r].group_stride % kVec == 0);
  // Compact parameters when every element offset of the call, and every
  // token index a worker computes, fits in 32 bits. The unaligned (scalar)
  // path is a rare fallback and always takes the wide one.
  const int64_t span =
      (numTokens - 1) * (inStride > outStride ? inStride : outStride) +
      info.rowExtent;
  const bool compact = vec && numRanges <= 2 && !forceWideParams() &&
                       span <= INT32_MAX && numTokens <= (int64_t(1) << 30);
  auto args = [&](auto tag) {
    return makeParams<decltype(tag)>(in, inStride, out, outStride, numTokens,
                                     ranges, numRanges, info.totalGroups);
  };
  if (compact) {
    CompactParams p = args(CompactParams{});
    return dispatch<T, kVec>(p, info.maxGroupSize, t);
  }
  WideParams p = args(WideParams{});
  if (vec)
    return dispatch<T, kVec>(p, info.maxGroupSize, t);
  return dispatch<T, 1>(p, info.maxGroupSize, t);
}

} // namespace

extern "C" QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens, const qk_norm_range_t *ranges,
    int32_t num_ranges, void *stream) {
  qk::runtime::clearError();
  CallInfo info;
  if (qk_status_t st = qk::runtime::validateCall(
          dtype, in, in_token_stride, out, out_token_stride, num_tokens, ranges,
          num_ranges, info))
    return st;
  if (num_tokens == 0)
    return QK_STATUS_OK;

  Target t;
  t.stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = cudaGetDevice(&t.device);
  if (err != cudaSuccess)
    return deviceError(err, "cudaGetDevice");
  if (qk_status_t st = smCount(t.device, t.sms))
    return st;
  t.l2Prefetch = l2PrefetchEnabled();
  switch (dtype) {
  case QK_DTYPE_F32:
    return dispatchType<float>(in, in_token_stride, out, out_token_stride,
                               num_tokens, ranges, num_ranges, info, t);
  case QK_DTYPE_F16:
    return dispatchType<__half>(in, in_token_stride, out, out_token_stride,
                                num_tokens, ranges, num_ranges, info, t);
  case QK_DTYPE_BF16:
    return dispatchType<__nv_bfloat16>(in, in_token_stride, out,
                                       out_token_stride, num_tokens, ranges,
                                       num_ranges, info, t);
  }
  return fail(QK_STATUS_UNSUPPORTED, "dtype %d", int(dtype));
}

extern "C" QK_RUNTIME_EXPORT const char *qk_runtime_name(void) {
  return "cuda";
}
