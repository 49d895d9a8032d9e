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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_RUNTIME_QKNORMRUNTIME_H */
