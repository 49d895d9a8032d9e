//===- RopeTokenKernel.cuh - Norm + RoPE, one team per head ------*- CUDA
//-*-===//
//
// Two kernels of qk_fused_rms_norm_rope for per-head norms (every range's
// group is one head: group_size == head_dim), 16-byte rows, aligned table
// runs, at most 32 vectors per head, NEOX with rotary_dim / 2 a multiple of
// the vector width or GPTJ. Everything else takes ropeKernel
// (RopeKernels.cuh). Both share RopeHead, what one team does to one head
// of one token:
//  * ropeTokenKernel: one short-lived team per (token, head), the grid
//    holds T * heads teams. The shortest chain, so the default while the
//    GPU holds a team for every (token, head) (small T).
//  * ropeStreamKernel: a resident grid whose teams each stream one, two or
//    four heads over many tokens, the next rows on their way through cp.async while
//    one is worked on; the default above (RopeRuntime.cu).
//
// Why not ropeKernel's shape. It gives each team a run of tokens of one
// group and walks it row after row; per row the position, then the table
// rows (their address depends on the position), then the exchange, sit in
// one dependent chain behind the row itself: 34% of copy bandwidth on the
// H200 at T = 32768.
//
// Numerics are the norm team kernel's: the lanes hold the vectors the norm
// dispatch's team for this group size holds (8, 16 or 32 lanes of one
// vector; the stream kernel folds two of them into one lane, RopeHead), the
// same fmaf order and the same xor tree, inverseRms and finish
// (Kernels.cuh). So the normalised values are bit-identical to
// qk_fused_rms_norm's, which the GPU check requires. The rotation is
// Epilogue.h's (__fmul_rn / __fadd_rn, PER_OP / ONCE). A NEOX partner
// vector is in the lane's other slot (full rotary, stream kernel) or comes
// by __shfl_sync; GPTJ's partner is the neighbour in the vector. An
// out-of-range position writes NaN into the rotated elements
// (docs/rope-abi.md). PER_OP with 16-bit tables of the activation type
// rotates two elements per instruction (rotateWord, below).
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

// A lane's 16-byte vector of the partner lane (NEOX: half / VW lanes away in
// the same team). Values of the activation type travel packed: half the
// shuffles of fp32 values for 16-bit types.
template <int TEAM, class Raw>
__device__ __forceinline__ Raw shuffleRaw(const Raw &v, int src) {
  static_assert(sizeof(Raw) == 16, "a 16-byte vector");
  const uint4 u = *reinterpret_cast<const uint4 *>(&v);
  const uint4 r = make_uint4(__shfl_sync(0xffffffffu, u.x, src, TEAM),
                             __shfl_sync(0xffffffffu, u.y, src, TEAM),
                             __shfl_sync(0xffffffffu, u.z, src, TEAM),
                             __shfl_sync(0xffffffffu, u.w, src, TEAM));
  return *reinterpret_cast<const Raw *>(&r);
}

