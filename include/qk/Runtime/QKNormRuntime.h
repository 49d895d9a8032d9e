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
|* qk_fused_rms_norm_rope (ABI version 3) adds a rotary embedding of the     *|
|* ranges whose bit is set in rotated_ranges, in the same pass: the norm's   *|
|* output y (rounded) is rotated before it is written, or (before_norm) the  *|
|* rotation of x (rounded) is what the norm reads. The rotation's formula is *|
|* stated once in qk/Runtime/Epilogue.h (partner, sign, table column, the    *|
|* PER_OP / ONCE rounding); the contract is docs/rope-abi.md.               *|
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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define QK_RUNTIME_EXPORT __declspec(dllexport)
#else
#define QK_RUNTIME_EXPORT __attribute__((visibility("default")))
#endif

/* Bumped on any incompatible change of the structs or signatures below.
   1: the memref-descriptor entry points took 8 positional scalars per range
      and were specialised by range count and weight type
      (_mlir_ciface_qk_fused_rms_norm_<act>[_wf32]_r<n>, 20 symbols).
   2: they take the ranges as data, a table of qk_ciface_range_t rows behind
      one memref descriptor (one symbol per activation type; each range
      carries its weight's dtype), so that a field of a range is a change to
      one struct instead of to every positional argument list. The plain C
      entry point qk_fused_rms_norm and qk_norm_range_t are unchanged.
   3: adds norm + RoPE in one call: qk_fused_rms_norm_rope with qk_rope_t,
      the entry points _mlir_ciface_qk_fused_rms_norm_rope_<act> with one
      qk_ciface_rope_t row (27 words), and the code tables QK_ROPE_STYLE,
      QK_ROPE_ROUNDING and QK_INDEX (docs/rope-abi.md). Everything of
      version 2 is unchanged. */
#define QK_RUNTIME_ABI_VERSION 3

/* The most ranges (q, k, ...) one call normalises. */
#define QK_MAX_RANGES 4

/* qk_status_t (QK_STATUS_OK = 0, INVALID_ARGUMENT, UNSUPPORTED,
   DEVICE_ERROR), qk_dtype_t (QK_DTYPE_F32, F16, BF16) and qk_rounding_t
   (QK_ROUNDING_ONCE, BEFORE_WEIGHT) are generated from the one table of
   the ABI's codes, qk/Runtime/Codes.def, which lists every value and what
   it means; the compiler, both runtimes and the Python package take their
   codes from (or check them against) the same table. */
