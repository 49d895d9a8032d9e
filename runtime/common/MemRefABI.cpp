//===- MemRefABI.cpp - Entry points for compiled MLIR (memref descriptors) ===//
//
// `qk-lower-to-kernel-call` emits calls of `_mlir_ciface_qk_fused_rms_norm_*`
// with pointers to MLIR memref descriptors. These wrappers check what only
// the descriptors know (ranks are fixed by the symbol; NULL descriptors,
// column strides, sizes, offsets, the views' and the ranges' extents, the
// weight's extent), then forward to qk_fused_rms_norm of the library they
// are linked into, so the host and the CUDA runtime accept and reject
// exactly the same calls. Compiled into both libraries. Every offset, extent
// and address computed from descriptor data goes through the checked
// arithmetic of Validate.h: an overflow is a rejected call, never a wrapped
// pointer.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include "Validate.h"

#include <cstdio>

namespace qk::runtime {
namespace {

// Element (0, ...) of a descriptor, aligned + offset elements, into
// `start`. Rejects a negative offset and one whose byte count or address
// overflows (every later address is computed from `start` with checked
// arithmetic). A NULL `aligned` gives NULL, so that the checks of
// qk_fused_rms_norm report it where it matters (num_tokens > 0).
qk_status_t viewStart(const char *what, const void *aligned, int64_t offset,
                      int64_t elementSize, const char *&start) {
  if (offset < 0)
    return fail(QK_STATUS_INVALID_ARGUMENT, "%s offset %lld is negative", what,
                (long long)offset);
  uintptr_t address;
  if (!checkedAddress(aligned, offset, elementSize, address))
    return fail(QK_STATUS_INVALID_ARGUMENT,
                "%s offset %lld overflows the address space (%lld-byte "
                "elements from aligned %p)",
                what, (long long)offset, (long long)elementSize, aligned);
  start = aligned ? reinterpret_cast<const char *>(address) : nullptr;
  return QK_STATUS_OK;
}

qk_status_t checkView(const char *what, const qk_memref_2d_t *d,
                      int64_t elementSize, const char *&start) {
  if (!d)
    return fail(QK_STATUS_INVALID_ARGUMENT, "%s descriptor is NULL", what);
  if (d->sizes[0] < 0 || d->sizes[1] < 0)
    return fail(QK_STATUS_INVALID_ARGUMENT,
                "%s sizes [%lld, %lld] are negative", what,
                (long long)d->sizes[0], (long long)d->sizes[1]);
  if (qk_status_t s =
          viewStart(what, d->aligned, d->offset, elementSize, start))
    return s;
  // A single column needs no column stride; anything wider must be packed.
  if (d->sizes[1] > 1 && d->strides[1] != 1)
    return fail(QK_STATUS_INVALID_ARGUMENT,
                "%s column stride is %lld, expected 1", what,
                (long long)d->strides[1]);
  // The whole view must fit in the address space: its last element is
  // (sizes[0] - 1) * strides[0] + sizes[1] - 1 elements after `start`. A
  // negative token stride is left to qk_fused_rms_norm, which rejects it.
  if (d->sizes[0] > 0 && d->sizes[1] > 0 &&
      (d->sizes[0] == 1 || d->strides[0] >= 0)) {
    int64_t rows = 0, elements;
    uintptr_t end;
    if ((d->sizes[0] > 1 &&
         !checkedMul(d->sizes[0] - 1, d->strides[0], rows)) ||
        !checkedAdd(rows, d->sizes[1], elements) ||
        !checkedAddress(start, elements, elementSize, end))
      return fail(QK_STATUS_INVALID_ARGUMENT,
                  "%s view [%lld, %lld] (token stride %lld, offset %lld) "
                  "overflows the address space",
                  what, (long long)d->sizes[0], (long long)d->sizes[1],
                  (long long)d->strides[0], (long long)d->offset);
  }
  return QK_STATUS_OK;
}

// The raw range as the lowering passed it, before it becomes a
// qk_norm_range_t.
struct CifaceRange {
  const qk_memref_1d_t *weight;
  int64_t columnOffset, numGroups, groupSize, groupStride;
  float epsilon, weightOffset;
  int32_t rounding;
};

qk_status_t call(qk_dtype_t dtype, qk_dtype_t weightDtype,
                 const qk_memref_2d_t *in, const qk_memref_2d_t *out,
                 const CifaceRange *raw, int32_t numRanges, void *stream) {
  clearError();
  const int64_t elementSize = dtypeSize(dtype);
  const int64_t weightSize = dtypeSize(weightDtype);
  const char *inStart = nullptr, *outStart = nullptr;
  if (qk_status_t s = checkView("in", in, elementSize, inStart))
    return s;
  if (qk_status_t s = checkView("out", out, elementSize, outStart))
    return s;
  if (in->sizes[0] != out->sizes[0])
    return fail(QK_STATUS_INVALID_ARGUMENT,
                "in has %lld tokens but out has %lld", (long long)in->sizes[0],
                (long long)out->sizes[0]);

  const int64_t columns =
      in->sizes[1] < out->sizes[1] ? in->sizes[1] : out->sizes[1];
  qk_norm_range_t ranges[QK_MAX_RANGES];
  for (int32_t r = 0; r < numRanges; ++r) {
    const CifaceRange &c = raw[r];
    // The extent is only meaningful for ranges whose fields
    // qk_fused_rms_norm accepts; it reports the others with its own
    // message. For those, no size limit skips this check: the extent is
    // computed exactly or the call is rejected.
    if (c.columnOffset >= 0 && c.numGroups >= 1 && c.groupSize >= 1 &&
        c.groupStride >= c.groupSize) {
      int64_t end;
      if (!checkedRangeEnd(c.columnOffset, c.numGroups, c.groupSize,
                           c.groupStride, end))
        return fail(QK_STATUS_INVALID_ARGUMENT,
                    "range %d: column extent overflows int64", r);
      if (end > columns)
        return fail(QK_STATUS_INVALID_ARGUMENT,
                    "range %d: columns [%lld, %lld) exceed the %lld columns "
                    "of the in/out views",
                    r, (long long)c.columnOffset, (long long)end,
                    (long long)columns);
    }
    // Every range passes a weight descriptor; "no weight" is a zero-size
    // view (what the lowering passes), never a NULL descriptor.
    if (!c.weight)
      return fail(QK_STATUS_INVALID_ARGUMENT,
                  "range %d: weight descriptor is NULL (a range without a "
                  "weight passes a zero-size view)",
                  r);
    const qk_memref_1d_t &w = *c.weight;
    if (w.sizes[0] < 0)
      return fail(QK_STATUS_INVALID_ARGUMENT,
                  "range %d: weight size %lld is negative", r,
                  (long long)w.sizes[0]);
    char what[32];
    std::snprintf(what, sizeof(what), "range %d: weight", int(r));
    const char *weightStart = nullptr;
    if (qk_status_t s =
            viewStart(what, w.aligned, w.offset, weightSize, weightStart))
      return s;
    const void *weight = nullptr;
    if (w.sizes[0] != 0) {
      if (w.sizes[0] != c.groupSize)
        return fail(QK_STATUS_INVALID_ARGUMENT,
                    "range %d: weight has %lld elements, group_size is %lld", r,
                    (long long)w.sizes[0], (long long)c.groupSize);
      if (w.sizes[0] > 1 && w.strides[0] != 1)
        return fail(QK_STATUS_INVALID_ARGUMENT,
                    "range %d: weight stride is %lld, expected 1", r,
                    (long long)w.strides[0]);
      if (!w.aligned)
        return fail(QK_STATUS_INVALID_ARGUMENT, "range %d: weight is NULL", r);
      // qk_fused_rms_norm checks that its group_size elements do not wrap.
      weight = weightStart;
    }
    ranges[r] = qk_norm_range_t{
        c.columnOffset, c.numGroups,    c.groupSize,
        c.groupStride,  weight,         weightDtype,
        c.epsilon,      c.weightOffset, static_cast<qk_rounding_t>(c.rounding)};
  }
  return qk_fused_rms_norm(dtype, inStart, in->strides[0],
                           const_cast<char *>(outStart), out->strides[0],
                           in->sizes[0], ranges, numRanges, stream);
}

const char *statusName(int32_t status) {
  switch (status) {
  case QK_STATUS_OK:
    return "ok";
  case QK_STATUS_INVALID_ARGUMENT:
    return "invalid argument";
  case QK_STATUS_UNSUPPORTED:
    return "unsupported";
  case QK_STATUS_DEVICE_ERROR:
    return "device error";
  default:
    return "unknown status";
  }
}

} // namespace
} // namespace qk::runtime

#define QK_RANGE_ARG(i)                                                        \
  qk::runtime::CifaceRange {                                                   \
    weight_##i, column_offset_##i, num_groups_##i, group_size_##i,             \
        group_stride_##i, epsilon_##i, weight_offset_##i, rounding_##i         \
  }
#define QK_RANGE_ARGS_1 QK_RANGE_ARG(0)
#define QK_RANGE_ARGS_2 QK_RANGE_ARGS_1, QK_RANGE_ARG(1)
#define QK_RANGE_ARGS_3 QK_RANGE_ARGS_2, QK_RANGE_ARG(2)
#define QK_RANGE_ARGS_4 QK_RANGE_ARGS_3, QK_RANGE_ARG(3)

#define QK_DEFINE_CIFACE(suffix, n, act, weightType)                           \
  extern "C" QK_RUNTIME_EXPORT int32_t                                         \
      _mlir_ciface_qk_fused_rms_norm_##suffix##_r##n(                          \
          const qk_memref_2d_t *in, const qk_memref_2d_t *out,                 \
          QK_CIFACE_PARAMS_R##n, void *stream) {                               \
    const qk::runtime::CifaceRange ranges[] = {QK_RANGE_ARGS_##n};             \
    return qk::runtime::call(act, weightType, in, out, ranges, n, stream);     \
  }
#define QK_DEFINE_CIFACE_ALL_RANGES(suffix, act, weightType)                   \
  QK_DEFINE_CIFACE(suffix, 1, act, weightType)                                 \
  QK_DEFINE_CIFACE(suffix, 2, act, weightType)                                 \
  QK_DEFINE_CIFACE(suffix, 3, act, weightType)                                 \
  QK_DEFINE_CIFACE(suffix, 4, act, weightType)

QK_DEFINE_CIFACE_ALL_RANGES(f32, QK_DTYPE_F32, QK_DTYPE_F32)
QK_DEFINE_CIFACE_ALL_RANGES(f16, QK_DTYPE_F16, QK_DTYPE_F16)
QK_DEFINE_CIFACE_ALL_RANGES(bf16, QK_DTYPE_BF16, QK_DTYPE_BF16)
QK_DEFINE_CIFACE_ALL_RANGES(f16_wf32, QK_DTYPE_F16, QK_DTYPE_F32)
QK_DEFINE_CIFACE_ALL_RANGES(bf16_wf32, QK_DTYPE_BF16, QK_DTYPE_F32)

extern "C" QK_RUNTIME_EXPORT void qk_report_error(int32_t status,
                                                  const char *site) {
  std::fprintf(stderr, "%s%sqk runtime (%s): %s: %s\n", site ? site : "",
               site ? ": " : "", qk_runtime_name(),
               qk::runtime::statusName(status), qk_last_error_message());
  std::fflush(stderr);
}