//===----------------------------------------------------------------------===//
// One head of one token: what a team does to its row vectors
//===----------------------------------------------------------------------===//
//
// The per-(team, head) constants and the per-row arithmetic that the token
// kernel and the stream kernel share. LANES lanes per head, NV 16-byte
// vectors per lane: slot v of lane l is the head's vector l + v * LANES; TT
// is the tables' element type (float or T).
//
// The normalised values are bit-identical to qk_fused_rms_norm's, whose
// team for this head size has TEAM = NV * LANES lanes and one vector per
// lane (Kernels.cuh): each vector's sum of squares is the same fmaf chain,
// and with NV = 2 the first step of the norm's xor tree (lane l plus lane
// l ^ LANES, i.e. vectors l and l + LANES) is this lane's own sum of its
// two slots; the remaining steps are the same shuffles.
//
// Why NV = 2 (the stream kernel): the kernel is issue-bound at large T
// (ncu: the norm kernel alone issues an instruction on 76% of the cycles),
// and half the lanes per head halve what every lane pays once per row --
// addresses, the pipeline, the reduction's shuffles, rsqrt, the table
// loads. And with full NEOX rotary (half == LANES * VW) each element's
// partner is in the lane's other slot: no exchange at all, and both slots
// read the same frequencies, so one table run serves both.
//
// Every lane of the warp calls apply() together (it shuffles with the full
// mask); a lane with nothing to do works on a copy and stores nothing.
template <class T, class TT, int VW, int LANES, int NV> struct RopeHead {
  static_assert(VW > 1, "16-byte vectors");
  static_assert(32 % LANES == 0, "teams do not straddle warps");
  static_assert(NV == 1 || NV == 2, "one or two vectors per lane");
  using A = Access<T, VW>;
  using Raw = typename A::Raw;
  using Off = int32_t;
  // The packed rotation (above) where it gives PER_OP's bits: 16-bit
  // activations and tables of the same type; else the fp32 one.
  static constexpr bool kPackable = sizeof(T) == 2 && std::is_same_v<TT, T>;

  /// The VW table values of one vector (cos or sin), raw: 16 or 32 bytes
  /// of TT in the elements' order.
  struct Tab {
    static constexpr int K = VW * int(sizeof(TT)) / 16;
    static_assert(K == 1 || K == 2, "16 or 32 bytes of table per vector");
    uint4 w[K];
    __device__ static Tab zero() {
      Tab t;
#pragma unroll
      for (int k = 0; k < K; ++k)
        t.w[k] = make_uint4(0, 0, 0, 0);
      return t;
    }
    __device__ static Tab ones() { // QK_ROPE_DIAG: cos = sin = 1
      const uint32_t one = sizeof(TT) == 4              ? 0x3f800000u
                           : std::is_same_v<TT, __half> ? 0x3c003c00u
                                                        : 0x3f803f80u;
      Tab t;
#pragma unroll
      for (int k = 0; k < K; ++k)
        t.w[k] = make_uint4(one, one, one, one);
      return t;
    }
    __device__ void toFloats(float (&f)[VW]) const {
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const uint32_t q[4] = {w[k].x, w[k].y, w[k].z, w[k].w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          if constexpr (sizeof(TT) == 4)
            f[k * 4 + i] = __uint_as_float(q[i]);
          else
            unpackWord((TT *)nullptr, q[i], f[2 * i], f[2 * i + 1]);
        }
      }
    }
  };

  /// The table values of the vector at head element j0 (a multiple of VW)
  /// in table row `row` (kRopeTableVector: aligned runs).
  __device__ Tab loadTab(const void *table, int32_t stride, int64_t row,
                         int j) const {
    const TT *t = static_cast<const TT *>(table) + row * int64_t(stride);
    Tab r;
    if (gptj && perPair) {
      // VW / 2 frequencies, each for both elements of a pair.
      if constexpr (sizeof(TT) == 2) {
        const uint2 u = __ldg(reinterpret_cast<const uint2 *>(t + j / 2));
        r.w[0] = make_uint4(
            __byte_perm(u.x, 0, 0x1010), __byte_perm(u.x, 0, 0x3232),
            __byte_perm(u.y, 0, 0x1010), __byte_perm(u.y, 0, 0x3232));
      } else if constexpr (Tab::K == 2) {
        const uint4 u = __ldg(reinterpret_cast<const uint4 *>(t + j / 2));
        r.w[0] = make_uint4(u.x, u.x, u.y, u.y);
        r.w[1] = make_uint4(u.z, u.z, u.w, u.w);
      } else {
        const uint2 u = __ldg(reinterpret_cast<const uint2 *>(t + j / 2));
        r.w[0] = make_uint4(u.x, u.x, u.y, u.y);
      }
      return r;
    }
    const int col = perPair ? epilogue::ropeFrequency(false, j, half) : j;
#pragma unroll
    for (int k = 0; k < Tab::K; ++k)
      r.w[k] = __ldg(reinterpret_cast<const uint4 *>(t + col) + k);
    return r;
  }

  const DevRope<Off> &ro;
  DevRange<Off> rg;
  Off column; // of slot 0's vector in a token's row
  int lane, half;
  int j0[NV];      // head-local index of each slot's first element
  int srcLane[NV]; // NEOX: where each slot's partner vector lives
  int srcSlot[NV];
  bool has[NV], rot[NV];
  bool gptj, perOp, beforeNorm, perPair, roundBefore, packed;
  bool inLane;      // NV == 2, NEOX, half == LANES * VW: partner = other slot
  bool shareTables; // inLane and per pair: both slots read one run
  bool slot0Only;   // NV == 2, rotary_dim <= LANES * VW: only slot 0 rotates
  float w[NV][VW];

  __device__ RopeHead(const CompactRopeParams &p, int g, int teamLane)
      : ro(p.rope), rg(rangeOf(p.base, g)), lane(teamLane) {
    const int rf = ro.flags;
    gptj = rf & kRopeGptj;
    perOp = !(rf & kRopeOnce);
    beforeNorm = rf & kRopeBeforeNorm;
    perPair = rf & kRopePerPair;
    roundBefore = (rg.flags & kRoundBeforeWeight) != 0;
    packed = kPackable && perOp;
    half = ro.rotaryDim / 2;
    column = rg.columnOffset + Off(g - rg.groupBase) * rg.groupStride +
             Off(lane) * VW;
    const int nAcc = rg.groupSize / VW; // the group is the head
    const bool rotated = (rg.flags & kRotated) != 0;
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      const int a = lane + v * LANES;
      has[v] = a < nAcc;
      j0[v] = a * VW;
      rot[v] = rotated && has[v] && j0[v] < ro.rotaryDim;
      srcLane[v] = lane;
      srcSlot[v] = v;
      if (rot[v] && !gptj) {
        const int pa = (j0[v] < half ? j0[v] + half : j0[v] - half) / VW;
        srcLane[v] = pa % LANES;
        srcSlot[v] = pa / LANES;
      }
    }
    inLane = NV == 2 && !gptj && half == LANES * VW;
    shareTables = inLane && perPair;
    slot0Only = NV == 2 && ro.rotaryDim <= LANES * VW;
  }

  __device__ void loadWeights() {
#pragma unroll
    for (int v = 0; v < NV; ++v)
      cuda::loadWeights<T, VW>(rg, lane + v * LANES, has[v], w[v]);
  }

  /// Token t's position (positions != NULL; t < numTokens).
  __device__ int64_t position(Off t) const {
    return (ro.flags & kRopePosI64)
               ? int64_t(
                     __ldg(static_cast<const long long *>(ro.positions) + t))
               : int64_t(__ldg(static_cast<const int *>(ro.positions) + t));
  }

  /// The table row of a position; `bad` (and row 0, inside the table) for
  /// one outside [0, table_rows): the elements become NaN in apply().
  __device__ int64_t tableRow(int64_t pos, bool &bad) const {
    bad = pos < 0 || pos >= int64_t(ro.tableRows);
    return bad ? 0 : pos;
  }

  /// The first table element of slot 0's cos (or sin) run in `row`.
  __device__ const TT *tableRun(const void *table, Off stride,
                                int64_t row) const {
    const int col = (gptj && perPair) ? j0[0] / 2
                    : perPair ? epilogue::ropeFrequency(false, j0[0], half)
                              : j0[0];
    return static_cast<const TT *>(table) + row * int64_t(stride) + col;
  }

  /// The cos and sin values of this lane's slots in table row `row` (as
  /// raw words: few registers). Every head of a range reads the same ones,
  /// so the stream kernel loads them once for all the heads it holds.
  struct Tables {
    Tab c[NV], s[NV];
  };
  __device__ Tables loadTables(int64_t row) const {
    Tables tb;
#pragma unroll
    for (int v = 0; v < NV; ++v) {
#if defined(QK_ROPE_DIAG) // timing experiments only (-DQK_ROPE_DIAG=1: no
                          // table reads; 2: no rotation either), wrong output
      tb.c[v] = tb.s[v] = Tab::ones();
#else
      tb.c[v] = tb.s[v] = Tab::zero();
      if (rot[v] && !(v == 1 && shareTables)) {
        tb.c[v] = loadTab(ro.cos, ro.cosStride, row, j0[v]);
        tb.s[v] = loadTab(ro.sin, ro.sinStride, row, j0[v]);
      }
#endif
    }
    if constexpr (NV == 2) {
      if (shareTables) {
        tb.c[1] = tb.c[0];
        tb.s[1] = tb.s[0];
      }
    }
    return tb;
  }

  /// Norm and rotation of this lane's vectors `x` of one token, in the
  /// step order; on return `x` holds the result as stored.
  __device__ void apply(Raw (&x)[NV], int64_t row, bool bad) const {
    // The tables first, so that their latency hides behind the norm.
    apply(x, loadTables(row), bad);
  }

  /// The same with this token's tables already loaded.
  __device__ void apply(Raw (&x)[NV], const Tables &tb, bool bad) const {
    const Tab(&tc)[NV] = tb.c;
    const Tab(&ts)[NV] = tb.s;
    if (beforeNorm)
      rotate(x, bad, tc, ts); // rounded: the norm reads the rotated row
    float ss[NV], y[NV][VW];
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      A::unpack(x[v], y[v]);
      ss[v] = 0.0f;
#pragma unroll
      for (int e = 0; e < VW; ++e)
        ss[v] = fmaf(y[v][e], y[v][e], ss[v]);
    }
    float sum = ss[0];
    if constexpr (NV == 2)
      sum += ss[1]; // the norm tree's first step, lane l ^ LANES
