/*===- QKNormRuntime.h - C ABI of the strided fused QK-norm runtime -*- C -*-===*\
|*                                                                            *|
|* One header shared by every implementation of the runtime:                 *|
|*   - libqk_runtime_cuda  (CUDA kernels, runtime/cuda/)                      *|
|*   - libqk_runtime_host  (plain C++ reference, runtime/host/)               *|
|* Compiled graphs (qk-lower-to-kernel-call), the Python torch op and C/C++   *|
|* hosts all call these entry points.                                         *|
|*                                                                            *|
|* Semantics of one call (for every token t < num_tokens and every range r,  *|
|* every group g < r.num_groups):                                             *|
|*                                                                            *|
|*   x   = in  + t*in_token_stride  + r.column_offset + g*r.group_stride     *|
|*   y   = out + t*out_token_stride + r.column_offset + g*r.group_stride     *|
|*   ms  = sum_i float(x[i])^2 / r.group_size          (fp32 accumulation)    *|
|*   n_i = float(x[i]) * rsqrt(ms + r.epsilon)                                *|
|*   w_i = r.weight_offset + float(weight[i])    (w_i = 1 if weight == NULL)  *|
|*   QK_ROUNDING_ONCE:          y[i] = round(n_i * w_i)                      *|
|*   QK_ROUNDING_BEFORE_WEIGHT: y[i] = round(float(round(n_i)) * w_i)        *|
|*                                                                            *|
|* where round() converts fp32 to the activation type (round to nearest      *|
|* even). Strides and offsets are in elements, not bytes. out == in is the   *|
|* in-place mode; otherwise the two must not overlap. Elements outside the   *|
|* ranges are neither read nor written (v columns, padding).                  *|
|*                                                                            *|
|* Every function validates its arguments before touching memory: on error   *|
|* it returns a non-zero status, writes nothing, and qk_last_error_message() *|
|* describes the problem (thread-local, valid until the next call on the     *|
|* same thread). No function allocates device memory; the CUDA entry points  *|
|* only enqueue work on `stream` and are safe to capture in a CUDA graph.    *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef QK_RUNTIME_QKNORMRUNTIME_H
#define QK_RUNTIME_QKNORMRUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define QK_RUNTIME_EXPORT __declspec(dllexport)
#else
#define QK_RUNTIME_EXPORT __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change of the structs or signatures below. */
#define QK_RUNTIME_ABI_VERSION 1

/* The most ranges (q, k, ...) one call normalises. */
#define QK_MAX_RANGES 4

typedef enum qk_status {
  QK_STATUS_OK = 0,
  QK_STATUS_INVALID_ARGUMENT = 1, /* null pointer, bad size/stride/range */
  QK_STATUS_UNSUPPORTED = 2,      /* valid but not implemented (dtype, ...) */
  QK_STATUS_DEVICE_ERROR = 3,     /* launch or driver error */
} qk_status_t;

typedef enum qk_dtype {
  QK_DTYPE_F32 = 0,
  QK_DTYPE_F16 = 1,
  QK_DTYPE_BF16 = 2,
} qk_dtype_t;

typedef enum qk_rounding {
  /* Multiply by the weight in fp32, round once (Gemma, sglang kernels). */
  QK_ROUNDING_ONCE = 0,
  /* Round the normalised value to the activation type, then multiply by the
     weight and round again (Hugging Face Qwen3/Llama: w * x.to(dtype)). */
  QK_ROUNDING_BEFORE_WEIGHT = 1,
} qk_rounding_t;

/* One normalised column range of a row: num_groups groups of group_size
   elements, the first at column_offset, each group_stride elements after
   the previous one (group_stride == group_size for packed heads,
   > group_size for interleaved layouts). */
typedef struct qk_norm_range {
  int64_t column_offset;
  int64_t num_groups;
  int64_t group_size;
  int64_t group_stride;
  const void *weight;       /* group_size elements, or NULL (no weight) */
  qk_dtype_t weight_dtype;  /* the activation dtype or QK_DTYPE_F32 */
  float epsilon;
  float weight_offset;      /* 0, or 1 for Gemma's (1 + w) */
  qk_rounding_t rounding;
} qk_norm_range_t;

/* Normalises `num_ranges` ranges of every token row of a 2-D strided
   activation in one launch. `in` and `out` point at element (0, 0) of the
   row-major view [num_tokens, *]; the column stride is 1. num_tokens may be
   0 (nothing is done). `stream` is a cudaStream_t (NULL = the default
   stream) for the CUDA runtime and is ignored by the host runtime. */
QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens,
    const qk_norm_range_t *ranges, int32_t num_ranges, void *stream);

