#!/usr/bin/env bash
# Builds the norm + RoPE anchor kernels for benchmarks/bench_qk_norm_rope.py, on the machine that runs
# them (nvcc, torch and the apache-tvm-ffi package there). Extends ../shared/anchors/h200/build_anchors.sh
# (same sglang wrapper text and nvcc flags as sglang's load_jit for an sm_90 GPU).
#
#   build_rope_anchors.sh SRC OUT     SRC = .anchors/src (sgl/{include,csrc}), OUT = output folder
#                                     VLLM_SRC (default SRC/../vllm/csrc) = vLLM 0.33.0's csrc files
#
# Builds, in parallel (a failure of one leaves the others; each writes OUT/<name>.log):
#   sgl_qknr_<D>_<neox|gptj>.so  sglang 0.5.23 fused_qk_norm_rope (csrc/elementwise/fused_qknorm_rope.cuh),
#                                tvm-ffi module, flags of sglang's kernels/ops/attention/fused_qknorm_rope.py:
#                                load_jit's + --use_fast_math -DJIT_HEAD_DIM=D -DJIT_INTERLEAVE=0|1 -DJIT_YARN=0
#   sgl_rope_<R>_<neox|gptj>.so  sglang 0.5.23 apply_rope_inplace (csrc/elementwise/rope.cuh,
#                                FusedRopeKernel<is_neox, R, pdl=true, bf16_t, bf16_t>::run, export run_rope)
#   vllm_qknr.so                 vLLM 0.33.0 csrc/fused_qknorm_rope_kernel.cu, built standalone: the file is
#                                cut before its torch::stable entry point (fused_qk_norm_rope), its includes
#                                torch_utils.h and dispatch_utils.h are replaced by two shims (STD_TORCH_CHECK
#                                from torch's headeronly Exception.h, nothing else is used above the cut), and
#                                a C wrapper (vllm_qknr_launch) calls launchFusedQKNormRopeNTokenHeads<BFloat16,
#                                float|BFloat16> with vLLM's own token_heads_per_warp auto-selection for sm_90.
set -u
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$out"
out=$(cd "$out" && pwd)
vsrc=${VLLM_SRC:-$src/../vllm/csrc}
export PATH=/usr/local/cuda/bin:$PATH
cuda_home=$(dirname "$(dirname "$(command -v nvcc)")")
tvm=$(python3 -c 'import importlib.util, os; print(os.path.dirname(importlib.util.find_spec("tvm_ffi").origin))' 2>/dev/null)
echo "nvcc: $(nvcc --version | tail -1)"
echo "tvm_ffi: ${tvm:-not found}"
arch="-gencode=arch=compute_90a,code=sm_90a"
cxx=${CXX:-c++}; command -v "$cxx" >/dev/null || cxx=g++
sgl_flags="-Xcompiler -fPIC $arch -DSGL_CUDA_ARCH=900 -std=c++20 -O3 --expt-relaxed-constexpr"
pids=()

build_sgl_qknr() {  # head_dim interleave(0|1)
  local d=$1 il=$2 style name dir
  style=$([ "$il" = 0 ] && echo neox || echo gptj)
  name="sgl_qknr_${d}_${style}"
  dir="$out/$name.d"
  mkdir -p "$dir"
  cat > "$dir/cuda.cu" <<EOT
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/dtype.h>
#include <tvm/ffi/error.h>
#include <tvm/ffi/extra/c_env_api.h>
#include <tvm/ffi/function.h>
#include "$src/sgl/csrc/elementwise/fused_qknorm_rope.cuh"
TVM_FFI_DLL_EXPORT_TYPED_FUNC(fused_qk_norm_rope, (sglang::fused_qk_norm_rope));
EOT
  ( cd "$dir" && nvcc $sgl_flags --use_fast_math -DJIT_HEAD_DIM=$d -DJIT_INTERLEAVE=$il -DJIT_YARN=0 \
        -I"$tvm/include" -I"$src/sgl/include" -c cuda.cu -o cuda.o \
     && $cxx cuda.o -shared -L"$tvm/lib" -ltvm_ffi -L"$cuda_home/lib64" -lcudart -o "$out/$name.so" \
     && echo "built $name.so" ) > "$out/$name.log" 2>&1
  tail -3 "$out/$name.log"
}

build_sgl_rope() {  # rope_dim is_neox(true|false)
  local r=$1 neox=$2 style name dir
  style=$([ "$neox" = true ] && echo neox || echo gptj)
  name="sgl_rope_${r}_${style}"
  dir="$out/$name.d"
  mkdir -p "$dir"
  cat > "$dir/cuda.cu" <<EOT
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/dtype.h>
#include <tvm/ffi/error.h>
#include <tvm/ffi/extra/c_env_api.h>
#include <tvm/ffi/function.h>
#include "$src/sgl/csrc/elementwise/rope.cuh"
namespace sglang {
TVM_FFI_DLL_EXPORT_TYPED_FUNC(run_rope, (FusedRopeKernel<$neox, $r, true, bf16_t, bf16_t>::run));
}  // namespace sglang
EOT
  ( cd "$dir" && nvcc $sgl_flags -I"$tvm/include" -I"$src/sgl/include" -c cuda.cu -o cuda.o \
     && $cxx cuda.o -shared -L"$tvm/lib" -ltvm_ffi -L"$cuda_home/lib64" -lcudart -o "$out/$name.so" \
     && echo "built $name.so" ) > "$out/$name.log" 2>&1
  tail -3 "$out/$name.log"
}

