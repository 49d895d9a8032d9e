//===- MemRefABI.cpp - Entry points for compiled MLIR (memref descriptors) ===//
//
// `qk-lower-to-kernel-call` emits calls of `_mlir_ciface_qk_fused_rms_norm_*`
// with pointers to MLIR memref descriptors: the in/out views and the range
// table (rows of qk_ciface_range_t, ABI version 2). These wrappers check
// what only the descriptors and the table know (ranks are fixed by the
// symbol; NULL descriptors, column strides, sizes, offsets, the views' and
// the ranges' extents, the table's shape and the words that must fit the
// 32-bit fields, the weights' views), then forward to qk_fused_rms_norm of the
// library they are linked into, so the host and the CUDA runtime accept and
// reject exactly the same calls. Compiled into both libraries. Every offset,
// extent and address computed from descriptor data goes through the checked
// arithmetic of Validate.h: an overflow is a rejected call, never a wrapped
// pointer.
//
//===----------------------------------------------------------------------===//

#include "qk/Runtime/QKNormRuntime.h"

#include "Validate.h"

#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>

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

// An f32 that travels as its bit pattern in the low half of a word.
bool f32FromWord(int64_t word, float &f) {
  const uint64_t u = uint64_t(word);
  if (u >> 32)
    return false;
  const uint32_t bits = uint32_t(u);
  std::memcpy(&f, &bits, sizeof f);
  return true;
}

// A word that becomes a 32-bit field of a struct.
bool fitsInt32(int64_t w) { return w >= INT32_MIN && w <= INT32_MAX; }

// decodeRowWords: the checks and copies of the row words that become
// struct members, generated from the steps' ODS (QK_AbiRow in QKAttrs.td).
#include "AbiRowDecoders.inc"

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

static_assert(sizeof(void *) == sizeof(int64_t),
              "MLIR's memref descriptors and the range table are laid out "
              "for 64-bit pointers");
static_assert(sizeof(qk_ciface_range_t) ==
                  QK_CIFACE_RANGE_WORDS * sizeof(int64_t),
              "a qk_ciface_range_t is one row of QK_CIFACE_RANGE_WORDS i64");

// The range table: a [num_ranges, QK_CIFACE_RANGE_WORDS] i64 view of packed
// qk_ciface_range_t rows. Copied out once (memcpy: the rows need no
// alignment), so every later check and the call see the same values.
qk_status_t readTable(const qk_memref_2d_t *d,
                      qk_ciface_range_t (&rows)[QK_MAX_RANGES],
                      int32_t &numRanges) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  if (!d)
    return fail(bad, "ranges descriptor is NULL");
  if (d->sizes[1] != QK_CIFACE_RANGE_WORDS)
    return fail(bad,
                "ranges table has %lld columns, expected %d (the words of "
                "qk_ciface_range_t)",
                (long long)d->sizes[1], QK_CIFACE_RANGE_WORDS);
  // The wording of qk_fused_rms_norm's check of num_ranges.
  if (d->sizes[0] < 1 || d->sizes[0] > QK_MAX_RANGES)
    return fail(bad, "num_ranges is %lld, expected 1..%d",
                (long long)d->sizes[0], QK_MAX_RANGES);
  if (d->strides[1] != 1 ||
      (d->sizes[0] > 1 && d->strides[0] != QK_CIFACE_RANGE_WORDS))
    return fail(bad,
                "ranges table strides are [%lld, %lld], expected [%d, 1] "
                "(packed rows)",
                (long long)d->strides[0], (long long)d->strides[1],
                QK_CIFACE_RANGE_WORDS);
  const char *start = nullptr;
  if (qk_status_t s = viewStart("ranges", d->aligned, d->offset,
                                int64_t(sizeof(int64_t)), start))
    return s;
  if (!start)
    return fail(bad, "ranges table is NULL");
  uintptr_t end;
  if (!checkedAddress(start, d->sizes[0] * QK_CIFACE_RANGE_WORDS,
                      int64_t(sizeof(int64_t)), end))
    return fail(bad, "ranges table of %lld rows wraps around the address space",
                (long long)d->sizes[0]);
  numRanges = int32_t(d->sizes[0]);
  std::memcpy(rows, start, size_t(numRanges) * sizeof(qk_ciface_range_t));
  return QK_STATUS_OK;
}

// What the descriptors of in, out and the range table decode to: the
// arguments of qk_fused_rms_norm.
struct Decoded {
  const char *in = nullptr, *out = nullptr;
  qk_norm_range_t ranges[QK_MAX_RANGES];
  int32_t numRanges = 0;
};

qk_status_t decode(qk_dtype_t dtype, const qk_memref_2d_t *in,
                   const qk_memref_2d_t *out, const qk_memref_2d_t *table,
                   Decoded &dc) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  const int64_t elementSize = dtypeSize(dtype);
  const char *&inStart = dc.in, *&outStart = dc.out;
  if (qk_status_t s = checkView("in", in, elementSize, inStart))
    return s;
  if (qk_status_t s = checkView("out", out, elementSize, outStart))
    return s;
  if (in->sizes[0] != out->sizes[0])
    return fail(bad, "in has %lld tokens but out has %lld",
                (long long)in->sizes[0], (long long)out->sizes[0]);
  qk_ciface_range_t rows[QK_MAX_RANGES];
  int32_t &numRanges = dc.numRanges;
  if (qk_status_t s = readTable(table, rows, numRanges))
    return s;

  const int64_t columns =
      in->sizes[1] < out->sizes[1] ? in->sizes[1] : out->sizes[1];
  qk_norm_range_t *ranges = dc.ranges;
  for (int32_t r = 0; r < numRanges; ++r) {
    const qk_ciface_range_t &c = rows[r];
    // The extent is only meaningful for ranges whose fields
    // qk_fused_rms_norm accepts; it reports the others with its own
    // message. For those, no size limit skips this check: the extent is
    // computed exactly or the call is rejected.
    if (c.column_offset >= 0 && c.num_groups >= 1 && c.group_size >= 1 &&
        c.group_stride >= c.group_size) {
      int64_t end;
      if (!checkedRangeEnd(c.column_offset, c.num_groups, c.group_size,
                           c.group_stride, end))
        return fail(bad, "range %d: column extent overflows int64", r);
      if (end > columns)
        return fail(bad,
                    "range %d: columns [%lld, %lld) exceed the %lld columns "
                    "of the in/out views",
                    r, (long long)c.column_offset, (long long)end,
                    (long long)columns);
    }
    // Words that become the 32-bit fields of qk_norm_range_t must fit
    // them; the values themselves are qk_fused_rms_norm's to check (with
    // the same wording for the enums, checked here because the weight's
    // element size depends on its dtype). The weight is filled below.
    qk_norm_range_t &range = ranges[r];
    if (qk_status_t s = decodeRowWords(c, r, range))
      return s;
    // The weight's view: "no weight" is a zero-size view (what the
    // lowering passes), whose pointer is never read.
    if (c.weight_size < 0)
      return fail(bad, "range %d: weight size %lld is negative", r,
                  (long long)c.weight_size);
    char what[32];
    std::snprintf(what, sizeof(what), "range %d: weight", int(r));
    const char *weightStart = nullptr;
    if (qk_status_t s =
            viewStart(what, c.weight_aligned, c.weight_memref_offset,
                      dtypeSize(range.weight_dtype), weightStart))
      return s;
    const void *weight = nullptr;
    if (c.weight_size != 0) {
      if (c.weight_size != c.group_size)
        return fail(bad,
                    "range %d: weight has %lld elements, group_size is %lld", r,
                    (long long)c.weight_size, (long long)c.group_size);
      if (c.weight_size > 1 && c.weight_stride != 1)
        return fail(bad, "range %d: weight stride is %lld, expected 1", r,
                    (long long)c.weight_stride);
      if (!c.weight_aligned)
        return fail(bad, "range %d: weight is NULL", r);
      // qk_fused_rms_norm checks that its group_size elements do not wrap.
      weight = weightStart;
    }
    range.weight = weight;
  }
  return QK_STATUS_OK;
}

