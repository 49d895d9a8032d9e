// The fused QK RMSNorm as a native torch op (qk.ops builds this file just in time with
// torch.utils.cpp_extension and loads it with torch.ops.load_library).
//
//   qk::fused_qk_rmsnorm_(Tensor(a!) q, Tensor(b!) k, Tensor? q_weight, Tensor? k_weight,
//                         float eps, float k_eps, float weight_offset, int rounding, int head_dim) -> ()
//   qk::fused_qk_rmsnorm(Tensor q, Tensor k, ...) -> (Tensor, Tensor)
//   qk::fused_qk_rmsnorm_rope_(Tensor(a!) q, Tensor(b!) k, Tensor positions, Tensor cos_sin_cache, <the
//                              above>, int style, int rotary_dim, int rope_rounding, bool rope_first) -> ()
//   qk::fused_qk_rmsnorm_rope(...) -> (Tensor, Tensor)   (norm + RoPE: qk_fused_rms_norm_rope, ABI 3)
//
// Same schemas, checks, error messages and call planning as the Python (ctypes) op in
// python/qk/ops.py (`_validate`, `_group_layout`, `_check_weight`, `plan_calls`), which stays
// as the fallback: keep the two in step. Kernels: CPU (libqk_runtime_host.so), CUDA
// (libqk_runtime_cuda.so on the current stream: capturable in CUDA graphs) and Meta (the checks
// alone, on symbolic shapes too, and the functional variant's result shapes: torch.compile).
//
// Nothing here links the runtime libraries, libtorch_cuda or c10_cuda, and no CUDA header is
// included: qk.ops finds the libraries (qk._discovery) and hands the addresses of their
// qk_fused_rms_norm / qk_last_error_message to qk::_set_runtime once; the current CUDA stream
// comes from torch's C shim aoti_torch_get_current_cuda_stream, looked up with dlsym at the
// first CUDA call; the device is set with c10's generic DeviceGuard.

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/GradMode.h>
#include <c10/core/SymNodeImpl.h>
#include <torch/library.h>

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

// qk_norm_range_t of include/qk/Runtime/QKNormRuntime.h (mirrored: this file is shipped alone
// with the Python package; qk.runtime.NormRange mirrors it for ctypes too).
struct NormRange {
  int64_t column_offset;
  int64_t num_groups;
  int64_t group_size;
  int64_t group_stride;
  const void *weight;
  int32_t weight_dtype;  // qk_dtype_t
  float epsilon;
  float weight_offset;
  int32_t rounding;  // qk_rounding_t
};
static_assert(sizeof(NormRange) == 56 && offsetof(NormRange, weight) == 32 &&
                  offsetof(NormRange, weight_dtype) == 40 && offsetof(NormRange, epsilon) == 44 &&
                  offsetof(NormRange, weight_offset) == 48 && offsetof(NormRange, rounding) == 52,
              "NormRange must match qk_norm_range_t");

// qk_rope_t (ABI version 3, docs/rope-abi.md; qk.runtime.Rope mirrors it for ctypes too).
struct Rope {
  int32_t style;     // qk_rope_style_t
  int32_t rounding;  // qk_rope_rounding_t
  int32_t before_norm;
  int32_t per_pair;
  int64_t head_dim;
  int64_t rotary_dim;
  const void *cos;
  const void *sin;
  int32_t table_dtype;  // qk_dtype_t
  int64_t table_rows;
  int64_t table_columns;
  int64_t cos_row_stride;
  int64_t sin_row_stride;
  int64_t cos_column;
  int64_t sin_column;
  const void *positions;
  int32_t positions_dtype;  // qk_index_t
};
static_assert(sizeof(Rope) == 120 && offsetof(Rope, head_dim) == 16 && offsetof(Rope, cos) == 32 &&
                  offsetof(Rope, table_dtype) == 48 && offsetof(Rope, table_rows) == 56 &&
                  offsetof(Rope, positions) == 104 && offsetof(Rope, positions_dtype) == 112,
              "Rope must match qk_rope_t");

using FusedRmsNormRopeFn = int32_t (*)(int32_t dtype, const void *in, int64_t in_token_stride, void *out,
                                       int64_t out_token_stride, int64_t num_tokens, const NormRange *ranges,
                                       int32_t num_ranges, const Rope *rope, uint32_t rotated_ranges, void *stream);
using FusedRmsNormFn = int32_t (*)(int32_t dtype, const void *in, int64_t in_token_stride, void *out,
                                   int64_t out_token_stride, int64_t num_tokens, const NormRange *ranges,
                                   int32_t num_ranges, void *stream);
using LastErrorFn = const char *(*)();
using GetCudaStreamFn = int32_t (*)(int32_t device_index, void **stream);

constexpr int32_t kDtypeF32 = 0, kDtypeF16 = 1, kDtypeBF16 = 2;
constexpr int kHost = 0, kCuda = 1;

// -- the runtime libraries, registered by qk.ops -------------------------------------------

struct Runtime {
  std::atomic<FusedRmsNormFn> fn{nullptr};
  std::atomic<LastErrorFn> last_error{nullptr};
  std::atomic<bool> reference{false};  // host only: run qk::_reference_fused_qk_rmsnorm_
  std::mutex mu;                       // guards the strings
  std::string name;                    // qk_runtime_name(), for messages
  std::string missing;                 // why there is none (discovery's message)
};
Runtime g_runtime[2];