build_vllm() {
  local name=vllm_qknr dir="$out/vllm_qknr.d"
  mkdir -p "$dir/core"
  if [ ! -f "$vsrc/fused_qknorm_rope_kernel.cu" ]; then
    echo "vllm: $vsrc/fused_qknorm_rope_kernel.cu missing" > "$out/$name.log"; cat "$out/$name.log"; return 1
  fi
  cp "$vsrc/async_util.cuh" "$vsrc/type_convert.cuh" "$dir/" && cp "$vsrc/core/cuda_compat.h" "$dir/core/"
  # the kernel file without its torch::stable entry point (the last function of the file)
  awk '/^void fused_qk_norm_rope\(/ {exit} {print}' "$vsrc/fused_qknorm_rope_kernel.cu" > "$dir/fused_qknorm_rope_kernel.cu"
  cat > "$dir/torch_utils.h" <<'EOT'
#pragma once
// shim for vLLM's libtorch-stable torch_utils.h: the code above the entry point uses STD_TORCH_CHECK only
#if __has_include(<torch/headeronly/util/Exception.h>)
#include <torch/headeronly/util/Exception.h>
#endif
#ifndef STD_TORCH_CHECK
#include <stdexcept>
#define STD_TORCH_CHECK(cond, ...) \
  do { if (!(cond)) throw std::runtime_error("vLLM check failed: " #cond); } while (0)
#endif
#include <cuda_runtime.h>
EOT
  echo '#pragma once' > "$dir/dispatch_utils.h"
  cat > "$dir/wrapper.cu" <<'EOT'
#include "fused_qknorm_rope_kernel.cu"
#include <exception>
#include <string>
static thread_local std::string g_err;
extern "C" const char *vllm_qknr_error() { return g_err.c_str(); }
// vLLM's fused_qk_norm_rope(qkv, Hq, Hk, Hv, D, eps, q_w, k_w, cos_sin_cache, is_neox, positions(int64), -1)
// on raw pointers: bf16 qkv and weights, cache float32 (cache_bf16 = 0) or bf16 (1); the auto-selection of
// token_heads_per_warp is vLLM's for sm_90 (forced > 0 overrides, as its argument does).
extern "C" int vllm_qknr_launch(void *qkv, int num_tokens, int hq, int hk, int hv, int head_dim, int rotary_dim,
                                float eps, const void *q_w, const void *k_w, const void *cache, int cache_bf16,
                                int is_neox, const int64_t *positions, int forced, void *stream) {
  try {
    int thpw = forced > 0 ? forced : 1;
    if (forced <= 0) {
      int dev = 0;
      cudaGetDevice(&dev);
      cudaDeviceProp p;
      cudaGetDeviceProperties(&p, dev);
      long long units = (long long)num_tokens * (hq + hk);
      if (p.major * 10 + p.minor == 90) {
        if (head_dim >= 256) thpw = units < 4096 ? 1 : units < 8192 ? 2 : 4;
        else thpw = units < 10240 ? 1 : units < 40960 ? 4 : 8;
      }
    }
    if (cache_bf16)
      tensorrt_llm::kernels::launchFusedQKNormRopeNTokenHeads<torch::headeronly::BFloat16, torch::headeronly::BFloat16>(
          qkv, num_tokens, hq, hk, hv, head_dim, rotary_dim, eps, q_w, k_w, cache, !is_neox, positions, thpw,
          (cudaStream_t)stream);
    else
      tensorrt_llm::kernels::launchFusedQKNormRopeNTokenHeads<torch::headeronly::BFloat16, float>(
          qkv, num_tokens, hq, hk, hv, head_dim, rotary_dim, eps, q_w, k_w, cache, !is_neox, positions, thpw,
          (cudaStream_t)stream);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) { g_err = cudaGetErrorString(e); return 3; }
    return thpw * 16;  // >= 16: ok, and which kernel ran (token_heads_per_warp = rc / 16)
  } catch (const std::exception &ex) {
    g_err = ex.what();
    return 1;
  }
}
EOT
  local tinc; tinc=$(python3 -c 'from torch.utils.cpp_extension import include_paths; print(" ".join("-I" + p for p in include_paths()))')
  ( cd "$dir" && nvcc -Xcompiler -fPIC $arch -std=c++17 -O3 --expt-relaxed-constexpr -DNDEBUG \
        -D__CUDA_NO_HALF_OPERATORS__ -D__CUDA_NO_HALF_CONVERSIONS__ -D__CUDA_NO_BFLOAT16_CONVERSIONS__ \
        -D__CUDA_NO_HALF2_OPERATORS__ $tinc -I. -shared wrapper.cu -o "$out/$name.so" \
     && echo "built $name.so" ) > "$out/$name.log" 2>&1
  tail -5 "$out/$name.log"
}

if [ -n "$tvm" ]; then
  for spec in "128 0" "128 1" "256 0" "64 0"; do build_sgl_qknr $spec & pids+=($!); done
  for spec in "128 true" "64 true" "128 false" "256 true"; do build_sgl_rope $spec & pids+=($!); done
else
  echo "sgl: tvm_ffi not importable: the sglang anchors are not built" | tee "$out/sgl.log"
fi
build_vllm & pids+=($!)
st=0
for p in "${pids[@]}"; do wait "$p" || st=1; done
ls -la "$out"/*.so 2>/dev/null
exit $st