typedef enum qk_status {
#define QK_STATUS(NAME, CODE, ...) QK_STATUS_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_status_t;

typedef enum qk_dtype {
#define QK_DTYPE(NAME, CODE, ...) QK_DTYPE_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_dtype_t;

typedef enum qk_rounding {
#define QK_ROUNDING(NAME, CODE, ...) QK_ROUNDING_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_rounding_t;

/* The rotation's codes (ABI version 3): qk_rope_style_t (NEOX, GPTJ),
   qk_rope_rounding_t (PER_OP, ONCE) and qk_index_t (I32, I64: the element
   type of positions), from the same table. */
typedef enum qk_rope_style {
#define QK_ROPE_STYLE(NAME, CODE, ...) QK_ROPE_STYLE_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_rope_style_t;

typedef enum qk_rope_rounding {
#define QK_ROPE_ROUNDING(NAME, CODE, ...) QK_ROPE_ROUNDING_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_rope_rounding_t;

typedef enum qk_index {
#define QK_INDEX(NAME, CODE, ...) QK_INDEX_##NAME = CODE,
#include "qk/Runtime/Codes.def"
} qk_index_t;

/* The structs of the group steps, qk_norm_range_t (#qk.rms) and qk_rope_t
   (#qk.rope), and their rows of 64-bit words for compiled code,
   qk_ciface_range_t and qk_ciface_rope_t, are generated from the ODS of the
   steps (include/qk/Dialect/QK/IR/QKAttrs.td, QK_AbiRow) into AbiRows.h,
   which documents every member and word. */
#include "qk/Runtime/AbiRows.h"

/* Normalises `num_ranges` ranges of every token row of a 2-D strided
   activation in one launch. `in` and `out` point at element (0, 0) of the
   row-major view [num_tokens, *]; the column stride is 1. num_tokens may be
   0 (nothing is done). `stream` is a cudaStream_t (NULL = the default
   stream) for the CUDA runtime and is ignored by the host runtime. */
QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens,
    const qk_norm_range_t *ranges, int32_t num_ranges, void *stream);

/* qk_rope_t (AbiRows.h) is the rotary embedding of qk_fused_rms_norm_rope
   (docs/rope-abi.md). */

/* qk_fused_rms_norm plus a rotary embedding of the ranges whose bit is set
   in rotated_ranges (bit r = range r), in one pass (Epilogue.h states the
   formula). rope == NULL or rotated_ranges == 0: exactly qk_fused_rms_norm.
   The tables must not overlap what out's ranges write. Positions outside
   [0, table_rows): the host runtime rejects the call (it reads them during
   validation); the CUDA runtime, which cannot read them before the launch,
   writes quiet NaN to every rotated element of that token's rotated ranges
   and never reads outside the tables. */
QK_RUNTIME_EXPORT qk_status_t qk_fused_rms_norm_rope(
    qk_dtype_t dtype, const void *in, int64_t in_token_stride, void *out,
    int64_t out_token_stride, int64_t num_tokens,
    const qk_norm_range_t *ranges, int32_t num_ranges, const qk_rope_t *rope,
    uint32_t rotated_ranges, void *stream);

/* Message of the last failing call on this thread ("" if none). */
QK_RUNTIME_EXPORT const char *qk_last_error_message(void);

/* Name of the implementation ("cuda" or "host"), for diagnostics. */
QK_RUNTIME_EXPORT const char *qk_runtime_name(void);

/*===------------------------------------------------------------------===*\
|* Entry points of compiled MLIR (qk-lower-to-kernel-call), ABI version 2  *|
|*                                                                          *|
|* The lowering turns every qk.fused_qk_norm (and qk.rms_norm) on memrefs  *|
|* into one `func.call` of a function declared with llvm.emit_c_interface,  *|
|* so the LLVM lowering calls `_mlir_ciface_<name>` with a pointer to each  *|
|* memref descriptor. One entry point per activation type:                  *|
|*                                                                          *|
|*   int32_t _mlir_ciface_qk_fused_rms_norm_<act>(                          *|
|*       const qk_memref_2d_t *in,     memref<?x?x<act>, strided<[?, ?],   *|
|*       const qk_memref_2d_t *out,      offset: ?>>: [tokens, columns]    *|
|*       const qk_memref_2d_t *ranges, memref<?x12xi64>: the range table    *|
|*       void *stream);                !llvm.ptr                            *|
|*                                                                          *|
|* with act in {f32, f16, bf16} (the CNAMEs of Codes.def). `ranges` views   *|
|* an array of qk_ciface_range_t in memory: sizes = {num_ranges,            *|
|* QK_CIFACE_RANGE_WORDS}, strides = {QK_CIFACE_RANGE_WORDS, 1}; row r is   *|
|* range r (the lowering fills a stack table per call). A range's weight is *|
|* a rank-1 view written into its row (aligned pointer, offset, size,       *|
|* stride); weight_size == 0 means "no weight". Ranges of one call may mix  *|
|* weights of the activation type and f32.                                  *|
|*                                                                          *|
|* The column stride of in/out and the stride of a weight must be 1; the   *|
|* ranges must lie inside sizes[1] of both views, and in and out must have  *|
|* the same number of tokens (sizes[0]). After these descriptor and table   *|
|* checks the call is exactly qk_fused_rms_norm(act, in, in.strides[0],     *|
|* out, out.strides[0], in.sizes[0], ranges', num_ranges, stream), with     *|
|* ranges' the qk_norm_range_t equivalents of the rows, and the same status *|
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

/* One row of the range table of the entry points above is a
   qk_ciface_range_t (AbiRows.h): qk_norm_range_t as QK_CIFACE_RANGE_WORDS
   64-bit words. */

#define QK_DTYPE(NAME, CODE, CNAME, ...)                                       \
  QK_RUNTIME_EXPORT int32_t _mlir_ciface_qk_fused_rms_norm_##CNAME(            \
      const qk_memref_2d_t *in, const qk_memref_2d_t *out,                     \
      const qk_memref_2d_t *ranges, void *stream);
#include "qk/Runtime/Codes.def"

/* ABI version 3: norm + RoPE. One row of 27 int64 words behind a
   memref<27xi64> descriptor describes the rotation (the fields of
   qk_rope_t, rotated_ranges, and the cos/sin/positions views as rank-2 and
   rank-1 memref fields without `allocated`):

   int32_t _mlir_ciface_qk_fused_rms_norm_rope_<act>(
       const qk_memref_2d_t *in, const qk_memref_2d_t *out,
       const qk_memref_2d_t *ranges,   memref<?x12xi64>, as in version 2
       const qk_memref_1d_t *rope,     memref<27xi64>: one qk_ciface_rope_t
       void *stream);

   The views' column strides must be 1 (or columns <= 1), cos and sin must
   have the same rows and columns, positions_size must equal the tokens of
   `in` and its stride must be 1 (or size <= 1); positions_aligned == NULL
   means no positions. After these checks the call is exactly
   qk_fused_rms_norm_rope (same status and message on error, nothing
   written). */
/* The row is a qk_ciface_rope_t (AbiRows.h). */

/* The row is what compiled code stores word by word: its layout must be
   exactly the 27 words (64-bit targets, like MLIR's descriptors). */
#if UINTPTR_MAX == UINT64_MAX
#if defined(__cplusplus)
static_assert(sizeof(qk_ciface_rope_t) == QK_CIFACE_ROPE_WORDS * 8,
              "qk_ciface_rope_t is QK_CIFACE_ROPE_WORDS 64-bit words");
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(qk_ciface_rope_t) == QK_CIFACE_ROPE_WORDS * 8,
               "qk_ciface_rope_t is QK_CIFACE_ROPE_WORDS 64-bit words");
#endif
#endif

#define QK_DTYPE(NAME, CODE, CNAME, ...)                                       \
  QK_RUNTIME_EXPORT int32_t _mlir_ciface_qk_fused_rms_norm_rope_##CNAME(       \
      const qk_memref_2d_t *in, const qk_memref_2d_t *out,                     \
      const qk_memref_2d_t *ranges, const qk_memref_1d_t *rope, void *stream);
#include "qk/Runtime/Codes.def"

/* Called by compiled code when an entry point above returned an error,
   right before it aborts: prints the status and qk_last_error_message() to
   stderr, prefixed with `site` (the op's location; may be NULL). */
QK_RUNTIME_EXPORT void qk_report_error(int32_t status, const char *site);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_RUNTIME_QKNORMRUNTIME_H */