// qk_fused_rms_norm_rope of the same libraries (ABI version 3), registered by qk.ops next to the
// above: null for a runtime built before it (host: the reference runs, when `reference`).
struct RopeRuntime {
  std::atomic<FusedRmsNormRopeFn> fn{nullptr};
  std::atomic<bool> reference{false};
};
RopeRuntime g_rope[2];

const char *kind_name(int kind) { return kind == kHost ? "host" : "cuda"; }

// Integers in messages are formatted here, never by an ostream of this library: on the H200
// machine (torch 2.11, its own libstdc++) inserting a `long` into a stream from code compiled
// into this extension crashed inside the num_put facet (a second libstdc++'s locale state),
// while strings were fine. A c10::SymInt is no exception: its operator<< (in libc10) inserts
// the integer into the stream this extension built, and crashed the same way (a Meta call with
// mismatched token counts), so a concrete SymInt is formatted as an int64_t and only a symbolic
// one goes through its node's own str().
std::string num(int64_t v) { return std::to_string(v); }
std::string num(const c10::SymInt &v) {
  if (std::optional<int64_t> i = v.maybe_as_int()) return num(*i);
  return v.toSymNode()->str();
}

void set_runtime(int64_t kind, int64_t fused_rms_norm, int64_t last_error_message, c10::string_view name,
                 c10::string_view missing, bool reference) {
  TORCH_CHECK_VALUE(kind == kHost || kind == kCuda, "qk::_set_runtime: kind must be 0 (host) or 1 (cuda)");
  Runtime &rt = g_runtime[kind];
  {
    std::lock_guard<std::mutex> lock(rt.mu);
    rt.name = std::string(name.data(), name.size());
    rt.missing = std::string(missing.data(), missing.size());
  }
  rt.last_error.store(reinterpret_cast<LastErrorFn>(static_cast<intptr_t>(last_error_message)));
  rt.reference.store(reference);
  rt.fn.store(reinterpret_cast<FusedRmsNormFn>(static_cast<intptr_t>(fused_rms_norm)));
}

void set_rope_runtime(int64_t kind, int64_t fused_rms_norm_rope, bool reference) {
  TORCH_CHECK_VALUE(kind == kHost || kind == kCuda, "qk::_set_rope_runtime: kind must be 0 (host) or 1 (cuda)");
  g_rope[kind].reference.store(reference);
  g_rope[kind].fn.store(reinterpret_cast<FusedRmsNormRopeFn>(static_cast<intptr_t>(fused_rms_norm_rope)));
}

[[noreturn]] void no_runtime(int kind) {
  Runtime &rt = g_runtime[kind];
  std::string missing;
  {
    std::lock_guard<std::mutex> lock(rt.mu);
    missing = rt.missing;
  }
  if (missing.empty())
    missing = std::string("libqk_runtime_") + kind_name(kind) + ".so was not registered (import qk.ops registers it)";
  TORCH_CHECK(false, "qk: no ", kind_name(kind), " runtime: ", missing);
}

[[noreturn]] void runtime_error(int kind, int32_t status) {
  // qk_last_error_message() is thread-local in the library: read right after the failing call
  LastErrorFn msg_fn = g_runtime[kind].last_error.load();
  const char *msg = msg_fn ? msg_fn() : nullptr;
  std::string name;
  {
    std::lock_guard<std::mutex> lock(g_runtime[kind].mu);
    name = g_runtime[kind].name;
  }
  static const char *const kStatus[] = {"ok", "invalid argument", "unsupported", "device error"};
  std::string status_name =
      status >= 0 && status < 4 ? std::string(kStatus[status]) : "status " + std::to_string(status);
  TORCH_CHECK(false, "qk runtime (", name, "): ", status_name, ": ", msg ? msg : "");
}

void *current_cuda_stream(int32_t device_index) {
  static GetCudaStreamFn get = []() -> GetCudaStreamFn {
    const char *sym = "aoti_torch_get_current_cuda_stream";
    void *p = dlsym(RTLD_DEFAULT, sym);
    if (!p) {
      // torch loads libtorch_cuda.so without RTLD_GLOBAL: ask the loaded copy by its name
      if (void *h = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD)) p = dlsym(h, sym);
    }
    return reinterpret_cast<GetCudaStreamFn>(p);
  }();
  TORCH_CHECK(get, "qk: torch's aoti_torch_get_current_cuda_stream was not found (is libtorch_cuda.so loaded?)");
  void *stream = nullptr;
  TORCH_CHECK(get(device_index, &stream) == 0, "qk: aoti_torch_get_current_cuda_stream(", num(device_index),
              ") failed");
  return stream;
}

// -- messages as Python prints them (the Python op's messages, word for word) ---------------

std::string py_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "torch.float32";
    case at::kDouble: return "torch.float64";
    case at::kHalf: return "torch.float16";
    case at::kBFloat16: return "torch.bfloat16";
    case at::kByte: return "torch.uint8";
    case at::kChar: return "torch.int8";
    case at::kShort: return "torch.int16";
    case at::kInt: return "torch.int32";
    case at::kLong: return "torch.int64";
    case at::kBool: return "torch.bool";
    case at::kComplexHalf: return "torch.complex32";
    case at::kComplexFloat: return "torch.complex64";
    case at::kComplexDouble: return "torch.complex128";
    default: {
      std::string s = c10::toString(t);
      for (char &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return "torch." + s;
    }
  }
}