#pragma unroll
    for (int off = LANES / 2; off > 0; off /= 2)
      sum += __shfl_xor_sync(0xffffffffu, sum, off, LANES);
    const float inv = inverseRms(sum, rg);
#pragma unroll
    for (int v = 0; v < NV; ++v) {
#pragma unroll
      for (int e = 0; e < VW; ++e)
        y[v][e] = finish<T>(y[v][e], inv, w[v][e], roundBefore);
      x[v] = A::pack(y[v]); // the norm's output, as stored (packing rounds)
    }
    if (!beforeNorm)
      rotate(x, bad, tc, ts);
  }

private:
  /// The rotation of vectors of values representable in T (the launch-wide
  /// choices -- style, rounding, packing -- are uniform branches outside
  /// the element loops).
  __device__ void rotate(Raw (&x)[NV], bool bad, const Tab (&tc)[NV],
                         const Tab (&ts)[NV]) const {
#if defined(QK_ROPE_DIAG) && QK_ROPE_DIAG >= 2 // timing only: no rotation
    return;
#endif
    // The NEOX partner vectors: the other slot, or by shuffles (all lanes,
    // before any lane-dependent branch).
    Raw pr[NV];
    if (!gptj) {
      if (inLane) {
        pr[0] = x[NV - 1];
        pr[NV - 1] = x[0];
      } else if (NV == 1 || slot0Only) {
        // Partial rotary within slot 0 (GLM-4.5: 64 of 128): its partner
        // is in slot 0 of another lane; slot 1 does not rotate.
        pr[0] = shuffleRaw<LANES>(x[0], srcLane[0]);
        pr[NV - 1] = NV == 1 ? pr[0] : x[NV - 1];
      } else {
#pragma unroll
        for (int v = 0; v < NV; ++v) {
          const Raw p0 = shuffleRaw<LANES>(x[0], srcLane[v]);
          pr[v] = p0;
          if constexpr (NV == 2) {
            const Raw p1 = shuffleRaw<LANES>(x[1], srcLane[v]);
            if (srcSlot[v])
              pr[v] = p1;
          }
        }
      }
    } else {
#pragma unroll
      for (int v = 0; v < NV; ++v)
        pr[v] = x[v];
    }
    Raw r[NV];
    // NEOX: the low half subtracts. With the partner in the lane, slot 0
    // is the low half and slot 1 the high one: a constant per slot.
    auto rotateSlots = [&](auto negOf) {
#pragma unroll
      for (int v = 0; v < NV; ++v) {
        r[v] = x[v];
        if (!rot[v])
          continue;
        const bool neg = negOf(v);
        if constexpr (kPackable) {
          if (packed) {
            r[v] = rotatePackedVec(x[v], pr[v], tc[v].w[0], ts[v].w[0], neg);
            continue;
          }
        }
        r[v] = rotateFloatVec(x[v], pr[v], tc[v], ts[v], neg);
      }
    };
    if (inLane)
      rotateSlots([](int v) { return v == 0; });
    else
      rotateSlots([&](int v) { return j0[v] < half; });
#pragma unroll
    for (int v = 0; v < NV; ++v) {
      if (rot[v] && bad)
        r[v] = nanVector();
      x[v] = r[v];
    }
  }

  __device__ static Raw nanVector() {
    if constexpr (sizeof(T) == 2) {
      const uint32_t q =
          std::is_same_v<T, __nv_bfloat16> ? 0x7fc07fc0u : 0x7e007e00u;
      return make_uint4(q, q, q, q);
    } else {
      const float q = __int_as_float(0x7fc00000);
      return make_float4(q, q, q, q);
    }
  }

  // fp32: Epilogue.h's rotate() (one product and one sum each rounded on
  // its own; PER_OP also rounds the products), the sign folded into the
  // partner (exact).
  __device__ Raw rotateFloatVec(Raw vr, Raw pr, const Tab &tc, const Tab &ts,
                                bool neg) const {
    namespace ep = epilogue;
    const RoundTo<T> round;
    float a[VW], b[VW], r[VW], c[VW], s[VW];
    tc.toFloats(c);
    ts.toFloats(s);
    A::unpack(vr, a);
    if (gptj) {
      // Partner j ^ 1; the even element of a pair subtracts.
#pragma unroll
      for (int e = 0; e < VW; e += 2) {
        b[e] = -a[e + 1];
        b[e + 1] = a[e];
      }
    } else {
      A::unpack(pr, b);
#pragma unroll
      for (int e = 0; e < VW; ++e)
        b[e] = neg ? -b[e] : b[e];
    }
    // The sum's final rounding is the packing's (the same round to
    // nearest even as RoundTo<T>).
    if (perOp) {
#pragma unroll
      for (int e = 0; e < VW; ++e)
        r[e] = ep::addRn(round(ep::mulRn(a[e], c[e])),
                         round(ep::mulRn(b[e], s[e])));
    } else {
#pragma unroll
      for (int e = 0; e < VW; ++e)
        r[e] = ep::addRn(ep::mulRn(a[e], c[e]), ep::mulRn(b[e], s[e]));
    }
    return A::pack(r);
  }

  // The packed form of the same rotation (PER_OP, 16-bit tables of T).
  __device__ Raw rotatePackedVec(Raw vr, Raw pr, uint4 cw, uint4 sw,
                                 bool neg) const {
    if constexpr (kPackable) {
      const uint32_t wd[4] = {vr.x, vr.y, vr.z, vr.w};
      const uint32_t pw[4] = {pr.x, pr.y, pr.z, pr.w};
      const uint32_t cq[4] = {cw.x, cw.y, cw.z, cw.w};
      const uint32_t sq[4] = {sw.x, sw.y, sw.z, sw.w};
      uint32_t r[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        // sign * partner: NEOX negates the whole vector of the low half;
        // GPTJ swaps the pair and negates its first element.
        const uint32_t sb = gptj ? (__byte_perm(wd[q], 0, 0x1032) ^ 0x00008000u)
                                 : (neg ? pw[q] ^ 0x80008000u : pw[q]);
        r[q] = rotateWord<T>(wd[q], sb, cq[q], sq[q]);
      }
      return make_uint4(r[0], r[1], r[2], r[3]);
    } else {
      return vr;
    }
  }
};

