//===- Options.h - The CUDA runtime's environment switches ------*- C++ -*-===//
//
// Every environment variable the CUDA runtime reads, read once, in one
// place. Each is a tuning or test knob; the defaults are what the measured
// results in docs/kernel-performance.md were taken with.
//
//   QK_RUNTIME_L2_PREFETCH=0   team kernels do not prefetch the next wave's
//                              rows into L2 (default on)
//   QK_RUNTIME_DISABLE_PDL=1   launch without programmatic dependent launch
//   QK_RUNTIME_WAVES=N         grids hold up to N times the resident
//                              capacity of the GPU (default 256)
//   QK_RUNTIME_WIDE_PARAMS=1   every call uses the 64-bit parameter block
//                              (the GPU check runs its matrix once with it)
//   QK_RUNTIME_NO_SHIFT=1      unaligned rows take the element-by-element
//                              path instead of the shifted vector path
//   QK_RUNTIME_SHIFT_ROWS=4    shifted rows: 4 rows in flight per team at
//                              large T instead of 2
//   QK_RUNTIME_EARLY_PREFETCH  0/1: prefetch a worker's own first rows into
//                              L2 before waiting on the previous kernel
//   QK_RUNTIME_BLOCK_WAVES=N   as QK_RUNTIME_WAVES, for the block kernels
//                              (full-width groups)
//   QK_RUNTIME_ROPE_KERNEL=K   which norm + RoPE kernel takes the shapes
//                              RopeTokenKernel.cuh covers: auto (default:
//                              the token kernel while the GPU holds a team
//                              for every (token, head), else the stream
//                              kernel), token (the token kernel at every
//                              T), stream (the stream kernel at every T) or
//                              team (RopeKernels.cuh only). Shapes the
//                              token kernels do not cover take ropeKernel.
//   QK_RUNTIME_ROPE_TOKENS=N   token kernel: N (1, 2, 4) tokens per team
//                              instead of 1 at small T and 2 above
//   QK_RUNTIME_ROPE_HEADS=N    stream kernel: N (1, 2, 4) heads of one
//                              range per team wherever the ranges' head
//                              counts are multiples of N (else fewer), one
//                              table load for all. Default: 4, 2 or 1 by
//                              the same rule and while every team still
//                              streams 6 tokens (RopeRuntime.cu)
//
// "0", "never" or an empty value turn a switch off; anything else on.
//
//===----------------------------------------------------------------------===//

#ifndef QK_RUNTIME_CUDA_OPTIONS_H
#define QK_RUNTIME_CUDA_OPTIONS_H

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace qk::runtime::cuda {

struct Options {
  bool l2Prefetch = true;
  bool pdl = true;
  int64_t waves = 256;
  bool forceWideParams = false;
  bool shiftedRows = true;
  int shiftedRowsInFlight = 2;
  bool earlyPrefetch = false;
  int64_t blockWaves = 256;
  /// QK_RUNTIME_ROPE_KERNEL (above).
  enum RopeKernel : int {
    RopeTeam = 0,
    RopeToken = 2,
    RopeStream = 3,
    RopeAuto = 4
  };
  int ropeKernel = RopeAuto;
  /// QK_RUNTIME_ROPE_TOKENS (above); 0: by size.
  int64_t ropeTokens = 0;
  /// QK_RUNTIME_ROPE_HEADS (above); 0: by size.
  int64_t ropeHeads = 0;

  /// The process's options, read from the environment at the first call.
  static const Options &get() {
    static const Options options = fromEnvironment();
    return options;
  }

private:
  static bool flag(const char *name, bool dflt) {
    const char *v = std::getenv(name);
    if (!v || !v[0])
      return dflt;
    return std::strcmp(v, "0") != 0 && std::strcmp(v, "never") != 0;
  }

  static int64_t count(const char *name, int64_t dflt) {
    const char *v = std::getenv(name);
    long n = v ? std::strtol(v, nullptr, 10) : 0;
    return n > 0 ? int64_t(n) : dflt;
  }

  static Options fromEnvironment() {
    Options o;
    o.l2Prefetch = flag("QK_RUNTIME_L2_PREFETCH", true);
    o.pdl = !flag("QK_RUNTIME_DISABLE_PDL", false);
    o.waves = count("QK_RUNTIME_WAVES", o.waves);
    o.forceWideParams = flag("QK_RUNTIME_WIDE_PARAMS", false);
    o.shiftedRows = !flag("QK_RUNTIME_NO_SHIFT", false);
    o.shiftedRowsInFlight =
        int(count("QK_RUNTIME_SHIFT_ROWS", o.shiftedRowsInFlight));
    o.earlyPrefetch = flag("QK_RUNTIME_EARLY_PREFETCH", o.earlyPrefetch);
    o.blockWaves = count("QK_RUNTIME_BLOCK_WAVES", o.blockWaves);
    o.ropeTokens = count("QK_RUNTIME_ROPE_TOKENS", 0);
    if (o.ropeTokens != 1 && o.ropeTokens != 2 && o.ropeTokens != 4)
      o.ropeTokens = 0;
    o.ropeHeads = count("QK_RUNTIME_ROPE_HEADS", 0);
    if (o.ropeHeads != 1 && o.ropeHeads != 2 && o.ropeHeads != 4)
      o.ropeHeads = 0;
    if (const char *k = std::getenv("QK_RUNTIME_ROPE_KERNEL")) {
      if (!std::strcmp(k, "team"))
        o.ropeKernel = RopeTeam;
      else if (!std::strcmp(k, "token"))
        o.ropeKernel = RopeToken;
      else if (!std::strcmp(k, "stream"))
        o.ropeKernel = RopeStream;
      else if (!std::strcmp(k, "auto"))
        o.ropeKernel = RopeAuto;
    }
    return o;
  }
};

} // namespace qk::runtime::cuda

#endif // QK_RUNTIME_CUDA_OPTIONS_H
