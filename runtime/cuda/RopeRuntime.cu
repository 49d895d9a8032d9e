//===- RopeRuntime.cu - CUDA qk_fused_rms_norm_rope -----------------------===//
//
// The host side of norm + RoPE (RopeKernels.cuh): which worker shape a call
// takes, its grid, the launch. The shapes mirror the norm's dispatch
// (CudaRuntime.cu) group size for group size -- team of 8/16/32 lanes, NV
// accesses per lane, a block per row for wide groups, one or two rows in
// flight -- so that a rope call normalises with the same lanes and the
// same reduction tree as qk_fused_rms_norm and its normalised values are
// bit-identical to the norm's.
//
// What the 16-byte vector path needs beyond the norm's conditions:
// head_dim and rotary_dim / 2 multiples of the vector width, cos and sin
// (at their first column) and their row strides 16-byte aligned. Other
// calls take element-by-element workers (VW = 1), correct but slower.
// UNSUPPORTED (with a message): rotated groups wider than 12288 elements (the
// shared-memory exchange of a block worker) and groups wider than 4096 vectors.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include "../common/Validate.h"
#include "Launch.cuh"
#include "Options.h"
#include "RopeKernels.cuh"
#include "RopeTokenKernel.cuh"

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace {

using qk::runtime::RopeInfo;

// qk_cuda_rope_kernel_override (below): -1 follows QK_RUNTIME_ROPE_KERNEL.
std::atomic<int> ropeKernelOverride{-1};

int ropeKernelChoice() {
  const int o = ropeKernelOverride.load(std::memory_order_relaxed);
  return o < 0 ? Options::get().ropeKernel : o;
}

// Largest dynamic shared memory a launch may use without an opt-in.
constexpr int64_t kMaxSharedBytes = 48 * 1024;

qk_status_t sharedPerSm(int device, int &bytes) {
  static DeviceCache cache;
  bytes = cache.value[device].load(std::memory_order_relaxed);
  if (bytes > 0)
    return QK_STATUS_OK;
  cudaError_t err = cudaDeviceGetAttribute(
      &bytes, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device);
  if (err != cudaSuccess)
    return deviceError(err, "cudaDeviceGetAttribute(MaxSharedMemoryPerSM)");
  cache.value[device].store(bytes, std::memory_order_relaxed);
  return QK_STATUS_OK;
}

// Resident blocks of `Kernel` at `block` threads and `smem` dynamic bytes:
// the register bound (cached by blocksPerSm) capped by shared memory (1 KiB
// of it is reserved per block).
template <auto Kernel>
qk_status_t ropeBlocksPerSm(int device, int block, int64_t smem, int &count) {
  if (qk_status_t st = blocksPerSm<Kernel>(device, block, count))
    return st;
  if (smem > 0) {
    int perSm = 0;
    if (qk_status_t st = sharedPerSm(device, perSm))
      return st;
    const int64_t bySmem = int64_t(perSm) / (smem + 1024);
    if (bySmem < count)
      count = bySmem < 1 ? 1 : int(bySmem);
  }
  return QK_STATUS_OK;
}

template <class T, int VW, int TEAM, int NV, int R, class P>
qk_status_t launchRopeTeamR(P &p, const Target &t) {
  constexpr int kBlock = R == 1 ? 256 : 128;
  constexpr int64_t teamsPerBlock = kBlock / TEAM;
  constexpr auto kernel = ropeKernel<T, VW, TEAM, NV, R, kBlock, P>;
  const int64_t smem =
      (p.rope.flags & kRopeExchange) ? teamsPerBlock * R * p.rope.slot * 4 : 0;
  int perSm = 0;
  if (qk_status_t st = ropeBlocksPerSm<kernel>(t.device, kBlock, smem, perSm))
    return st;
  const int64_t resident = int64_t(t.sms) * perSm * teamsPerBlock;
  splitWork(p.base, (int64_t(p.base.numTokens) + R - 1) / R, resident);
  p.base.tokensPerTeam *= R;
  p.base.prefetchTeams = t.l2Prefetch ? int32_t(resident) : 0;
  const int64_t teams = int64_t(p.base.totalGroups) * p.base.teamsPerGroup;
  const int grid = int((teams + teamsPerBlock - 1) / teamsPerBlock);
  return launch<kernel>(p, grid, kBlock, t.stream, size_t(smem));
}

// One row in flight while the GPU holds a team for every row, else two
// (NV = 1 only), as launchTeam does for the norm. The wide parameter block
// (more than two ranges, huge offsets) always holds one.
template <class T, int VW, int TEAM, int NV, class P>
qk_status_t launchRopeTeam(P &p, const Target &t) {
  if constexpr (NV == 1 && std::is_same_v<P, CompactRopeParams>) {
    int perSm = 0;
    const int64_t smem =
        (p.rope.flags & kRopeExchange) ? (256 / TEAM) * p.rope.slot * 4 : 0;
    if (qk_status_t st =
            ropeBlocksPerSm<ropeKernel<T, VW, TEAM, NV, 1, 256, P>>(
                t.device, 256, smem, perSm))
      return st;
    const int64_t resident = int64_t(t.sms) * perSm * (256 / TEAM);
    if (int64_t(p.base.numTokens) * p.base.totalGroups > resident)
      return launchRopeTeamR<T, VW, TEAM, NV, 2>(p, t);
  }
  return launchRopeTeamR<T, VW, TEAM, NV, 1>(p, t);
}

// A block per row, sized like the norm's block kernel.
template <class T, int VW, int NV, class P>
qk_status_t launchRopeBlock(P &p, int nAcc, const Target &t) {
  int block = ((nAcc + NV - 1) / NV + 31) / 32 * 32;
  if (block < 64)
    block = 64;
  constexpr auto kernel = ropeKernel<T, VW, 0, NV, 1, 512, P>;
  const int64_t smem =
      (p.rope.flags & kRopeExchange) ? int64_t(p.rope.slot) * 4 : 0;
  int perSm = 0;
  if (qk_status_t st = ropeBlocksPerSm<kernel>(t.device, block, smem, perSm))
    return st;
  const int64_t resident = int64_t(t.sms) * perSm;
  splitWork(p.base, int64_t(p.base.numTokens), resident,
            Options::get().blockWaves);
  p.base.prefetchTeams = t.l2Prefetch ? int32_t(resident) : 0;
  const int grid = p.base.totalGroups * p.base.teamsPerGroup;
  return launch<kernel>(p, grid, block, t.stream, size_t(smem));
}

// The token kernel (RopeTokenKernel.cuh): one team of TEAM lanes per
// (token, head), T * heads teams in 256-thread blocks.
// TOK tokens per team: 1 while the GPU holds a team for every (token,
// head) (the shortest chain at small T), else 2 (the bytes in flight: on
// the H200, Qwen3-8B T = 32768, 2 beat 1 by 5% and 4 by 15%,
// docs/gpu-logs-h200/rope-token-run3-bench-tok.log).
template <class T, class TT, int VW, int TEAM, int TOK>
qk_status_t launchRopeTokenTok(CompactRopeParams &p, const Target &t) {
  const int64_t runs = (int64_t(p.base.numTokens) + TOK - 1) / TOK;
  const int64_t threads = runs * p.base.totalGroups * TEAM;
  const int grid = int((threads + kRopeTokenBlock - 1) / kRopeTokenBlock);
  return launch<ropeTokenKernel<T, TT, VW, TEAM, TOK>>(p, grid, kRopeTokenBlock,
                                                       t.stream);
}

// Whether every range of the call has a multiple of `hp` heads, so that
// the stream kernel's teams can each take hp heads of one range.
bool headsDivide(const CompactRopeParams &p, int hp) {
  for (int r = 0; r < p.base.numRanges; ++r) {
    const int32_t end = r + 1 < p.base.numRanges
                            ? p.base.ranges[r + 1].groupBase
                            : p.base.totalGroups;
    if ((end - p.base.ranges[r].groupBase) % hp)
      return false;
  }
  return true;
}

// The stream kernel (RopeTokenKernel.cuh) with HP heads per team: a
// resident grid, at least one team per unit of HP heads, S stages of shared
// memory per thread.
template <class T, class TT, int VW, int TEAM, int HP> struct RopeStream {
  static constexpr int S = ropeStages(HP);
  static constexpr auto kernel = ropeStreamKernel<T, TT, VW, TEAM, S, HP>;
  static constexpr int64_t teamsPerBlock = kRopeTokenBlock / (TEAM / 2);
  static constexpr int64_t smem =
      int64_t(S) * kRopeTokenBlock * ropeStageBytes(HP);

  /// The grid in blocks, and the tokens each team streams at most.
  static qk_status_t shape(const CompactRopeParams &p, const Target &t,
                           int64_t &blocks, int64_t &tokensPerTeam) {
    int perSm = 0;
    if (qk_status_t st =
            ropeBlocksPerSm<kernel>(t.device, kRopeTokenBlock, smem, perSm))
      return st;
    const int64_t units = p.base.totalGroups / HP;
    blocks = std::max<int64_t>(int64_t(t.sms) * perSm,
                               (units + teamsPerBlock - 1) / teamsPerBlock);
    const int64_t step = blocks * teamsPerBlock / units;
    tokensPerTeam = (int64_t(p.base.numTokens) + step - 1) / step;
    return QK_STATUS_OK;
  }

  static qk_status_t run(CompactRopeParams &p, const Target &t,
                         int64_t blocks) {
    if constexpr (smem > 48 * 1024) {
      // Above the default dynamic shared memory cap: raise it once per
      // device (a function attribute, not a stream operation: allowed
      // while a graph is being captured).
      static DeviceCache raised;
      if (raised.value[t.device].load(std::memory_order_relaxed) != 1) {
        const cudaError_t err = cudaFuncSetAttribute(
            kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem));
        if (err != cudaSuccess)
          return deviceError(err, "cudaFuncSetAttribute");
        raised.value[t.device].store(1, std::memory_order_relaxed);
      }
    }
    return launch<kernel>(p, int(blocks), kRopeTokenBlock, t.stream,
                          size_t(smem));
  }
};