template <class Raw> __device__ __forceinline__ void storeRaw(void *p, Raw v) {
  if constexpr (std::is_same_v<Raw, uint4>)
    store16(p, v.x, v.y, v.z, v.w);
  else
    store16(p, __float_as_uint(v.x), __float_as_uint(v.y), __float_as_uint(v.z),
            __float_as_uint(v.w));
}

//===----------------------------------------------------------------------===//
// The token kernel: one short-lived team per (token, head)
//===----------------------------------------------------------------------===//

// TOK tokens per team (their row loads all issued first: the bytes in
// flight per thread, which bound a latency-bound kernel).
// Register caps: 64 a thread for one token (32 warps an SM), 85 for two,
// 128 for four (the rows in flight of a thread, not its warps, hide the
// latency there; 64 made four spill ~190 bytes).
constexpr int ropeTokenBlocks(int tok) {
  return tok == 1 ? 4 : tok == 2 ? 3 : 2;
}

template <class T, class TT, int VW, int TEAM, int TOK>
__global__ void __launch_bounds__(kRopeTokenBlock, ropeTokenBlocks(TOK))
    ropeTokenKernel(const __grid_constant__ CompactRopeParams p) {
  using H = RopeHead<T, TT, VW, TEAM, 1>;
  using Off = typename H::Off;
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
  const Off token0 = Off(me / groups) * TOK;
  H h(p, int(me % groups), int(threadIdx.x % TEAM));

  pdlWait();
  // Every row load first, then every position.
  typename H::Raw raw[TOK][1];
  int64_t row[TOK];
  bool bad[TOK];
#pragma unroll
  for (int k = 0; k < TOK; ++k) {
    const Off t = token0 + k;
    raw[k][0] = (h.has[0] && t < p.base.numTokens)
                    ? H::A::load(static_cast<const T *>(p.base.in) +
                                 int64_t(t) * p.base.inStride + h.column)
                    : H::A::zero();
    row[k] = t;
    bad[k] = false;
  }
  if (p.rope.positions && h.rot[0]) {
#pragma unroll
    for (int k = 0; k < TOK; ++k)
      row[k] =
          h.tableRow(h.position(min(token0 + k, p.base.numTokens - 1)), bad[k]);
  }
  h.loadWeights();
#pragma unroll
  for (int k = 0; k < TOK; ++k) {
    const Off t = token0 + k;
    h.apply(raw[k], row[k], bad[k]);
    if (live && h.has[0] && t < p.base.numTokens)
      storeRaw(static_cast<T *>(p.base.out) + int64_t(t) * p.base.outStride +
                   h.column,
               raw[k][0]);
  }
}

