//===- MemRefABITest.cpp - Entry points of compiled MLIR, on the host -----===//
//
// The `_mlir_ciface_qk_fused_rms_norm_*` wrappers (runtime/common/
// MemRefABI.cpp) as compiled code calls them (ABI version 2): descriptors
// with offsets and strides, and the ranges as a table of qk_ciface_range_t
// rows behind a memref<?x12xi64> descriptor. Checks that (1) a valid call
// equals the plain qk_fused_rms_norm call it stands for, bit for bit, with
// the descriptor offsets applied, and (2) every descriptor and table the
// ABI forbids is rejected with INVALID_ARGUMENT, a message naming the
// problem, and the buffer, with guard regions around it, bitwise
// untouched. Each rejected call runs in a child process, so a
// call that writes out of bounds and crashes fails its own check only.
// Usage: qk-runtime-memref-abi-test   (exit 0 iff every check passes)
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

int failures = 0;

bool check(bool ok, const std::string &what) {
  std::printf("%s %s\n", ok ? "PASS" : "FAIL", what.c_str());
  failures += !ok;
  return ok;
}

// A [T, 64] f32 buffer with 8 padding columns per row (row stride 72) and
// 5 leading elements before the view (descriptor offset 5), inside guard
// regions (qktest::GuardedBuffer).
constexpr int64_t kTokens = 3, kCols = 64, kStride = 72, kOffset = 5;
constexpr int64_t kElems = kOffset + kTokens * kStride;

struct Buffer : qktest::GuardedBuffer {
  Buffer() : GuardedBuffer(kElems * sizeof(float)) {
    for (int64_t i = 0; i < kElems; ++i) {
      float v = 0.25f + float((i * 37) % 101) / 50.0f * ((i % 3) ? 1.f : -1.f);
      std::memcpy(payload() + i * sizeof(float), &v, sizeof v);
    }
    seal();
  }
  float *data() { return reinterpret_cast<float *>(payload()); }
};

qk_memref_2d_t view(Buffer &b) {
  return qk_memref_2d_t{
      b.data(), b.data(), kOffset, {kTokens, kCols}, {kStride, 1}};
}

// The bits of an f32 as a range-table word.
int64_t wordOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return int64_t(u);
}

// A table row: `groups` groups of `size` at column `col`, `stride` apart,
// eps 1e-6, no weight offset, rounding once, and the rank-1 weight view
// (weight, 0, weightSize, 1) of f32 elements (weightSize 0: no weight).
qk_ciface_range_t row(int64_t col, int64_t groups, int64_t size, int64_t stride,
                      const float *weight, int64_t weightSize) {
  return qk_ciface_range_t{col,
                           groups,
                           size,
                           stride,
                           wordOf(1e-6f),
                           wordOf(0.f),
                           QK_ROUNDING_ONCE,
                           QK_DTYPE_F32,
                           weight,
                           0,
                           weightSize,
                           1};
}

// Makes a row weight-less in the way the lowering does: a zero-size view
// of the activation dtype.
void dropWeight(qk_ciface_range_t &r, qk_dtype_t act) {
  r.weight_aligned = nullptr;
  r.weight_memref_offset = 0;
  r.weight_size = 0;
  r.weight_stride = 1;
  r.weight_dtype = act;
}

// q: 2 groups of 16 at column 0 with a weight; k: 1 group of 16 at 32.
// `table` describes `rows` (invoke() points it there unless nullRows) and
// may be mutated like any other descriptor.
struct Call {
  qk_memref_2d_t in, out;
  qk_ciface_range_t rows[2];
  qk_memref_2d_t table = {nullptr,
                          nullptr,
                          0,
                          {2, QK_CIFACE_RANGE_WORDS},
                          {QK_CIFACE_RANGE_WORDS, 1}};
  bool nullTable = false; // pass a NULL ranges descriptor
  bool nullRows = false;  // leave table.aligned as it is (NULL: no rows)
  bool bf16 = false;      // the bf16 entry point on the same bytes
};

int32_t invoke(const Call &c) {
  auto *entry = c.bf16 ? _mlir_ciface_qk_fused_rms_norm_bf16
                       : _mlir_ciface_qk_fused_rms_norm_f32;
  qk_memref_2d_t table = c.table;
  if (!c.nullRows && !table.aligned)
    table.allocated = table.aligned = const_cast<qk_ciface_range_t *>(c.rows);
  return entry(&c.in, &c.out, c.nullTable ? nullptr : &table, nullptr);
}

