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

// ABI version 3: the rope row (qk_ciface_rope_t, 27 words) of
// _mlir_ciface_qk_fused_rms_norm_rope_<act>. The rotation: heads of 16
// (every group is one head), rotary 8, NEOX, per_pair, a cos/sin table
// [10 rows, 12 columns] with 2 padding columns per row (row stride 14) in
// one f32 buffer, cos at column 0 and sin at column 4 of the same view;
// positions i32 {7, 0, 9} behind a descriptor offset of 2.
struct RopeFixture {
  qktest::GuardedBuffer tab{(3 + 10 * 14) * sizeof(float)};
  qktest::GuardedBuffer pos{5 * sizeof(int32_t)};
  RopeFixture() {
    float *t = reinterpret_cast<float *>(tab.payload());
    for (int i = 0; i < 3 + 10 * 14; ++i)
      t[i] = float(qktest::uniform(77, uint64_t(i)));
    int32_t p[5] = {-5, -5, 7, 0, 9};
    std::memcpy(pos.payload(), p, sizeof p);
    tab.seal();
    pos.seal();
  }
  const float *table() { return reinterpret_cast<float *>(tab.payload()); }
  qk_ciface_rope_t row() {
    qk_ciface_rope_t r = {};
    r.style = QK_ROPE_STYLE_NEOX;
    r.rounding = QK_ROPE_ROUNDING_ONCE;
    r.before_norm = 0;
    r.per_pair = 1;
    r.head_dim = 16;
    r.rotary_dim = 8;
    r.rotated_ranges = 3;
    r.table_dtype = QK_DTYPE_F32;
    r.cos_aligned = table();
    r.cos_offset = 3; // the view starts 3 elements in
    r.cos_rows = r.sin_rows = 10;
    r.cos_columns = r.sin_columns = 12;
    r.cos_row_stride = r.sin_row_stride = 14;
    r.cos_column_stride = r.sin_column_stride = 1;
    r.sin_aligned = table();
    r.sin_offset = 3;
    r.cos_column = 0;
    r.sin_column = 4;
    r.positions_dtype = QK_INDEX_I32;
    r.positions_aligned = pos.payload();
    r.positions_offset = 2;
    r.positions_size = kTokens;
    r.positions_stride = 1;
    return r;
  }
  qk_rope_t plain() {
    qk_rope_t r = {};
    r.style = QK_ROPE_STYLE_NEOX;
    r.rounding = QK_ROPE_ROUNDING_ONCE;
    r.per_pair = 1;
    r.head_dim = 16;
    r.rotary_dim = 8;
    r.cos = r.sin = table() + 3;
    r.table_dtype = QK_DTYPE_F32;
    r.table_rows = 10;
    r.table_columns = 12;
    r.cos_row_stride = r.sin_row_stride = 14;
    r.sin_column = 4;
    r.positions = pos.payload() + 2 * sizeof(int32_t);
    r.positions_dtype = QK_INDEX_I32;
    return r;
  }
};

int32_t invokeRope(const Call &c, const qk_ciface_rope_t &row,
                   qk_memref_1d_t desc, bool nullDesc = false) {
  qk_memref_2d_t table = c.table;
  table.allocated = table.aligned = const_cast<qk_ciface_range_t *>(c.rows);
  if (!desc.aligned)
    desc.allocated = desc.aligned = const_cast<qk_ciface_rope_t *>(&row);
  return _mlir_ciface_qk_fused_rms_norm_rope_f32(
      &c.in, &c.out, &table, nullDesc ? nullptr : &desc, nullptr);
}

