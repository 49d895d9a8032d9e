//===- Params.cuh - Kernel parameter block and work split ------*- CUDA -*-===//
//
// What every kernel receives (one __grid_constant__ parameter block) and how
// a worker -- a team of lanes or a block -- finds its range, group column
// and tokens in it. Also programmatic dependent launch, which every kernel
// uses the same way.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_PARAMS_CUH
#define QK_RUNTIME_CUDA_PARAMS_CUH

#include "qk/Runtime/QKNormRuntime.h"

#include <cuda_runtime.h>

#include <cstdint>

namespace qk::runtime::cuda {
enum RangeFlags : int32_t {
  kWeightF32 = 1,         // weights are f32 (else the activation type)
  kRoundBeforeWeight = 2, // QK_ROUNDING_BEFORE_WEIGHT
  kWeightVector = 4,      // weights 16-byte aligned: vector loads
  // Before waiting on the previous kernel (PDL), prefetch this worker's own
  // first rows into L2. L2 is the point of coherence of global memory, so a
  // line fetched before the previous kernel's writes cannot be read stale:
  // the loads after pdlWait() see those writes. It overlaps the first DRAM
  // round trip with the previous kernel's tail.
  kPrefetchOwnRows = 8,
  // qk_fused_rms_norm_rope: this range's bit is set in rotated_ranges.
  kRotated = 16,
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
__device__ inline void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ inline void pdlWait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_PARAMS_CUH