//===----------------------------------------------------------------------===//
// The stream kernel: one resident team per head, its rows through cp.async
//===----------------------------------------------------------------------===//
//
// The token kernel is latency-bound at large T: a team's row load, then
// its reduction, rotation and store form one chain, and what is in flight
// per SM is one 16-byte vector per resident thread, about half of what the
// DRAM needs to run at copy speed (39-55% of copy bandwidth on the H200).
// Here a grid of resident teams streams: team i always works on the HP
// heads of unit u = i % units (heads u * HP ...; units = groups / HP), on
// tokens i / units, + step, + 2 step, ... (step = teams / units, teams a
// multiple of units, so the weights and the heads' constants stay in
// registers), and the rows of its next S - 1
// tokens are already on their way into shared memory (cp.async: no
// registers held while in flight) while it works on one. The positions
// come through the same pipeline (each lane copies its token's position
// next to its vectors, so no lane reads another lane's copy); the tables
// are read when the row is worked on, and the team of a token's first head
// prefetches that table row into L2 when it issues the token's row (S - 1
// rows ahead). A team is TEAM / 2 lanes with two vectors each (RopeHead,
// NV = 2: fewer instructions per row, the same normalised bits as the norm
// kernel's TEAM lanes).
//
// Whole warps run the same number of iterations (the warp's first team has
// the most tokens); a lane whose token is past the end works on the last
// token again and stores nothing, so every shuffle has all 32 lanes.