// Tokens a team of the stream kernel streams at least before more heads
// per team pay: a team works on its heads one after another, so HP heads
// per team leave each team 1/HP of the tokens, and with too few the
// pipeline never fills (H200, 4 heads per team: Qwen3-8B T = 1024, 2
// tokens a team, 12.2 us against 11.5 with one head; GLM-4.5 T = 128, one
// token, 6.6 against 4.7 us with two; T = 1024, 4 tokens, 22.5 against
// 21.7 us with two heads and 7 tokens; T = 8192, 10 tokens or more: 4
// heads 13-25% faster than one).
constexpr int64_t kStreamTokensForHeads = 6;

template <class T, class TT, int VW, int TEAM, int HP>
qk_status_t launchRopeStreamUpTo(CompactRopeParams &p, const Target &t) {
  using K = RopeStream<T, TT, VW, TEAM, HP>;
  int64_t blocks = 0, tokens = 0;
  if constexpr (HP > 1) {
    // QK_RUNTIME_ROPE_HEADS: at most that many, whatever the tokens.
    const int64_t forced = Options::get().ropeHeads;
    if ((forced == 0 || forced >= HP) && headsDivide(p, HP)) {
      if (qk_status_t st = K::shape(p, t, blocks, tokens))
        return st;
      if (forced || tokens >= kStreamTokensForHeads)
        return K::run(p, t, blocks);
    }
    return launchRopeStreamUpTo<T, TT, VW, TEAM, HP / 2>(p, t);
  } else {
    if (qk_status_t st = K::shape(p, t, blocks, tokens))
      return st;
    return K::run(p, t, blocks);
  }
}

template <class T, class TT, int VW, int TEAM>
qk_status_t launchRopeStream(CompactRopeParams &p, const Target &t) {
  return launchRopeStreamUpTo<T, TT, VW, TEAM, 4>(p, t);
}

template <class T, class TT, int VW, int TEAM>
qk_status_t launchRopeTokenTT(CompactRopeParams &p, const Target &t) {
  const int choice = ropeKernelChoice();
  if (choice == Options::RopeStream)
    return launchRopeStream<T, TT, VW, TEAM>(p, t);
  int perSm = 0;
  if (qk_status_t st = blocksPerSm<ropeTokenKernel<T, TT, VW, TEAM, 1>>(
          t.device, kRopeTokenBlock, perSm))
    return st;
  const int64_t residentTeams =
      int64_t(t.sms) * perSm * (kRopeTokenBlock / TEAM);
  const bool oneWave =
      int64_t(p.base.numTokens) * p.base.totalGroups <= residentTeams;
  if (choice == Options::RopeAuto && !oneWave)
    return launchRopeStream<T, TT, VW, TEAM>(p, t);
  const int64_t tok = Options::get().ropeTokens;
  if (tok == 1 || (tok == 0 && oneWave))
    return launchRopeTokenTok<T, TT, VW, TEAM, 1>(p, t);
  if (tok == 4)
    return launchRopeTokenTok<T, TT, VW, TEAM, 4>(p, t);
  return launchRopeTokenTok<T, TT, VW, TEAM, 2>(p, t);
}

