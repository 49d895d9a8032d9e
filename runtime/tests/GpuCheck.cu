//===- GpuCheck.cu - Correctness check of libqk_runtime_cuda on a GPU -----===//
//
// Runs on a machine with a GPU (run_gpu_tests.sh builds and runs it):
//   1. the case matrix of TestSupport.h on device memory (every feature x
//      dtype x head dim x token count, incl. full-width groups up to 16384,
//      unaligned pointers/strides, T = 0, 1 and large T), fresh data per
//      case, outputs poisoned, untouched elements checked bitwise, float64
//      reference; tolerances are stated in TestSupport.h;
//   2. the same calls captured in CUDA graphs, each graph replayed on fresh
//      data (the capture itself must not run the kernel);
//   3. every invalid-argument path (status, message, nothing written);
//   4. offsets beyond 2^31 elements (the 64-bit path) and a launch the
//      driver refuses (QK_STATUS_DEVICE_ERROR, nothing written);
//   5. the host cost of one call (validation + launch).
//   6. norm + RoPE (qk_fused_rms_norm_rope, RopeTestSupport.h): the rope
//      case matrix, out-of-range positions, graph capture, invalid rope
//      arguments, on the kernel QK_RUNTIME_ROPE_KERNEL picks (default: the
//      token kernel where it applies; run_gpu_tests.sh runs section 6 once
//      more with QK_RUNTIME_ROPE_KERNEL=team).
// Exit status 0 iff every check passed.
// Usage: qk-runtime-gpu-check [-q] [--rope]   (--rope: section 6 only)
//
//===----------------------------------------------------------------------===//

#include "RopeTestSupport.h"

#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool check(cudaError_t err, const char *what) {
  if (err == cudaSuccess)
    return true;
  std::printf("CUDA error in %s: %s\n", what, cudaGetErrorString(err));
  return false;
}

struct DeviceBackend : qktest::Backend {
  cudaStream_t stream = nullptr;
  DeviceBackend() {
    if (!check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
               "cudaStreamCreate"))
      std::exit(2);
  }
  ~DeviceBackend() override { cudaStreamDestroy(stream); }
  const char *name() const override { return "cuda"; }
  void *alloc(size_t bytes) override {
    void *p = nullptr;
    return check(cudaMalloc(&p, bytes), "cudaMalloc") ? p : nullptr;
  }
  void release(void *p) override { check(cudaFree(p), "cudaFree"); }
  // On `stream` and synchronised: a plain cudaMemcpy from pageable memory
  // may return before the DMA lands, and the legacy stream does not order
  // against a non-blocking one (the first GPU run read half-uploaded data).
  bool upload(void *dst, const void *src, size_t bytes) override {
    return check(
               cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream),
               "upload") &&
           check(cudaStreamSynchronize(stream), "upload sync");
  }
  bool download(void *dst, const void *src, size_t bytes) override {
    return check(
               cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream),
               "download") &&
           check(cudaStreamSynchronize(stream), "download sync");
  }
  qk_status_t call(qk_dtype_t dtype, const void *in, int64_t inStride,
                   void *out, int64_t outStride, int64_t numTokens,
                   const qk_norm_range_t *ranges, int32_t numRanges) override {
    qk_status_t st = qk_fused_rms_norm(dtype, in, inStride, out, outStride,
                                       numTokens, ranges, numRanges, stream);
    // A kernel fault would surface here, not in the status.
    if (!check(cudaStreamSynchronize(stream), "kernel") ||
        !check(cudaGetLastError(), "kernel"))
      std::exit(2);
    return st;
  }
};

// Captures each call into a CUDA graph and replays it. Buffers come from a
// pool that hands out the same pointers for the same sequence of requests,
// so running a case again with another seed finds its graph already
// captured and replays it on the new data.
struct GraphBackend final : DeviceBackend {
  struct Block {
    void *ptr;
    size_t bytes;
    bool used;
  };
  struct Graph {
    std::vector<uint8_t> key;
    cudaGraphExec_t exec;
  };
  std::vector<Block> pool;
  std::vector<Graph> graphs;
  int captures = 0, replays = 0;