qk_status_t call(qk_dtype_t dtype, const qk_memref_2d_t *in,
                 const qk_memref_2d_t *out, const qk_memref_2d_t *table,
                 void *stream) {
  clearError();
  Decoded dc;
  if (qk_status_t s = decode(dtype, in, out, table, dc))
    return s;
  return qk_fused_rms_norm(dtype, dc.in, in->strides[0],
                           const_cast<char *>(dc.out), out->strides[0],
                           in->sizes[0], dc.ranges, dc.numRanges, stream);
}

static_assert(sizeof(qk_ciface_rope_t) ==
                  QK_CIFACE_ROPE_WORDS * sizeof(int64_t),
              "a qk_ciface_rope_t is QK_CIFACE_ROPE_WORDS i64");

// The rope row: a memref<27xi64> of one packed qk_ciface_rope_t, copied out
// once (memcpy: no alignment needed) like the range table.
qk_status_t readRopeRow(const qk_memref_1d_t *d, qk_ciface_rope_t &row) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  if (!d)
    return fail(bad, "rope descriptor is NULL");
  if (d->sizes[0] != QK_CIFACE_ROPE_WORDS)
    return fail(bad,
                "rope row has %lld words, expected %d (the words of "
                "qk_ciface_rope_t)",
                (long long)d->sizes[0], QK_CIFACE_ROPE_WORDS);
  if (d->strides[0] != 1)
    return fail(bad, "rope row stride is %lld, expected 1 (packed words)",
                (long long)d->strides[0]);
  const char *start = nullptr;
  if (qk_status_t s = viewStart("rope", d->aligned, d->offset,
                                int64_t(sizeof(int64_t)), start))
    return s;
  if (!start)
    return fail(bad, "rope row is NULL");
  uintptr_t end;
  if (!checkedAddress(start, QK_CIFACE_ROPE_WORDS, int64_t(sizeof(int64_t)),
                      end))
    return fail(bad, "rope row wraps around the address space");
  std::memcpy(&row, start, sizeof row);
  return QK_STATUS_OK;
}

// The cos or sin view of the row: element (0, 0) into `start`, with the
// column stride and the whole view's extent checked.
qk_status_t tableView(const char *what, const void *aligned, int64_t offset,
                      int64_t rows, int64_t columns, int64_t rowStride,
                      int64_t columnStride, int64_t elementSize,
                      const char *&start) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  if (rows < 0 || columns < 0)
    return fail(bad, "rope %s sizes [%lld, %lld] are negative", what,
                (long long)rows, (long long)columns);
  char name[16];
  std::snprintf(name, sizeof name, "rope %s", what);
  if (qk_status_t s = viewStart(name, aligned, offset, elementSize, start))
    return s;
  if (columns > 1 && columnStride != 1)
    return fail(bad, "rope %s column stride is %lld, expected 1", what,
                (long long)columnStride);
  // rows, row stride and the span are qk_fused_rms_norm_rope's to check
  // (table_rows >= 1, row stride >= columns, the span fits).
  return QK_STATUS_OK;
}

