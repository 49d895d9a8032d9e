//===- RopeTokenKernel.cuh - Norm + RoPE, one short team per head -*- CUDA
//-*-===//
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
// writes NaN into the rotated elements (docs/rope-abi.md). PER_OP with
// 16-bit tables of the activation type rotates two elements per
// instruction (rotateWord, below).
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH
#define QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH

#include "RopeKernels.cuh"

namespace qk::runtime::cuda {

constexpr int kRopeTokenBlock = 256;

//===----------------------------------------------------------------------===//
// The packed rotation: 16-bit activations, tables of the same type, PER_OP
//===----------------------------------------------------------------------===//
//
// PER_OP is round(round(a * c) + round(sb * s)) with every operand a 16-bit
// value: each product and the sum is exactly one correctly rounded 16-bit
// operation (the fp32 product of two 16-bit values is exact, and rounding
// the fp32 sum to 16 bits equals the 16-bit sum: fp32 has more than 2p + 2
// bits). So two elements at a time, __hmul2 / __hadd2 (round to nearest
// even, subnormals kept, no contraction: the _rn forms) give the bits of
// Epilogue.h's rotate() in three
// instructions instead of some twenty per element: the rotation was most
// of the kernel's issue slots.

template <class T> struct Pair2;
template <> struct Pair2<__nv_bfloat16> { using V = __nv_bfloat162; };
template <> struct Pair2<__half> { using V = __half2; };

template <class T>
__device__ __forceinline__ uint32_t rotateWord(uint32_t a, uint32_t sb,
                                               uint32_t c, uint32_t s) {
  using V = typename Pair2<T>::V;
  // The _rn forms: plain __hmul2 / __hadd2 (mul.bf16x2 without .rn) let
  // ptxas contract a product and the sum into one fma, which rounds once
  // where PER_OP rounds twice (seen as bit differences on the H200).
  V r = __hadd2_rn(
      __hmul2_rn(*reinterpret_cast<V *>(&a), *reinterpret_cast<V *>(&c)),
      __hmul2_rn(*reinterpret_cast<V *>(&sb), *reinterpret_cast<V *>(&s)));
  return *reinterpret_cast<uint32_t *>(&r);
}

// The cos (or sin) values of elements j0 .. j0 + 7 of a head as four words
// of two 16-bit values, in the elements' order (kRopeTableVector: aligned
// runs). GPTJ per pair: four frequencies, each for both elements of a pair.
__device__ __forceinline__ uint4 tableWords(const void *table, int64_t row,
                                            int64_t stride, int j0, int half,
                                            bool gptj, bool perPair) {
  const uint16_t *t = static_cast<const uint16_t *>(table) + row * stride;
  if (gptj && perPair) {
    const uint2 u = __ldg(reinterpret_cast<const uint2 *>(t + j0 / 2));
    return make_uint4(__byte_perm(u.x, 0, 0x1010), __byte_perm(u.x, 0, 0x3232),
                      __byte_perm(u.y, 0, 0x1010), __byte_perm(u.y, 0, 0x3232));
  }
  const int col = perPair ? epilogue::ropeFrequency(false, j0, half) : j0;
  return __ldg(reinterpret_cast<const uint4 *>(t + col));
}

// TEAM lanes per head (8, 16, 32), one VW-element vector per lane; TT is
// the tables' element type (float or T).
// TEAM lanes per head (8, 16, 32), one VW-element vector per lane and
// token, TOK tokens per team (their row loads all issued first: the bytes
// in flight per thread, which bound a latency-bound kernel); TT is the
// tables' element type (float or T).
// Register caps: 64 a thread for one token (32 warps an SM), 85 for two,
// 128 for four (the rows in flight of a thread, not its warps, hide the
// latency there; 64 made four spill ~190 bytes).
constexpr int ropeTokenBlocks(int tok) {
  return tok == 1 ? 4 : tok == 2 ? 3 : 2;
}

template <class T, class TT, int VW, int TEAM, int TOK>
__global__ void __launch_bounds__(kRopeTokenBlock, ropeTokenBlocks(TOK))
    ropeTokenKernel(const __grid_constant__ CompactRopeParams p) {
  static_assert(VW > 1, "16-byte vectors");
  static_assert(32 % TEAM == 0, "teams do not straddle warps");
  using A = Access<T, VW>;
  using Raw = typename A::Raw;
  using Off = int32_t;
  namespace ep = epilogue;
  pdlLaunchDependents();
  const unsigned groups = unsigned(p.base.totalGroups);
  const unsigned runs = (unsigned(p.base.numTokens) + TOK - 1) / TOK;
  const unsigned teams = runs * groups;
  const unsigned team =
      (blockIdx.x * unsigned(kRopeTokenBlock) + threadIdx.x) / unsigned(TEAM);
  // Whole warps execute every shuffle: a lane past the last team works on
  // the last team's rows again and stores nothing.
  const bool live = team < teams;
  const unsigned me = live ? team : teams - 1;
  const int lane = int(threadIdx.x % TEAM);
  const int g = int(me % groups);
  const Off token0 = Off(me / groups) * TOK;
  const DevRange<Off> rg = rangeOf(p.base, g);
  const int nAcc = rg.groupSize / VW;
  const bool has = lane < nAcc;
  const Off column =
      rg.columnOffset + Off(g - rg.groupBase) * rg.groupStride + Off(lane) * VW;
  const DevRope<Off> &ro = p.rope;
  const int rf = ro.flags;
  const bool gptj = rf & kRopeGptj;
  const bool perOp = !(rf & kRopeOnce);
  const bool beforeNorm = rf & kRopeBeforeNorm;
  const bool perPair = rf & kRopePerPair;
  const int rot = ro.rotaryDim, half = rot / 2;
  const int j0 = lane * VW; // the group is the head
  const bool rotLane = (rg.flags & kRotated) && has && j0 < rot;
  const int srcLane = (rotLane && !gptj)
                          ? (j0 < half ? lane + half / VW : lane - half / VW)
                          : lane;
  const unsigned full = 0xffffffffu;
  const bool roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
  // The packed rotation (above) where it gives PER_OP's bits: 16-bit
  // activations and tables of the same type; else the fp32 one.
  constexpr bool kPackable = sizeof(T) == 2 && std::is_same_v<TT, T>;
  const bool packed = kPackable && perOp;

  pdlWait();
  // Every row load first, then every position.
  Raw raw[TOK];
  int64_t row[TOK];
  bool bad[TOK];
#pragma unroll
  for (int k = 0; k < TOK; ++k) {
    const Off t = token0 + k;
    const bool valid = t < p.base.numTokens;
    raw[k] = (has && valid) ? A::load(static_cast<const T *>(p.base.in) +
                                      int64_t(t) * p.base.inStride + column)
                            : Raw{};
    row[k] = t;
    bad[k] = false;
  }
  if (ro.positions && rotLane) {
#pragma unroll
    for (int k = 0; k < TOK; ++k) {
      const Off t = min(token0 + k, p.base.numTokens - 1);
      row[k] =
          (rf & kRopePosI64)
              ? int64_t(__ldg(static_cast<const long long *>(ro.positions) + t))
              : int64_t(__ldg(static_cast<const int *>(ro.positions) + t));
      bad[k] = row[k] < 0 || row[k] >= int64_t(ro.tableRows);
      if (bad[k])
        row[k] = 0; // inside the table; the elements become NaN below
    }
  }
  float w[VW];
  loadWeights<T, VW>(rg, lane, has, w);

#pragma unroll
  for (int k = 0; k < TOK; ++k) {
    const Off t = token0 + k;
    // The tables of this token's row.
    float c[VW], s[VW];
    uint4 cw = make_uint4(0, 0, 0, 0), sw = cw;
#pragma unroll
    for (int e = 0; e < VW; ++e)
      c[e] = s[e] = 0.0f;
    if (rotLane) {
      if (packed) {
        cw = tableWords(ro.cos, row[k], ro.cosStride, j0, half, gptj, perPair);
        sw = tableWords(ro.sin, row[k], ro.sinStride, j0, half, gptj, perPair);
      } else {
        loadTableRuns<TT, VW>(ro, row[k], j0, c, s);
      }
    }
    const bool isBad = bad[k];

    // The rotation of this lane's vector v (values representable in T), the
    // partner vector from srcLane (NEOX) or the neighbour (GPTJ).
    auto rotateVector = [&](float(&v)[VW]) {
      float pv[VW];
#pragma unroll
      for (int e = 0; e < VW; ++e)
        pv[e] = __shfl_sync(full, v[e], srcLane, TEAM);
      if (!rotLane)
        return;
      float r[VW];
#pragma unroll
      for (int e = 0; e < VW; ++e) {
        const int j = j0 + e;
        const float b = gptj ? v[e ^ 1] : pv[e];
        r[e] = isBad ? __int_as_float(0x7fc00000)
                     : ep::rotate(v[e], b, c[e], s[e],
                                  ep::ropeNegates(gptj, j, half), perOp,
                                  RoundTo<T>());
      }
#pragma unroll
      for (int e = 0; e < VW; ++e)
        v[e] = r[e];
    };
    // The packed form of the same rotation, on the raw words of v.
    auto rotateWords = [&](uint4 v) -> uint4 {
      uint32_t wd[4] = {v.x, v.y, v.z, v.w};
      uint32_t pw[4];
#pragma unroll
      for (int q = 0; q < 4; ++q)
        pw[q] = __shfl_sync(full, wd[q], srcLane, TEAM);
      if (!rotLane)
        return v;
      const uint32_t cwq[4] = {cw.x, cw.y, cw.z, cw.w};
      const uint32_t swq[4] = {sw.x, sw.y, sw.z, sw.w};
      uint32_t r[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        // sign * partner: NEOX negates the whole vector of the low half;
        // GPTJ swaps the pair and negates its first element.
        const uint32_t sb = gptj ? (__byte_perm(wd[q], 0, 0x1032) ^ 0x00008000u)
                                 : (j0 < half ? pw[q] ^ 0x80008000u : pw[q]);
        if constexpr (kPackable)
          r[q] = isBad ? (std::is_same_v<T, __nv_bfloat16> ? 0x7fc07fc0u
                                                           : 0x7e007e00u)
                       : rotateWord<T>(wd[q], sb, cwq[q], swq[q]);
        else
          r[q] = 0;
      }
      return make_uint4(r[0], r[1], r[2], r[3]);
    };

    Raw xr = raw[k];
    float x[VW];
    if constexpr (kPackable) {
      if (beforeNorm && packed)
        xr = rotateWords(xr); // rounded: the norm reads the rotated row
    }
    A::unpack(xr, x);
    if (beforeNorm && !packed)
      rotateVector(x); // rounded: the norm reads the rotated row
    float ss = 0.0f;
#pragma unroll
    for (int e = 0; e < VW; ++e)
      ss = fmaf(x[e], x[e], ss);
#pragma unroll
    for (int off = TEAM / 2; off > 0; off /= 2)
      ss += __shfl_xor_sync(full, ss, off, TEAM);
    const float inv = inverseRms(ss, rg);
    float y[VW];
#pragma unroll
    for (int e = 0; e < VW; ++e)
      y[e] = finish<T>(x[e], inv, w[e], roundBefore);
    T *out =
        static_cast<T *>(p.base.out) + int64_t(t) * p.base.outStride + column;
    const bool store = live && has && t < p.base.numTokens;
    bool done = false;
    if constexpr (kPackable) {
      if (packed) {
        // The norm's output, as stored (packing rounds), then rotated.
        uint4 yw = A::pack(y);
        if (!beforeNorm)
          yw = rotateWords(yw);
        if (store)
          store16(out, yw.x, yw.y, yw.z, yw.w);
        done = true;
      }
    }
    if (!done) {
      if (!beforeNorm) {
#pragma unroll
        for (int e = 0; e < VW; ++e)
          y[e] = roundTrip<T>(y[e]); // the norm's output, as stored
        rotateVector(y);
      }
      if (store)
        A::store(out, y);
    }
  }
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH
