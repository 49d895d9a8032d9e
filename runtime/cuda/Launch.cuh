//===- Launch.cuh - Host-side launch helpers of the CUDA runtime -*- CUDA
//-*-===//
//
// What every launcher of the CUDA runtime shares (CudaRuntime.cu for the
// norm, RopeRuntime.cu for norm + RoPE): per-device caches of driver
// queries, occupancy, the PDL launch, the grid split, and the device element
// type of every dtype of Codes.def. Internal linkage: each translation unit
// keeps its own caches.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_LAUNCH_CUH
#define QK_RUNTIME_CUDA_LAUNCH_CUH

#include "qk/Runtime/QKNormRuntime.h"

#include "../common/Validate.h"
#include "Options.h"
#include "Params.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace {

using namespace qk::runtime::cuda;
using qk::runtime::CallInfo;
using qk::runtime::fail;

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

// Where and how a call launches.
struct Target {
  int device = 0;
  int sms = 0;
  // Team kernels prefetch the next wave's rows into L2
  // (Params::prefetchTeams).
  bool l2Prefetch = false;
  cudaStream_t stream = nullptr;
};

// The target of a call on `stream`: the current device and its SM count.
inline qk_status_t currentTarget(void *stream, Target &t) {
  t.stream = static_cast<cudaStream_t>(stream);
  cudaError_t err = cudaGetDevice(&t.device);
  if (err != cudaSuccess)
    return deviceError(err, "cudaGetDevice");
  if (qk_status_t st = smCount(t.device, t.sms))
    return st;
  t.l2Prefetch = Options::get().l2Prefetch;
  return QK_STATUS_OK;
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
qk_status_t launch(const P &p, int grid, int block, cudaStream_t stream,
                   size_t dynamicSmemBytes = 0) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(unsigned(grid));
  cfg.blockDim = dim3(unsigned(block));
  cfg.dynamicSmemBytes = dynamicSmemBytes;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = Options::get().pdl ? 1 : 0;
  cudaError_t err = cudaLaunchKernelEx(&cfg, Kernel, p);
  if (err != cudaSuccess)
    return deviceError(err, "kernel launch failed");
  return QK_STATUS_OK;
}

// Whether every row start, and every group start inside a row, lies on a
// 16-byte boundary with whole vectors of `vec` elements per group: what the
// vector kernels of the norm and the rope call need.
bool vectorRows(const void *in, int64_t inStride, const void *out,
                int64_t outStride, int64_t numTokens,
                const qk_norm_range_t *ranges, int numRanges, int vec) {
  bool ok = reinterpret_cast<uintptr_t>(in) % 16 == 0 &&
            reinterpret_cast<uintptr_t>(out) % 16 == 0 &&
            (numTokens <= 1 || (inStride % vec == 0 && outStride % vec == 0));
  for (int r = 0; r < numRanges; ++r)
    ok = ok && ranges[r].column_offset % vec == 0 &&
         ranges[r].group_size % vec == 0 &&
         (ranges[r].num_groups == 1 || ranges[r].group_stride % vec == 0);
  return ok;
}

// The team shape of a group of `nAcc` accesses (nAcc <= kMaxTeamAccesses):
// TEAM lanes with NV accesses each, passed to `f` as integral constants. One
// table for every dispatch that launches teams (the norm's, its shifted
// rows', the rope kernels'), because the team shape fixes the reduction
// tree, and the rope kernels' normalised values must be the norm's bits.
constexpr int64_t kMaxTeamAccesses = 128;
template <int N> using IntC = std::integral_constant<int, N>;
template <class F> qk_status_t withTeamShape(int64_t nAcc, F &&f) {
  if (nAcc <= 8)
    return f(IntC<8>{}, IntC<1>{});
  if (nAcc <= 16)
    return f(IntC<16>{}, IntC<1>{});
  if (nAcc <= 32)
    return f(IntC<32>{}, IntC<1>{});
  if (nAcc <= 64)
    return f(IntC<32>{}, IntC<2>{});
  return f(IntC<32>{}, IntC<4>{});
}

// How many times the resident capacity of the GPU a grid may hold. One wave
// (a persistent grid) leaves each worker a long serial chain of load ->
// reduce -> store with no overlap between its steps; many short-lived
// workers let the block scheduler overlap one block's tail with the next
// block's loads. On an H100, 1/2/4/8/64 waves gave 91/92/93/94/99% of copy
// bandwidth at T = 32768 (llama4); 256 (one step of rows per team up to
// T = 32768 on all four anchor configs) gave 99-101% where 64 gave 98-99%.
// QK_RUNTIME_WAVES overrides it (Options.h).
int64_t gridWaves() { return Options::get().waves; }

// Splits the `units` (tokens, or steps of R tokens) of every group among at
// most `maxWorkers` x gridWaves() workers in total: every worker of a group
// gets the same number of units (tokensPerTeam), so no worker runs a longer
// tail than the others.
template <class P>
void splitWork(P &p, int64_t units, int64_t maxWorkers,
               int64_t waves = gridWaves()) {
  int64_t perGroup = maxWorkers * waves / p.totalGroups;
  if (perGroup < 1)
    perGroup = 1;
  if (perGroup > units)
    perGroup = units;
  const int64_t chunks = (units + perGroup - 1) / perGroup;
  p.tokensPerTeam = decltype(p.tokensPerTeam)(chunks);
  p.teamsPerGroup = int32_t((units + chunks - 1) / chunks);
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
        (reinterpret_cast<uintptr_t>(src.weight) % 16 == 0 ? kWeightVector
                                                           : 0) |
        (Options::get().earlyPrefetch ? kPrefetchOwnRows : 0);
    base += int32_t(src.num_groups);
  }
  return p;
}

// The device element type of every dtype of qk/Runtime/Codes.def (the
// dispatch switch below is generated from the table: a dtype without a
// specialisation here does not compile).
template <qk_dtype_t D> struct DeviceType;
template <> struct DeviceType<QK_DTYPE_F32> { using type = float; };
template <> struct DeviceType<QK_DTYPE_F16> { using type = __half; };
template <> struct DeviceType<QK_DTYPE_BF16> { using type = __nv_bfloat16; };
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, ...)                                \
  static_assert(sizeof(DeviceType<QK_DTYPE_##NAME>::type) == BYTES,            \
                "the device type of " #CNAME " is not its Codes.def size");
#include "qk/Runtime/Codes.def"

} // namespace

#endif // QK_RUNTIME_CUDA_LAUNCH_CUH
