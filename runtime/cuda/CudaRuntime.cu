//===- CudaRuntime.cu - CUDA implementation of the QK-norm runtime --------===//
//
// The host side: which kernel of Kernels.cuh a call takes, its grid, the
// launch (helpers shared with the rope launcher: Launch.cuh), and the C
// entry point. Norm + RoPE (qk_fused_rms_norm_rope) is RopeRuntime.cu. Element
// access is in ElementAccess.cuh, the parameter block in Params.cuh, the
// per-element formula in qk/Runtime/Epilogue.h (shared with the host runtime),
// every environment switch in Options.h.
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
//    allows it. Rows that start elsewhere (a token stride that is not a
//    multiple of 16 bytes) take the shifted team kernel: the aligned
//    interior as vectors, the few lead and tail elements singly. Anything
//    else moves single elements (the scalar fallback).
//  * A team keeps one row of loads in flight at small T (the shortest
//    kernel) and two above. Each team, after issuing its own loads, also
//    prefetches into L2 the rows of the team one resident wave ahead, so
//    later waves mostly hit L2.
//  * Groups too wide for a warp (full-width OLMo2 norms, up to 32768 bf16
//    elements cached in registers) use a whole block per row, prefetching
//    into L2 the first row of the block one resident wave ahead and its own
//    next row; anything wider (or unaligned and wide) uses a two-pass block
//    loop.
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
#include "Kernels.cuh"
#include "Launch.cuh"
#include "Options.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

namespace {

using namespace qk::runtime::cuda;
using qk::runtime::CallInfo;
using qk::runtime::fail;

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

template <class T, int VW, int TEAM, int NV, int R, bool SHIFT, class P>
qk_status_t launchTeamR(P &p, const Target &t) {
  constexpr int kBlock = R == 1 ? 256 : 128;
  constexpr int64_t teamsPerBlock = kBlock / TEAM;
  constexpr auto kernel = teamKernel<T, VW, TEAM, NV, R, kBlock, SHIFT, P>;
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
template <class T, int VW, int TEAM, int NV, bool SHIFT = false, class P>
qk_status_t launchTeam(P &p, const Target &t) {
  if constexpr (NV == 1) {
    int perSm = 0;
    if (qk_status_t st =
            blocksPerSm<teamKernel<T, VW, TEAM, NV, 1, 256, SHIFT, P>>(
                t.device, 256, perSm))
      return st;
    const int64_t resident = int64_t(t.sms) * perSm * (256 / TEAM);
    if (int64_t(p.numTokens) * p.totalGroups > resident) {
      if constexpr (SHIFT)
        if (Options::get().shiftedRowsInFlight == 4)
          return launchTeamR<T, VW, TEAM, NV, 4, SHIFT>(p, t);
      return launchTeamR<T, VW, TEAM, NV, 2, SHIFT>(p, t);
    }
  }
  return launchTeamR<T, VW, TEAM, NV, 1, SHIFT>(p, t);
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
  const int64_t resident = int64_t(t.sms) * perSm;
  splitWork(p, int64_t(p.numTokens), resident, Options::get().blockWaves);
  p.prefetchTeams = t.l2Prefetch ? int32_t(resident) : 0;
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
  if (nAcc <= kMaxTeamAccesses)
    return withTeamShape(nAcc, [&](auto team, auto perLane) {
      return launchTeam<T, VW, team, perLane>(p, t);
    });
  if (nAcc <= 512 * 4)
    return launchBlock<T, VW, 4>(p, int(nAcc), t);
  if (nAcc <= 512 * 8)
    return launchBlock<T, VW, 8>(p, int(nAcc), t);
  return launchLoop<T>(p, t);
}

// Rows that do not start on 16-byte boundaries (a token stride, column
// offset or group stride that is not a multiple of 16 bytes) but hold
// naturally aligned elements: the shifted team kernel while a row fits a
// team (up to 128 vectors), else the element-by-element path. Measured on
// the H200 (docs/kernel-performance.md): with a token stride of W + 3
// elements the element path reached 27% of copy bandwidth at T = 16384.
template <class T, int VW, class P>
qk_status_t dispatchShifted(P &p, int64_t maxGroupSize, const Target &t) {
  const int64_t nAcc = (maxGroupSize + VW - 1) / VW;
  if (nAcc <= kMaxTeamAccesses)
    return withTeamShape(nAcc, [&](auto team, auto perLane) {
      return launchTeam<T, VW, team, perLane, true>(p, t);
    });
  return dispatch<T, 1>(p, maxGroupSize, t);
}

template <class T>
qk_status_t dispatchType(const void *in, int64_t inStride, void *out,
                         int64_t outStride, int64_t numTokens,
                         const qk_norm_range_t *ranges, int numRanges,
                         const CallInfo &info, const Target &t) {
  constexpr int kVec = 16 / sizeof(T);
  const bool vec = vectorRows(in, inStride, out, outStride, numTokens, ranges,
                              numRanges, kVec);
  // Compact parameters when every element offset of the call, and every
  // token index a worker computes, fits in 32 bits. The unaligned (scalar)
  // path is a rare fallback and always takes the wide one.
  const int64_t span =
      (numTokens - 1) * (inStride > outStride ? inStride : outStride) +
      info.rowExtent;
  const bool compact = vec && numRanges <= 2 &&
                       !Options::get().forceWideParams && span <= INT32_MAX &&
                       numTokens <= (int64_t(1) << 30);
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
  // Shifted rows: elements naturally aligned, and out misaligned exactly
  // like in on every row, so that the same columns are vectors in both.
  const auto inAddr = reinterpret_cast<uintptr_t>(in);
  const auto outAddr = reinterpret_cast<uintptr_t>(out);
  const bool shiftable = Options::get().shiftedRows &&
                         inAddr % sizeof(T) == 0 && outAddr % sizeof(T) == 0 &&
                         (inAddr - outAddr) % 16 == 0 &&
                         (numTokens <= 1 || (inStride - outStride) % kVec == 0);
  if (shiftable)
    return dispatchShifted<T, kVec>(p, info.maxGroupSize, t);
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
  if (qk_status_t st = currentTarget(stream, t))
    return st;
  switch (dtype) {
#define QK_DTYPE(NAME, ...)                                                    \
  case QK_DTYPE_##NAME:                                                        \
    return dispatchType<DeviceType<QK_DTYPE_##NAME>::type>(                    \
        in, in_token_stride, out, out_token_stride, num_tokens, ranges,        \
        num_ranges, info, t);
#include "qk/Runtime/Codes.def"
  }
  return fail(QK_STATUS_UNSUPPORTED, "dtype %d", int(dtype));
}

extern "C" QK_RUNTIME_EXPORT const char *qk_runtime_name(void) {
  return "cuda";
}