template <class T, int VW, int TEAM>
qk_status_t launchRopeToken(CompactRopeParams &p, const Target &t) {
  if (p.rope.flags & kRopeTableF32)
    return launchRopeTokenTT<T, float, VW, TEAM>(p, t);
  return launchRopeTokenTT<T, T, VW, TEAM>(p, t);
}

// Whether the token kernel covers the call: every group one head of at
// most 32 vectors (all of one size), vector table runs, a NEOX partner one
// whole vector away (GPTJ: in the vector), and a grid whose thread index
// fits 32 bits.
bool tokenKernelCovers(const CompactRopeParams &p, int64_t maxGroupSize,
                       int vw) {
  const int rf = p.rope.flags;
  if (maxGroupSize / vw > 32 || p.rope.headDim != maxGroupSize ||
      !(rf & kRopeTableVector) ||
      !((rf & kRopeGptj) || (rf & kRopePartnerVector)))
    return false;
  for (int r = 0; r < p.base.numRanges; ++r)
    if (p.base.ranges[r].groupSize != maxGroupSize)
      return false;
  return int64_t(p.base.numTokens) * p.base.totalGroups * 32 <
         (int64_t(1) << 31);
}

// The norm's shapes (Launch.cuh: withTeamShape, then its block sizes), in
// accesses, so that the reduction tree (and the normalised values) are the
// norm's.
template <class T, int VW, class P>
qk_status_t dispatchRope(P &p, int64_t maxGroupSize, const Target &t) {
  const int64_t nAcc = maxGroupSize / VW;
  if constexpr (VW > 1 && std::is_same_v<P, CompactRopeParams>) {
    // At most 32 accesses a head (tokenKernelCovers): one per lane.
    if (ropeKernelChoice() != Options::RopeTeam &&
        tokenKernelCovers(p, maxGroupSize, VW))
      return withTeamShape(nAcc, [&](auto team, auto) {
        return launchRopeToken<T, VW, team>(p, t);
      });
  }
  if constexpr (VW > 1) {
    if (nAcc <= kMaxTeamAccesses)
      return withTeamShape(nAcc, [&](auto team, auto perLane) {
        return launchRopeTeam<T, VW, team, perLane>(p, t);
      });
  }
  // The element-by-element path: one team shape (32 lanes, 4 accesses).
  if (nAcc <= kMaxTeamAccesses)
    return launchRopeTeam<T, VW, 32, 4>(p, t);
  if (nAcc <= 512 * 4)
    return launchRopeBlock<T, VW, 4>(p, int(nAcc), t);
  if (nAcc <= 512 * 8)
    return launchRopeBlock<T, VW, 8>(p, int(nAcc), t);
  return fail(QK_STATUS_UNSUPPORTED,
              "the CUDA rope kernels hold at most 4096 accesses per group "
              "(group_size %lld, %d elements per access)",
              (long long)maxGroupSize, VW);
}

template <class P>
P makeRopeParams(const void *in, int64_t inStride, void *out, int64_t outStride,
                 int64_t numTokens, const qk_norm_range_t *ranges,
                 int numRanges, const CallInfo &info, const qk_rope_t &rope,
                 uint32_t rotated, const RopeInfo &ri, int vw) {
  using Off = decltype(P::base.numTokens);
  P p = {};
  p.base = makeParams<decltype(p.base)>(in, inStride, out, outStride, numTokens,
                                        ranges, numRanges, info.totalGroups);
  for (int r = 0; r < numRanges; ++r)
    if ((rotated >> r) & 1u)
      p.base.ranges[r].flags |= kRotated;
  const int64_t tes = ri.tableElementSize;
  DevRope<Off> &d = p.rope;
  d.cos = static_cast<const char *>(rope.cos) + rope.cos_column * tes;
  d.sin = static_cast<const char *>(rope.sin) + rope.sin_column * tes;
  d.positions = rope.positions;
  d.cosStride = Off(rope.cos_row_stride);
  d.sinStride = Off(rope.sin_row_stride);
  d.tableRows = Off(rope.table_rows);
  d.headDim = int32_t(rope.head_dim);
  d.rotaryDim = int32_t(rope.rotary_dim);
  d.slot = int32_t((info.maxGroupSize + 3) / 4 * 4);
  const bool gptj = rope.style == QK_ROPE_STYLE_GPTJ;
  const int64_t half = rope.rotary_dim / 2;
  int flags = (gptj ? kRopeGptj : 0) |
              (rope.rounding == QK_ROPE_ROUNDING_ONCE ? kRopeOnce : 0) |
              (rope.before_norm ? kRopeBeforeNorm : 0) |
              (rope.per_pair ? kRopePerPair : 0) |
              (rope.table_dtype == QK_DTYPE_F32 ? kRopeTableF32 : 0) |
              (rope.positions_dtype == QK_INDEX_I64 ? kRopePosI64 : 0);
  if (!gptj || vw == 1)
    flags |= kRopeExchange;
  if (vw > 1 && half % vw == 0) {
    flags |= kRopePartnerVector;
    auto aligned = [&](const void *q, int64_t stride) {
      return reinterpret_cast<uintptr_t>(q) % 16 == 0 &&
             (rope.table_rows == 1 || (stride * tes) % 16 == 0);
    };
    if (rope.rotary_dim % vw == 0 && aligned(d.cos, rope.cos_row_stride) &&
        aligned(d.sin, rope.sin_row_stride))
      flags |= kRopeTableVector;
  }
  d.flags = flags;
  return p;
}