  ~GraphBackend() override {
    for (Graph &g : graphs)
      cudaGraphExecDestroy(g.exec);
    for (Block &b : pool)
      cudaFree(b.ptr);
  }
  void *alloc(size_t bytes) override {
    for (Block &b : pool)
      if (!b.used && b.bytes == bytes) {
        b.used = true;
        return b.ptr;
      }
    void *p = DeviceBackend::alloc(bytes);
    if (p)
      pool.push_back({p, bytes, true});
    return p;
  }
  void release(void *p) override {
    for (Block &b : pool)
      if (b.ptr == p)
        b.used = false;
  }
  qk_status_t call(qk_dtype_t dtype, const void *in, int64_t inStride,
                   void *out, int64_t outStride, int64_t numTokens,
                   const qk_norm_range_t *ranges, int32_t numRanges) override {
    std::vector<uint8_t> key;
    auto put = [&](const void *p, size_t n) {
      const uint8_t *b = static_cast<const uint8_t *>(p);
      key.insert(key.end(), b, b + n);
    };
    put(&dtype, sizeof dtype);
    put(&in, sizeof in);
    put(&inStride, sizeof inStride);
    put(&out, sizeof out);
    put(&outStride, sizeof outStride);
    put(&numTokens, sizeof numTokens);
    put(ranges, sizeof(qk_norm_range_t) * size_t(numRanges));
    cudaGraphExec_t exec = nullptr;
    for (Graph &g : graphs)
      if (g.key == key)
        exec = g.exec;
    qk_status_t st = QK_STATUS_OK;
    if (!exec) {
      cudaGraph_t graph;
      if (!check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal),
                 "begin capture"))
        std::exit(2);
      st = qk_fused_rms_norm(dtype, in, inStride, out, outStride, numTokens,
                             ranges, numRanges, stream);
      if (!check(cudaStreamEndCapture(stream, &graph), "end capture") ||
          !check(cudaGraphInstantiate(&exec, graph, 0), "instantiate") ||
          !check(cudaGraphDestroy(graph), "graph destroy"))
        std::exit(2);
      graphs.push_back({key, exec});
      ++captures;
      if (st != QK_STATUS_OK)
        return st;
      // The capture must not have run anything: the output still holds
      // what runCase uploaded, which the replay below then transforms.
    } else {
      ++replays;
    }
    if (!check(cudaGraphLaunch(exec, stream), "graph launch") ||
        !check(cudaStreamSynchronize(stream), "graph replay"))
      std::exit(2);
    return st;
  }
};

// qk_fused_rms_norm_rope on device memory; with `graph`, each call is
// captured into a CUDA graph (which must not run it: the capture of a call
// that allocated or synchronised would fail) and then replayed once.
struct DeviceRopeBackend final : qktest::RopeBackend {
  DeviceBackend dev;
  bool graph = false;
  int captures = 0;
  qktest::Backend &base() override { return dev; }
  qk_status_t callRope(qk_dtype_t dtype, const void *in, int64_t inStride,
                       void *out, int64_t outStride, int64_t numTokens,
                       const qk_norm_range_t *ranges, int32_t numRanges,
                       const qk_rope_t *rope, uint32_t rotated) override {
    cudaStream_t s = dev.stream;
    if (!graph) {
      qk_status_t st =
          qk_fused_rms_norm_rope(dtype, in, inStride, out, outStride, numTokens,
                                 ranges, numRanges, rope, rotated, s);
      if (!check(cudaStreamSynchronize(s), "rope kernel") ||
          !check(cudaGetLastError(), "rope kernel"))
        std::exit(2);
      return st;
    }
    cudaGraph_t g;
    cudaGraphExec_t exec;
    if (!check(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal),
               "begin capture"))
      std::exit(2);
    qk_status_t st =
        qk_fused_rms_norm_rope(dtype, in, inStride, out, outStride, numTokens,
                               ranges, numRanges, rope, rotated, s);
    if (!check(cudaStreamEndCapture(s, &g), "end capture") ||
        !check(cudaGraphInstantiate(&exec, g, 0), "instantiate"))
      std::exit(2);
    ++captures;
    if (st == QK_STATUS_OK &&
        (!check(cudaGraphLaunch(exec, s), "graph launch") ||
         !check(cudaStreamSynchronize(s), "graph replay")))
      std::exit(2);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(g);
    return st;
  }
};

