//===- RopeTokenKernel.cuh - Norm + RoPE, one short team per head -*- CUDA -*-===//
//
// ropeTokenKernel: qk_fused_rms_norm_rope for per-head norms (every range's
// group is one head: group_size == head_dim), 16-byte rows, aligned table
// runs, at most 32 vectors per head, NEOX with rotary_dim / 2 a multiple of
// the vector width or GPTJ. Everything else takes ropeKernel.
//
// Why a third shape. ropeKernel (and ropeFastKernel) give each team a run
// of tokens of one group and walk it row after row; per row the position,
// then the table rows (their address depends on the position), then the
// exchange, sit in one dependent chain behind the row itself, so a team
// pays two or three memory latencies per row where the norm pays one:
// 34% of copy bandwidth on the H200 at T = 32768, half rotary as slow as
// full. Here a team lives for ONE (token, head) and dies: consecutive teams
// are the heads of one token (the same position and table row: L1 hits
// after the first), a block holds 256 / TEAM of them, and the grid holds
// T * heads teams. Every load of a team is issued up front -- the row
// vector, the weights, the position and, as soon as it arrives, the table
// runs -- and the latency of one team is hidden by the others in flight,
// which the block scheduler keeps replacing (the norm's measurement:
// many short-lived workers beat long ones, Options::waves).
//
// Numerics are the norm team kernel's: the team is TEAM lanes as the norm
// dispatch picks it for this group size (8, 16 or 32; lanes past the
// head's vectors hold zeros), one vector per lane, the same fmaf order and
// the same xor tree, inverseRms and finish (Kernels.cuh). So the
// normalised values are bit-identical to qk_fused_rms_norm's, which the
// GPU check requires. The rotation is Epilogue.h's (rotate: __fmul_rn /
// __fadd_rn, PER_OP / ONCE). The NEOX partner vector is half / VW lanes
// away in the same team and comes by __shfl_sync; GPTJ's partner is the
// neighbour in the vector. An out-of-range position reads table row 0 and
// writes NaN into the rotated elements (docs/rope-abi.md).
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH
#define QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH

#include "RopeKernels.cuh"

namespace qk::runtime::cuda {

constexpr int kRopeTokenBlock = 256;

// TEAM lanes per head (8, 16, 32), one VW-element vector per lane; TT is
// the tables' element type (float or T).
template <class T, class TT, int VW, int TEAM>
__global__ void __launch_bounds__(kRopeTokenBlock, 4)
    ropeTokenKernel(const __grid_constant__ CompactRopeParams p) {
  static_assert(VW > 1, "16-byte vectors");
  static_assert(32 % TEAM == 0, "teams do not straddle warps");
  using A = Access<T, VW>;
  using Off = int32_t;
  namespace ep = epilogue;
  pdlLaunchDependents();
  const unsigned teams =
      unsigned(p.base.numTokens) * unsigned(p.base.totalGroups);
  const unsigned team = (blockIdx.x * unsigned(kRopeTokenBlock) + threadIdx.x) /
                        unsigned(TEAM);
  // Whole warps execute every shuffle: a lane past the last team works on
  // the last team's row again and stores nothing.
  const bool live = team < teams;
  const unsigned me = live ? team : teams - 1;
  const int lane = int(threadIdx.x % TEAM);
  const int g = int(me % unsigned(p.base.totalGroups));
  const Off token = Off(me / unsigned(p.base.totalGroups));
  const DevRange<Off> rg = rangeOf(p.base, g);
  const int nAcc = rg.groupSize / VW;
  const bool has = lane < nAcc;
  const Off column = rg.columnOffset + Off(g - rg.groupBase) * rg.groupStride +
                     Off(lane) * VW;
  const DevRope<Off> &ro = p.rope;
  const int rf = ro.flags;
  const bool gptj = rf & kRopeGptj;
  const bool perOp = !(rf & kRopeOnce);
  const bool beforeNorm = rf & kRopeBeforeNorm;
  const int rot = ro.rotaryDim, half = rot / 2;
  const int j0 = lane * VW; // the group is the head
  const bool rotLane = (rg.flags & kRotated) && has && j0 < rot;
  const int srcLane =
      (rotLane && !gptj) ? (j0 < half ? lane + half / VW : lane - half / VW)
                         : lane;
  const T *in = static_cast<const T *>(p.base.in) +
                int64_t(token) * p.base.inStride + column;
  T *out = static_cast<T *>(p.base.out) + int64_t(token) * p.base.outStride +
           column;

  pdlWait();
  // Every load first: the row, the position, the weights, the table runs.
  typename A::Raw raw = has ? A::load(in) : typename A::Raw{};
  int64_t row = token;
  bool bad = false;
  if (ro.positions && rotLane) {
    row = (rf & kRopePosI64)
              ? int64_t(__ldg(static_cast<const long long *>(ro.positions) +
                              token))
              : int64_t(__ldg(static_cast<const int *>(ro.positions) + token));
    bad = row < 0 || row >= int64_t(ro.tableRows);
    if (bad)
      row = 0; // inside the table; the elements become NaN below
  }
  float w[VW];
  loadWeights<T, VW>(rg, lane, has, w);
  float c[VW], s[VW];
  if (rotLane) {
    loadTableRuns<TT, VW>(ro, row, j0, c, s);
  } else {
#pragma unroll
    for (int k = 0; k < VW; ++k)
      c[k] = s[k] = 0.0f;
  }

  // The rotation of this lane's vector v (values representable in T), the
  // partner vector from srcLane (NEOX) or the neighbour (GPTJ).
  const unsigned full = 0xffffffffu;
  auto rotateVector = [&](float (&v)[VW]) {
    float pv[VW];
#pragma unroll
    for (int k = 0; k < VW; ++k)
      pv[k] = __shfl_sync(full, v[k], srcLane, TEAM);
    if (!rotLane)
      return;
    float r[VW];
#pragma unroll
    for (int k = 0; k < VW; ++k) {
      const int j = j0 + k;
      const float b = gptj ? v[k ^ 1] : pv[k];
      r[k] = bad ? __int_as_float(0x7fc00000)
                 : ep::rotate(v[k], b, c[k], s[k], ep::ropeNegates(gptj, j, half),
                              perOp, RoundTo<T>());
    }
#pragma unroll
    for (int k = 0; k < VW; ++k)
      v[k] = r[k];
  };

  float x[VW];
  A::unpack(raw, x);
  if (beforeNorm)
    rotateVector(x); // rounded: the norm reads the rotated row
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < VW; ++k)
    ss = fmaf(x[k], x[k], ss);
#pragma unroll
  for (int off = TEAM / 2; off > 0; off /= 2)
    ss += __shfl_xor_sync(full, ss, off, TEAM);
  const float inv = inverseRms(ss, rg);
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  float y[VW];
#pragma unroll
  for (int k = 0; k < VW; ++k)
    y[k] = finish<T>(x[k], inv, w[k], roundBefore);
  if (!beforeNorm) {
#pragma unroll
    for (int k = 0; k < VW; ++k)
      y[k] = roundTrip<T>(y[k]); // the norm's output, as stored
    rotateVector(y);
  }
  if (live && has)
    A::store(out, y);
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH
