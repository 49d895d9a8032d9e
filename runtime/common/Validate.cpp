//===- Validate.cpp - Argument checks shared by every QK-norm runtime -----===//

#include "Validate.h"

#include "qk/Runtime/RangeOverlap.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace qk::runtime {
namespace {

// One buffer per thread, as the header promises; a fixed array keeps the
// success path free of allocation (it only writes the first byte).
thread_local char lastError[512];

// The exact test shared with the compiler's verifier (qk/Runtime/
// RangeOverlap.h). Only called on ranges validateCall accepted, whose
// checked end fits in int64 (column_offset >= 0, 1 <= group_size <=
// group_stride): the preconditions of qk::rangesOverlap.
bool rangesOverlap(const qk_norm_range_t &a, const qk_norm_range_t &b) {
  return qk::rangesOverlap(
      {a.column_offset, a.num_groups, a.group_size, a.group_stride},
      {b.column_offset, b.num_groups, b.group_size, b.group_stride});
}

// The address one past the last element `base` addresses through
// numTokens >= 1 rows of `extent` elements `stride` apart:
// base + ((T-1)*stride + extent) * elementSize; false on any overflow.
bool spanEnd(const void *base, int64_t numTokens, int64_t stride,
             int64_t extent, int64_t elementSize, uintptr_t &end) {
  int64_t rows, elems;
  return checkedMul(numTokens - 1, stride, rows) &&
         checkedAdd(rows, extent, elems) &&
         checkedAddress(base, elems, elementSize, end);
}

} // namespace

bool checkedAdd(int64_t a, int64_t b, int64_t &r) {
  return !__builtin_add_overflow(a, b, &r);
}

bool checkedMul(int64_t a, int64_t b, int64_t &r) {
  return !__builtin_mul_overflow(a, b, &r);
}

bool checkedRangeEnd(int64_t columnOffset, int64_t numGroups, int64_t groupSize,
                     int64_t groupStride, int64_t &r) {
  int64_t last, begin;
  return checkedMul(numGroups - 1, groupStride, last) &&
         checkedAdd(columnOffset, last, begin) &&
         checkedAdd(begin, groupSize, r);
}

bool checkedAddress(const void *base, int64_t elements, int64_t elementSize,
                    uintptr_t &r) {
  int64_t bytes;
  return elements >= 0 && elementSize >= 0 &&
         checkedMul(elements, elementSize, bytes) &&
         !__builtin_add_overflow(reinterpret_cast<uintptr_t>(base),
                                 uintptr_t(bytes), &r);
}

int64_t dtypeSize(int64_t dtype) {
  switch (dtype) {
#define QK_DTYPE(NAME, CODE, CNAME, BYTES, ...)                                \
  case QK_DTYPE_##NAME:                                                        \
    return BYTES;
#include "qk/Runtime/Codes.def"
  }
  return 0;
}

const char *dtypeName(int64_t dtype) {
  switch (dtype) {
#define QK_DTYPE(NAME, CODE, CNAME, ...)                                       \
  case QK_DTYPE_##NAME:                                                        \
    return #CNAME;
#include "qk/Runtime/Codes.def"
  }
  return "?";
}

bool isDtype(int64_t v) { return dtypeSize(v) != 0; }

bool isIndex(int64_t v) { return indexSize(v) != 0; }

bool isRounding(int64_t v) {
  switch (v) {
#define QK_ROUNDING(NAME, ...)                                                 \
  case QK_ROUNDING_##NAME:                                                     \
    return true;
#include "qk/Runtime/Codes.def"
  }
  return false;
}

bool isRopeStyle(int64_t v) {
  switch (v) {
#define QK_ROPE_STYLE(NAME, ...)                                               \
  case QK_ROPE_STYLE_##NAME:                                                   \
    return true;
#include "qk/Runtime/Codes.def"
  }
  return false;
}

bool isRopeRounding(int64_t v) {
  switch (v) {
#define QK_ROPE_ROUNDING(NAME, ...)                                            \
  case QK_ROPE_ROUNDING_##NAME:                                                \
    return true;
#include "qk/Runtime/Codes.def"
  }
  return false;
}

int64_t indexSize(int64_t index) {
  switch (index) {
#define QK_INDEX(NAME, CODE, CNAME, BYTES, ...)                                \
  case QK_INDEX_##NAME:                                                        \
    return BYTES;
#include "qk/Runtime/Codes.def"
  }
  return 0;
}