// q then k: `hq` and `hkv` packed heads of D columns from column 0, one
// weight for both, eps 1e-6, rounded once.
void setQKRanges(qk_norm_range_t (&r)[2], int64_t hq, int64_t hkv, int64_t D,
                 const void *w, qk_dtype_t weightDtype) {
  r[0] = {};
  r[0].num_groups = hq;
  r[0].group_size = r[0].group_stride = D;
  r[0].weight = w;
  r[0].weight_dtype = weightDtype;
  r[0].epsilon = 1e-6f;
  r[1] = r[0];
  r[1].column_offset = hq * D;
  r[1].num_groups = hkv;
}

// Host microseconds per call: validation + launch, no synchronisation.
double hostCostUs(DeviceBackend &be, int64_t tokens) {
  const int64_t D = 128, hq = 40, hkv = 8, W = (hq + 2 * hkv) * D;
  void *buf = be.alloc(size_t(std::max<int64_t>(tokens, 1) * W * 2));
  void *w = be.alloc(D * 2);
  const size_t bytes = size_t(std::max<int64_t>(tokens, 1) * W * 2);
  if (!buf || !w || !check(cudaMemset(buf, 0x3c, bytes), "memset") ||
      !check(cudaMemset(w, 0x3c, D * 2), "memset") ||
      !check(cudaDeviceSynchronize(), "memset sync"))
    std::exit(2);
  qk_norm_range_t r[2];
  setQKRanges(r, hq, hkv, D, w, QK_DTYPE_BF16);
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {
    const int n = 200; // short bursts: the launch queue never fills
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i)
      if (qk_fused_rms_norm(QK_DTYPE_BF16, buf, W, buf, W, tokens, r, 2,
                            be.stream) != QK_STATUS_OK) {
        std::printf("FAIL host-cost call: %s\n", qk_last_error_message());
        std::exit(2);
      }
    auto t1 = std::chrono::steady_clock::now();
    if (!check(cudaStreamSynchronize(be.stream), "host-cost sync"))
      std::exit(2);
    double us = std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
    best = std::min(best, us);
  }
  be.release(buf);
  be.release(w);
  return best;
}

// Element offsets beyond 2^31: three bf16 rows 2^30 + 256 elements apart
// (a 4 GiB span) take the 64-bit parameter path; 32-bit offsets would
// wrap and write elsewhere. Only the rows are uploaded and checked (the
// rest of the buffer is never read), each followed by 64 guard elements
// that must stay bitwise unchanged.
bool checkLargeOffsets(DeviceBackend &be) {
  using namespace qktest;
  const qk_dtype_t d = QK_DTYPE_BF16;
  const int64_t D = 128, hq = 4, T = 3, stride = (int64_t(1) << 30) + 256;
  const int64_t extent = (hq + 1) * D, guard = 64, rowElems = extent + guard;
  const size_t bytes = size_t(((T - 1) * stride + rowElems) * 2);
  void *buf = be.alloc(bytes);
  void *w = be.alloc(D * 2);
  if (!buf || !w) {
    std::printf("FAIL large offsets: cannot allocate %.1f GiB\n",
                double(bytes) / (1 << 30));
    return false;
  }
  std::vector<uint8_t> hw(D * 2);
  for (int64_t i = 0; i < D; ++i)
    setBits(d, hw, 0, i, encodeExact(d, roundTo(d, 0.5 + uniform(3, i))));
  std::vector<std::vector<uint8_t>> rows(T, std::vector<uint8_t>(rowElems * 2));
  bool ok = be.upload(w, hw.data(), hw.size());
  for (int64_t t = 0; ok && t < T; ++t) {
    for (int64_t i = 0; i < rowElems; ++i)
      setBits(d, rows[t], 0, i,
              encodeExact(d, roundTo(d, 4.0 * uniform(11 + t, i))));
    ok = be.upload(static_cast<uint16_t *>(buf) + t * stride, rows[t].data(),
                   rows[t].size());
  }
  qk_norm_range_t r[2];
  setQKRanges(r, hq, 1, D, w, d);
  r[1].weight = nullptr;
  qk_status_t st = ok ? be.call(d, buf, stride, buf, stride, T, r, 2)
                      : QK_STATUS_DEVICE_ERROR;
  double worst = 0.0;
  int64_t guardChanged = 0;
  for (int64_t t = 0; ok && st == QK_STATUS_OK && t < T; ++t) {
    std::vector<uint8_t> out(rowElems * 2);
    ok = be.download(out.data(), static_cast<uint16_t *>(buf) + t * stride,
                     out.size());
    for (int64_t g = 0; ok && g <= hq; ++g) {
      double ss = 0.0;
      for (int64_t i = 0; i < D; ++i) {
        const double x = decode(d, getBits(d, rows[t], 0, g * D + i));
        ss += x * x;
      }
      const double inv = 1.0 / std::sqrt(ss / D + 1e-6);
      for (int64_t i = 0; i < D; ++i) {
        const double x = decode(d, getBits(d, rows[t], 0, g * D + i));
        const double wv = g < hq ? decode(d, getBits(d, hw, 0, i)) : 1.0;
        const double ref = x * inv * wv;
        const double y = decode(d, getBits(d, out, 0, g * D + i));
        worst = std::max(worst, std::fabs(y - ref) / ulpOf(d, ref));
      }
    }
    for (int64_t i = extent; i < rowElems; ++i)
      guardChanged += getBits(d, out, 0, i) != getBits(d, rows[t], 0, i);
  }
  be.release(buf);
  be.release(w);
  // Within one bf16 ulp of the float64 value (the round-once bound plus
  // fp32 accumulation), as in the case matrix.
  const bool pass = ok && st == QK_STATUS_OK && worst <= 1.0 && !guardChanged;
  std::printf("%s large offsets (bf16, 3 rows 2^30+256 elements apart): "
              "status %d, worst %.3f ulp, %lld guard elements changed\n",
              pass ? "PASS" : "FAIL", int(st), worst, (long long)guardChanged);
  return pass;
}