template <class I>
std::string py_tuple(c10::ArrayRef<I> v) {
  std::string out = "(";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + c10::str(num(v[i]));
  out += v.size() == 1 ? ",)" : ")";
  return out;
}

// repr() of a Python float: the shortest digits that read back as x, exponent form when the
// decimal exponent is < -4 or >= 16, else fixed with at least one decimal.
std::string py_float(double x) {
  if (x != x) return "nan";
  if (x == std::numeric_limits<double>::infinity()) return "inf";
  if (x == -std::numeric_limits<double>::infinity()) return "-inf";
  char buf[64];
  for (int prec = 0; prec < 17; ++prec) {  // "%.{prec}e": prec + 1 significant digits
    std::snprintf(buf, sizeof(buf), "%.*e", prec, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s(buf);
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  int decpt = std::atoi(s.c_str() + e + 1) + 1;  // value = 0.digits * 10^decpt
  std::string out;
  if (decpt <= -4 || decpt > 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    int ex = decpt - 1;
    std::string es = std::to_string(ex < 0 ? -ex : ex);
    out += (ex < 0 ? "e-" : "e+") + std::string(es.size() < 2 ? "0" : "") + es;
  } else if (decpt <= 0) {
    out = "0." + std::string(-decpt, '0') + digits;
  } else if (decpt >= static_cast<int>(digits.size())) {
    out = digits + std::string(decpt - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, decpt) + "." + digits.substr(decpt);
  }
  return sign + out;
}

// -- checks (int64_t for the CPU/CUDA kernels, c10::SymInt for Meta under torch.compile) ------

template <class I> I dim_size(const at::Tensor &t, int64_t d);
template <class I> I dim_stride(const at::Tensor &t, int64_t d);
template <class I> c10::ArrayRef<I> all_sizes(const at::Tensor &t);
template <> int64_t dim_size<int64_t>(const at::Tensor &t, int64_t d) { return t.sizes()[d]; }
template <> int64_t dim_stride<int64_t>(const at::Tensor &t, int64_t d) { return t.strides()[d]; }
template <> c10::ArrayRef<int64_t> all_sizes<int64_t>(const at::Tensor &t) { return t.sizes(); }
template <> c10::SymInt dim_size<c10::SymInt>(const at::Tensor &t, int64_t d) { return t.sym_sizes()[d]; }
template <> c10::SymInt dim_stride<c10::SymInt>(const at::Tensor &t, int64_t d) { return t.sym_strides()[d]; }
template <> c10::ArrayRef<c10::SymInt> all_sizes<c10::SymInt>(const at::Tensor &t) { return t.sym_sizes(); }

template <class I>
struct Layout {  // of one token row, in elements
  I num_groups, group_size, group_stride;
};

// ops.py: _group_layout
template <class I>
Layout<I> group_layout(const at::Tensor &x, const char *name, int64_t head_dim) {
  if (x.dim() == 2) {
    I cols = dim_size<I>(x, 1);
    I g = head_dim ? I(head_dim) : cols;
    if (cols != 0) {
      I s = dim_stride<I>(x, 1);
      TORCH_CHECK_VALUE(s == 1, name, ": the column stride must be 1 (got ", num(s), ")");
    }
    TORCH_CHECK_VALUE(!(g <= 0 || cols % g != 0), name, ": ", num(cols), " columns are not a multiple of head_dim ", num(g));
    return {cols / g, g, g};
  }
  if (x.dim() == 3) {
    I h = dim_size<I>(x, 1), d = dim_size<I>(x, 2);
    if (d != 0) {
      I s = dim_stride<I>(x, 2);
      TORCH_CHECK_VALUE(s == 1, name, ": the innermost stride must be 1 (got ", num(s), ")");
    }
    I g = head_dim ? I(head_dim) : d;
    if (g == d) return {h, d, h > 1 ? dim_stride<I>(x, 1) : d};
    if (g == h * d && (h <= 1 || dim_stride<I>(x, 1) == d)) return {I(1), g, g};
    TORCH_CHECK_VALUE(false, name, ": head_dim ", num(g), " must be the last dimension (", num(d),
                      ") or the whole packed row (", num(I(h * d)), ")");
  }
  TORCH_CHECK_VALUE(false, name, ": expected [tokens, columns] or [tokens, heads, head_dim], got shape ",
                    py_tuple(all_sizes<I>(x)));
  return {I(0), I(0), I(0)};  // not reached
}

bool supported_dtype(at::ScalarType t) { return t == at::kFloat || t == at::kHalf || t == at::kBFloat16; }

// ops.py: _check_weight
template <class I>
void check_weight(const std::optional<at::Tensor> &w, const char *name, at::ScalarType dtype, at::Device device,
                  const I &group) {
  if (!w.has_value() || !w->defined()) return;
  TORCH_CHECK_VALUE(w->dim() == 1 && dim_size<I>(*w, 0) == group, name, ": expected shape [", num(group), "], got ",
                    py_tuple(all_sizes<I>(*w)));
  TORCH_CHECK_VALUE(w->scalar_type() == dtype || w->scalar_type() == at::kFloat, name, ": dtype ",
                    py_dtype(w->scalar_type()), " must be the activation dtype ", py_dtype(dtype), " or torch.float32");
  TORCH_CHECK_VALUE(w->device() == device, name, " is on ", w->device().str(), ", the activations on ", device.str());
  TORCH_CHECK_VALUE(!(dim_stride<I>(*w, 0) != 1 && dim_size<I>(*w, 0) > 1), name, " must be contiguous");
}

// ops.py: _validate
template <class I>
std::array<Layout<I>, 2> validate(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                                  const std::optional<at::Tensor> &k_weight, double eps, double k_eps,
                                  int64_t rounding, int64_t head_dim) {
  TORCH_CHECK_VALUE(supported_dtype(q.scalar_type()), "q: dtype ", py_dtype(q.scalar_type()),
                    " is not supported (float32, float16, bfloat16)");
  TORCH_CHECK_VALUE(supported_dtype(k.scalar_type()), "k: dtype ", py_dtype(k.scalar_type()),
                    " is not supported (float32, float16, bfloat16)");
  TORCH_CHECK_VALUE(q.scalar_type() == k.scalar_type(), "q and k must have the same dtype (",
                    py_dtype(q.scalar_type()), " vs ", py_dtype(k.scalar_type()), ")");
  TORCH_CHECK_VALUE(q.device() == k.device(), "q and k must be on the same device (", q.device().str(), " vs ",
                    k.device().str(), ")");
  TORCH_CHECK_VALUE(q.is_cpu() || q.is_cuda() || q.is_meta(), "device ", q.device().str(),
                    " is not supported (cpu, cuda)");
  if (q.dim() > 0 && k.dim() > 0) {  // else group_layout names the shape
    I tq = dim_size<I>(q, 0), tk = dim_size<I>(k, 0);
    TORCH_CHECK_VALUE(tq == tk, "q and k must have the same number of tokens (", num(tq), " vs ", num(tk), ")");
  }
  TORCH_CHECK_VALUE(rounding == 0 || rounding == 1, "rounding must be 'once' or 'before_weight'");
  TORCH_CHECK_VALUE(eps >= 0.0 && eps != std::numeric_limits<double>::infinity(),
                    "eps must be finite and >= 0 (got ", py_float(eps), ")");
  TORCH_CHECK_VALUE(k_eps >= 0.0 && k_eps != std::numeric_limits<double>::infinity(),
                    "k_eps must be finite and >= 0 (got ", py_float(k_eps), ")");
  Layout<I> qg = group_layout<I>(q, "q", head_dim);
  Layout<I> kg = group_layout<I>(k, "k", head_dim);
  check_weight<I>(q_weight, "q_weight", q.scalar_type(), q.device(), qg.group_size);
  check_weight<I>(k_weight, "k_weight", k.scalar_type(), k.device(), kg.group_size);
  return {qg, kg};
}

// -- planning (ops.py: plan_calls) -----------------------------------------------------------

int32_t qk_dtype(at::ScalarType t) {
  return t == at::kFloat ? kDtypeF32 : t == at::kHalf ? kDtypeF16 : kDtypeBF16;
}

struct Call {
  const at::Tensor *base;
  int64_t token_stride;
  int32_t num_ranges;
  NormRange ranges[2];
};

struct Plan {
  int num_calls;
  Call calls[2];
};

NormRange make_range(const at::Tensor &x, const Layout<int64_t> &layout, const std::optional<at::Tensor> &weight,
                     double eps, double weight_offset, int64_t rounding, int64_t column_offset) {
  NormRange r;
  r.column_offset = column_offset;
  r.num_groups = layout.num_groups;
  r.group_size = layout.group_size;
  r.group_stride = layout.group_stride;
  bool has_w = weight.has_value() && weight->defined();
  r.weight = has_w ? weight->data_ptr() : nullptr;
  r.weight_dtype = qk_dtype(has_w ? weight->scalar_type() : x.scalar_type());
  r.epsilon = static_cast<float>(eps);
  r.weight_offset = static_cast<float>(weight_offset);
  r.rounding = static_cast<int32_t>(rounding);
  return r;
}

// one call when q and k are views of one buffer with the same token stride (q|k of a fused
// qkv), else one call each
Plan plan_calls(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double weight_offset,
                int64_t rounding, int64_t head_dim) {
  auto g = validate<int64_t>(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim);
  Plan p;
  int64_t q_ts = q.strides()[0];
  // One token: the token stride addresses nothing, and torch gives a size-1 dimension any stride
  // (q.view(1, Hq, D) of a qkv row has stride Hq * D, k's Hkv * D), so it does not tell q and k apart.
  const bool one_row = q.sizes()[0] == 1;
  if (q.sizes()[0] > 0 && q.numel() && k.numel() && q.storage().data() == k.storage().data() &&
      (one_row || q_ts == k.strides()[0])) {
    const char *qp = static_cast<const char *>(q.data_ptr());
    const char *kp = static_cast<const char *>(k.data_ptr());
    const at::Tensor &base = qp <= kp ? q : k;
    const char *bp = qp <= kp ? qp : kp;
    int64_t es = static_cast<int64_t>(q.element_size());
    if (one_row) {  // any stride past both ranges' last element
      q_ts = std::max(q_ts, k.strides()[0]);
      for (auto [o, l] : {std::pair{(qp - bp) / es, g[0]}, std::pair{(kp - bp) / es, g[1]}})
        q_ts = std::max<int64_t>(q_ts, o + (l.num_groups - 1) * l.group_stride + l.group_size);
    }
    p.num_calls = 1;
    p.calls[0].base = &base;
    p.calls[0].token_stride = q_ts;
    p.calls[0].num_ranges = 2;
    p.calls[0].ranges[0] = make_range(q, g[0], q_weight, eps, weight_offset, rounding, (qp - bp) / es);
    p.calls[0].ranges[1] = make_range(k, g[1], k_weight, k_eps, weight_offset, rounding, (kp - bp) / es);
    return p;
  }
  p.num_calls = 2;
  p.calls[0].base = &q;
  p.calls[0].token_stride = q_ts;
  p.calls[0].num_ranges = 1;
  p.calls[0].ranges[0] = make_range(q, g[0], q_weight, eps, weight_offset, rounding, 0);
  p.calls[1].base = &k;
  p.calls[1].token_stride = k.strides()[0];
  p.calls[1].num_ranges = 1;
  p.calls[1].ranges[0] = make_range(k, g[1], k_weight, k_eps, weight_offset, rounding, 0);
  return p;
}

// -- kernels ---------------------------------------------------------------------------------

void run_reference(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                   const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double weight_offset,
                   int64_t rounding, int64_t head_dim) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("qk::_reference_fused_qk_rmsnorm_", "")
                       .typed<void(const at::Tensor &, const at::Tensor &, const std::optional<at::Tensor> &,
                                   const std::optional<at::Tensor> &, double, double, double, int64_t, int64_t)>();
  op.call(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
}

void run_inplace(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                 const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double weight_offset,
                 int64_t rounding, int64_t head_dim) {
  Plan p = plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
  int64_t tokens = q.sizes()[0];
  if (tokens == 0) return;
  int kind = q.is_cuda() ? kCuda : kHost;
  FusedRmsNormFn fn = g_runtime[kind].fn.load(std::memory_order_acquire);
  if (!fn) {
    if (kind == kHost && g_runtime[kHost].reference.load()) {
      run_reference(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
      return;
    }
    no_runtime(kind);
  }
  int32_t dtype = qk_dtype(q.scalar_type());
  if (kind == kCuda) {
    c10::DeviceGuard guard(q.device());
    void *stream = current_cuda_stream(q.device().index());
    for (int i = 0; i < p.num_calls; ++i) {
      const Call &c = p.calls[i];
      void *ptr = c.base->data_ptr();
      int32_t st = fn(dtype, ptr, c.token_stride, ptr, c.token_stride, tokens, c.ranges, c.num_ranges, stream);
      if (st != 0) runtime_error(kind, st);
    }
    return;
  }
  for (int i = 0; i < p.num_calls; ++i) {
    const Call &c = p.calls[i];
    void *ptr = c.base->data_ptr();
    int32_t st = fn(dtype, ptr, c.token_stride, ptr, c.token_stride, tokens, c.ranges, c.num_ranges, nullptr);
    if (st != 0) runtime_error(kind, st);
  }
}

void inplace_kernel(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                    const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double weight_offset,
                    int64_t rounding, int64_t head_dim) {
  run_inplace(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
}

// Autograd key of the in-place op: no formula, like the Python op (q and k must not require
// grad; weights may: nothing is recorded). Explicit rather than torch's autograd fallback,
// which costs more per eager call; bumps the version counters of q and k as in-place ops do.
void inplace_autograd(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                      const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double weight_offset,
                      int64_t rounding, int64_t head_dim) {
  TORCH_CHECK(!(c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad())),
              "qk::fused_qk_rmsnorm_ has no autograd formula: q and k must not require grad");
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("qk::fused_qk_rmsnorm_", "")
                       .typed<void(const at::Tensor &, const at::Tensor &, const std::optional<at::Tensor> &,
                                   const std::optional<at::Tensor> &, double, double, double, int64_t, int64_t)>();
  {
    c10::impl::ExcludeDispatchKeyGuard guard(c10::autograd_dispatch_keyset_with_ADInplaceOrView);
    op.call(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
  }
  q.unsafeGetTensorImpl()->bump_version();
  k.unsafeGetTensorImpl()->bump_version();
}

std::tuple<at::Tensor, at::Tensor> functional_kernel(const at::Tensor &q, const at::Tensor &k,
                                                     const std::optional<at::Tensor> &q_weight,
                                                     const std::optional<at::Tensor> &k_weight, double eps,
                                                     double k_eps, double weight_offset, int64_t rounding,
                                                     int64_t head_dim) {
  validate<int64_t>(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim);
  at::Tensor q_out = q.new_empty(q.sizes());
  at::Tensor k_out = k.new_empty(k.sizes());
  q_out.copy_(q);
  k_out.copy_(k);
  run_inplace(q_out, k_out, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
  return {q_out, k_out};
}

void inplace_meta(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                  const std::optional<at::Tensor> &k_weight, double eps, double k_eps, double /*weight_offset*/,
                  int64_t rounding, int64_t head_dim) {
  validate<c10::SymInt>(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim);
}

std::tuple<at::Tensor, at::Tensor> functional_meta(const at::Tensor &q, const at::Tensor &k,
                                                   const std::optional<at::Tensor> &q_weight,
                                                   const std::optional<at::Tensor> &k_weight, double eps,
                                                   double k_eps, double /*weight_offset*/, int64_t rounding,
                                                   int64_t head_dim) {
  validate<c10::SymInt>(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim);
  return {q.new_empty_symint(q.sym_sizes()), k.new_empty_symint(k.sym_sizes())};
}

// -- norm + RoPE (ops.py: _validate_rope, _rope_head, plan_rope_calls, _run_rope_inplace) ----------

template <class I>
I rope_head(const at::Tensor &x, int64_t head_dim) {
  if (x.dim() == 3) return dim_size<I>(x, 2);
  return head_dim ? I(head_dim) : dim_size<I>(x, 1);
}

// returns rotary_dim
template <class I>
I validate_rope(const at::Tensor &q, const at::Tensor &k, const at::Tensor &positions, const at::Tensor &cache,
                const std::optional<at::Tensor> &q_weight, const std::optional<at::Tensor> &k_weight, double eps,
                double k_eps, int64_t rounding, int64_t head_dim, int64_t style, int64_t rotary_dim,
                int64_t rope_rounding) {
  validate<I>(q, k, q_weight, k_weight, eps, k_eps, rounding, head_dim);
  TORCH_CHECK_VALUE(style == 0 || style == 1, "style must be 'neox' or 'gptj'");
  TORCH_CHECK_VALUE(rope_rounding == 0 || rope_rounding == 1, "rope_rounding must be 'per_op' or 'once'");
  TORCH_CHECK_VALUE(positions.scalar_type() == at::kInt || positions.scalar_type() == at::kLong, "positions: dtype ",
                    py_dtype(positions.scalar_type()), " is not supported (torch.int32, torch.int64)");
  I tokens = dim_size<I>(q, 0);
  TORCH_CHECK_VALUE(positions.dim() == 1 && dim_size<I>(positions, 0) == tokens, "positions: expected shape [",
                    num(tokens), "], got ", py_tuple(all_sizes<I>(positions)));
  TORCH_CHECK_VALUE(positions.device() == q.device(), "positions is on ", positions.device().str(),
                    ", the activations on ", q.device().str());
  TORCH_CHECK_VALUE(!(dim_stride<I>(positions, 0) != 1 && dim_size<I>(positions, 0) > 1),
                    "positions must be contiguous");
  TORCH_CHECK_VALUE(cache.dim() == 2 && dim_size<I>(cache, 0) >= 1,
                    "cos_sin_cache: expected [max_position, rotary_dim], got shape ", py_tuple(all_sizes<I>(cache)));
  TORCH_CHECK_VALUE(cache.scalar_type() == q.scalar_type() || cache.scalar_type() == at::kFloat,
                    "cos_sin_cache: dtype ", py_dtype(cache.scalar_type()), " must be the activation dtype ",
                    py_dtype(q.scalar_type()), " or torch.float32");
  TORCH_CHECK_VALUE(cache.device() == q.device(), "cos_sin_cache is on ", cache.device().str(),
                    ", the activations on ", q.device().str());
  I rows = dim_size<I>(cache, 0), cols = dim_size<I>(cache, 1);
  if (cols > 1) {
    I s = dim_stride<I>(cache, 1);
    TORCH_CHECK_VALUE(s == 1, "cos_sin_cache: the column stride must be 1 (got ", num(s), ")");
  }
  if (rows > 1) {
    I s = dim_stride<I>(cache, 0);
    TORCH_CHECK_VALUE(!(s < cols), "cos_sin_cache: the row stride must be at least its ", num(cols),
                      " columns (got ", num(s), ")");
  }
  I hq = rope_head<I>(q, head_dim), hk = rope_head<I>(k, head_dim);
  TORCH_CHECK_VALUE(hq == hk, "q and k must have the same head size for RoPE (", num(hq), " vs ", num(hk), ")");
  I r = rotary_dim ? I(rotary_dim) : cols;
  TORCH_CHECK_VALUE(!(r % 2 != 0 || r < 2 || r > hq), "rotary_dim ", num(r), " must be even and in [2, ", num(hq),
                    "] (the head size)");
  TORCH_CHECK_VALUE(r == cols, "rotary_dim ", num(r), " must equal cos_sin_cache.shape[1] (", num(cols),
                    "): the cache holds cos | sin halves of rotary_dim / 2 columns");
  return r;
}

Rope make_rope(const at::Tensor &q, const at::Tensor &positions, const at::Tensor &cache, int64_t head,
               int64_t rotary_dim, int64_t style, int64_t rope_rounding, bool rope_first) {
  Rope rp;
  rp.style = static_cast<int32_t>(style);
  rp.rounding = static_cast<int32_t>(rope_rounding);
  rp.before_norm = rope_first ? 1 : 0;
  rp.per_pair = 1;
  rp.head_dim = head;
  rp.rotary_dim = rotary_dim;
  rp.cos = rp.sin = cache.data_ptr();
  rp.table_dtype = qk_dtype(cache.scalar_type());
  rp.table_rows = cache.sizes()[0];
  rp.table_columns = cache.sizes()[1];
  rp.cos_row_stride = rp.sin_row_stride = cache.strides()[0];
  rp.cos_column = 0;
  rp.sin_column = rotary_dim / 2;
  rp.positions = positions.numel() ? positions.data_ptr() : nullptr;
  rp.positions_dtype = positions.scalar_type() == at::kInt ? 0 : 1;
  return rp;
}

#define QK_ROPE_PARAMS                                                                                        \
  const at::Tensor &q, const at::Tensor &k, const at::Tensor &positions, const at::Tensor &cos_sin_cache,      \
      const std::optional<at::Tensor> &q_weight, const std::optional<at::Tensor> &k_weight, double eps,        \
      double k_eps, double weight_offset, int64_t rounding, int64_t head_dim, int64_t style, int64_t rotary_dim, \
      int64_t rope_rounding, bool rope_first
#define QK_ROPE_ARGS                                                                                         \
  q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim, style,   \
      rotary_dim, rope_rounding, rope_first
using RopeOpSig = void(const at::Tensor &, const at::Tensor &, const at::Tensor &, const at::Tensor &,
                       const std::optional<at::Tensor> &, const std::optional<at::Tensor> &, double, double, double,
                       int64_t, int64_t, int64_t, int64_t, int64_t, bool);

void run_rope_inplace(QK_ROPE_PARAMS) {
  int64_t r = validate_rope<int64_t>(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding,
                                     head_dim, style, rotary_dim, rope_rounding);
  Plan p = plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
  int64_t tokens = q.sizes()[0];
  if (tokens == 0) return;
  int kind = q.is_cuda() ? kCuda : kHost;
  FusedRmsNormRopeFn fn = g_rope[kind].fn.load(std::memory_order_acquire);
  if (!fn) {
    if (kind == kHost && g_rope[kHost].reference.load()) {
      static auto op = c10::Dispatcher::singleton()
                           .findSchemaOrThrow("qk::_reference_fused_qk_rmsnorm_rope_", "")
                           .typed<RopeOpSig>();
      op.call(QK_ROPE_ARGS);
      return;
    }
    if (!g_runtime[kind].fn.load()) no_runtime(kind);
    std::string name;
    {
      std::lock_guard<std::mutex> lock(g_runtime[kind].mu);
      name = g_runtime[kind].name;
    }
    TORCH_CHECK(false, "qk: the ", kind_name(kind), " runtime (", name,
                ") has no qk_fused_rms_norm_rope (ABI version 3)");
  }
  Rope rope = make_rope(q, positions, cos_sin_cache, rope_head<int64_t>(q, head_dim), r, style, rope_rounding,
                        rope_first);
  int32_t dtype = qk_dtype(q.scalar_type());
  std::optional<c10::DeviceGuard> guard;
  void *stream = nullptr;
  if (kind == kCuda) {
    guard.emplace(q.device());
    stream = current_cuda_stream(q.device().index());
  }
  for (int i = 0; i < p.num_calls; ++i) {
    const Call &c = p.calls[i];
    void *ptr = c.base->data_ptr();
    uint32_t bits = (1u << c.num_ranges) - 1u;
    int32_t st = fn(dtype, ptr, c.token_stride, ptr, c.token_stride, tokens, c.ranges, c.num_ranges, &rope, bits,
                    stream);
    if (st != 0) runtime_error(kind, st);
  }
}

void rope_inplace_kernel(QK_ROPE_PARAMS) { run_rope_inplace(QK_ROPE_ARGS); }

void rope_inplace_autograd(QK_ROPE_PARAMS) {
  TORCH_CHECK(!(c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad())),
              "qk::fused_qk_rmsnorm_rope_ has no autograd formula: q and k must not require grad");
  static auto op =
      c10::Dispatcher::singleton().findSchemaOrThrow("qk::fused_qk_rmsnorm_rope_", "").typed<RopeOpSig>();
  {
    c10::impl::ExcludeDispatchKeyGuard guard(c10::autograd_dispatch_keyset_with_ADInplaceOrView);
    op.call(QK_ROPE_ARGS);
  }
  q.unsafeGetTensorImpl()->bump_version();
  k.unsafeGetTensorImpl()->bump_version();
}

std::tuple<at::Tensor, at::Tensor> rope_functional_kernel(QK_ROPE_PARAMS) {
  validate_rope<int64_t>(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim, style,
                         rotary_dim, rope_rounding);
  at::Tensor q_out = q.new_empty(q.sizes());
  at::Tensor k_out = k.new_empty(k.sizes());
  q_out.copy_(q);
  k_out.copy_(k);
  run_rope_inplace(q_out, k_out, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, weight_offset, rounding,
                   head_dim, style, rotary_dim, rope_rounding, rope_first);
  return {q_out, k_out};
}

void rope_inplace_meta(QK_ROPE_PARAMS) {
  validate_rope<c10::SymInt>(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim,
                             style, rotary_dim, rope_rounding);
}

std::tuple<at::Tensor, at::Tensor> rope_functional_meta(QK_ROPE_PARAMS) {
  validate_rope<c10::SymInt>(q, k, positions, cos_sin_cache, q_weight, k_weight, eps, k_eps, rounding, head_dim,
                             style, rotary_dim, rope_rounding);
  return {q.new_empty_symint(q.sym_sizes()), k.new_empty_symint(k.sym_sizes())};
}

// The plan as integers, for tests against ops.plan_calls: [num_calls, then per call: base (0 = q,
// 1 = k), token_stride, num_ranges, then per range: column_offset, num_groups, group_size,
// group_stride, has_weight, weight_dtype, rounding].
std::vector<int64_t> plan_as_ints(const at::Tensor &q, const at::Tensor &k, const std::optional<at::Tensor> &q_weight,
                                  const std::optional<at::Tensor> &k_weight, double eps, double k_eps,
                                  double weight_offset, int64_t rounding, int64_t head_dim) {
  Plan p = plan_calls(q, k, q_weight, k_weight, eps, k_eps, weight_offset, rounding, head_dim);
  std::vector<int64_t> out{p.num_calls};
  for (int i = 0; i < p.num_calls; ++i) {
    const Call &c = p.calls[i];
    out.insert(out.end(), {c.base == &q ? 0 : 1, c.token_stride, c.num_ranges});
    for (int j = 0; j < c.num_ranges; ++j) {
      const NormRange &r = c.ranges[j];
      out.insert(out.end(), {r.column_offset, r.num_groups, r.group_size, r.group_stride, r.weight != nullptr,
                             r.weight_dtype, r.rounding});
    }
  }
  return out;
}

// Bumped with any change of this file's ops that qk.ops must know about.
// 2: the norm + RoPE ops (fused_qk_rmsnorm_rope[_], _set_rope_runtime).
int64_t abi_version() { return 2; }

}  // namespace

#define QK_ARGS "Tensor? q_weight, Tensor? k_weight, float eps, float k_eps, float weight_offset, int rounding, int head_dim"

#define QK_ROPE_SCHEMA                                                                                  \
  "Tensor positions, Tensor cos_sin_cache, " QK_ARGS ", int style, int rotary_dim, int rope_rounding, bool rope_first"

TORCH_LIBRARY(qk, m) {
  m.def("fused_qk_rmsnorm_(Tensor(a!) q, Tensor(b!) k, " QK_ARGS ") -> ()", {at::Tag::pt2_compliant_tag});
  m.def("fused_qk_rmsnorm(Tensor q, Tensor k, " QK_ARGS ") -> (Tensor, Tensor)", {at::Tag::pt2_compliant_tag});
  // the PyTorch reference, for CPU tensors when libqk_runtime_host.so is missing (qk.ops
  // implements it in Python, only then)
  m.def("_reference_fused_qk_rmsnorm_(Tensor(a!) q, Tensor(b!) k, " QK_ARGS ") -> ()");
  m.def("_plan_calls(Tensor q, Tensor k, " QK_ARGS ") -> int[]");
  m.impl("_plan_calls", torch::dispatch(c10::DispatchKey::CompositeExplicitAutograd, TORCH_FN(plan_as_ints)));
  m.def("_set_runtime(int kind, int fused_rms_norm, int last_error_message, str name, str missing, bool reference) -> ()",
        &set_runtime);
  m.def("_abi_version() -> int", &abi_version);
  // norm + RoPE in one call (ABI version 3 of the runtime, docs/rope-abi.md)
  m.def("fused_qk_rmsnorm_rope_(Tensor(a!) q, Tensor(b!) k, " QK_ROPE_SCHEMA ") -> ()", {at::Tag::pt2_compliant_tag});
  m.def("fused_qk_rmsnorm_rope(Tensor q, Tensor k, " QK_ROPE_SCHEMA ") -> (Tensor, Tensor)",
        {at::Tag::pt2_compliant_tag});
  m.def("_reference_fused_qk_rmsnorm_rope_(Tensor(a!) q, Tensor(b!) k, " QK_ROPE_SCHEMA ") -> ()");
  m.def("_set_rope_runtime(int kind, int fused_rms_norm_rope, bool reference) -> ()", &set_rope_runtime);
}

TORCH_LIBRARY_IMPL(qk, CPU, m) {
  m.impl("fused_qk_rmsnorm_", TORCH_FN(inplace_kernel));
  m.impl("fused_qk_rmsnorm", TORCH_FN(functional_kernel));
  m.impl("fused_qk_rmsnorm_rope_", TORCH_FN(rope_inplace_kernel));
  m.impl("fused_qk_rmsnorm_rope", TORCH_FN(rope_functional_kernel));
}

TORCH_LIBRARY_IMPL(qk, CUDA, m) {
  m.impl("fused_qk_rmsnorm_", TORCH_FN(inplace_kernel));
  m.impl("fused_qk_rmsnorm", TORCH_FN(functional_kernel));
  m.impl("fused_qk_rmsnorm_rope_", TORCH_FN(rope_inplace_kernel));
  m.impl("fused_qk_rmsnorm_rope", TORCH_FN(rope_functional_kernel));
}

TORCH_LIBRARY_IMPL(qk, Autograd, m) {
  m.impl("fused_qk_rmsnorm_", TORCH_FN(inplace_autograd));
  m.impl("fused_qk_rmsnorm_rope_", TORCH_FN(rope_inplace_autograd));
}

TORCH_LIBRARY_IMPL(qk, Meta, m) {
  m.impl("fused_qk_rmsnorm_", TORCH_FN(inplace_meta));
  m.impl("fused_qk_rmsnorm", TORCH_FN(functional_meta));
  m.impl("fused_qk_rmsnorm_rope_", TORCH_FN(rope_inplace_meta));
  m.impl("fused_qk_rmsnorm_rope", TORCH_FN(rope_functional_meta));
}
