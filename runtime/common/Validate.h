//===- Validate.h - Argument checks shared by every QK-norm runtime -------===//
//
// Both runtimes (host reference and CUDA) run exactly these checks before
// touching memory, so a call that one of them rejects is rejected by the
// other with the same status and message. The error message storage behind
// qk_last_error_message() lives here too.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_COMMON_VALIDATE_H
#define QK_RUNTIME_COMMON_VALIDATE_H

#include "qk/Runtime/QKNormRuntime.h"

#include <cstddef>
#include <cstdint>

namespace qk::runtime {

// Limits of this implementation (QK_STATUS_UNSUPPORTED above them). They
// keep every per-row index and the launch grid inside 32 bits; real models
// are orders of magnitude below them.
constexpr int64_t kMaxGroupSize = int64_t(1) << 24;
constexpr int64_t kMaxTotalGroups = int64_t(1) << 16;

// What the checks learned about a valid call; the launchers size their work
// from it instead of recomputing it.
struct CallInfo {
  int64_t elementSize = 0; // bytes per activation element
  int64_t rowExtent = 0;   // one past the last column any range touches
  int64_t totalGroups = 0; // sum of num_groups over the ranges
  int64_t maxGroupSize = 0;
  bool inPlace = false;
};

// Overflow-checked arithmetic for every size, extent, span and offset
// computed from caller data (here and in MemRefABI.cpp). Each returns true
// and stores the exact result in `r` if it fits, false otherwise (`r` is
// then unspecified).
bool checkedAdd(int64_t a, int64_t b, int64_t &r);
bool checkedMul(int64_t a, int64_t b, int64_t &r);
// One past the last column of a range:
// column_offset + (num_groups - 1) * group_stride + group_size.
bool checkedRangeEnd(int64_t columnOffset, int64_t numGroups, int64_t groupSize,
                     int64_t groupStride, int64_t &r);
// The address `elements` elements of `elementSize` bytes after `base`
// (elements >= 0), if neither the byte count nor the address overflows.
bool checkedAddress(const void *base, int64_t elements, int64_t elementSize,
                    uintptr_t &r);

// The tables of qk/Runtime/Codes.def. Each takes any integer, so that
// callers can ask before converting caller data to the enum.
// Size in bytes of one element of `dtype` (0 for an unknown value).
int64_t dtypeSize(int64_t dtype);
// Its short name ("f32", ...; "?" for an unknown value).
const char *dtypeName(int64_t dtype);
// Whether `v` is a qk_dtype_t / qk_rounding_t value.
bool isDtype(int64_t v);
bool isRounding(int64_t v);
// Whether `v` is a qk_rope_style_t / qk_rope_rounding_t value.
bool isRopeStyle(int64_t v);
bool isRopeRounding(int64_t v);
// Size in bytes of one qk_index_t element (0 for an unknown value), and its
// short name ("i32", ...; "?" for an unknown value).
int64_t indexSize(int64_t index);
bool isIndex(int64_t v);
const char *indexName(int64_t index);
// "ok", "invalid argument", ... ("unknown status" for an unknown value).
const char *statusName(int64_t status);

// Clears the thread's message; every entry point calls it first so that a
// successful call leaves "" behind.
void clearError();

// Records a printf-style message for qk_last_error_message() and returns
// `status`, so that checks read `return fail(...)`.
qk_status_t fail(qk_status_t status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// Runs every argument check of qk_fused_rms_norm. On success fills `info`
// and returns QK_STATUS_OK; otherwise records the message and returns the
// error status. Never dereferences `in`, `out` or the weights.
qk_status_t validateCall(qk_dtype_t dtype, const void *in,
                         int64_t inTokenStride, const void *out,
                         int64_t outTokenStride, int64_t numTokens,
                         const qk_norm_range_t *ranges, int32_t numRanges,
                         CallInfo &info);

// What the rope checks learned (validateRopeCall).
struct RopeInfo {
  bool active = false; // rope != NULL and rotated_ranges != 0
  int64_t tableElementSize = 0;
  int64_t tableColumnsRead = 0; // rotary_dim / 2 (per_pair) or rotary_dim
};

// Runs every check of qk_fused_rms_norm_rope: validateCall, then, unless
// rope == NULL or rotatedRanges == 0 (info.active false: the plain call),
// the rope's (docs/rope-abi.md). Never dereferences any pointer; the
// positions' values are the caller's to check (the host runtime reads
// them, the CUDA runtime cannot).
qk_status_t validateRopeCall(qk_dtype_t dtype, const void *in,
                             int64_t inTokenStride, const void *out,
                             int64_t outTokenStride, int64_t numTokens,
                             const qk_norm_range_t *ranges, int32_t numRanges,
                             const qk_rope_t *rope, uint32_t rotatedRanges,
                             CallInfo &info, RopeInfo &ropeInfo);

} // namespace qk::runtime

#endif // QK_RUNTIME_COMMON_VALIDATE_H
