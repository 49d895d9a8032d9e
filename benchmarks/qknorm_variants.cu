//===- qknorm_variants.cu - Kernel-shape experiments, QK-norm kernel -----===//
//
// The experiments behind the "what limits it" section of
// docs/kernel-performance.md: the production entry point (this file includes
// runtime/cuda/CudaRuntime.cu) side by side with its team kernel launched
// differently, one thing at a time -- rows in flight per team, block size,
// the L2 prefetch distance, the number of waves -- and empty kernels with
// the wide and the compact parameter block (the floor of a launch). Times are
// CUDA-graph replays of back-to-back calls over rotating buffers (median over
// replays, per call), as in bench_qknorm.py. Every variant's output is compared
// bit for bit with the production kernel's before it is timed. Earlier rounds
// (parameter-block size, 32-bit index math, vector weight loads, register
// caps), which copied the kernel to change its body, are in the git history of
// this file; their logs are in docs/kernel-experiments/.
//
// Build: the CMake target qk-kernel-variants (built wherever nvcc is), or
//   nvcc -O3 -std=c++17 -arch=sm_90 -Iinclude -o qk-kernel-variants \
//     benchmarks/qknorm_variants.cu runtime/common/Validate.cpp
// Run:   qk-kernel-variants [filter [once]]
//        filter: substring of "config/T/variant"; once: one call of each
//        variant, untimed, for ncu.
//
//===----------------------------------------------------------------------===//

#include "../runtime/cuda/CudaRuntime.cu"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#define CK(x)                                                                  \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,                  \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

namespace {

//===----------------------------------------------------------------------===//
// Variants: production's team kernel, sized and launched differently
//===----------------------------------------------------------------------===//

// Empty kernels: the floor of a launch in a graph with the wide and the
// compact parameter block, reading all of it (as the range lookup does)
// or one word.
template <class P, bool ReadAll>
__global__ void emptyKernel(const __grid_constant__ P p) {
  pdlLaunchDependents();
  const int g = int(threadIdx.x);
  int x = p.totalGroups;
  if constexpr (ReadAll) {
    auto r = rangeOf(p, g);
    x += r.groupSize + int(r.columnOffset) + r.flags;
  }
  pdlWait();
  if (x == -12345) // never true; keeps the reads
    static_cast<int *>(p.out)[0] = 0;
}

//===----------------------------------------------------------------------===//
// Benchmark
//===----------------------------------------------------------------------===//

struct Config {
  const char *name;
  int hq, hkv, d;
  bool gemma;
};
const Config kConfigs[] = {{"llama4_scout", 40, 8, 128, false},
                           {"qwen3_8b", 32, 8, 128, false},
                           {"qwen3_235b_tp8", 8, 1, 128, false},
                           {"gemma3_27b", 32, 16, 128, true}};

struct Problem {
  const Config *cfg;
  int64_t T, width; // width: qkv row in elements
  int numBuf;
  std::vector<__nv_bfloat16 *> buf;
  __nv_bfloat16 *wq, *wk;
  qk_norm_range_t ranges[2];
};

// A variant launches one call on buffer `b`.
struct Variant {
  std::string name;
  std::function<void(Problem &, __nv_bfloat16 *, cudaStream_t)> launch;
};

template <class K, class... Args>
void launchPdl(K kernel, int64_t grid, int block, cudaStream_t s,
               const Args &...args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(unsigned(grid));
  cfg.blockDim = dim3(unsigned(block));
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = 1;
  CK(cudaLaunchKernelEx(&cfg, kernel, args...));
}

template <class P> P paramsFor(Problem &pb, __nv_bfloat16 *b) {
  return makeParams<P>(b, pb.width, b, pb.width, pb.T, pb.ranges, 2,
                       pb.cfg->hq + pb.cfg->hkv);
}

int gSms = 0;

// Production's team kernel for D = 128 bf16 (VW 8, TEAM 16, NV 1) with R
// rows in flight and BLOCK threads, prefetching PF resident waves ahead (0:
// none), on a grid of up to `waves` times the resident capacity; sized like
// launchTeamR otherwise.
template <int R, int BLOCK, int PF>
Variant teamVariant(std::string name, int64_t waves = 64) {
  return {name, [waves](Problem &pb, __nv_bfloat16 *b, cudaStream_t s) {
            auto p = paramsFor<CompactParams>(pb, b);
            auto kernel =
                teamKernel<__nv_bfloat16, 8, 16, 1, R, BLOCK, false,
                           CompactParams>;
            static int perSm = 0;
            if (!perSm)
              CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, kernel,
                                                               BLOCK, 0));
            const int64_t teamsPerBlock = BLOCK / 16;
            const int64_t resident = int64_t(gSms) * perSm * teamsPerBlock;
            const int64_t units = (pb.T + R - 1) / R;
            int64_t perGroup = resident * waves / p.totalGroups;
            perGroup = std::max<int64_t>(1, std::min(perGroup, units));
            const int64_t steps = (units + perGroup - 1) / perGroup;
            p.tokensPerTeam = int32_t(steps * R);
            p.teamsPerGroup = int32_t((units + steps - 1) / steps);
            p.prefetchTeams = int32_t(PF * resident);
            const int64_t teams = int64_t(p.totalGroups) * p.teamsPerGroup;
            launchPdl(kernel, (teams + teamsPerBlock - 1) / teamsPerBlock,
                      BLOCK, s, p);
          }};
}

