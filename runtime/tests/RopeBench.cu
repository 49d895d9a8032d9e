//===- RopeBench.cu - Timing of qk_fused_rms_norm_rope on a GPU -----------===//
//
// Qwen3-8B, bf16: 32 q + 8 k heads of 128 in a 6144-wide qkv row, separate
// bf16 q/k weights (rounded before the weight, as Hugging Face), NEOX,
// rotary 128 (full) and 64 (half), sglang's cos_sin_cache layout (one f32
// table [rows, rot]: cos then sin, per_pair), int64 positions. Each call is
// captured into a CUDA graph of N calls over rotating buffers whose total
// exceeds the L2 several times, so every call reads cold data; the time per
// call is the graph's time / N (best of 5 replays).
//
// Bytes per call: q and k read and written once, the table rows read (rot
// f32 per token), the positions and the weights. The ceiling: a graph of N
// device-to-device copies of the same activation bytes over the same
// rotating buffers (a 16-byte-access kernel copying the q/k columns of each
// row: read once, written once), and the plain norm (qk_fused_rms_norm)
// for reference.
// Two shapes: Qwen3-8B (32 q + 8 k heads, row 6144) and its TP8 shard
// (8 q + 1 k heads, row 1280). Per shape and T: the copy ceiling, the norm
// alone, and the rope call on each kernel (ropeKernel, the token kernel
// and the stream kernel, switched in-process with
// qk_cuda_rope_kernel_override; QK_BENCH_KERNELS picks them), with cold
// tables (rotating with the activations).
// Usage: qk-rope-bench [T ...]   (default 1 16 1024 8192 32768)
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

namespace {

// The ceiling: the q|k columns of every row copied to another buffer with
// 16-byte accesses (read once, written once), rows `stride` bytes apart.
__global__ void copyColumns(const uint4 *src, uint4 *dst, int64_t rows,
                            int64_t vecsPerRow, int64_t strideVecs) {
  const int64_t n = rows * vecsPerRow;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / vecsPerRow, c = e % vecsPerRow;
    dst[r * strideVecs + c] = src[r * strideVecs + c];
  }
}

void ck(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    std::printf("CUDA error in %s: %s\n", what, cudaGetErrorString(e));
    std::exit(2);
  }
}