qk_status_t callRope(qk_dtype_t dtype, const qk_memref_2d_t *in,
                     const qk_memref_2d_t *out, const qk_memref_2d_t *table,
                     const qk_memref_1d_t *ropeRow, void *stream) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  clearError();
  Decoded dc;
  if (qk_status_t s = decode(dtype, in, out, table, dc))
    return s;
  qk_ciface_rope_t w;
  if (qk_status_t s = readRopeRow(ropeRow, w))
    return s;
  // Words of the 32-bit fields, and the enums the views' element sizes
  // depend on (same wording as qk_fused_rms_norm_rope's checks); the
  // members from the views are filled below.
  qk_rope_t rope;
  if (qk_status_t s = decodeRowWords(w, rope))
    return s;
  const int64_t tes = dtypeSize(w.table_dtype);
  const char *cos = nullptr, *sin = nullptr;
  if (qk_status_t s = tableView("cos", w.cos_aligned, w.cos_offset, w.cos_rows,
                                w.cos_columns, w.cos_row_stride,
                                w.cos_column_stride, tes, cos))
    return s;
  if (qk_status_t s = tableView("sin", w.sin_aligned, w.sin_offset, w.sin_rows,
                                w.sin_columns, w.sin_row_stride,
                                w.sin_column_stride, tes, sin))
    return s;
  if (w.cos_rows != w.sin_rows || w.cos_columns != w.sin_columns)
    return fail(bad,
                "rope cos is [%lld, %lld] but sin is [%lld, %lld] (both "
                "tables need the same shape)",
                (long long)w.cos_rows, (long long)w.cos_columns,
                (long long)w.sin_rows, (long long)w.sin_columns);
  const char *positions = nullptr;
  if (w.positions_aligned) {
    if (qk_status_t s =
            viewStart("rope positions", w.positions_aligned, w.positions_offset,
                      indexSize(w.positions_dtype), positions))
      return s;
    if (w.positions_size != in->sizes[0])
      return fail(bad, "rope positions has %lld elements, in has %lld tokens",
                  (long long)w.positions_size, (long long)in->sizes[0]);
    if (w.positions_size > 1 && w.positions_stride != 1)
      return fail(bad, "rope positions stride is %lld, expected 1",
                  (long long)w.positions_stride);
    uintptr_t end;
    if (!checkedAddress(positions, w.positions_size,
                        indexSize(w.positions_dtype), end))
      return fail(bad,
                  "rope positions of %lld elements wrap around the address "
                  "space",
                  (long long)w.positions_size);
  }
  rope.cos = cos;
  rope.sin = sin;
  rope.table_rows = w.cos_rows;
  rope.table_columns = w.cos_columns;
  rope.positions = positions;
  return qk_fused_rms_norm_rope(dtype, dc.in, in->strides[0],
                                const_cast<char *>(dc.out), out->strides[0],
                                in->sizes[0], dc.ranges, dc.numRanges, &rope,
                                uint32_t(w.rotated_ranges), stream);
}

} // namespace
} // namespace qk::runtime

// One entry point per activation dtype of Codes.def.
#define QK_DTYPE(NAME, CODE, CNAME, ...)                                       \
  extern "C" QK_RUNTIME_EXPORT int32_t _mlir_ciface_qk_fused_rms_norm_##CNAME( \
      const qk_memref_2d_t *in, const qk_memref_2d_t *out,                     \
      const qk_memref_2d_t *ranges, void *stream) {                            \
    return qk::runtime::call(QK_DTYPE_##NAME, in, out, ranges, stream);        \
  }
#include "qk/Runtime/Codes.def"

// ABI version 3: norm + RoPE, one entry point per activation dtype.
#define QK_DTYPE(NAME, CODE, CNAME, ...)                                       \
  extern "C" QK_RUNTIME_EXPORT int32_t                                         \
      _mlir_ciface_qk_fused_rms_norm_rope_##CNAME(                             \
          const qk_memref_2d_t *in, const qk_memref_2d_t *out,                 \
          const qk_memref_2d_t *ranges, const qk_memref_1d_t *rope,            \
          void *stream) {                                                      \
    return qk::runtime::callRope(QK_DTYPE_##NAME, in, out, ranges, rope,       \
                                 stream);                                      \
  }
#include "qk/Runtime/Codes.def"

extern "C" QK_RUNTIME_EXPORT void qk_report_error(int32_t status,
                                                  const char *site) {
  std::fprintf(stderr, "%s%sqk runtime (%s): %s: %s\n", site ? site : "",
               site ? ": " : "", qk_runtime_name(),
               qk::runtime::statusName(status), qk_last_error_message());
  std::fflush(stderr);
}