template <class P, bool ReadAll> Variant emptyVariant(std::string name) {
  return {name, [](Problem &pb, __nv_bfloat16 *b, cudaStream_t s) {
            launchPdl(emptyKernel<P, ReadAll>, 3, 256, s, paramsFor<P>(pb, b));
          }};
}

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"prod", [](Problem &pb, __nv_bfloat16 *b, cudaStream_t s) {
                 qk_status_t st =
                     qk_fused_rms_norm(QK_DTYPE_BF16, b, pb.width, b, pb.width,
                                       pb.T, pb.ranges, 2, s);
                 if (st) {
                   std::fprintf(stderr, "prod: %s\n", qk_last_error_message());
                   std::exit(1);
                 }
               }});
  // Round 4: prefetch distance (waves ahead), rows in flight, block size,
  // and one chunk per team (256 waves) against production (64 waves).
  v.push_back(teamVariant<1, 256, 1>("r1b256_pf"));
  v.push_back(teamVariant<1, 256, 1>("r1b256_pf_w256", 256));
  v.push_back(teamVariant<1, 256, 2>("r1b256_pf2_w256", 256));
  v.push_back(teamVariant<1, 256, 0>("r1b256_w256", 256));
  v.push_back(teamVariant<2, 128, 1>("r2b128_pf_w256", 256));
  v.push_back(teamVariant<2, 256, 1>("r2b256_pf_w256", 256));
  v.push_back(teamVariant<2, 128, 0>("r2b128_w256", 256));
  v.push_back(emptyVariant<WideParams, true>("empty_wide_all"));
  v.push_back(emptyVariant<CompactParams, true>("empty_compact_all"));
  v.push_back(emptyVariant<CompactParams, false>("empty_compact_one"));
  return v;
}

__global__ void fillKernel(__nv_bfloat16 *p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ seed;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    p[i] = __float2bfloat16_rn((float(h & 0xffff) / 65536.0f - 0.5f) * 4.0f);
  }
}

void setup(Problem &pb, const Config &c, int64_t T) {
  pb.cfg = &c;
  pb.T = T;
  pb.width = int64_t(c.hq + 2 * c.hkv) * c.d;
  const int64_t bytes = T * pb.width * 2;
  // >= 256 MB in total where T allows (so mostly not L2-resident), at least
  // 8 and at most 512 buffers.
  pb.numBuf = int(std::min<int64_t>(
      512, std::max<int64_t>(8, (int64_t(256) << 20) /
                                    std::max<int64_t>(bytes, 1))));
  pb.buf.resize(pb.numBuf);
  for (auto &b : pb.buf)
    CK(cudaMalloc(&b, bytes));
  CK(cudaMalloc(&pb.wq, c.d * 2));
  CK(cudaMalloc(&pb.wk, c.d * 2));
  fillKernel<<<64, 256>>>(pb.wq, c.d, 7);
  fillKernel<<<64, 256>>>(pb.wk, c.d, 9);
  const int64_t cols[2] = {0, int64_t(c.hq) * c.d};
  const int64_t groups[2] = {c.hq, c.hkv};
  for (int r = 0; r < 2; ++r) {
    qk_norm_range_t &q = pb.ranges[r];
    q = {};
    q.column_offset = cols[r];
    q.num_groups = groups[r];
    q.group_size = c.d;
    q.group_stride = c.d;
    q.weight = r == 0 ? pb.wq : pb.wk;
    q.weight_dtype = QK_DTYPE_BF16;
    q.epsilon = 1e-6f;
    q.weight_offset = c.gemma ? 1.0f : 0.0f;
    q.rounding = QK_ROUNDING_ONCE;
  }
}

