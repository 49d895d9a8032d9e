//===- RopeFastKernel.cuh - The fast norm + RoPE kernel ---------*- CUDA -*-===//
//
// ropeFastKernel: qk_fused_rms_norm_rope for the common shapes -- 16-byte
// accesses, one access per lane (NV = 1: groups of at most 32 vectors, i.e.
// heads up to 256 bf16 / 128 f32 elements), aligned tables (kRopeTable-
// Vector), and for NEOX half = rotary_dim / 2 a multiple of the vector
// width (kRopePartnerVector). Everything else takes ropeKernel
// (RopeKernels.cuh). STATUS: experimental and OFF by default
// (QK_RUNTIME_ROPE_FAST=1 turns it on, Options.h): its one H200 run
// (docs/gpu-logs-h200/rope-fast-*.log) hit an illegal memory access in the
// GPU check's first rope case (cause not found yet) and was slower than
// ropeKernel in the bench (162 against 132 us at T = 8192).
//
// What ropeKernel spends its time on, per row, is one serial chain: the row
// load, the reduction, then the position load, then the table loads (their
// address depends on the position), then a shared-memory exchange with a
// team barrier, then the store; at ~80 registers and 24 resident warps per
// SM too few rows are in flight to hide it (34% of copy bandwidth on the
// H200 at T = 32768, half rotary as slow as full). Here:
//  * every load of a row is issued before anything of it is consumed: the
//    position (independent of the row) first, the qkv vector, and right
//    after the position arrives the cos/sin runs (__ldg; all heads of a
//    token read the same runs: L1 hits after the first). With R rows in
//    flight, all R rows' loads go out before the first is reduced, like the
//    norm's team kernel; the weights are loaded once per worker;
//  * the NEOX partner comes by register shuffle: lane a's vector covers
//    elements j0 .. j0 + VW - 1 of its head, its partner vector is
//    half / VW lanes away in the same team (half % VW == 0), so the lane
//    reads it with one __shfl_sync per 32-bit word of the packed (rounded)
//    values -- exact, since the values are representable in T. GPTJ's
//    partner is the neighbour in the same vector. No shared memory, no
//    barrier. Lanes with j0 >= rotary_dim (partial rotary) pass through;
//  * an out-of-range position reads table row 0 (inside the table: no
//    divergence, no read outside it) and writes NaN into the rotated
//    elements, exactly where ropeKernel does.
//
// Numerics are ropeKernel's: the same lanes per element and the same fmaf
// order and shuffle tree as teamKernel (so the normalised values are
// bit-identical to qk_fused_rms_norm's), then roundTrip, and the rotation
// through Epilogue.h (ep::rotate: __fmul_rn / __fadd_rn, PER_OP / ONCE).
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_ROPEFASTKERNEL_CUH
#define QK_RUNTIME_CUDA_ROPEFASTKERNEL_CUH

#include "RopeKernels.cuh"

// Resident warps per SM the register caps aim at, for one and for two
// rows in flight (ptxas, sm_90, bf16 with f32 tables, no cap: 76 registers
// at R = 1 and 124 at R = 2; at 32 warps R = 1 spills 16 bytes outside
// the row loop, R = 2 spills ~170 bytes, at 24 warps R = 2 ~100 bytes).
#ifndef QK_ROPE_FAST_MIN_WARPS
#define QK_ROPE_FAST_MIN_WARPS 32
#endif
#ifndef QK_ROPE_FAST_MIN_WARPS_R2
#define QK_ROPE_FAST_MIN_WARPS_R2 20
#endif

