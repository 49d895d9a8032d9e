//===- Kernels.cuh - The QK-norm kernels ------------------------*- CUDA
//-*-===//
//
// Three kernel shapes, chosen by the launcher (CudaRuntime.cu) from the
// widest group of a call:
//  * teamKernel: TEAM lanes (8, 16 or 32) per row and up to 128 16-byte
//    accesses per row; with SHIFT, rows whose start is not 16-byte aligned
//    (a token stride that is not a multiple of 16 bytes) move their aligned
//    interior as vectors and the few elements before and after it singly;
//  * blockKernel: one block per row, the row cached in registers (full-width
//    norms up to 32768 bf16 elements);
//  * loopKernel: any width, element by element, two passes.
// The per-element formula is qk/Runtime/Epilogue.h, shared with the host
// runtime.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_KERNELS_CUH
#define QK_RUNTIME_CUDA_KERNELS_CUH

#include "ElementAccess.cuh"
#include "Params.cuh"

#include "qk/Runtime/Epilogue.h"

#include <type_traits>

namespace qk::runtime::cuda {

struct DeviceRsqrt {
  __device__ float operator()(float v) const { return rsqrtf(v); }
};

// y before its final rounding (Epilogue.h), for activation type T.
template <class T>
__device__ __forceinline__ float finish(float x, float inv, float w,
                                        bool roundBefore) {
  return epilogue::normalize(x, inv, w, roundBefore, RoundTo<T>());
}

template <class R>
__device__ __forceinline__ float inverseRms(float sumSquares, const R &r) {
  return epilogue::inverseRms(sumSquares * r.invGroupSize, r.epsilon,
                              DeviceRsqrt());
}

// One weight element (the unaligned and the loop kernels' path). Weights
// are read-only for the whole launch (they must not alias `out`), so the
// read-only path is safe.
template <class T, class R> __device__ float loadWeight(const R &r, int64_t i) {
  float w = (r.flags & kWeightF32)
                ? __ldg(static_cast<const float *>(r.weight) + i)
                : Elem<T>::toFloat(__ldg(static_cast<const T *>(r.weight) + i));
  return epilogue::weightFactor(r.weightOffset, w);
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
        w[k] = epilogue::weightFactor(r.weightOffset, w[k]);
      return;
    }
  }
#pragma unroll
  for (int k = 0; k < VW; ++k)
    w[k] = loadWeight<T>(r, int64_t(a) * VW + k);
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
template <int R, int NV, int BLOCK, bool SHIFT, class P>
constexpr int minTeamBlocks() {
  if constexpr (SHIFT || NV != 1 || !std::is_same_v<P, CompactParams>)
    return 1;
  if constexpr (R == 1 && BLOCK == 256)
    return 6;
  if constexpr (R == 2 && BLOCK == 128)
    return 9;
  return 1;
}

// Elements of T before the first 16-byte boundary at or after `x`.
template <class T> __device__ __forceinline__ int leadElements(const T *x) {
  return int((16u - unsigned(reinterpret_cast<uintptr_t>(x) & 15u)) & 15u) /
         int(sizeof(T));
}

// Prefetches into L2 the 128-byte lines of `rows` rows of `nAcc` accesses of
// VW elements, starting at `row`; this thread takes accesses a0, a0 + step,
// ... (NV of them).
template <class T, int VW, int NV, class Off>
__device__ __forceinline__ void prefetchRowsL2(const T *row, Off stride,
                                               Off rows, int nAcc, int a0,
                                               int step, int maxRows) {
  constexpr int kAccPerLine = 128 / (VW * int(sizeof(T)));
  for (int i = 0; i < maxRows; ++i)
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = a0 + v * step;
      if (Off(i) < rows && a < nAcc && a % kAccPerLine == 0)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(row + Off(i) * stride +
                                                      Off(a) * VW));
    }
}

// SHIFT = false: every row starts on a 16-byte boundary and holds whole
// vectors (the dispatcher checked pointers, strides and offsets).
// SHIFT = true: rows may start anywhere (elements are naturally aligned,
// and `out` is misaligned exactly like `in`). Row t's group then splits into
// `lead` elements up to the first 16-byte boundary, nVec aligned vectors,
// and a tail of fewer than VW elements; the vectors go through the same
// 16-byte accesses as aligned rows, the lead and tail elements (at most
// 2 * (VW - 1), kEdges per lane) singly. The weights of a shifted vector
// are no longer 16-byte aligned, so they are read per element (L1 hits).
template <class T, int VW, int TEAM, int NV, int R, int BLOCK, bool SHIFT,
          class P>
