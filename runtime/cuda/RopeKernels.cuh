//===- RopeKernels.cuh - The norm + RoPE kernel -----------------*- CUDA
//-*-===//
//
// qk_fused_rms_norm_rope in one pass: a worker reads its (token, group) row
// once, normalises it in fp32 exactly like the norm kernels of Kernels.cuh
// (same lanes per element, same reduction tree, so the normalised values
// are bit-identical to qk_fused_rms_norm's), rotates every head of the row
// (qk/Runtime/Epilogue.h: partner, sign, table column, PER_OP / ONCE) and
// writes it once. before_norm rotates x first and normalises the rotation.
//
// Workers, as in the norm kernels:
//  * TEAM > 0: a team of TEAM lanes (8, 16, 32) per row, NV accesses of VW
//    elements per lane, the reduction by shuffles, R rows in flight;
//  * TEAM == 0: one block per row (groups wider than 128 vectors: OLMo2's
//    full-width norms), blockDim.x threads, the reduction through shared
//    memory (blockSum), one row at a time.
//
// The rotation needs the partner of each element: for GPTJ it is the
// neighbour in the same vector (registers); for NEOX it is half elements
// away, usually in another lane. The normalised (rounded) row goes through
// shared memory once: each lane stores its vectors, the team synchronises,
// and each lane reads the partner vector (one 16-byte shared load per 4
// floats when half is a multiple of the vector width, else element by
// element). Shared memory bandwidth is far above what the DRAM stream
// needs (8 bytes of shared traffic per 4 bytes of DRAM traffic for bf16),
// and this works for every head_dim, rotary_dim and group layout (OLMo2's
// heads inside one group, partial rotary, VW = 1 rows) where register
// shuffles would need a case per shape.
//
// Tables: cos/sin values are loaded once per (row, vector) with vector
// loads when the host saw the tables aligned (kRopeTableVector: 16-byte
// aligned starts and row strides, half and rotary_dim multiples of the
// vector width), else element by element; positions once per row.
// Out-of-range positions: NaN in every rotated element, no table read.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_ROPEKERNELS_CUH
#define QK_RUNTIME_CUDA_ROPEKERNELS_CUH

#include "ElementAccess.cuh"
#include "Kernels.cuh"
#include "Params.cuh"

#include "qk/Runtime/Epilogue.h"

#ifndef QK_ROPE_MIN_WARPS
#define QK_ROPE_MIN_WARPS 24
#endif

