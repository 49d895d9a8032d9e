//===- RangeOverlap.h - Exact overlap test of strided ranges ----*- C++ -*-===//
//
// Header-only and dependency-free, so that the runtime's argument checks
// (runtime/common/Validate.cpp) and the compiler's verifier of
// qk.fused_qk_norm (lib/Dialect/QK/IR/QKOps.cpp) accept and reject exactly
// the same pairs of ranges. Not part of the C ABI (QKNormRuntime.h).
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_RANGEOVERLAP_H
#define QK_RUNTIME_RANGEOVERLAP_H

#include <cstdint>

namespace qk {

/// A range of a row: `numGroups` groups of `groupSize` columns, the first at
/// `columnOffset`, each `groupStride` columns after the previous one.
struct StridedRange {
  int64_t columnOffset;
  int64_t numGroups;
  int64_t groupSize;
  int64_t groupStride;
};

namespace detail {
/// floor(a / b) for b > 0 (C++ division truncates toward zero).
inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
} // namespace detail

/// Whether any group of `a` shares a column with any group of `b`. Ranges
/// may interleave (groupStride > groupSize), so comparing the hull of each
/// range would reject legal layouts (q heads between gate heads, q and k
/// heads of one KV group side by side): for every group of the range with
/// fewer groups, find the groups of the other that could intersect it.
///
/// Preconditions (the callers check them first): columnOffset >= 0,
/// numGroups >= 1, 1 <= groupSize <= groupStride, and the end
/// columnOffset + (numGroups - 1) * groupStride + groupSize fits in int64.
/// Then every group's begin and end fits, and
/// begin - l.groupSize - l.columnOffset >= -l.columnOffset - l.groupSize
/// >= -INT64_MAX, so plain arithmetic cannot overflow.
inline bool rangesOverlap(const StridedRange &a, const StridedRange &b) {
  const StridedRange &s = a.numGroups <= b.numGroups ? a : b;
  const StridedRange &l = a.numGroups <= b.numGroups ? b : a;
  for (int64_t i = 0; i < s.numGroups; ++i) {
    int64_t begin = s.columnOffset + i * s.groupStride;
    int64_t end = begin + s.groupSize;
    // Group j of `l` covers [l0 + j*t, l0 + j*t + size); it meets
    // [begin, end) iff begin - size < l0 + j*t < end.
    int64_t jLo = detail::floorDiv(begin - l.groupSize - l.columnOffset,
                                   l.groupStride) +
                  1;
    int64_t jHi = detail::floorDiv(end - 1 - l.columnOffset, l.groupStride);
    if (jLo < 0)
      jLo = 0;
    if (jHi > l.numGroups - 1)
      jHi = l.numGroups - 1;
    if (jLo <= jHi)
      return true;
  }
  return false;
}

} // namespace qk

#endif // QK_RUNTIME_RANGEOVERLAP_H