const char *indexName(int64_t index) {
  switch (index) {
#define QK_INDEX(NAME, CODE, CNAME, ...)                                       \
  case QK_INDEX_##NAME:                                                        \
    return #CNAME;
#include "qk/Runtime/Codes.def"
  }
  return "?";
}

const char *statusName(int64_t status) {
  switch (status) {
#define QK_STATUS(NAME, CODE, DESCRIPTION)                                     \
  case QK_STATUS_##NAME:                                                       \
    return DESCRIPTION;
#include "qk/Runtime/Codes.def"
  }
  return "unknown status";
}

void clearError() { lastError[0] = '\0'; }

qk_status_t fail(qk_status_t status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::vsnprintf(lastError, sizeof(lastError), format, args);
  va_end(args);
  return status;
}

qk_status_t validateCall(qk_dtype_t dtype, const void *in,
                         int64_t inTokenStride, const void *out,
                         int64_t outTokenStride, int64_t numTokens,
                         const qk_norm_range_t *ranges, int32_t numRanges,
                         CallInfo &info) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  info = CallInfo();
  info.elementSize = dtypeSize(dtype);
  if (info.elementSize == 0)
    return fail(bad, "dtype %d is not a qk_dtype_t value", int(dtype));
  if (numTokens < 0)
    return fail(bad, "num_tokens is negative (%lld)", (long long)numTokens);
  if (numRanges < 1 || numRanges > QK_MAX_RANGES)
    return fail(bad, "num_ranges is %d, expected 1..%d", int(numRanges),
                QK_MAX_RANGES);
  if (!ranges)
    return fail(bad, "ranges is NULL");

  for (int32_t r = 0; r < numRanges; ++r) {
    const qk_norm_range_t &rg = ranges[r];
    if (rg.column_offset < 0)
      return fail(bad, "range %d: column_offset is negative (%lld)", r,
                  (long long)rg.column_offset);
    if (rg.num_groups < 1)
      return fail(bad, "range %d: num_groups must be >= 1 (got %lld)", r,
                  (long long)rg.num_groups);
    if (rg.group_size < 1)
      return fail(bad, "range %d: group_size must be >= 1 (got %lld)", r,
                  (long long)rg.group_size);
    if (rg.group_stride < rg.group_size)
      return fail(bad,
                  "range %d: group_stride %lld is smaller than group_size "
                  "%lld (groups would overlap)",
                  r, (long long)rg.group_stride, (long long)rg.group_size);
    if (!isDtype(rg.weight_dtype))
      return fail(bad, "range %d: weight_dtype %d is not a qk_dtype_t value", r,
                  int(rg.weight_dtype));
    if (rg.weight && rg.weight_dtype != dtype &&
        rg.weight_dtype != QK_DTYPE_F32)
      return fail(QK_STATUS_UNSUPPORTED,
                  "range %d: weight_dtype %s must be the activation dtype "
                  "(%s) or f32",
                  r, dtypeName(rg.weight_dtype), dtypeName(dtype));
    if (rg.weight && reinterpret_cast<uintptr_t>(rg.weight) %
                             uintptr_t(dtypeSize(rg.weight_dtype)) !=
                         0)
      return fail(bad, "range %d: weight %p is not aligned to its %s elements",
                  r, rg.weight, dtypeName(rg.weight_dtype));
    if (!std::isfinite(rg.epsilon) || rg.epsilon < 0.0f)
      return fail(bad, "range %d: epsilon %g must be finite and >= 0", r,
                  double(rg.epsilon));
    if (!std::isfinite(rg.weight_offset))
      return fail(bad, "range %d: weight_offset %g is not finite", r,
                  double(rg.weight_offset));
    if (!isRounding(rg.rounding))
      return fail(bad, "range %d: rounding %d is not a qk_rounding_t value", r,
                  int(rg.rounding));
    if (rg.group_size > kMaxGroupSize)
      return fail(QK_STATUS_UNSUPPORTED,
                  "range %d: group_size %lld exceeds this runtime's limit "
                  "%lld",
                  r, (long long)rg.group_size, (long long)kMaxGroupSize);
    int64_t end;
    if (!checkedRangeEnd(rg.column_offset, rg.num_groups, rg.group_size,
                         rg.group_stride, end))
      return fail(bad, "range %d: column extent overflows int64", r);
    // The weight's group_size elements must not wrap around the address
    // space (group_size is bounded, so only the address can overflow).
    uintptr_t weightEnd;
    if (rg.weight && !checkedAddress(rg.weight, rg.group_size,
                                     dtypeSize(rg.weight_dtype), weightEnd))
      return fail(bad,
                  "range %d: weight %p + %lld elements wraps around the "
                  "address space",
                  r, rg.weight, (long long)rg.group_size);
    if (end > info.rowExtent)
      info.rowExtent = end;
    if (rg.group_size > info.maxGroupSize)
      info.maxGroupSize = rg.group_size;
    // Checked one range at a time, so the sum stays far from wrapping.
    if (rg.num_groups <= kMaxTotalGroups)
      info.totalGroups += rg.num_groups;
    if (rg.num_groups > kMaxTotalGroups || info.totalGroups > kMaxTotalGroups)
      return fail(QK_STATUS_UNSUPPORTED,
                  "range %d: more than %lld groups per token is beyond this "
                  "runtime's limit",
                  r, (long long)kMaxTotalGroups);
  }

  // In place, two ranges sharing a column would race (read by one row
  // worker after another wrote it); out of place they would be written
  // twice. Either way the call is ill-formed.
  for (int32_t a = 0; a < numRanges; ++a)
    for (int32_t b = a + 1; b < numRanges; ++b)
      if (rangesOverlap(ranges[a], ranges[b]))
        return fail(bad, "ranges %d and %d share columns", a, b);

  if (numTokens == 0)
    return QK_STATUS_OK; // nothing is read or written: pointers may be NULL
  if (!in)
    return fail(bad, "in is NULL");
  if (!out)
    return fail(bad, "out is NULL");
  const uintptr_t es = uintptr_t(info.elementSize);
  if (reinterpret_cast<uintptr_t>(in) % es != 0)
    return fail(bad, "in %p is not aligned to its %s elements", in,
                dtypeName(dtype));
  if (reinterpret_cast<uintptr_t>(out) % es != 0)
    return fail(bad, "out %p is not aligned to its %s elements", out,
                dtypeName(dtype));
  if (inTokenStride < 0 || outTokenStride < 0)
    return fail(bad, "token strides must be >= 0 (in %lld, out %lld)",
                (long long)inTokenStride, (long long)outTokenStride);
  if (numTokens > 1 &&
      (inTokenStride < info.rowExtent || outTokenStride < info.rowExtent))
    return fail(bad,
                "token strides (in %lld, out %lld) are smaller than the "
                "%lld columns the ranges span: rows would overlap",
                (long long)inTokenStride, (long long)outTokenStride,
                (long long)info.rowExtent);

  uintptr_t inBegin = reinterpret_cast<uintptr_t>(in);
  uintptr_t outBegin = reinterpret_cast<uintptr_t>(out);
  uintptr_t inEnd, outEnd;
  if (!spanEnd(in, numTokens, inTokenStride, info.rowExtent, info.elementSize,
               inEnd) ||
      !spanEnd(out, numTokens, outTokenStride, info.rowExtent, info.elementSize,
               outEnd))
    return fail(bad, "the addressed span of %lld tokens overflows",
                (long long)numTokens);

  info.inPlace = in == out;
  if (info.inPlace) {
    if (numTokens > 1 && inTokenStride != outTokenStride)
      return fail(bad,
                  "in place (in == out) needs equal token strides (in %lld, "
                  "out %lld)",
                  (long long)inTokenStride, (long long)outTokenStride);
  } else if (inBegin < outEnd && outBegin < inEnd) {
    return fail(bad, "in and out overlap but are not the same pointer");
  }
  return QK_STATUS_OK;
}