// Pipeline stages: the rows of S - 1 tokens in flight per thread. Four
// heads per team fill a stage four times as fast, and four stages of them
// would hold one block per SM; three keep two and twice the bytes in flight.
constexpr int ropeStages(int hp) { return hp == 4 ? 3 : 4; }
// Resident blocks per SM (the register cap): three (85 registers) where the
// tables are of the activation type; with f32 tables of a 16-bit type three
// spill 148 bytes a thread, and two (no spill) measured 273 against 280 us
// (H200, Qwen3-8B, T = 32768; bf16 tables: three 211 us, two 229 us).
// Four heads per team: two, which is what their shared memory holds.
template <class T, class TT, int HP> constexpr int ropeStreamBlocks() {
#ifdef QK_ROPE_STREAM_BLOCKS // timing experiments
  return QK_ROPE_STREAM_BLOCKS;
#else
  return HP == 4 || sizeof(TT) > sizeof(T) ? 2 : 3;
#endif
}
// Shared memory per thread and stage: two vectors of each of its HP heads
// and a position.
constexpr int ropeStageBytes(int hp) { return hp * 2 * 16 + 8; }

// HP heads per team: a team works on heads g .. g + HP - 1 of one range
// (the host launches HP > 1 only where every range's head count is a
// multiple of HP, so they share the weights, eps and per-lane constants),
// and loads the token's cos and sin once for all of them. The table loads
// were a quarter of the kernel's time with one head per team (H200,
// Qwen3-8B, T = 32768, f32 cache: 65 of 273 us, -DQK_ROPE_DIAG=1).
template <class T, class TT, int VW, int TEAM, int S, int HP>
__global__ void __launch_bounds__(kRopeTokenBlock,
                                  ropeStreamBlocks<T, TT, HP>())
    ropeStreamKernel(const __grid_constant__ CompactRopeParams p) {
  constexpr int LANES = TEAM / 2;
  using H = RopeHead<T, TT, VW, LANES, 2>;
  using Off = typename H::Off;
  using Raw = typename H::Raw;
  static_assert(sizeof(Raw) == 16, "16-byte vectors");
  static_assert(HP == 1 || HP == 2 || HP == 4, "1, 2 or 4 heads per team");
  // [S][2 HP][block] vectors, then [S][block] positions.
  extern __shared__ uint4 ropeStage[];
  constexpr int kVecs = 2 * HP; // vectors per thread and stage
  pdlLaunchDependents();
  // Units: runs of HP heads of one range.
  const unsigned units = unsigned(p.base.totalGroups) / HP;
  // The streams: whole multiples of the units (the host launches at least
  // one team per unit).
  const unsigned gridTeams = gridDim.x * unsigned(kRopeTokenBlock / LANES);
  const unsigned streams = gridTeams / units * units;
  const Off step = Off(streams / units);
  const unsigned team =
      (blockIdx.x * unsigned(kRopeTokenBlock) + threadIdx.x) / unsigned(LANES);
  const bool live = team < streams;
  const unsigned me = live ? team : streams - 1;
  const Off numTokens = p.base.numTokens;
  const Off t0 = Off(me / units);
  const unsigned warpTeam =
      min((blockIdx.x * unsigned(kRopeTokenBlock) + threadIdx.x / 32 * 32) /
              unsigned(LANES),
          streams - 1);
  const Off warpT0 = Off(warpTeam / units);
  const int iters =
      warpT0 < numTokens ? (numTokens - warpT0 + step - 1) / step : 0;
  if (iters == 0) // uniform over the warp
    return;
  const int g = int(me % units) * HP;
  H h(p, g, int(threadIdx.x % LANES));
  const Off headStride = h.rg.groupStride; // head g + k is k strides on
  const bool hasPos = p.rope.positions != nullptr && (h.rot[0] || h.rot[1]);
  const bool posI64 = (p.rope.flags & kRopePosI64) != 0;
  uint4 *const rowStage = ropeStage + threadIdx.x;
  uint2 *const posStage =
      reinterpret_cast<uint2 *>(ropeStage + kVecs * S * kRopeTokenBlock) +
      threadIdx.x;
  const T *const in = static_cast<const T *>(p.base.in) + h.column;
  constexpr Off kSlot1 = Off(LANES * VW); // elements to slot 1's vector
  // The table row prefetch: the first head's team, a lane per 128-byte line
  // of the cos and sin runs (NEOX: the low half; the high half reads the
  // same frequencies).
  const bool pfLane =
      g == 0 && h.rot[0] && (h.gptj || h.j0[0] < h.half) &&
      (reinterpret_cast<uintptr_t>(h.tableRun(p.rope.cos, 0, 0)) % 128 <
       VW * sizeof(TT));
  int64_t pfRow = -1;

  auto tokenAt = [&](int k) { return min(t0 + Off(k) * step, numTokens - 1); };
  auto copy16 = [](uint4 *dst, const void *src, bool valid) {
    // Invalid: zero fill, nothing read.
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(
                     uint32_t(__cvta_generic_to_shared(dst))),
                 "l"(src), "r"(valid ? 16 : 0)
                 : "memory");
  };
  // Stage k's copies (nothing past the last iteration; the group is
  // committed anyway, so group k is always the k-th).
  auto issue = [&](int k) {
    if (k < iters) {
      const Off t = tokenAt(k);
      uint4 *const dst = rowStage + (k % S) * kVecs * kRopeTokenBlock;
      const T *const src = in + int64_t(t) * p.base.inStride;
#pragma unroll
      for (int hd = 0; hd < HP; ++hd) {
        copy16(dst + (2 * hd) * kRopeTokenBlock, src + hd * headStride,
               h.has[0]);
        copy16(dst + (2 * hd + 1) * kRopeTokenBlock,
               src + hd * headStride + kSlot1, h.has[1]);
      }
      if (hasPos) {
        const uint32_t pdst = uint32_t(
            __cvta_generic_to_shared(posStage + (k % S) * kRopeTokenBlock));
        if (posI64)
          asm volatile("cp.async.ca.shared.global [%0], [%1], 8;" ::"r"(pdst),
                       "l"(static_cast<const long long *>(p.rope.positions) + t)
                       : "memory");
        else
          asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(pdst),
                       "l"(static_cast<const int *>(p.rope.positions) + t)
                       : "memory");
      }
      if (pfLane)
        pfRow = p.rope.positions ? h.position(t) : int64_t(t);
    }
    asm volatile("cp.async.commit_group;" ::: "memory");
  };

  pdlWait();