// A launch the driver refuses surfaces as QK_STATUS_DEVICE_ERROR with the
// driver's message, leaves the context usable, and writes nothing: a
// launch into the legacy stream while a blocking stream captures is such a
// launch (cudaErrorStreamCaptureImplicit: the legacy stream would depend on
// the capturing one).
bool checkDeviceError(DeviceBackend &be) {
  const int64_t D = 128, W = 3 * D;
  std::vector<uint16_t> h(W, 0x3f80); // bf16 1.0
  void *buf = be.alloc(W * 2);
  bool ok = buf && be.upload(buf, h.data(), W * 2);
  qk_norm_range_t r = {};
  r.num_groups = 2;
  r.group_size = r.group_stride = D;
  r.weight_dtype = QK_DTYPE_BF16;
  r.epsilon = 1e-6f;
  // Warm-up on the right stream fills the per-kernel caches, so the failing
  // call below reaches the launch.
  ok = ok && be.call(QK_DTYPE_BF16, buf, W, buf, W, 1, &r, 1) == QK_STATUS_OK;
  for (auto &v : h)
    v = 0x4000; // bf16 2.0: normalises to 1.0, so a write would show
  ok = ok && be.upload(buf, h.data(), W * 2);
  cudaStream_t blocking = nullptr;
  ok = ok && check(cudaStreamCreate(&blocking), "cudaStreamCreate");
  cudaGraph_t graph = nullptr;
  qk_status_t st = QK_STATUS_OK;
  std::string msg;
  if (ok && check(cudaStreamBeginCapture(blocking, cudaStreamCaptureModeGlobal),
                  "begin capture")) {
    st = qk_fused_rms_norm(QK_DTYPE_BF16, buf, W, buf, W, 1, &r, 1, nullptr);
    msg = qk_last_error_message();
    cudaStreamEndCapture(blocking, &graph); // invalidated: an error
    if (graph)
      cudaGraphDestroy(graph);
    cudaGetLastError();
  }
  if (blocking)
    cudaStreamDestroy(blocking);
  std::vector<uint16_t> back(W, 0);
  const bool usable = check(cudaDeviceSynchronize(), "sync after error") &&
                      be.download(back.data(), buf, W * 2);
  const bool untouched = usable && back == h;
  const bool pass = ok && st == QK_STATUS_DEVICE_ERROR &&
                    msg.find("kernel launch failed") != std::string::npos &&
                    untouched;
  std::printf("%s device error: status %d, message \"%s\", context %s, "
              "buffer %s\n",
              pass ? "PASS" : "FAIL", int(st), msg.c_str(),
              usable ? "usable" : "BROKEN",
              untouched ? "untouched" : "CHANGED");
  if (buf)
    be.release(buf);
  return pass;
}

} // namespace