namespace {

// Whether the bytes [begin, end) share an element with what a call writes:
// for every token t < numTokens and range r, the groups of r at out +
// t * outStride elements. Exact, like the ranges' own overlap test: a table
// may live in out's v columns or padding. Preconditions: validateCall
// accepted the call (the written span [out, outEnd) is addressable, T >= 1).
bool bytesOverlapWritten(uintptr_t begin, uintptr_t end, const void *out,
                         int64_t outStride, int64_t numTokens,
                         const qk_norm_range_t *ranges, int32_t numRanges,
                         const CallInfo &info) {
  const uintptr_t o = reinterpret_cast<uintptr_t>(out);
  uintptr_t outEnd;
  int64_t rows, elems;
  checkedMul(numTokens - 1, outStride, rows);
  checkedAdd(rows, info.rowExtent, elems);
  checkedAddress(out, elems, info.elementSize, outEnd);
  if (end <= o || begin >= outEnd)
    return false;
  // Both ends clipped into [out, outEnd), in out's elements: the element
  // holding the first byte, one past the element holding the last.
  const int64_t es = info.elementSize;
  const int64_t lo = int64_t(((begin < o ? o : begin) - o) / uint64_t(es));
  const int64_t hi = int64_t(
      ((end > outEnd ? outEnd : end) - o + uint64_t(es) - 1) / uint64_t(es));
  // Tokens whose hull [t*S, t*S + extent) meets [lo, hi). With T > 1 the
  // stride is at least the extent; a token strictly between two candidate
  // tokens lies wholly inside [lo, hi) and has written elements.
  const int64_t S = numTokens > 1 ? outStride : 0;
  int64_t tLo = 0, tHi = numTokens - 1;
  if (S > 0) {
    tLo = lo < info.rowExtent ? 0 : (lo - info.rowExtent) / S + 1;
    tHi = (hi - 1) / S;
    if (tHi > numTokens - 1)
      tHi = numTokens - 1;
  }
  if (tHi - tLo >= 2)
    return true;
  for (int64_t t = tLo; t <= tHi; ++t) {
    const int64_t base = t * S;
    const int64_t a = lo > base ? lo - base : 0;
    const int64_t b = hi - base < info.rowExtent ? hi - base : info.rowExtent;
    if (a >= b)
      continue;
    for (int32_t r = 0; r < numRanges; ++r)
      if (qk::rangesOverlap({a, 1, b - a, b - a},
                            {ranges[r].column_offset, ranges[r].num_groups,
                             ranges[r].group_size, ranges[r].group_stride}))
        return true;
  }
  return false;
}

// The bytes of a table view: rows x `needed` columns from `start`, rows
// `stride` elements apart ([begin, end)); false on overflow.
bool tableSpan(const void *start, int64_t rows, int64_t stride, int64_t columns,
               int64_t elementSize, uintptr_t &end) {
  int64_t last = 0, elems;
  return (rows == 1 || checkedMul(rows - 1, stride, last)) &&
         checkedAdd(last, columns, elems) &&
         checkedAddress(start, elems, elementSize, end);
}

} // namespace