#pragma unroll
  for (int k = 0; k < S - 1; ++k)
    issue(k);
  h.loadWeights();
  for (int k = 0; k < iters; ++k) {
    issue(k + S - 1); // into the slot read in iteration k - 1
    asm volatile("cp.async.wait_group %0;" ::"n"(S - 1) : "memory");
    const int slot = k % S;
    int64_t row = tokenAt(k);
    bool bad = false;
    if (hasPos) {
      const uint2 pw = posStage[slot * kRopeTokenBlock];
      const int64_t pos = posI64 ? int64_t((uint64_t(pw.y) << 32) | pw.x)
                                 : int64_t(int32_t(pw.x));
      row = h.tableRow(pos, bad);
    }
    // One table load for the team's heads.
    const typename H::Tables tables = h.loadTables(row);
    const Off t = t0 + Off(k) * step;
    T *const out =
        static_cast<T *>(p.base.out) + int64_t(t) * p.base.outStride + h.column;
#pragma unroll
    for (int hd = 0; hd < HP; ++hd) {
      const uint4 *const src =
          rowStage + (slot * kVecs + 2 * hd) * kRopeTokenBlock;
      Raw x[2];
      x[0] = *reinterpret_cast<const Raw *>(src);
      x[1] = *reinterpret_cast<const Raw *>(src + kRopeTokenBlock);
      h.apply(x, tables, bad);
      if (live && t < numTokens) {
        if (h.has[0])
          storeRaw(out + hd * headStride, x[0]);
        if (h.has[1])
          storeRaw(out + hd * headStride + kSlot1, x[1]);
      }
    }
    // The table row of the token issued above, into L2 before its turn.
    if (pfRow >= 0 && pfRow < int64_t(p.rope.tableRows)) {
      asm volatile("prefetch.global.L2 [%0];" ::"l"(
          h.tableRun(p.rope.cos, p.rope.cosStride, pfRow)));
      asm volatile("prefetch.global.L2 [%0];" ::"l"(
          h.tableRun(p.rope.sin, p.rope.sinStride, pfRow)));
    }
    pfRow = -1;
  }
  asm volatile("cp.async.wait_all;" ::: "memory");
}

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_ROPETOKENKERNEL_CUH