int main(int argc, char **argv) {
  bool quiet = false, ropeOnly = false, ropeQuick = false;
  for (int i = 1; i < argc; ++i) {
    quiet = quiet || std::strcmp(argv[i], "-q") == 0;
    ropeOnly = ropeOnly || std::strcmp(argv[i], "--rope") == 0;
    ropeQuick = ropeQuick || std::strcmp(argv[i], "--rope-quick") == 0;
  }
  ropeOnly = ropeOnly || ropeQuick;
  // Line-buffered even into a file: a run cut short keeps its lines.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  cudaDeviceProp prop;
  if (!check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties"))
    return 2;
  // The runtime's tuning switches, as this run sees them.
  auto env = [](const char *name) {
    const char *v = std::getenv(name);
    return v ? v : "-";
  };
  std::printf("device: %s (sm_%d%d, %d SMs), runtime %s, PDL %s;", prop.name,
              prop.major, prop.minor, prop.multiProcessorCount,
              qk_runtime_name(),
              std::getenv("QK_RUNTIME_DISABLE_PDL") ? "disabled" : "enabled");
  for (const char *name :
       {"QK_RUNTIME_L2_PREFETCH", "QK_RUNTIME_WAVES", "QK_RUNTIME_WIDE_PARAMS",
        "QK_RUNTIME_SHIFT_ROWS", "QK_RUNTIME_NO_SHIFT",
        "QK_RUNTIME_EARLY_PREFETCH", "QK_RUNTIME_BLOCK_WAVES",
        "QK_RUNTIME_ROPE_KERNEL", "QK_RUNTIME_ROPE_TOKENS"})
    std::printf(" %s=%s", name, env(name));
  std::printf("\n");
  if (std::strcmp(qk_runtime_name(), "cuda") != 0) {
    std::printf("FAIL qk_runtime_name() is \"%s\"\n", qk_runtime_name());
    return 1;
  }
  int failures = 0, total = 0;
  int graphFailures = 0, graphTotal = 0;
  int invalid = 0;
  if (ropeOnly)
    goto rope; // --rope: section 6 only

  {
    // 1. The case matrix on device memory.
    qktest::MatrixOptions o;
    o.tokens = {0, 1, 7, 300};
    o.headDims = {64, 80, 96, 128, 192, 256, 512};
    o.fullWidths = {1024, 2048, 4096, 5120, 8192, 16384};
    o.wideTokens = {1, 37};
    o.modelTokens = {1, 16, 1000, 4099};
    {
      DeviceBackend be;
      for (const qktest::Case &c : qktest::buildCases(o)) {
        ++total;
        failures += !qktest::runCase(c, be, !quiet);
      }
      // Large T at the anchors' largest size, bf16 (the float64 reference
      // on the host is the slow part).
      qktest::MatrixOptions big;
      big.modelTokens = {32768};
      for (const qktest::Case &c : qktest::buildCases(big))
        if (c.dtype == QK_DTYPE_BF16 &&
            c.name.find("ranges") == std::string::npos) {
          ++total;
          failures += !qktest::runCase(c, be, true);
        }
    }
    std::printf("device cases: %d of %d failed\n", failures, total);

    // 2. CUDA graphs: capture once per case, replay on two more fresh inputs.
    {
      GraphBackend gb;
      qktest::MatrixOptions g;
      g.tokens = {1, 300};
      g.headDims = {64, 128, 256};
      g.fullWidths = {4096};
      g.wideTokens = {5};
      g.modelTokens = {16, 1024};
      for (const qktest::Case &c0 : qktest::buildCases(g))
        for (int round = 0; round < 3; ++round) {
          qktest::Case c = c0;
          c.seed = c0.seed * 101 + uint64_t(round);
          c.name = "graph#" + std::to_string(round) + " " + c0.name;
          ++graphTotal;
          graphFailures += !qktest::runCase(c, gb, !quiet);
        }
      const bool reused = gb.replays == 2 * gb.captures && gb.captures > 0;
      std::printf("%s graphs: %d captures, %d replays on fresh data, %d of %d "
                  "cases failed\n",
                  reused && !graphFailures ? "PASS" : "FAIL", gb.captures,
                  gb.replays, graphFailures, graphTotal);
      graphFailures += !reused;
    }

    // 3. Invalid arguments.
    {
      DeviceBackend be;
      invalid = qktest::runInvalidArgumentTests(be);
    }

    // 4. 64-bit offsets and the device-error path.
    {
      DeviceBackend be;
      invalid += !checkLargeOffsets(be);
      invalid += !checkDeviceError(be);
    }

    // 5. Host cost of one call.
    {
      DeviceBackend be;
      double t1 = hostCostUs(be, 1), t8k = hostCostUs(be, 8192),
             t0 = hostCostUs(be, 0);
      bool ok = t1 <= 5.0 && t8k <= 5.0;
      std::printf("%s host cost per call: T=1 %.2f us, T=8192 %.2f us, T=0 "
                  "(validation only) %.2f us (target <= 5 us)\n",
                  ok ? "PASS" : "FAIL", t1, t8k, t0);
      invalid += !ok;
    }
  }

rope:
  // 6. Norm + RoPE (RopeTestSupport.h): every style x rounding x order x
  // per_pair x dtype over the model shapes of the brief (Qwen3-8B, GLM-4.5
  // partial 0.5, Qwen3-Next strided q with 0.25, Gemma3 D256 1+w, OLMo2
  // full-width norm with per-head rope, Llama4-like), table dtype,
  // positions dtype and table layout cycling, T in {1, 7, 300}; the
  // anchors at T = 4096; out-of-range positions (NaN, nothing else
  // written); a graph-captured subset; the invalid rope arguments.
  int ropeFailures = 0, ropeTotal = 0;
  {
    DeviceRopeBackend rb;
    if (ropeQuick) { // --rope-quick: T = 1 and the NaN cases (sanitizers)
      for (const qktest::RopeCase &c : qktest::buildRopeCases(true, {1})) {
        ++ropeTotal;
        ropeFailures += !qktest::runRopeCase(c, rb, !quiet, false);
      }
      for (const qktest::RopeCase &c : qktest::buildRopeBadPositionCases({7})) {
        ++ropeTotal;
        ropeFailures += !qktest::runRopeCase(c, rb, !quiet, false);
      }
      std::printf("SUMMARY (--rope-quick): %d/%d rope cases failed\n",
                  ropeFailures, ropeTotal);
      return ropeFailures ? 1 : 0;
    }
    for (const qktest::RopeCase &c :
         qktest::buildRopeCases(true, {1, 7, 300})) {
      ++ropeTotal;
      ropeFailures += !qktest::runRopeCase(c, rb, !quiet, false);
    }
    for (const qktest::RopeCase &c : qktest::buildRopeCases(true, {4096}, 23))
      if (c.c.dtype != QK_DTYPE_F16) {
        ++ropeTotal;
        ropeFailures += !qktest::runRopeCase(c, rb, !quiet, false);
      }
    for (const qktest::RopeCase &c :
         qktest::buildRopeBadPositionCases({7, 300})) {
      ++ropeTotal;
      ropeFailures += !qktest::runRopeCase(c, rb, true, false);
    }
    rb.graph = true;
    for (const qktest::RopeCase &c : qktest::buildRopeCases(true, {1, 16}, 7)) {
      qktest::RopeCase g = c;
      g.c.name = "graph " + c.c.name;
      ++ropeTotal;
      ropeFailures += !qktest::runRopeCase(g, rb, !quiet, false);
    }
    std::printf("%s rope graphs: %d captured calls\n",
                rb.captures > 0 ? "PASS" : "FAIL", rb.captures);
    rb.graph = false;
    invalid += qktest::runRopeInvalidTests(rb, false);
  }
  std::printf("rope device cases: %d of %d failed\n", ropeFailures, ropeTotal);

  std::printf("SUMMARY: %d/%d device cases failed, %d/%d graph cases failed, "
              "%d/%d rope cases failed, %d invalid-argument/large-offset/"
              "device-error/host-cost/rope-invalid checks failed\n",
              failures, total, graphFailures, graphTotal, ropeFailures,
              ropeTotal, invalid);
  return failures || graphFailures || ropeFailures || invalid ? 1 : 0;
}