// Microseconds per call of `enqueue(i)` (buffer i) in a graph of n calls.
double timeGraph(int n, cudaStream_t s,
                 const std::function<void(int)> &enqueue) {
  cudaGraph_t g;
  cudaGraphExec_t exec;
  ck(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "capture");
  for (int i = 0; i < n; ++i)
    enqueue(i);
  ck(cudaStreamEndCapture(s, &g), "end capture");
  ck(cudaGraphInstantiate(&exec, g, 0), "instantiate");
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  ck(cudaGraphLaunch(exec, s), "warm-up");
  ck(cudaStreamSynchronize(s), "warm-up sync");
  float best = 1e30f;
  for (int r = 0; r < 5; ++r) {
    cudaEventRecord(a, s);
    ck(cudaGraphLaunch(exec, s), "launch");
    cudaEventRecord(b, s);
    ck(cudaEventSynchronize(b), "sync");
    float ms;
    cudaEventElapsedTime(&ms, a, b);
    best = std::min(best, ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  return double(best) * 1e3 / n;
}

} // namespace

// RopeRuntime.cu's benchmark hook (not in the public header): the kernel
// the calls take where it applies (0 team, 2 token), -1 follows
// QK_RUNTIME_ROPE_KERNEL.
extern "C" void qk_cuda_rope_kernel_override(int kernel);

int main(int argc, char **argv) {
  std::vector<int64_t> tokens;
  for (int i = 1; i < argc; ++i)
    tokens.push_back(std::atoll(argv[i]));
  if (tokens.empty())
    tokens = {1, 16, 1024, 8192, 32768};
  cudaDeviceProp prop;
  ck(cudaGetDeviceProperties(&prop, 0), "properties");
  std::printf("device: %s, %d SMs, L2 %d MiB\n", prop.name,
              prop.multiProcessorCount, prop.l2CacheSize >> 20);
  struct Shape {
    const char *name;
    int64_t hq, hkv;
  };
  const Shape shapes[] = {{"qwen3-8b", 32, 8}, {"qwen3-8b-tp8", 8, 1}};
  const int64_t D = 128;
  cudaStream_t s;
  ck(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "stream");
  void *wq, *wk;
  ck(cudaMalloc(&wq, D * 2), "malloc");
  ck(cudaMalloc(&wk, D * 2), "malloc");
  ck(cudaMemset(wq, 0x3f, D * 2), "memset");
  ck(cudaMemset(wk, 0x3f, D * 2), "memset");
  for (const Shape &sh : shapes)
    for (int64_t T : tokens) {
      const int64_t hq = sh.hq, hkv = sh.hkv, W = (hq + 2 * hkv) * D;
      const int64_t qk = (hq + hkv) * D; // columns read and written
      const size_t rowBytes = size_t(W) * 2, actBytes = size_t(T) * rowBytes;
      // Enough buffers for 4x the L2, at least 2, at most 512.
      int n = int(std::min<int64_t>(
          512,
          std::max<int64_t>(
              2, (4 * int64_t(prop.l2CacheSize)) / int64_t(actBytes) + 1)));
      const int64_t rows = std::max<int64_t>(T, 4096);
      std::vector<void *> act(n), tab(n), pos(n);
      std::vector<int64_t> hpos(static_cast<size_t>(T));
      for (int64_t t = 0; t < T; ++t)
        hpos[size_t(t)] = (t * 7919) % rows;
      for (int i = 0; i < n; ++i) {
        ck(cudaMalloc(&act[i], actBytes), "malloc act");
        ck(cudaMemset(act[i], 0x3c, actBytes), "memset act");
        ck(cudaMalloc(&tab[i], size_t(rows) * D * 4), "malloc tab");
        ck(cudaMemset(tab[i], 0x3e, size_t(rows) * D * 4), "memset tab");
        ck(cudaMalloc(&pos[i], size_t(T) * 8), "malloc pos");
        ck(cudaMemcpy(pos[i], hpos.data(), size_t(T) * 8,
                      cudaMemcpyHostToDevice),
           "pos");
      }
      qk_norm_range_t r[2] = {};
      r[0].num_groups = hq;
      r[0].group_size = r[0].group_stride = D;
      r[0].weight = wq;
      r[0].weight_dtype = QK_DTYPE_BF16;
      r[0].epsilon = 1e-6f;
      r[0].rounding = QK_ROUNDING_BEFORE_WEIGHT;
      r[1] = r[0];
      r[1].column_offset = hq * D;
      r[1].num_groups = hkv;
      r[1].weight = wk;
      // f32 tables: the graph computes in f32 (ONCE); tables of the
      // activation type: it computes in bf16 (PER_OP, the packed rotation).
      auto ropeOf = [&](int i, int64_t rot, bool hot, bool f32) {
        qk_rope_t q = {};
        q.style = QK_ROPE_STYLE_NEOX;
        q.rounding = f32 ? QK_ROPE_ROUNDING_ONCE : QK_ROPE_ROUNDING_PER_OP;
        q.per_pair = 1;
        q.head_dim = D;
        q.rotary_dim = rot;
        if (hot)
          i = 0;
        q.cos = q.sin = tab[i];
        q.table_dtype = f32 ? QK_DTYPE_F32 : QK_DTYPE_BF16;
        q.table_rows = rows;
        q.table_columns = rot;
        q.cos_row_stride = q.sin_row_stride = rot;
        q.sin_column = rot / 2;
        q.positions = pos[i];
        q.positions_dtype = QK_INDEX_I64;
        return q;
      };
      const int64_t vecs = int64_t(T) * qk * 2 / 16;
      const int copyGrid = int(
          std::min<int64_t>((vecs + 255) / 256, prop.multiProcessorCount * 8));
      const double copyUs = timeGraph(n, s, [&](int i) {
        copyColumns<<<copyGrid, 256, 0, s>>>(
            static_cast<const uint4 *>(act[i]),
            static_cast<uint4 *>(act[(i + 1) % n]), T, qk * 2 / 16, W * 2 / 16);
      });
      const double normUs = timeGraph(n, s, [&](int i) {
        if (qk_fused_rms_norm(QK_DTYPE_BF16, act[i], W, act[i], W, T, r, 2, s))
          std::printf("norm failed: %s\n", qk_last_error_message());
      });
      const double actMoved = double(T) * qk * 2 * 2;
      std::printf("%s T=%-6lld buffers=%-3d copy %9.2f us (%7.1f GB/s)  norm "
                  "%9.2f us (%5.1f%% of copy)\n",
                  sh.name, (long long)T, n, copyUs, actMoved / copyUs * 1e-3,
                  normUs, 100.0 * copyUs / normUs);
      // QK_BENCH_KERNELS: a comma-separated list of Options::RopeKernel
      // codes (0 team, 2 token, 3 stream, 4 auto; default all but auto).
      std::vector<int> kernels;
      if (const char *o = std::getenv("QK_BENCH_KERNELS")) {
        for (const char *c = o; *c;) {
          kernels.push_back(std::atoi(c));
          while (*c && *c != ',')
            ++c;
          if (*c == ',')
            ++c;
        }
      }
      if (kernels.empty())
        kernels = {0, 2, 3};
      const bool hot = false; // hot tables measured the same (run 7)
      for (int kernel : kernels)
        for (bool f32 : {true, false})
          for (int64_t rot : {D, D / 2}) {
            qk_cuda_rope_kernel_override(kernel);
            const double us = timeGraph(n, s, [&](int i) {
              qk_rope_t q = ropeOf(i, rot, hot, f32);
              if (qk_fused_rms_norm_rope(QK_DTYPE_BF16, act[i], W, act[i], W, T,
                                         r, 2, &q, 3u, s))
                std::printf("rope failed: %s\n", qk_last_error_message());
            });
            qk_cuda_rope_kernel_override(-1);
            const double bytes =
                actMoved + double(T) * rot * (f32 ? 4 : 2) + double(T) * 8;
            std::printf("  %-6s %s rot=%-3lld %9.2f us  %7.1f GB/s  "
                        "%5.1f%% of copy bandwidth (time: %5.1f%% of the "
                        "copy's, %5.1f%% of the norm's)\n",
                        kernel == 0   ? "team"
                        : kernel == 2 ? "token"
                        : kernel == 3 ? "stream"
                                      : "auto",
                        f32 ? "f32 tables, once  " : "bf16 tables, per_op",
                        (long long)rot, us, bytes / us * 1e-3,
                        100.0 * (bytes / us) / (actMoved / copyUs),
                        100.0 * copyUs / us, 100.0 * normUs / us);
          }
      std::fflush(stdout);
      for (int i = 0; i < n; ++i) {
        cudaFree(act[i]);
        cudaFree(tab[i]);
        cudaFree(pos[i]);
      }
    }
  return 0;
}
