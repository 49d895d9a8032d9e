//===- aot_gpu_check.cu - AOT-compiled QK blocks on device buffers --------===//
//
// End-to-end GPU check of the compiler + CUDA runtime: the QK-norm part of
// the Llama4 and Qwen3 attention blocks (test/Integration/gen_qk_block.py,
// bf16, dynamic T, results = q, k, v views of qkv), compiled ahead of time
// twice by qk-norm-pipeline:
//   <model>_cuda  target=cuda: one call of the runtime C ABI, linked here
//                 with libqk_runtime_cuda.so, run on DEVICE buffers;
//   <model>_cpu   target=cpu:  loops, run on host buffers (the reference).
// For T in {1, 7, 300, 4099}: the same qkv and weights go to both; the
// device qkv after the call must equal the CPU pipeline's qkv: q/k columns
// within one bf16 ulp, v columns and the padding of a row stride larger
// than C bit for bit (poisoned-free check: the host reference never writes
// them, the device must not either), and both must return the same view
// descriptors (offsets/strides into qkv). Exit 0 iff all pass.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

struct Memref3D {
  void *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
};
struct QKV3 { // three results: q, k, v
  Memref3D q, k, v;
};

} // namespace

extern "C" {
void _mlir_ciface_llama4_cuda(QKV3 *, qk_memref_2d_t *);
void _mlir_ciface_llama4_cpu(QKV3 *, qk_memref_2d_t *);
void _mlir_ciface_qwen3_cuda(QKV3 *, qk_memref_2d_t *, qk_memref_1d_t *,
                             qk_memref_1d_t *);
void _mlir_ciface_qwen3_cpu(QKV3 *, qk_memref_2d_t *, qk_memref_1d_t *,
                            qk_memref_1d_t *);
}

namespace {

#define CUDA_OK(x)                                                             \
  do {                                                                         \
    cudaError_t e = (x);                                                       \
    if (e != cudaSuccess) {                                                    \
      std::printf("CUDA error %s at %s:%d\n", cudaGetErrorString(e), __FILE__, \
                  __LINE__);                                                   \
      std::exit(2);                                                            \
    }                                                                          \
  } while (0)

float bf16ToFloat(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

struct Model {
  const char *name;
  int64_t hq, hkv, d;
  bool weights;
};

int runCase(const Model &m, int64_t tokens, unsigned seed) {
  const int64_t cols = (m.hq + 2 * m.hkv) * m.d;
  const int64_t stride = cols + 64; // padding after every row: must survive
  const int64_t offset = 3;         // the view starts 3 elements in
  std::vector<uint16_t> host(offset + tokens * stride), wq(m.d), wk(m.d);
  uint32_t s = seed;
  auto next = [&] {
    s = s * 1664525u + 1013904223u;
    float r = float(s >> 8) / float(1u << 24) * 2.f - 1.f; // [-1, 1)
    return r + (r < 0 ? -0.25f : 0.25f);                   // never zero
  };
  for (auto &x : host)
    x = floatToBf16(next());
  for (int64_t i = 0; i < m.d; ++i) {
    wq[i] = floatToBf16(next());
    wk[i] = floatToBf16(next());
  }
  const std::vector<uint16_t> original = host;

  // Device copies of everything.
  uint16_t *dqkv, *dwq, *dwk;
  CUDA_OK(cudaMalloc(&dqkv, host.size() * 2));
  CUDA_OK(cudaMalloc(&dwq, m.d * 2));
  CUDA_OK(cudaMalloc(&dwk, m.d * 2));
  CUDA_OK(cudaMemcpy(dqkv, host.data(), host.size() * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dwq, wq.data(), m.d * 2, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dwk, wk.data(), m.d * 2, cudaMemcpyHostToDevice));

  qk_memref_2d_t hView{host.data(), host.data(), offset, {tokens, cols},
                       {stride, 1}};
  qk_memref_2d_t dView{dqkv, dqkv, offset, {tokens, cols}, {stride, 1}};
  qk_memref_1d_t hwq{wq.data(), wq.data(), 0, {m.d}, {1}};
  qk_memref_1d_t hwk{wk.data(), wk.data(), 0, {m.d}, {1}};
  qk_memref_1d_t dwqV{dwq, dwq, 0, {m.d}, {1}};
  qk_memref_1d_t dwkV{dwk, dwk, 0, {m.d}, {1}};
  QKV3 cpu{}, gpu{};
  if (m.weights) {
    _mlir_ciface_qwen3_cpu(&cpu, &hView, &hwq, &hwk);
    _mlir_ciface_qwen3_cuda(&gpu, &dView, &dwqV, &dwkV);
  } else {
    _mlir_ciface_llama4_cpu(&cpu, &hView);
    _mlir_ciface_llama4_cuda(&gpu, &dView);
  }
  CUDA_OK(cudaDeviceSynchronize());
  std::vector<uint16_t> device(host.size());
  CUDA_OK(cudaMemcpy(device.data(), dqkv, host.size() * 2, cudaMemcpyDeviceToHost));
  CUDA_OK(cudaFree(dqkv));
  CUDA_OK(cudaFree(dwq));
  CUDA_OK(cudaFree(dwk));

  int64_t bad = 0, exact = 0, normalised = 0;
  const int64_t qkEnd = (m.hq + m.hkv) * m.d;
  for (size_t i = 0; i < host.size(); ++i) {
    int64_t col = i < size_t(offset) ? -1 : int64_t(i - offset) % stride;
    bool inQK = col >= 0 && col < qkEnd;
    if (!inQK) { // v, padding, the prefix: untouched by both
      bad += device[i] != original[i] || host[i] != original[i];
      continue;
    }
    ++normalised;
    float c = bf16ToFloat(host[i]), g = bf16ToFloat(device[i]);
    exact += host[i] == device[i];
    bad += !(std::fabs(g - c) <= std::ldexp(std::fabs(c), -7)) ||
           host[i] == original[i] && device[i] != original[i];
  }
  // The returned views: same offsets/strides into their own qkv buffer.
  const Memref3D *hv[3] = {&cpu.q, &cpu.k, &cpu.v}, *gv[3] = {&gpu.q, &gpu.k, &gpu.v};
  for (int r = 0; r < 3; ++r) {
    bad += hv[r]->offset != gv[r]->offset ||
           std::memcmp(hv[r]->sizes, gv[r]->sizes, sizeof hv[r]->sizes) ||
           std::memcmp(hv[r]->strides, gv[r]->strides, sizeof hv[r]->strides) ||
           hv[r]->aligned != (void *)host.data() || gv[r]->aligned != (void *)dqkv;
  }
  std::printf("%s %s T=%lld: %lld q/k values, %lld bit-identical to the CPU "
              "pipeline, others within 1 bf16 ulp; v/padding untouched; "
              "views agree; %lld mismatches\n",
              bad ? "FAIL" : "PASS", m.name, (long long)tokens,
              (long long)normalised, (long long)exact, (long long)bad);
  return bad ? 1 : 0;
}

} // namespace

int main() {
  int device = 0;
  cudaDeviceProp prop;
  CUDA_OK(cudaGetDevice(&device));
  CUDA_OK(cudaGetDeviceProperties(&prop, device));
  std::printf("device: %s, runtime: %s\n", prop.name, qk_runtime_name());
  const Model models[] = {{"llama4", 40, 8, 128, false},
                          {"qwen3", 32, 8, 128, true}};
  int failures = 0;
  unsigned seed = 1;
  for (const Model &m : models)
    for (int64_t t : {1, 7, 300, 4099})
      failures += runCase(m, t, seed++);
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