namespace qk::runtime::cuda {

enum RopeFlags : int32_t {
  kRopeGptj = 1,
  kRopeOnce = 2,       // QK_ROPE_ROUNDING_ONCE (else PER_OP)
  kRopeBeforeNorm = 4, // rotate x, normalise the rotation
  kRopePerPair = 8,    // table column = frequency index
  kRopeTableF32 = 16,  // tables are f32 (else the activation type)
  kRopePosI64 = 32,    // positions are int64 (else int32)
  // Every run of table values a vector needs is one aligned vector load
  // (16-byte aligned tables and row strides, half and rotary_dim multiples
  // of VW). The vector kernels (VW > 1) need it; the host sends calls
  // without it to the element-by-element kernels.
  kRopeTableVector = 64,
  // half % VW == 0 (VW > 1): a NEOX vector's partner is one whole vector.
  kRopePartnerVector = 128,
  // The rotation exchanges values through shared memory (NEOX, or VW = 1).
  kRopeExchange = 256,
};

// The rotation's part of the parameter block. With the compact norm block
// the whole is 184 bytes: three 64-byte constant lines.
template <class Off> struct DevRope {
  const void *cos;       // element (0, cos_column) of the cos table
  const void *sin;       // element (0, sin_column) of the sin table
  const void *positions; // NULL: row = token index
  Off cosStride;         // elements
  Off sinStride;
  Off tableRows;
  int32_t headDim;
  int32_t rotaryDim;
  int32_t slot;  // floats of shared memory per row of a worker
  int32_t flags; // RopeFlags
};

template <int NR, class Off> struct RopeParams {
  Params<NR, Off> base;
  DevRope<Off> rope;
};
using CompactRopeParams = RopeParams<2, int32_t>;
using WideRopeParams = RopeParams<QK_MAX_RANGES, int64_t>;

// N consecutive table values of type TT from `p` as floats; p is aligned to
// the access (the host checked kRopeTableVector).
template <class TT, int N>
__device__ __forceinline__ void loadRun(const TT *p, float (&f)[N]) {
  constexpr int kBytes = N * int(sizeof(TT));
  if constexpr (kBytes % 16 == 0) {
#pragma unroll
    for (int h = 0; h < kBytes / 16; ++h) {
      const uint4 u = __ldg(reinterpret_cast<const uint4 *>(p) + h);
      const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        if constexpr (sizeof(TT) == 4) {
          f[h * 4 + q] = __uint_as_float(w[q]);
        } else {
          unpackWord((TT *)nullptr, w[q], f[h * 8 + 2 * q],
                     f[h * 8 + 2 * q + 1]);
        }
      }
    }
  } else if constexpr (kBytes == 8) {
    const uint2 u = __ldg(reinterpret_cast<const uint2 *>(p));
    if constexpr (sizeof(TT) == 4) {
      f[0] = __uint_as_float(u.x);
      f[1] = __uint_as_float(u.y);
    } else {
      unpackWord((TT *)nullptr, u.x, f[0], f[1]);
      unpackWord((TT *)nullptr, u.y, f[2], f[3]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < N; ++k)
      f[k] = Elem<TT>::toFloat(__ldg(p + k));
  }
}

// The cos and sin values of the VW elements j0 .. j0 + VW - 1 of a head
// (j0 a multiple of VW, j0 < rotary_dim) of table row `row`, as vector
// loads (kRopeTableVector; VW > 1).
template <class TT, int VW, class Off>
__device__ __forceinline__ void loadTableRuns(const DevRope<Off> &ro,
                                              int64_t row, int j0,
                                              float (&c)[VW], float (&s)[VW]) {
  const int flags = ro.flags;
  const TT *cp = static_cast<const TT *>(ro.cos) + row * int64_t(ro.cosStride);
  const TT *sp = static_cast<const TT *>(ro.sin) + row * int64_t(ro.sinStride);
  if ((flags & kRopeGptj) && (flags & kRopePerPair)) {
    // VW / 2 frequencies, each used by a pair.
    float cc[VW / 2], ss[VW / 2];
    loadRun<TT, VW / 2>(cp + j0 / 2, cc);
    loadRun<TT, VW / 2>(sp + j0 / 2, ss);
#pragma unroll
    for (int k = 0; k < VW; ++k) {
      c[k] = cc[k / 2];
      s[k] = ss[k / 2];
    }
  } else {
    const int col0 = (flags & kRopePerPair)
                         ? epilogue::ropeFrequency(false, j0, ro.rotaryDim / 2)
                         : j0;
    loadRun<TT, VW>(cp + col0, c);
    loadRun<TT, VW>(sp + col0, s);
  }
}

// The cos and sin values of element j (any alignment): one element each.
template <class TT, class Off>
__device__ __forceinline__ void loadTableElement(const DevRope<Off> &ro,
                                                 int64_t row, int j, float &c,
                                                 float &s) {
  const int col = epilogue::ropeColumn(
      ro.flags & kRopeGptj, ro.flags & kRopePerPair, j, ro.rotaryDim / 2);
  c = Elem<TT>::toFloat(__ldg(static_cast<const TT *>(ro.cos) +
                              row * int64_t(ro.cosStride) + col));
  s = Elem<TT>::toFloat(__ldg(static_cast<const TT *>(ro.sin) +
                              row * int64_t(ro.sinStride) + col));
}

// Register caps (resident blocks per SM) of the one-vector-per-lane teams,
// the shapes of the anchor models: without one ptxas used 80 registers at
// R = 1 and 128 at R = 2 (two or three blocks per SM).
template <int VW, int TEAM, int NV, int R, int BLOCK>
constexpr int minRopeBlocks() {
  if constexpr (TEAM == 0 || NV != 1 || VW == 1)
    return 1;
  return (QK_ROPE_MIN_WARPS + BLOCK / 32 - 1) / (BLOCK / 32);
}

// TEAM > 0: teams of TEAM lanes, BLOCK threads per block; TEAM == 0: one
// block of blockDim.x threads per row (BLOCK is the launch bound).
template <class T, int VW, int TEAM, int NV, int R, int BLOCK, class P>
__global__ void __launch_bounds__(BLOCK,
                                  minRopeBlocks<VW, TEAM, NV, R, BLOCK>())
    ropeKernel(const __grid_constant__ P p) {
  using A = Access<T, VW>;
  using Off = decltype(p.base.numTokens);
  namespace ep = epilogue;
  constexpr bool kBlockWorker = TEAM == 0;
  constexpr int kTeam = kBlockWorker ? 32 : TEAM; // never 0 in divisions
  static_assert(!kBlockWorker || R == 1, "block workers hold one row");
  extern __shared__ float4 ropeShared[];
  __shared__ float red[2][32]; // block workers' reduction
  pdlLaunchDependents();
  const int teamSize = kBlockWorker ? int(blockDim.x) : TEAM;
  const int lane = kBlockWorker ? int(threadIdx.x) : int(threadIdx.x % kTeam);
  const unsigned team =
      kBlockWorker ? blockIdx.x : (blockIdx.x * BLOCK + threadIdx.x) / kTeam;
  const unsigned teams =
      unsigned(p.base.totalGroups) * unsigned(p.base.teamsPerGroup);
  if (team >= teams) // uniform per worker (a block worker is its block)
    return;
  const WorkerRows<Off> me = locateWorker(p.base, team);
  const DevRange<Off> &rg = me.range;
  const int nAcc = rg.groupSize / VW;
  const unsigned mask = kTeam == 32 ? 0xffffffffu
                                    : ((1u << (kTeam % 32)) - 1u)
                                          << (threadIdx.x % 32 / kTeam * kTeam);
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  const bool rotated = (rg.flags & kRotated) != 0;
  const DevRope<Off> &ro = p.rope;
  const int rf = ro.flags;
  const bool gptj = rf & kRopeGptj;
  const bool perOp = !(rf & kRopeOnce);
  const bool beforeNorm = rf & kRopeBeforeNorm;
  const int rot = ro.rotaryDim, half = rot / 2;
  const bool exchange = rotated && (rf & kRopeExchange);
  float *slots = reinterpret_cast<float *>(ropeShared) +
                 (kBlockWorker ? 0 : int(threadIdx.x / kTeam) * R * ro.slot);
  const T *in = static_cast<const T *>(p.base.in) + me.column;
  T *out = static_cast<T *>(p.base.out) + me.column;
  auto teamSync = [&] {
    if constexpr (kBlockWorker)
      __syncthreads();
    else
      __syncwarp(mask);
  };

  // Head-local index of the first element of each of this lane's accesses
  // (VW divides head_dim: the host checked it).
  int j0[NV];
#pragma unroll
  for (int v = 0; v < NV; ++v)
    j0[v] = ((lane + v * teamSize) * VW) % ro.headDim;

  // The worker one resident wave ahead (L2 prefetch), as in teamKernel.
  const unsigned ahead = team + unsigned(p.base.prefetchTeams);
  const T *pfRow = nullptr;
  Off pfRows = 0;
  int pfAcc = 0;
  if (p.base.prefetchTeams > 0 && ahead < teams) {
    const WorkerRows<Off> next = locateWorker(p.base, ahead);
    pfRow = static_cast<const T *>(p.base.in) + next.column +
            next.begin * p.base.inStride;
    pfRows = next.end - next.begin;
    pfAcc = next.range.groupSize / VW;
  }

  typename A::Raw raw[R][NV];
  int64_t row[R];
  bool bad[R];
  auto loadRows = [&](Off t0) {
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const Off t = t0 + i;
      const bool valid = t < me.end;
      const T *x = in + t * p.base.inStride;
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * teamSize;
        raw[i][v] = (valid && a < nAcc) ? A::load(x + Off(a) * VW) : A::zero();
      }
      row[i] = int64_t(t);
      if (rotated && valid && ro.positions)
        row[i] =
            (rf & kRopePosI64)
                ? __ldg(static_cast<const long long *>(ro.positions) + t)
                : int64_t(__ldg(static_cast<const int *>(ro.positions) + t));
      bad[i] = row[i] < 0 || row[i] >= int64_t(ro.tableRows);
    }
  };
  // Right after the row loads: L1 prefetches of the weights and of the
  // table lines each lane will read after the reduction, so that those
  // loads hit L1 instead of adding an L2 round trip after the row arrived
  // (measured on the H200 before this: 2.3 us at T = 1 against the norm's
  // 0.9 us, 78% of copy bandwidth at T = 8192). The positions' loads have
  // to land first; the row loads are in flight meanwhile.
  auto prefetchL1 = [&](const void *q) {
    asm volatile("prefetch.global.L1 [%0];" ::"l"(q));
  };
  auto prefetchOperands = [&](Off t0) {
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = lane + v * teamSize;
      if (a >= nAcc)
        continue;
      if (rg.weight)
        prefetchL1(static_cast<const char *>(rg.weight) +
                   int64_t(a) * VW *
                       ((rg.flags & kWeightF32) ? 4 : int(sizeof(T))));
      if (!rotated || j0[v] >= rot)
        continue;
#pragma unroll
      for (int i = 0; i < R; ++i) {
        if (bad[i] || t0 + i >= me.end)
          continue;
        const int col =
            (rf & kRopePerPair) ? ep::ropeFrequency(gptj, j0[v], half) : j0[v];
        const int64_t bytes = (rf & kRopeTableF32) ? 4 : int(sizeof(T));
        prefetchL1(static_cast<const char *>(ro.cos) +
                   (row[i] * int64_t(ro.cosStride) + col) * bytes);
        prefetchL1(static_cast<const char *>(ro.sin) +
                   (row[i] * int64_t(ro.sinStride) + col) * bytes);
      }
    }
  };
  auto prefetchRows = [&](Off i0) {
    constexpr int kAccPerLine = 128 / (VW * int(sizeof(T)));
#pragma unroll
    for (int i = 0; i < R; ++i)
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * teamSize;
        if (i0 + i < pfRows && a < pfAcc && a % kAccPerLine == 0)
          asm volatile("prefetch.global.L2 [%0];" ::"l"(
              pfRow + (i0 + i) * p.base.inStride + Off(a) * VW));
      }
  };

  // Rotates the row's values `f` (rounded to T) in place.
  auto rotateRow = [&](int i, float(&f)[NV][VW]) {
    float *buf = slots + (kBlockWorker ? 0 : i * ro.slot);
    if (exchange) {
      teamSync(); // every lane is done reading the slot's previous row
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        const int a = lane + v * teamSize;
        if (a < nAcc) {
          if constexpr (VW % 4 == 0) {
#pragma unroll
            for (int h = 0; h < VW / 4; ++h)
              reinterpret_cast<float4 *>(buf + a * VW)[h] =
                  make_float4(f[v][4 * h], f[v][4 * h + 1], f[v][4 * h + 2],
                              f[v][4 * h + 3]);
          } else {
#pragma unroll
            for (int k = 0; k < VW; ++k)
              buf[a * VW + k] = f[v][k];
          }
        }
      }
      teamSync();
    }
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = lane + v * teamSize;
      if (a >= nAcc || j0[v] >= rot)
        continue;
      if (bad[i]) { // out-of-range position: NaN, no table read
#pragma unroll
        for (int k = 0; k < VW; ++k)
          if (j0[v] + k < rot)
            f[v][k] = __int_as_float(0x7fffffff);
        continue;
      }
      // Table values: whole runs of vector loads (VW > 1: the host took
      // this path only for aligned tables), else one element at a time. A
      // per-element fallback inside the vector kernels cost ~35 registers
      // (its loads are hoisted), which is why it is not one.
      float c[VW], s[VW];
      if constexpr (VW > 1) {
        if (rf & kRopeTableF32)
          loadTableRuns<float, VW>(ro, row[i], j0[v], c, s);
        else
          loadTableRuns<T, VW>(ro, row[i], j0[v], c, s);
      }
      auto table = [&](int k, float &ck, float &sk) {
        if constexpr (VW > 1) {
          ck = c[k];
          sk = s[k];
        } else if (rf & kRopeTableF32) {
          loadTableElement<float>(ro, row[i], j0[v] + k, ck, sk);
        } else {
          loadTableElement<T>(ro, row[i], j0[v] + k, ck, sk);
        }
      };
      const int hb = a * VW - j0[v]; // the head's first element
      // In place, with as few temporaries as the partner's location allows
      // (registers are what limits the resident rows).
      if (gptj && VW > 1) { // the partner is the neighbour: pairs
#pragma unroll
        for (int k = 0; k < VW; k += 2) {
          const float x0 = f[v][k], x1 = f[v][k + 1];
          if (j0[v] + k < rot) {
            float c0, s0, c1, s1;
            table(k, c0, s0);
            table(k + 1, c1, s1);
            f[v][k] = ep::rotate(x0, x1, c0, s0, true, perOp, RoundTo<T>());
            f[v][k + 1] =
                ep::rotate(x1, x0, c1, s1, false, perOp, RoundTo<T>());
          }
        }
      } else if (VW % 4 == 0 && (rf & kRopePartnerVector)) {
        // NEOX, half a multiple of VW: the partner vector is whole, and
        // the vector is wholly below or above half.
        const int p0 = ep::ropePartner(false, j0[v], half);
        const bool neg = j0[v] < half;
#pragma unroll
        for (int h = 0; h < VW / 4; ++h) {
          const float4 q = reinterpret_cast<const float4 *>(buf + hb + p0)[h];
          const float b[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
          for (int u = 0; u < 4; ++u) {
            const int k = 4 * h + u;
            if (j0[v] + k < rot) {
              float ck, sk;
              table(k, ck, sk);
              f[v][k] =
                  ep::rotate(f[v][k], b[u], ck, sk, neg, perOp, RoundTo<T>());
            }
          }
        }
      } else {
#pragma unroll
        for (int k = 0; k < VW; ++k) {
          const int j = j0[v] + k;
          if (j < rot) {
            float ck, sk;
            table(k, ck, sk);
            f[v][k] = ep::rotate(
                f[v][k], buf[hb + ep::ropePartner(gptj, j, half)], ck, sk,
                ep::ropeNegates(gptj, j, half), perOp, RoundTo<T>());
          }
        }
      }
    }
  };

  pdlWait();
  loadRows(me.begin);
  prefetchOperands(me.begin);
  prefetchRows(0);
  int parity = 0;
  for (Off t0 = me.begin; t0 < me.end; t0 += R) {
    if (t0 != me.begin) {
      loadRows(t0);
      prefetchOperands(t0);
      prefetchRows(t0 - me.begin);
    }
    float f[R][NV][VW];
    float ss[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
#pragma unroll
      for (int v = 0; v < NV; ++v)
        A::unpack(raw[i][v], f[i][v]);
      if (rotated && beforeNorm)
        rotateRow(i, f[i]);
      // The norm kernels' order: fmaf over each access, accesses in order.
      ss[i] = 0.0f;
#pragma unroll
      for (int v = 0; v < NV; ++v)
#pragma unroll
        for (int k = 0; k < VW; ++k)
          ss[i] = fmaf(f[i][v][k], f[i][v][k], ss[i]);
    }
    if constexpr (kBlockWorker) {
      ss[0] = blockSum(ss[0], red, parity);
      parity ^= 1;
    } else {
#pragma unroll
      for (int off = kTeam / 2; off > 0; off /= 2)
#pragma unroll
        for (int i = 0; i < R; ++i)
          ss[i] += __shfl_xor_sync(mask, ss[i], off, kTeam);
    }
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const float inv = inverseRms(ss[i], rg);
      // Weights per row (L1 hits), not per run as in teamKernel: a team
      // holds one or two rows in practice, and registers are scarcer here.
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        float w[VW];
        loadWeights<T, VW>(rg, lane + v * teamSize, lane + v * teamSize < nAcc,
                           w);
#pragma unroll
        for (int k = 0; k < VW; ++k)
          f[i][v][k] =
              roundTrip<T>(finish<T>(f[i][v][k], inv, w[k], roundBefore));
      }
      if (rotated && !beforeNorm)
        rotateRow(i, f[i]);
      if (t0 + i < me.end) {
        T *y = out + (t0 + i) * p.base.outStride;
#pragma unroll
        for (int v = 0; v < NV; ++v) {
          const int a = lane + v * teamSize;
          if (a < nAcc)
            A::store(y + Off(a) * VW, f[i][v]);
        }
      }
    }
  }
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ROPEKERNELS_CUH