__global__ void __launch_bounds__(BLOCK,
                                  minTeamBlocks<R, NV, BLOCK, SHIFT, P>())
    teamKernel(const __grid_constant__ P p) {
  using A = Access<T, VW>;
  using Off = decltype(p.numTokens);
  constexpr int kEdges = SHIFT ? (2 * (VW - 1) + TEAM - 1) / TEAM : 1;
  pdlLaunchDependents();
  const int lane = threadIdx.x % TEAM;
  // Grids stay far below 2^31 threads (validation caps the groups).
  const unsigned team = (blockIdx.x * BLOCK + threadIdx.x) / TEAM;
  const unsigned teams = unsigned(p.totalGroups) * unsigned(p.teamsPerGroup);
  if (team >= teams)
    return;
  const WorkerRows<Off> me = locateWorker(p, team);
  const DevRange<Off> &rg = me.range;
  const int groupSize = rg.groupSize;
  // Aligned rows: accesses per row (VW divides the group size).
  const int nAcc = groupSize / VW;
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
    pfAcc = (next.range.groupSize + VW - 1) / VW;
  }
  // One prefetch per 128-byte line of a row.
  constexpr int kAccPerLine = 128 / (VW * int(sizeof(T)));

  typename A::Raw raw[R][NV];
  // SHIFT only: per row, the lead element count, the vector count and the
  // lead and tail elements of this lane.
  int lead[R] = {}, nVec[R] = {};
  float edge[R][kEdges];
  // Edge element e of a row: the lead elements come first, then the tail.
  auto edgeColumn = [&](int e, int i) {
    return e < lead[i] ? e : e + nVec[i] * VW;
  };
  auto loadRows = [&](Off t0) {
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const bool valid = t0 + i < me.end;
      const T *x = in + (t0 + i) * p.inStride;
      int first = 0, count = nAcc;
      if constexpr (SHIFT) {
        lead[i] = valid ? min(leadElements(x), groupSize) : 0;
        nVec[i] = valid ? (groupSize - lead[i]) / VW : 0;
        first = lead[i];
        count = nVec[i];
      }
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        raw[i][v] =
            (valid && a < count) ? A::load(x + first + Off(a) * VW) : A::zero();
      }
      if constexpr (SHIFT) {
        const int nEdge = groupSize - nVec[i] * VW;
#pragma unroll
        for (int j = 0; j < kEdges; ++j) {
          const int e = lane + j * TEAM;
          edge[i][j] = (valid && e < nEdge)
                           ? Elem<T>::toFloat(x[edgeColumn(e, i)])
                           : 0.0f;
        }
      }
    }
  };
  // The future team's rows i0 .. i0+R-1 (relative to its first row).
  auto prefetchRows = [&](Off i0) {
#pragma unroll
    for (int i = 0; i < R; ++i)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        if constexpr (SHIFT) {
          // A shifted row straddles one more 128-byte line than its size
          // says: lane a takes the a-th line the row touches.
          const T *r = pfRow + (i0 + i) * p.inStride;
          const uintptr_t first =
              reinterpret_cast<uintptr_t>(r) & ~uintptr_t(127);
          const uintptr_t last =
              reinterpret_cast<uintptr_t>(r + pfAcc * VW - 1) & ~uintptr_t(127);
          const uintptr_t line = first + uintptr_t(a) * 128;
          if (i0 + i < pfRows && pfAcc > 0 && line <= last)
            asm volatile("prefetch.global.L2 [%0];" ::"l"(line));
        } else if (i0 + i < pfRows && a < pfAcc && a % kAccPerLine == 0) {
          asm volatile("prefetch.global.L2 [%0];" ::"l"(
              pfRow + (i0 + i) * p.inStride + Off(a) * VW));
        }
      }
  };

  if (rg.flags & kPrefetchOwnRows)
    prefetchRowsL2<T, VW, NV>(in + me.begin * p.inStride, p.inStride,
                              me.end - me.begin, (groupSize + VW - 1) / VW,
                              lane, TEAM, R);
  pdlWait();
  // The first rows are requested before anything else: the prefetch and
  // the weights' offset and conversion would otherwise delay them, adding
  // to every small-T call.
  loadRows(me.begin);
  prefetchRows(0);
  // Aligned rows keep their weights in registers for the whole run.
  float w[NV][SHIFT ? 1 : VW];
  if constexpr (!SHIFT) {
#pragma unroll
    for (int v = 0; v < NV; ++v)
      loadWeights<T, VW>(rg, lane + v * TEAM, lane + v * TEAM < nAcc, w[v]);
  }
  auto weightAt = [&](int column) {
    return rg.weight ? loadWeight<T>(rg, column) : 1.0f;
  };
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
      if constexpr (SHIFT) {
#pragma unroll
        for (int j = 0; j < kEdges; ++j)
          ss[i] = fmaf(edge[i][j], edge[i][j], ss[i]);
      }
    }