void release(Problem &pb) {
  for (auto b : pb.buf)
    CK(cudaFree(b));
  CK(cudaFree(pb.wq));
  CK(cudaFree(pb.wk));
  pb.buf.clear();
}

// Output of one call on fresh data, for the bit-for-bit check.
std::vector<uint16_t> runOnce(Problem &pb, const Variant &v, cudaStream_t s) {
  const int64_t n = pb.T * pb.width;
  fillKernel<<<256, 256, 0, s>>>(pb.buf[0], n, 12345);
  v.launch(pb, pb.buf[0], s);
  CK(cudaStreamSynchronize(s));
  std::vector<uint16_t> h(n);
  CK(cudaMemcpy(h.data(), pb.buf[0], n * 2, cudaMemcpyDeviceToHost));
  return h;
}

// Median time per call (us) of a CUDA graph of `calls` back-to-back calls
// rotating over the problem's buffers.
double timeGraph(Problem &pb, const Variant &v, cudaStream_t s) {
  const int calls = std::max(pb.numBuf, 64);
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
  for (int i = 0; i < calls; ++i)
    v.launch(pb, pb.buf[i % pb.numBuf], s);
  CK(cudaStreamEndCapture(s, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  cudaEvent_t a, b;
  CK(cudaEventCreate(&a));
  CK(cudaEventCreate(&b));
  CK(cudaGraphLaunch(exec, s)); // warm-up
  std::vector<double> t;
  for (int r = 0; r < 15; ++r) {
    CK(cudaEventRecord(a, s));
    CK(cudaGraphLaunch(exec, s));
    CK(cudaEventRecord(b, s));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    t.push_back(ms * 1000.0 / calls);
  }
  CK(cudaEventDestroy(a));
  CK(cudaEventDestroy(b));
  CK(cudaGraphExecDestroy(exec));
  CK(cudaGraphDestroy(graph));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double copyBandwidth(cudaStream_t s) {
  const size_t n = size_t(1) << 30;
  void *a, *b;
  CK(cudaMalloc(&a, n));
  CK(cudaMalloc(&b, n));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<double> t;
  for (int r = 0; r < 7; ++r) {
    CK(cudaEventRecord(e0, s));
    CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, s));
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float ms;
    CK(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(2.0 * n / (ms * 1e-3) / 1e9);
  }
  CK(cudaFree(a));
  CK(cudaFree(b));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : "";
  // "once": one call per variant, no timing (for profilers).
  const bool once = argc > 2 && std::strcmp(argv[2], "once") == 0;
  CK(cudaDeviceGetAttribute(&gSms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t s;
  CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const double bw = copyBandwidth(s);
  std::printf("device %s, %d SMs; copy bandwidth %.0f GB/s\n", prop.name, gSms,
              bw);
  const auto vs = variants();
  const int64_t tokens[] = {1, 16, 128, 1024, 8192, 32768};
  std::printf("%-16s %6s %-16s %9s %6s %s\n", "config", "T", "variant",
              "us/call", "%bw", "check");
  for (const Config &c : kConfigs)
    for (int64_t T : tokens) {
      const double bytes =
          2.0 * T * (c.hq + c.hkv) * c.d * 2 + 2.0 * c.d * 2; // q,k rw + w
      const std::string prefix =
          std::string(c.name) + "/" + std::to_string(T) + "/";
      // prod runs (it is the reference) wherever another variant does.
      bool any = false;
      for (const Variant &v : vs)
        any = any || strstr((prefix + v.name).c_str(), filter);
      if (!any)
        continue;
      Problem pb;
      setup(pb, c, T);
      std::vector<uint16_t> ref;
      for (const Variant &v : vs) {
        const std::string key = prefix + v.name;
        if (!strstr(key.c_str(), filter) && v.name != "prod")
          continue;
        const bool empty = v.name.rfind("empty", 0) == 0;
        const char *check = "-";
        if (!empty) {
          auto out = runOnce(pb, v, s);
          if (v.name == "prod")
            ref = out;
          check = out == ref ? "same" : "DIFF";
        }
        if (once) {
          std::printf("%s %s\n", key.c_str(), check);
          continue;
        }
        const double us = timeGraph(pb, v, s);
        std::printf("%-16s %6lld %-16s %9.2f %6.1f %s\n", c.name, (long long)T,
                    v.name.c_str(), us,
                    empty ? 0.0 : 100.0 * bytes / (us * 1e-6) / 1e9 / bw,
                    check);
        std::fflush(stdout);
      }
      release(pb);
    }
  std::printf("copy bandwidth at the end %.0f GB/s\n", copyBandwidth(s));
  return 0;
}