namespace qk::runtime::cuda {

// Register caps: W resident warps per SM leave 65536 / (32 W) registers a
// thread (32 warps: 64).
template <int R, int BLOCK> constexpr int minRopeFastBlocks() {
  constexpr int kWarps =
      R == 1 ? QK_ROPE_FAST_MIN_WARPS : QK_ROPE_FAST_MIN_WARPS_R2;
  return (kWarps + BLOCK / 32 - 1) / (BLOCK / 32);
}

// TEAM lanes per row (8, 16, 32: the norm's choice for the widest group),
// one VW-element access per lane, R rows in flight, BLOCK threads; TT is
// the tables' element type (float or T: kRopeTableF32 decided at launch,
// so that only one kind of table run is held in registers).
template <class T, class TT, int VW, int TEAM, int R, int BLOCK, class P>
__global__ void __launch_bounds__(BLOCK, minRopeFastBlocks<R, BLOCK>())
    ropeFastKernel(const __grid_constant__ P p) {
  static_assert(VW > 1, "the fast kernel moves 16-byte vectors");
  using A = Access<T, VW>;
  using Raw = typename A::Raw;
  using Off = decltype(p.base.numTokens);
  namespace ep = epilogue;
  constexpr int kWords = int(sizeof(Raw)) / 4;
  pdlLaunchDependents();
  const int lane = int(threadIdx.x % TEAM);
  const unsigned team = (blockIdx.x * BLOCK + threadIdx.x) / TEAM;
  const unsigned teams =
      unsigned(p.base.totalGroups) * unsigned(p.base.teamsPerGroup);
  if (team >= teams) // uniform per team
    return;
  const WorkerRows<Off> me = locateWorker(p.base, team);
  const DevRange<Off> &rg = me.range;
  const int nAcc = rg.groupSize / VW;
  const bool live = lane < nAcc; // lanes past a narrower group idle
  const unsigned mask = TEAM == 32 ? 0xffffffffu
                                   : ((1u << TEAM) - 1u)
                                         << (threadIdx.x % 32 / TEAM * TEAM);
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  const DevRope<Off> &ro = p.rope;
  const int rf = ro.flags;
  const bool gptj = rf & kRopeGptj;
  const bool perOp = !(rf & kRopeOnce);
  const bool beforeNorm = rf & kRopeBeforeNorm;
  const int rot = ro.rotaryDim, half = rot / 2;
  // This lane's first element in its head (VW divides head_dim), whether
  // its vector rotates (rot is a multiple of VW), and the NEOX partner lane.
  const int j0 = (lane * VW) % ro.headDim;
  const bool rotLane = (rg.flags & kRotated) && live && j0 < rot;
  const bool negLow = j0 < half; // NEOX: sign -1 for the low half
  const int srcLane =
      (rotLane && !gptj) ? (negLow ? lane + half / VW : lane - half / VW)
                         : lane;
  const T *in = static_cast<const T *>(p.base.in) + me.column;
  T *out = static_cast<T *>(p.base.out) + me.column;

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

  Raw raw[R];
  float c[R][VW], s[R][VW];
  bool bad[R];
  static_assert(std::is_same_v<TT, float> || std::is_same_v<TT, T>,
                "tables are f32 or the activation type");
  // Issues every load of rows t0 .. t0 + R - 1: positions, rows, then the
  // table runs (the only loads that wait for something: the position).
  auto loadRows = [&](Off t0) {
    int64_t row[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const Off t = t0 + i;
      const bool valid = t < me.end;
      row[i] = int64_t(t);
      if (rotLane && valid && ro.positions)
        row[i] =
            (rf & kRopePosI64)
                ? int64_t(__ldg(static_cast<const long long *>(ro.positions) +
                                t))
                : int64_t(__ldg(static_cast<const int *>(ro.positions) + t));
    }
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const Off t = t0 + i;
      raw[i] = (t < me.end && live) ? A::load(in + t * p.base.inStride +
                                              Off(lane) * VW)
                                    : A::zero();
    }
#pragma unroll
    for (int i = 0; i < R; ++i) {
      bad[i] = row[i] < 0 || row[i] >= int64_t(ro.tableRows);
      const int64_t r = bad[i] ? 0 : row[i];
      if (rotLane) {
        loadTableRuns<TT, VW>(ro, r, j0, c[i], s[i]);
      } else {
#pragma unroll
        for (int k = 0; k < VW; ++k)
          c[i][k] = s[i][k] = 0.0f;
      }
    }
  };
  auto prefetchRows = [&](Off i0) {
    constexpr int kAccPerLine = 128 / (VW * int(sizeof(T)));
#pragma unroll
    for (int i = 0; i < R; ++i)
      if (i0 + i < pfRows && lane < pfAcc && lane % kAccPerLine == 0)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(
            pfRow + (i0 + i) * p.base.inStride + Off(lane) * VW));
  };
  // Element k of a packed vector (values of T, or floats for f32).
  auto elem = [&](const Raw &v, int k) {
    float e[VW];
    A::unpack(v, e);
    return e[k];
  };
  // Rotates the lane's packed values (representable in T) of row i: the
  // partner's packed vector comes by shuffle (NEOX) or is the lane's own
  // (GPTJ). Every lane of the team takes part in the shuffles; packed
  // values keep the live registers down (R rows of table runs are held).
  auto rotateRow = [&](int i, Raw &mine) {
    if (!(rg.flags & kRotated)) // uniform per team
      return;
    Raw theirs = mine;
    if (!gptj) {
      uint32_t *w = reinterpret_cast<uint32_t *>(&theirs);
#pragma unroll
      for (int q = 0; q < kWords; ++q)
        w[q] = __shfl_sync(mask, w[q], srcLane, TEAM);
    }
    if (!rotLane)
      return;
    float r[VW];
#pragma unroll
    for (int k = 0; k < VW; ++k) {
      const bool neg = gptj ? (k & 1) == 0 : negLow;
      r[k] = bad[i] ? __int_as_float(0x7fffffff)
                    : ep::rotate(elem(mine, k), elem(theirs, gptj ? k ^ 1 : k),
                                 c[i][k], s[i][k], neg, perOp, RoundTo<T>());
    }
    mine = A::pack(r);
  };

  pdlWait();
  loadRows(me.begin);
  prefetchRows(0);
  for (Off t0 = me.begin; t0 < me.end; t0 += R) {
    if (t0 != me.begin) {
      loadRows(t0);
      prefetchRows(t0 - me.begin);
    }
    float ss[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
      if (beforeNorm)
        rotateRow(i, raw[i]);
      // The norm kernels' order: fmaf over the access.
      ss[i] = 0.0f;
#pragma unroll
      for (int k = 0; k < VW; ++k) {
        const float x = elem(raw[i], k);
        ss[i] = fmaf(x, x, ss[i]);
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
      {
        // Weights per row (L1 hits): holding them costs VW registers.
        float w[VW], y[VW];
        loadWeights<T, VW>(rg, lane, live, w);
#pragma unroll
        for (int k = 0; k < VW; ++k)
          y[k] = roundTrip<T>(finish<T>(elem(raw[i], k), inv, w[k],
                                        roundBefore));
        raw[i] = A::pack(y);
      }
      if (!beforeNorm)
        rotateRow(i, raw[i]);
      if (t0 + i < me.end && live) {
        float y[VW];
        A::unpack(raw[i], y);
        A::store(out + (t0 + i) * p.base.outStride + Off(lane) * VW, y);
      }
    }
  }
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ROPEFASTKERNEL_CUH