#pragma unroll
    for (int off = TEAM / 2; off > 0; off /= 2)
#pragma unroll
      for (int i = 0; i < R; ++i)
        ss[i] += __shfl_xor_sync(mask, ss[i], off, TEAM);
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const float inv = inverseRms(ss[i], rg);
      T *y = out + (t0 + i) * p.outStride;
      const bool valid = t0 + i < me.end;
      int first = 0, count = nAcc;
      if constexpr (SHIFT) {
        first = lead[i];
        count = nVec[i];
      }
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * TEAM;
        if (valid && a < count) {
          float f[VW];
          A::unpack(raw[i][v], f);
#pragma unroll
          for (int k = 0; k < VW; ++k) {
            float wk;
            if constexpr (SHIFT)
              wk = weightAt(first + a * VW + k);
            else
              wk = w[v][k];
            f[k] = finish<T>(f[k], inv, wk, roundBefore);
          }
          A::store(y + first + Off(a) * VW, f);
        }
      }
      if constexpr (SHIFT) {
        const int nEdge = groupSize - nVec[i] * VW;
#pragma unroll
        for (int j = 0; j < kEdges; ++j) {
          const int e = lane + j * TEAM;
          if (valid && e < nEdge) {
            const int c = edgeColumn(e, i);
            y[c] = Elem<T>::fromFloat(
                finish<T>(edge[i][j], inv, weightAt(c), roundBefore));
          }
        }
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Block kernel: one block per row, the row cached in registers.
//===----------------------------------------------------------------------===//

__device__ inline float blockSum(float v, float (*red)[32], int parity) {
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
  if (rg.flags & kPrefetchOwnRows)
    prefetchRowsL2<T, VW, NV>(in + tBegin * p.inStride, p.inStride,
                              tEnd - tBegin, nAcc, int(threadIdx.x),
                              int(blockDim.x), 1);
  pdlWait();
  // As in teamKernel: the first row is requested before the weights.
  loadRow(tBegin);
  // Then the first row of the block one resident wave ahead
  // (Params::prefetchTeams, in blocks here), as the team kernels do.
  const unsigned ahead = blockIdx.x + unsigned(p.prefetchTeams);
  if (p.prefetchTeams > 0 &&
      ahead < unsigned(p.totalGroups) * unsigned(p.teamsPerGroup)) {
    const WorkerRows<Off> next = locateWorker(p, ahead);
    prefetchRowsL2<T, VW, NV>(
        static_cast<const T *>(p.in) + next.column + next.begin * p.inStride,
        p.inStride, next.end - next.begin, next.range.groupSize / VW,
        int(threadIdx.x), int(blockDim.x), 1);
  }
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
    // The block's next row, while this one is reduced and stored.
    if (p.prefetchTeams > 0)
      prefetchRowsL2<T, VW, NV>(in + (t + 1) * p.inStride, p.inStride,
                                tEnd - t - 1, nAcc, int(threadIdx.x),
                                int(blockDim.x), 1);
    float ss = 0.0f;
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      float x[VW];
      A::unpack(raw[v], x);
#pragma unroll
      for (int k = 0; k < VW; ++k)
        ss = fmaf(x[k], x[k], ss);
    }
    const float inv = inverseRms(blockSum(ss, red, parity), rg);
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
    const float inv = inverseRms(blockSum(ss, red, parity), rg);
    // Each thread re-reads only the elements it alone writes: in place is
    // safe without a barrier.
    for (int i = threadIdx.x; i < rg.groupSize; i += blockDim.x) {
      const float w = rg.weight ? loadWeight<T>(rg, i) : 1.0f;
      y[i] = Elem<T>::fromFloat(
          finish<T>(Elem<T>::toFloat(x[i]), inv, w, roundBefore));
    }
  }
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_KERNELS_CUH