template <class T>
qk_status_t
dispatchRopeType(const void *in, int64_t inStride, void *out, int64_t outStride,
                 int64_t numTokens, const qk_norm_range_t *ranges,
                 int numRanges, const CallInfo &info, const qk_rope_t &rope,
                 uint32_t rotated, const RopeInfo &ri, const Target &t) {
  constexpr int kVec = 16 / sizeof(T);
  // The norm's conditions for 16-byte accesses, plus whole vectors per head.
  bool vec = vectorRows(in, inStride, out, outStride, numTokens, ranges,
                        numRanges, kVec);
  // The vector kernels also need whole vectors per head and vector loads
  // of the tables (RopeKernels.cuh, kRopeTableVector); other calls take the
  // element-by-element kernels.
  const int64_t tes = ri.tableElementSize;
  auto tableAligned = [&](const void *base, int64_t column, int64_t stride) {
    return (reinterpret_cast<uintptr_t>(base) + uintptr_t(column * tes)) % 16 ==
               0 &&
           (rope.table_rows == 1 || (stride * tes) % 16 == 0);
  };
  vec = vec && rope.head_dim % kVec == 0 && (rope.rotary_dim / 2) % kVec == 0 &&
        tableAligned(rope.cos, rope.cos_column, rope.cos_row_stride) &&
        tableAligned(rope.sin, rope.sin_column, rope.sin_row_stride);
  // A block worker exchanges a whole group through shared memory.
  const bool exchange = rope.style != QK_ROPE_STYLE_GPTJ || !vec;
  const int64_t vw = vec ? kVec : 1;
  if (exchange && info.maxGroupSize / vw > 128 &&
      info.maxGroupSize * 4 > kMaxSharedBytes)
    return fail(QK_STATUS_UNSUPPORTED,
                "the CUDA rope kernels rotate groups of at most %lld elements "
                "(group_size %lld; the rotation exchanges a group through "
                "48 KiB of shared memory)",
                (long long)(kMaxSharedBytes / 4), (long long)info.maxGroupSize);
  const int64_t span =
      (numTokens - 1) * (inStride > outStride ? inStride : outStride) +
      info.rowExtent;
  const bool compact =
      vec && numRanges <= 2 && !Options::get().forceWideParams &&
      span <= INT32_MAX && numTokens <= (int64_t(1) << 30) &&
      rope.cos_row_stride <= INT32_MAX && rope.sin_row_stride <= INT32_MAX &&
      rope.table_rows <= INT32_MAX;
  if (compact) {
    auto p = makeRopeParams<CompactRopeParams>(in, inStride, out, outStride,
                                               numTokens, ranges, numRanges,
                                               info, rope, rotated, ri, kVec);
    return dispatchRope<T, kVec>(p, info.maxGroupSize, t);
  }
  auto p = makeRopeParams<WideRopeParams>(in, inStride, out, outStride,
                                          numTokens, ranges, numRanges, info,
                                          rope, rotated, ri, int(vw));
  if (vec)
    return dispatchRope<T, kVec>(p, info.maxGroupSize, t);
  return dispatchRope<T, 1>(p, info.maxGroupSize, t);
}

} // namespace

extern "C" QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm_rope(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens, const qk_norm_range_t *ranges,
    int32_t num_ranges, const qk_rope_t *rope, uint32_t rotated_ranges,
    void *stream) {
  qk::runtime::clearError();
  CallInfo info;
  RopeInfo ri;
  if (qk_status_t st = qk::runtime::validateRopeCall(
          dtype, in, in_token_stride, out, out_token_stride, num_tokens, ranges,
          num_ranges, rope, rotated_ranges, info, ri))
    return st;
  if (!ri.active) // rope == NULL or no rotated range: the norm alone
    return qk_fused_rms_norm(dtype, in, in_token_stride, out, out_token_stride,
                             num_tokens, ranges, num_ranges, stream);
  if (num_tokens == 0)
    return QK_STATUS_OK;
  Target t;
  if (qk_status_t st = currentTarget(stream, t))
    return st;
  switch (dtype) {
#define QK_DTYPE(NAME, ...)                                                    \
  case QK_DTYPE_##NAME:                                                        \
    return dispatchRopeType<DeviceType<QK_DTYPE_##NAME>::type>(                \
        in, in_token_stride, out, out_token_stride, num_tokens, ranges,        \
        num_ranges, info, *rope, rotated_ranges, ri, t);
#include "qk/Runtime/Codes.def"
  }
  return fail(QK_STATUS_UNSUPPORTED, "dtype %d", int(dtype));
}

// A benchmark hook, not part of the ABI (no header declares it): the
// kernel the calls that follow take where it applies (Options::RopeKernel:
// 0 team, 2 token, 3 stream, 4 auto), -1 returns to QK_RUNTIME_ROPE_KERNEL.
// runtime/tests/RopeBench.cu times the kernels in one process with it.
extern "C" QK_RUNTIME_EXPORT void qk_cuda_rope_kernel_override(int kernel) {
  const bool known =
      kernel == Options::RopeTeam || kernel == Options::RopeToken ||
      kernel == Options::RopeStream || kernel == Options::RopeAuto;
  ropeKernelOverride.store(known ? kernel : -1, std::memory_order_relaxed);
}