// An address near the top of the address space, aligned for any element:
// no object lives there, so a pointer computed from it that wrapped around
// to a low address would be dereferenced by an unchecked runtime.
void *nearTop(uintptr_t below) {
  return reinterpret_cast<void *>(~uintptr_t(0) - below + 1);
}

constexpr int64_t kI64Max = INT64_MAX;
constexpr int64_t k2Pow(int n) { return int64_t(1) << n; }

} // namespace

int main() {
  // The weight lives in a guarded buffer too: reading before or after it
  // reads poison (a NaN pattern), never another object.
  qktest::GuardedBuffer weightBuf(16 * sizeof(float));
  float *weight = reinterpret_cast<float *>(weightBuf.payload());
  for (int i = 0; i < 16; ++i)
    weight[i] = 0.5f + 0.0625f * float(i);
  weightBuf.seal();
  auto makeCall = [&](Buffer &buf) {
    return Call{
        view(buf),
        view(buf),
        {row(0, 2, 16, 16, weight, 16), row(32, 1, 16, 16, nullptr, 0)}};
  };

  // (1) The wrapper is qk_fused_rms_norm on (aligned + offset, strides[0]).
  {
    Buffer a, b;
    Call c = makeCall(a);
    int32_t s = invoke(c);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE}};
    int32_t t = qk_fused_rms_norm(QK_DTYPE_F32, b.data() + kOffset, kStride,
                                  b.data() + kOffset, kStride, kTokens, ranges,
                                  2, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK && a.bytes == b.bytes,
          "descriptor call equals the plain call (offset 5, row stride 72)");
    check(!a.untouched(), "the call wrote the ranges");
  }
  // ... with the table's and the weight's descriptor offsets applied, and
  // every field taken from its row (rounding, weight offset, epsilon).
  {
    Buffer a, b;
    Call c = makeCall(a);
    c.rows[0].weight_aligned = weight - 3;
    c.rows[0].weight_memref_offset = 3;
    c.rows[0].rounding = QK_ROUNDING_BEFORE_WEIGHT;
    c.rows[1].weight_offset = wordOf(1.0f);
    c.rows[1].epsilon = wordOf(1e-3f);
    qk_ciface_range_t padded[3] = {row(0, 1, 1, 1, nullptr, 0), c.rows[0],
                                   c.rows[1]};
    c.table.aligned = padded;
    c.table.offset = QK_CIFACE_RANGE_WORDS; // skips padded[0]
    int32_t s = invoke(c);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight, QK_DTYPE_F32, 1e-6f, 0.f,
         QK_ROUNDING_BEFORE_WEIGHT},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-3f, 1.f, QK_ROUNDING_ONCE}};
    int32_t t = qk_fused_rms_norm(QK_DTYPE_F32, b.data() + kOffset, kStride,
                                  b.data() + kOffset, kStride, kTokens, ranges,
                                  2, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK && a.bytes == b.bytes,
          "descriptor call equals the plain call (table offset one row, "
          "weight offset 3, per-row fields)");
  }

  // (2) Rejected descriptors: status, message, nothing written. The second
  // group lists what an unchecked or wrapping computation let through.
  struct Bad {
    const char *name, *message;
    void (*mutate)(Call &);
  };
  const Bad bad[] = {
      {"column stride 2", "in column stride is 2, expected 1",
       [](Call &c) { c.in.strides[1] = c.out.strides[1] = 2; }},
      {"token counts differ", "in has 3 tokens but out has 2",
       [](Call &c) { c.out.sizes[0] = 2; }},
      {"range beyond the view's columns",
       "range 1: columns [60, 76) exceed the 64 columns",
       [](Call &c) { c.rows[1].column_offset = 60; }},
      {"weight size differs from the group",
       "range 0: weight has 8 elements, group_size is 16",
       [](Call &c) { c.rows[0].weight_size = 8; }},
      {"weight stride 2", "range 0: weight stride is 2, expected 1",
       [](Call &c) { c.rows[0].weight_stride = 2; }},
      {"null weight with a size", "range 0: weight is NULL",
       [](Call &c) { c.rows[0].weight_aligned = nullptr; }},
      {"negative offset", "in offset -1 is negative",
       [](Call &c) { c.in.offset = -1; }},
      {"zero groups (checked by qk_fused_rms_norm)",
       "range 0: num_groups must be >= 1",
       [](Call &c) { c.rows[0].num_groups = 0; }},

      // The column check must not be skipped for large strides or counts.
      {"T=1, one group past the columns, group_stride 2^41",
       "range 1: columns [56, 72) exceed the 64 columns",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.rows[1].column_offset = 56;
         c.rows[1].group_stride = k2Pow(41);
       }},
      {"T=1, two groups 2^41 columns apart",
       "range 1: columns [32, 2199023255600) exceed the 64 columns",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.rows[1].num_groups = 2;
         c.rows[1].group_stride = k2Pow(41);
       }},
      {"2^32 + 1 groups of one column",
       "range 1: columns [32, 4294967329) exceed the 64 columns",
       [](Call &c) {
         c.rows[1].num_groups = k2Pow(32) + 1;
         c.rows[1].group_size = c.rows[1].group_stride = 1;
       }},
      {"(num_groups - 1) * group_stride overflows",
       "range 1: column extent overflows int64",
       [](Call &c) {
         c.rows[1].num_groups = 3;
         c.rows[1].group_stride = k2Pow(62);
       }},

      // Descriptor offsets: the byte offset and the address are checked.
      {"offset 2^63-1 (bytes wrap to one element before aligned)",
       "in offset 9223372036854775807 overflows the address space",
       [](Call &c) { c.in.offset = c.out.offset = kI64Max; }},
      {"offset 2^62 (f32 bytes wrap to aligned itself)",
       "in offset 4611686018427387904 overflows the address space",
       [](Call &c) { c.in.offset = c.out.offset = k2Pow(62); }},
      {"offset 2^62, bf16 (bytes wrap to aligned - 2^63)",
       "in offset 4611686018427387904 overflows the address space",
       [](Call &c) {
         c.bf16 = true;
         dropWeight(c.rows[0], QK_DTYPE_BF16); // the f32 weight is
         dropWeight(c.rows[1], QK_DTYPE_BF16); // fine, but keep it plain
         c.in.offset = c.out.offset = k2Pow(62);
       }},
      {"out offset alone overflows",
       "out offset 9223372036854775807 overflows the address space",
       [](Call &c) { c.out.offset = kI64Max; }},
      {"aligned + offset wraps around the address space",
       "in offset 32 overflows the address space",
       [](Call &c) {
         c.in.aligned = c.out.aligned = nearTop(64);
         c.in.offset = c.out.offset = 32; // 128 bytes: wraps to 0x40
       }},
      {"T=0 with an overflowing offset",
       "in offset 9223372036854775807 overflows the address space",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 0;
         c.in.offset = c.out.offset = kI64Max;
       }},
      {"a view of 2^61 f32 columns (its bytes overflow)",
       "in view [1, 2305843009213693952] (token stride 72, offset 5) "
       "overflows the address space",
       [](Call &c) {
         c.in.sizes[0] = c.out.sizes[0] = 1;
         c.in.sizes[1] = c.out.sizes[1] = k2Pow(61);
       }},

      // Weight descriptors: NULL, negative and overflowing offsets.
      // ABI 1 passed a descriptor per weight ("range 0: weight descriptor
      // is NULL"); ABI 2 writes the weight's view into its row, and the
      // one descriptor left that could be NULL is the table's.
      {"NULL ranges descriptor", "ranges descriptor is NULL",
       [](Call &c) { c.nullTable = true; }},
      {"weight offset -1 (reads before the weight)",
       "range 0: weight offset -1 is negative",
       [](Call &c) { c.rows[0].weight_memref_offset = -1; }},
      {"weight offset -1 on a zero-size (no weight) view",
       "range 1: weight offset -1 is negative",
       [](Call &c) { c.rows[1].weight_memref_offset = -1; }},
      {"weight size -1", "range 0: weight size -1 is negative",
       [](Call &c) { c.rows[0].weight_size = -1; }},
      {"weight offset 2^62 (bytes wrap to aligned)",
       "range 0: weight offset 4611686018427387904 overflows the address space",
       [](Call &c) { c.rows[0].weight_memref_offset = k2Pow(62); }},
      {"weight offset 2^63-1 (bytes wrap to one element before aligned)",
       "range 0: weight offset 9223372036854775807 overflows the address "
       "space",
       [](Call &c) { c.rows[0].weight_memref_offset = kI64Max; }},
      {"weight aligned + offset wraps around the address space",
       "range 0: weight offset 32 overflows the address space",
       [](Call &c) {
         c.rows[0].weight_aligned = nearTop(64);
         c.rows[0].weight_memref_offset = 32; // 128 bytes: wraps to 0x40
       }},
      {"weight's 16 elements wrap around the address space",
       "range 0: weight 0xfffffffffffffff0 + 16 elements wraps around",
       [](Call &c) { c.rows[0].weight_aligned = nearTop(16); }},

      // The range table: its shape, offset and address, and the words that
      // become the 32-bit fields of qk_norm_range_t (a truncation must not
      // turn a bad word into a valid field).
      {"a table of 11 columns",
       "ranges table has 11 columns, expected 12 (the words of "
       "qk_ciface_range_t)",
       [](Call &c) { c.table.sizes[1] = 11; }},
      {"a table of 0 rows", "num_ranges is 0, expected 1..4",
       [](Call &c) { c.table.sizes[0] = 0; }},
      {"a table of 5 rows", "num_ranges is 5, expected 1..4",
       [](Call &c) { c.table.sizes[0] = 5; }},
      {"a table of -1 rows", "num_ranges is -1, expected 1..4",
       [](Call &c) { c.table.sizes[0] = -1; }},
      {"table rows 13 words apart",
       "ranges table strides are [13, 1], expected [12, 1] (packed rows)",
       [](Call &c) { c.table.strides[0] = 13; }},
      {"table column stride 2",
       "ranges table strides are [12, 2], expected [12, 1] (packed rows)",
       [](Call &c) { c.table.strides[1] = 2; }},
      {"table offset -1", "ranges offset -1 is negative",
       [](Call &c) { c.table.offset = -1; }},
      {"table offset 2^61 (bytes wrap to aligned)",
       "ranges offset 2305843009213693952 overflows the address space",
       [](Call &c) { c.table.offset = k2Pow(61); }},
      {"table data NULL", "ranges table is NULL",
       [](Call &c) { c.nullRows = true; }},
      {"table rows wrap around the address space",
       "ranges table of 2 rows wraps around the address space",
       [](Call &c) { c.table.aligned = nearTop(64); }},
      {"epsilon word with bits above 32",
       "range 0: epsilon word 0x1358637bd is not an f32 bit pattern",
       [](Call &c) { c.rows[0].epsilon |= k2Pow(32); }},
      {"weight_offset word with bits above 32",
       "range 1: weight_offset word 0xffffffff00000000 is not an f32 bit "
       "pattern",
       [](Call &c) { c.rows[1].weight_offset = -k2Pow(32); }},
      {"rounding 2^32 + 1 (1 if truncated)",
       "range 1: rounding 4294967297 is not a qk_rounding_t value",
       [](Call &c) { c.rows[1].rounding = k2Pow(32) + 1; }},
      {"rounding 2", "range 0: rounding 2 is not a qk_rounding_t value",
       [](Call &c) { c.rows[0].rounding = 2; }},
      {"weight_dtype 2^32 (f32 if truncated)",
       "range 0: weight_dtype 4294967296 is not a qk_dtype_t value",
       [](Call &c) { c.rows[0].weight_dtype = k2Pow(32); }},
      {"weight_dtype -1", "range 1: weight_dtype -1 is not a qk_dtype_t value",
       [](Call &c) { c.rows[1].weight_dtype = -1; }},
  };
  for (const Bad &b : bad) {
    std::string what = std::string("rejects ") + b.name;
    failures += !qktest::runIsolated(what, [&] {
      Buffer buf;
      Call c = makeCall(buf);
      b.mutate(c);
      int32_t s = invoke(c);
      std::string msg = qk_last_error_message();
      bool ok = s == QK_STATUS_INVALID_ARGUMENT &&
                msg.find(b.message) != std::string::npos && buf.untouched() &&
                weightBuf.untouched();
      std::printf("%s %s -> status %d, \"%s\"%s\n", ok ? "PASS" : "FAIL",
                  what.c_str(), int(s), msg.c_str(),
                  buf.untouched() ? "" : " [BUFFER CHANGED]");
      return ok;
    });
  }
  {
    Buffer buf;
    Call c = makeCall(buf);
    qk_memref_2d_t table = c.table;
    table.allocated = table.aligned = c.rows;
    check(
        _mlir_ciface_qk_fused_rms_norm_f32(nullptr, nullptr, &table, nullptr) ==
                QK_STATUS_INVALID_ARGUMENT &&
            std::string(qk_last_error_message()) == "in descriptor is NULL",
        "rejects a NULL descriptor");
  }
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