qk_status_t validateRopeCall(qk_dtype_t dtype, const void *in,
                             int64_t inTokenStride, const void *out,
                             int64_t outTokenStride, int64_t numTokens,
                             const qk_norm_range_t *ranges, int32_t numRanges,
                             const qk_rope_t *rope, uint32_t rotatedRanges,
                             CallInfo &info, RopeInfo &ri) {
  const qk_status_t bad = QK_STATUS_INVALID_ARGUMENT;
  ri = RopeInfo();
  if (qk_status_t st =
          validateCall(dtype, in, inTokenStride, out, outTokenStride, numTokens,
                       ranges, numRanges, info))
    return st;
  if (!rope || rotatedRanges == 0)
    return QK_STATUS_OK;
  const qk_rope_t &q = *rope;
  if (numRanges < 32 && (rotatedRanges >> numRanges) != 0)
    return fail(bad,
                "rotated_ranges 0x%x names a range at or above num_ranges "
                "(%d)",
                unsigned(rotatedRanges), int(numRanges));
  if (!isRopeStyle(q.style))
    return fail(bad, "rope style %d is not a qk_rope_style_t value",
                int(q.style));
  if (!isRopeRounding(q.rounding))
    return fail(bad, "rope rounding %d is not a qk_rope_rounding_t value",
                int(q.rounding));
  if (!isDtype(q.table_dtype))
    return fail(bad, "rope table_dtype %d is not a qk_dtype_t value",
                int(q.table_dtype));
  if (q.table_dtype != dtype && q.table_dtype != QK_DTYPE_F32)
    return fail(QK_STATUS_UNSUPPORTED,
                "rope table_dtype %s must be the activation dtype (%s) or f32",
                dtypeName(q.table_dtype), dtypeName(dtype));
  if (!isIndex(q.positions_dtype))
    return fail(bad, "rope positions_dtype %d is not a qk_index_t value",
                int(q.positions_dtype));
  if (q.before_norm != 0 && q.before_norm != 1)
    return fail(bad, "rope before_norm is %d, expected 0 or 1",
                int(q.before_norm));
  if (q.per_pair != 0 && q.per_pair != 1)
    return fail(bad, "rope per_pair is %d, expected 0 or 1", int(q.per_pair));
  if (q.head_dim <= 0)
    return fail(bad, "rope head_dim must be > 0 (got %lld)",
                (long long)q.head_dim);
  for (int32_t r = 0; r < numRanges; ++r)
    if (((rotatedRanges >> r) & 1u) && ranges[r].group_size % q.head_dim != 0)
      return fail(bad,
                  "rope head_dim %lld does not divide group_size %lld of "
                  "rotated range %d",
                  (long long)q.head_dim, (long long)ranges[r].group_size, r);
  if (q.rotary_dim < 2 || q.rotary_dim > q.head_dim || q.rotary_dim % 2 != 0)
    return fail(bad,
                "rope rotary_dim %lld must be even and in [2, head_dim = "
                "%lld]",
                (long long)q.rotary_dim, (long long)q.head_dim);
  if (!q.cos)
    return fail(bad, "rope cos is NULL");
  if (!q.sin)
    return fail(bad, "rope sin is NULL");
  ri.tableElementSize = dtypeSize(q.table_dtype);
  const uintptr_t tes = uintptr_t(ri.tableElementSize);
  if (reinterpret_cast<uintptr_t>(q.cos) % tes != 0)
    return fail(bad, "rope cos %p is not aligned to its %s elements", q.cos,
                dtypeName(q.table_dtype));
  if (reinterpret_cast<uintptr_t>(q.sin) % tes != 0)
    return fail(bad, "rope sin %p is not aligned to its %s elements", q.sin,
                dtypeName(q.table_dtype));
  if (q.table_rows < 1)
    return fail(bad, "rope table_rows must be >= 1 (got %lld)",
                (long long)q.table_rows);
  // Without positions token t reads table row t (a fuzzer's mutant of a
  // per-token cos/sin pair found that nothing checked it).
  if (!q.positions && numTokens > q.table_rows)
    return fail(bad,
                "rope without positions reads table row t for token t: %lld "
                "tokens, %lld table rows",
                (long long)numTokens, (long long)q.table_rows);
  ri.tableColumnsRead = q.per_pair ? q.rotary_dim / 2 : q.rotary_dim;
  const struct {
    const char *name;
    const void *base;
    int64_t column, stride;
  } views[2] = {{"cos", q.cos, q.cos_column, q.cos_row_stride},
                {"sin", q.sin, q.sin_column, q.sin_row_stride}};
  uintptr_t begin[2], end[2];
  for (int k = 0; k < 2; ++k) {
    const auto &v = views[k];
    int64_t last;
    if (v.column < 0)
      return fail(bad, "rope %s_column is negative (%lld)", v.name,
                  (long long)v.column);
    if (!checkedAdd(v.column, ri.tableColumnsRead, last) ||
        last > q.table_columns)
      return fail(bad,
                  "rope %s_column %lld + %lld columns read exceeds "
                  "table_columns %lld",
                  v.name, (long long)v.column, (long long)ri.tableColumnsRead,
                  (long long)q.table_columns);
    if (q.table_rows > 1 && v.stride < q.table_columns)
      return fail(bad,
                  "rope %s_row_stride %lld is smaller than table_columns "
                  "%lld (rows would overlap)",
                  v.name, (long long)v.stride, (long long)q.table_columns);
    // The whole view must be addressable.
    if (!tableSpan(v.base, q.table_rows, v.stride, q.table_columns,
                   ri.tableElementSize, end[k]))
      return fail(bad,
                  "rope %s table of %lld rows (row stride %lld, %lld "
                  "columns) overflows the address space",
                  v.name, (long long)q.table_rows, (long long)v.stride,
                  (long long)q.table_columns);
    begin[k] = reinterpret_cast<uintptr_t>(v.base);
  }
  if (numTokens > 0)
    for (int k = 0; k < 2; ++k)
      if (bytesOverlapWritten(begin[k], end[k], out, outTokenStride, numTokens,
                              ranges, numRanges, info))
        return fail(bad,
                    "rope %s table overlaps elements that out's ranges "
                    "write",
                    views[k].name);
  ri.active = true;
  return QK_STATUS_OK;
}

} // namespace qk::runtime

extern "C" QK_RUNTIME_EXPORT const char *qk_last_error_message(void) {
  return qk::runtime::lastError;
}