/* Message of the last failing call on this thread ("" if none). */
QK_RUNTIME_EXPORT const char *qk_last_error_message(void);

/* Name of the implementation ("cuda" or "host"), for diagnostics. */
QK_RUNTIME_EXPORT const char *qk_runtime_name(void);

/*===------------------------------------------------------------------===*\
|* Entry points of compiled MLIR (qk-lower-to-kernel-call)                 *|
|*                                                                          *|
|* The lowering turns every qk.fused_qk_norm (and qk.rms_norm) on memrefs  *|
|* into one `func.call` of a function declared with llvm.emit_c_interface,  *|
|* so the LLVM lowering calls `_mlir_ciface_<name>` with a pointer to each  *|
|* memref descriptor. <name> is specialised by element type and range      *|
|* count:                                                                   *|
|*                                                                          *|
|*   qk_fused_rms_norm_<act>_r<n>        weights of the activation type     *|
|*   qk_fused_rms_norm_<act>_wf32_r<n>   f32 weights (act = f16 or bf16)    *|
|*                                                                          *|
|* with act in {f32, f16, bf16} and n in 1..QK_MAX_RANGES, and arguments    *|
|*                                                                          *|
|*   (in, out,                               rank-2 [tokens, columns] views *|
|*    weight_0, column_offset_0, num_groups_0, group_size_0, group_stride_0,*|
|*    epsilon_0, weight_offset_0, rounding_0,                               *|
|*    ... the same eight for ranges 1..n-1 ...,                             *|
|*    stream)                                                               *|
|*                                                                          *|
|* A weight is a rank-1 descriptor; sizes[0] == 0 means "no weight".       *|
|* The column stride of in/out and the stride of a weight must be 1; the   *|
|* ranges must lie inside sizes[1] of both views, and in and out must have  *|
|* the same number of tokens (sizes[0]). After these descriptor checks the  *|
|* call is exactly qk_fused_rms_norm(act, in, in.strides[0], out,           *|
|* out.strides[0], in.sizes[0], ranges, n, stream), with the same status    *|
|* and message on error (nothing written).                                  *|
\*===------------------------------------------------------------------===*/

/* MLIR's memref descriptors (what finalize-memref-to-llvm lays out).
   `aligned + offset` is element (0, ...) of the view; sizes and strides are
   in elements. */
typedef struct qk_memref_1d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} qk_memref_1d_t;

typedef struct qk_memref_2d {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} qk_memref_2d_t;

#define QK_CIFACE_RANGE_PARAMS(i)                                             \
  const qk_memref_1d_t *weight_##i, int64_t column_offset_##i,                \
      int64_t num_groups_##i, int64_t group_size_##i, int64_t group_stride_##i, \
      float epsilon_##i, float weight_offset_##i, int32_t rounding_##i
#define QK_CIFACE_PARAMS_R1 QK_CIFACE_RANGE_PARAMS(0)
#define QK_CIFACE_PARAMS_R2 QK_CIFACE_PARAMS_R1, QK_CIFACE_RANGE_PARAMS(1)
#define QK_CIFACE_PARAMS_R3 QK_CIFACE_PARAMS_R2, QK_CIFACE_RANGE_PARAMS(2)
#define QK_CIFACE_PARAMS_R4 QK_CIFACE_PARAMS_R3, QK_CIFACE_RANGE_PARAMS(3)

#define QK_DECLARE_CIFACE(suffix, n)                                          \
  QK_RUNTIME_EXPORT int32_t _mlir_ciface_qk_fused_rms_norm_##suffix##_r##n(   \
      const qk_memref_2d_t *in, const qk_memref_2d_t *out,                   \
      QK_CIFACE_PARAMS_R##n, void *stream);
#define QK_DECLARE_CIFACE_ALL_RANGES(suffix)                                  \
  QK_DECLARE_CIFACE(suffix, 1)                                                \
  QK_DECLARE_CIFACE(suffix, 2)                                                \
  QK_DECLARE_CIFACE(suffix, 3)                                                \
  QK_DECLARE_CIFACE(suffix, 4)

QK_DECLARE_CIFACE_ALL_RANGES(f32)
QK_DECLARE_CIFACE_ALL_RANGES(f16)
QK_DECLARE_CIFACE_ALL_RANGES(bf16)
QK_DECLARE_CIFACE_ALL_RANGES(f16_wf32)
QK_DECLARE_CIFACE_ALL_RANGES(bf16_wf32)

/* Called by compiled code when an entry point above returned an error,
   right before it aborts: prints the status and qk_last_error_message() to
   stderr, prefixed with `site` (the op's location; may be NULL). */
QK_RUNTIME_EXPORT void qk_report_error(int32_t status, const char *site);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_RUNTIME_QKNORMRUNTIME_H */
