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
// device qkv after the call must match the CPU pipeline's qkv: q/k columns
// within one bf16 ulp (plus, for Qwen3's round-before-weight, one ulp of
// x_hat times |w|: the two may round x_hat to different neighbours near a
// tie), v columns, the row padding of a row stride larger than C and the
// elements before the view bit for bit, and both must return the same view
// descriptors (offsets/strides into their qkv). Exit 0 iff all pass.
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

  // Tolerance: one bf16 ulp of the CPU value; with the Hugging Face
  // rounding (Qwen3: round x_hat, then multiply by the weight and round
  // again) also one ulp of x_hat times |w|, because the two fp32 x_hat may
  // round to different bf16 neighbours near a tie (as in TestSupport.h).
  auto ulp = [](double v) {
    return v == 0 ? std::ldexp(1.0, -133) : std::ldexp(1.0, std::ilogb(v) - 7);
  };
  int64_t bad = 0, exact = 0, normalised = 0, beyondOneUlp = 0;
  const int64_t qkEnd = (m.hq + m.hkv) * m.d;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t g = 0; g < m.hq + m.hkv; ++g) {
      const int64_t base = offset + t * stride + g * m.d;
      double ms = 0;
      for (int64_t i = 0; i < m.d; ++i)
        ms += double(bf16ToFloat(original[base + i])) * bf16ToFloat(original[base + i]);
      const double r = 1.0 / std::sqrt(ms / double(m.d) + 1e-6);
      for (int64_t i = 0; i < m.d; ++i) {
        ++normalised;
        const float c = bf16ToFloat(host[base + i]), gv = bf16ToFloat(device[base + i]);
        exact += host[base + i] == device[base + i];
        double bound = ulp(c);
        if (m.weights) {
          const std::vector<uint16_t> &w = g < m.hq ? wq : wk;
          bound += ulp(bf16ToFloat(original[base + i]) * r) *
                   std::fabs(bf16ToFloat(w[i]));
        }
        const double err = std::fabs(double(gv) - double(c));
        beyondOneUlp += err > ulp(c);
        bad += !(err <= bound);
      }
    }
  }
  // Everything else (v, row padding, the prefix) untouched by both.
  for (size_t i = 0; i < host.size(); ++i) {
    int64_t col = i < size_t(offset) ? -1 : int64_t(i - offset) % stride;
    if (col < 0 || col >= qkEnd)
      bad += device[i] != original[i] || host[i] != original[i];
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
              "pipeline, %lld more than 1 ulp apart (within the bound); "
              "v/padding untouched; views agree; %lld mismatches\n",
              bad ? "FAIL" : "PASS", m.name, (long long)tokens,
              (long long)normalised, (long long)exact, (long long)beyondOneUlp,
              (long long)bad);
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