template <class MakeCall>
int ropeTests(const float *weight, qktest::GuardedBuffer &weightBuf,
              MakeCall makeCall) {
  int before = failures;
  RopeFixture fx;
  const qk_memref_1d_t desc0 = {
      nullptr, nullptr, 0, {QK_CIFACE_ROPE_WORDS}, {1}};
  // (1) The descriptor call equals the plain call.
  {
    Buffer a, b;
    Call c = makeCall(a);
    int32_t s = invokeRope(c, fx.row(), desc0);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE}};
    qk_rope_t rope = fx.plain();
    int32_t t = qk_fused_rms_norm_rope(QK_DTYPE_F32, b.data() + kOffset,
                                       kStride, b.data() + kOffset, kStride,
                                       kTokens, ranges, 2, &rope, 3, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK && a.bytes == b.bytes &&
              !a.untouched() && fx.tab.untouched() && fx.pos.untouched(),
          "rope: descriptor call equals the plain call (table offset 3, "
          "row stride 14, positions offset 2)");
    // ... and differs from the norm alone (the rotation happened).
    Buffer n;
    Call cn = makeCall(n);
    invoke(cn);
    check(n.bytes != a.bytes, "rope: the rotation changed the norm's output");
  }
  // The row behind a descriptor offset, without positions (row = token).
  {
    Buffer a, b;
    Call c = makeCall(a);
    qk_ciface_rope_t rows[2] = {fx.row(), fx.row()};
    rows[1].positions_aligned = nullptr;
    rows[1].positions_size = 0;
    rows[1].rotated_ranges = 2; // k only
    qk_memref_1d_t d = desc0;
    d.allocated = d.aligned = rows;
    d.offset = QK_CIFACE_ROPE_WORDS;
    int32_t s = invokeRope(c, rows[0], d);
    qk_norm_range_t ranges[2] = {
        {0, 2, 16, 16, weight, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE},
        {32, 1, 16, 16, nullptr, QK_DTYPE_F32, 1e-6f, 0.f, QK_ROUNDING_ONCE}};
    qk_rope_t rope = fx.plain();
    rope.positions = nullptr;
    int32_t t = qk_fused_rms_norm_rope(QK_DTYPE_F32, b.data() + kOffset,
                                       kStride, b.data() + kOffset, kStride,
                                       kTokens, ranges, 2, &rope, 2, nullptr);
    check(s == QK_STATUS_OK && t == QK_STATUS_OK && a.bytes == b.bytes,
          "rope: row offset one row, no positions, k only");
  }
  // (2) Every bad word and descriptor: rejected, named, nothing written.
  struct Bad {
    const char *name, *message;
    void (*mutate)(qk_ciface_rope_t &, qk_memref_1d_t &);
  };
  const Bad bad[] = {
      {"row of 26 words",
       "rope row has 26 words, expected 27 (the words of qk_ciface_rope_t)",
       [](qk_ciface_rope_t &, qk_memref_1d_t &d) { d.sizes[0] = 26; }},
      {"row stride 2", "rope row stride is 2, expected 1",
       [](qk_ciface_rope_t &, qk_memref_1d_t &d) { d.strides[0] = 2; }},
      {"row offset -1", "rope offset -1 is negative",
       [](qk_ciface_rope_t &, qk_memref_1d_t &d) { d.offset = -1; }},
      {"row wraps", "rope row wraps around the address space",
       [](qk_ciface_rope_t &, qk_memref_1d_t &d) {
         d.allocated = d.aligned = nearTop(64);
       }},
      {"style 2", "rope style 2 is not a qk_rope_style_t value",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.style = 2; }},
      {"style 2^32 (0 if truncated)",
       "rope style 4294967296 is not a qk_rope_style_t value",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.style = k2Pow(32); }},
      {"rounding -1", "rope rounding -1 is not a qk_rope_rounding_t value",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.rounding = -1; }},
      {"before_norm 2^32 (0 if truncated)",
       "rope before_norm is 4294967296, expected 0 or 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.before_norm = k2Pow(32);
       }},
      {"before_norm 2", "rope before_norm is 2, expected 0 or 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.before_norm = 2; }},
      {"per_pair 2^32 + 1", "rope per_pair is 4294967297, expected 0 or 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.per_pair = k2Pow(32) + 1;
       }},
      {"head_dim 12", "rope head_dim 12 does not divide group_size 16",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.head_dim = 12; }},
      {"rotary_dim 7", "rope rotary_dim 7 must be even",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.rotary_dim = 7; }},
      {"rotated_ranges 2^32 + 1 (1 if truncated)",
       "rope rotated_ranges word 0x100000001 does not fit 32 bits",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.rotated_ranges = k2Pow(32) + 1;
       }},
      {"rotated_ranges -1", "rope rotated_ranges word 0xffffffffffffffff",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.rotated_ranges = -1; }},
      {"rotated_ranges 4 (range 2 of 2)", "rotated_ranges 0x4 names a range",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.rotated_ranges = 4; }},
      {"table_dtype 3", "rope table_dtype 3 is not a qk_dtype_t value",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.table_dtype = 3; }},
      {"cos offset -1", "rope cos offset -1 is negative",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.cos_offset = -1; }},
      {"sin offset 2^62", "rope sin offset 4611686018427387904 overflows",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.sin_offset = k2Pow(62); }},
      {"cos rows -1", "rope cos sizes [-1, 12] are negative",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.cos_rows = -1; }},
      {"cos column stride 2", "rope cos column stride is 2, expected 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.cos_column_stride = 2; }},
      {"sin column stride 0", "rope sin column stride is 0, expected 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.sin_column_stride = 0; }},
      {"sin rows differ", "rope cos is [10, 12] but sin is [9, 12]",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.sin_rows = 9; }},
      {"sin columns differ", "rope cos is [10, 12] but sin is [10, 11]",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.sin_columns = 11; }},
      {"cos rows 0", "rope table_rows must be >= 1 (got 0)",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.cos_rows = r.sin_rows = 0;
       }},
      {"cos row stride 11", "rope cos_row_stride 11 is smaller than",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.cos_row_stride = 11; }},
      {"sin_column 9 (+4 > 12)",
       "rope sin_column 9 + 4 columns read exceeds table_columns 12",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.sin_column = 9; }},
      {"cos_column -2", "rope cos_column is negative (-2)",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.cos_column = -2; }},
      {"cos NULL", "rope cos is NULL",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.cos_aligned = nullptr;
         r.cos_offset = 0;
       }},
      {"cos table wraps", "rope cos table of 10 rows",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.cos_aligned = nearTop(64);
         r.cos_offset = 0;
       }},
      {"positions_dtype 2", "rope positions_dtype 2 is not a qk_index_t value",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.positions_dtype = 2; }},
      {"positions size 2", "rope positions has 2 elements, in has 3 tokens",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.positions_size = 2; }},
      {"positions stride 2", "rope positions stride is 2, expected 1",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.positions_stride = 2; }},
      {"positions offset -1", "rope positions offset -1 is negative",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) { r.positions_offset = -1; }},
      {"positions wrap", "rope positions of 3 elements wrap around",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.positions_aligned = nearTop(8);
         r.positions_offset = 0;
       }},
      {"position 7 of a 7-row table",
       "rope positions[0] = 7 is outside [0, table_rows = 7)",
       [](qk_ciface_rope_t &r, qk_memref_1d_t &) {
         r.cos_rows = r.sin_rows = 7; // positions {7, 0, 9}
       }},
      {"a table overlapping the written columns",
       "rope sin table overlaps elements that out's ranges write",
       [](qk_ciface_rope_t &, qk_memref_1d_t &) {}},
  };
  int k = 0;
  for (const Bad &b : bad) {
    const bool overlap = ++k == int(sizeof bad / sizeof bad[0]);
    std::string what = std::string("rope: rejects ") + b.name;
    failures += !qktest::runIsolated(what, [&] {
      Buffer buf;
      Call c = makeCall(buf);
      qk_ciface_rope_t row = fx.row();
      qk_memref_1d_t d = desc0;
      b.mutate(row, d);
      if (overlap) { // sin = the activation's k group of token 1
        row.sin_aligned = buf.data();
        row.sin_offset = kOffset + kStride + 32;
        row.sin_rows = row.cos_rows = 1;
        row.sin_columns = row.cos_columns = 4;
        row.sin_column = 0;
      }
      int32_t s = invokeRope(c, row, d);
      std::string msg = qk_last_error_message();
      bool same = buf.untouched() && weightBuf.untouched() &&
                  fx.tab.untouched() && fx.pos.untouched();
      std::string want = b.message;
      bool ok = s == QK_STATUS_INVALID_ARGUMENT &&
                msg.find(want) != std::string::npos && same;
      std::printf("%s %s -> status %d, \"%s\"%s\n", ok ? "PASS" : "FAIL",
                  what.c_str(), int(s), msg.c_str(),
                  same ? "" : " [BUFFER CHANGED]");
      return ok;
    });
  }
  {
    Buffer buf;
    Call c = makeCall(buf);
    check(invokeRope(c, fx.row(), desc0, true) == QK_STATUS_INVALID_ARGUMENT &&
              std::string(qk_last_error_message()) ==
                  "rope descriptor is NULL" &&
              buf.untouched(),
          "rope: rejects a NULL rope descriptor");
  }
  return failures - before;
}

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
  failures += ropeTests(weight, weightBuf, makeCall);
  std::printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
