#!/usr/bin/env python3
"""Host wall clock of one eager call of the fused QK RMSNorm torch op: the native op
(python/qk/csrc/torch_op.cpp) against the Python custom_op + ctypes op (QK_NATIVE_OP=0), on CUDA,
for the four configs of bench_qknorm.py at T = 1, 16, 128, 1024 (bf16, in place on views of qkv).

    cmake -S runtime -B build-rt -G Ninja && cmake --build build-rt
    QK_RUNTIME_CUDA_LIB=$PWD/build-rt/lib/libqk_runtime_cuda.so python3 benchmarks/eager_host_cost.py
    # or: --lib build-rt/lib/libqk_runtime_cuda.so; --calls 2000 --tokens 1,16,128,1024 --json out.json

Each implementation runs in a process of its own (the registration is per process): the native
one with QK_REQUIRE_NATIVE_OP=1 (the first run builds it, ~5-20 s, cached in QK_NATIVE_OP_DIR
or ~/.cache/qk/torch-op), the Python one with QK_NATIVE_OP=0. The qk package is this checkout's
python/ unless QK_BENCH_INSTALLED=1. What is called, per config and T:

  op       torch.ops.qk.fused_qk_rmsnorm_.default(q, k, wq, wk, eps, eps, offset, 0, 0)
  wrapper  qk.ops.fused_qk_rmsnorm_(q, k, wq, wk, eps, weight_offset=offset)
  apply    qk.ops.apply_qk_norm(q, k, q_norm, k_norm, D) (sglang's call shape; q, k 2-D views)
  abi      (native process only) the runtime's C ABI through ctypes with prebuilt ranges and
           torch.cuda.current_stream().cuda_stream per call, bench_qknorm.py's "qk": the floor
           of any Python-side binding of this library

Timings (microseconds):
  median   median over --calls calls of the host wall time of one call (perf_counter_ns around
           the call), with an untimed torch.cuda.synchronize() every --chunk calls so that the
           launch queue never fills (the GPU work does not leak into the host time)
  loop     wall time of --calls back-to-back calls plus one torch.cuda.synchronize() at the
           end, divided by --calls (GPU-bound once the kernel is longer than the host cost)
  synced   median of (call + torch.cuda.synchronize()) over --calls/4 calls: the latency of one
           isolated call including the kernel

--device cpu runs the same on CPU tensors (libqk_runtime_host.so, whose work is on the host:
a smoke test of this script, not a measurement of host overhead).
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKENS = [1, 16, 128, 1024]


def _load_families():
    """The model-family registry of this checkout, python/qk/models/families.py, by path."""
    name = "qk_model_families"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "python" / "qk" / "models" / "families.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


families = _load_families()
# as in bench_qknorm.py: the registry's kernel configs (dict(Hq, Hkv, D, eps, shared, gemma))
CONFIGS = {name: families.kernel_config(name) for name in families.KERNEL_CONFIGS}

class Norm:
    """What apply_qk_norm reads from a norm module (sglang's RMSNorm: weight, variance_epsilon)."""

    def __init__(self, weight, eps, offset):
        self.weight, self.variance_epsilon = weight, eps
        if offset:
            self.weight_offset = offset

def time_calls(fn, calls, chunk, sync):
    for _ in range(50):
        fn()
    sync()
    per = []
    clock = time.perf_counter_ns
    for start in range(0, calls, chunk):
        for _ in range(min(chunk, calls - start)):
            t0 = clock()
            fn()
            per.append(clock() - t0)
        sync()
    per.sort()
    median = statistics.median(per) / 1e3
    p90 = per[int(0.9 * (len(per) - 1))] / 1e3
    sync()
    t0 = clock()
    for _ in range(calls):
        fn()
    sync()
    loop = (clock() - t0) / calls / 1e3
    synced = []
    for _ in range(max(calls // 4, 10)):
        t0 = clock()
        fn()
        sync()
        synced.append(clock() - t0)
    return dict(median=median, p90=p90, loop=loop, synced=statistics.median(synced) / 1e3)

def worker(args):
    if os.environ.get("QK_BENCH_INSTALLED", "") in ("", "0"):
        sys.path.insert(0, str(REPO / "python"))

    import torch
    from qk import ops, runtime

    dev = args.device
    if dev == "cuda":
        assert torch.cuda.is_available(), "eager_host_cost.py needs a CUDA device (or --device cpu)"
        sync = torch.cuda.synchronize
        current_stream = lambda: torch.cuda.current_stream().cuda_stream  # noqa: E731
    else:
        sync = lambda: None  # noqa: E731
        current_stream = lambda: None  # noqa: E731
    lib = runtime.load("cuda" if dev == "cuda" else "host")
    dt = torch.bfloat16
    out = dict(path=args.worker, op_info=ops.op_info(), backend=ops.backend_info(dev), results=[])
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        Hq, Hkv, D, eps = cfg["Hq"], cfg["Hkv"], cfg["D"], cfg["eps"]
        off = 1.0 if cfg["gemma"] else 0.0
        g = torch.Generator(device=dev).manual_seed(0)
        wq = (torch.randn(D, device=dev, generator=g) * 0.1 + (0.0 if off else 1.0)).to(dt)
        wk = wq if cfg["shared"] else (torch.randn(D, device=dev, generator=g) * 0.1 + (0.0 if off else 1.0)).to(dt)
        qn, kn = Norm(wq, eps, off), Norm(wk, eps, off)
        for T in [int(t) for t in args.tokens.split(",")]:
            qkv = torch.randn(T, (Hq + 2 * Hkv) * D, device=dev, generator=g).to(dt)
            q, k, _ = qkv.split([Hq * D, Hkv * D, Hkv * D], dim=-1)
            q3, k3 = q.view(T, Hq, D), k.view(T, Hkv, D)
            op = torch.ops.qk.fused_qk_rmsnorm_.default
            fns = {
                "op": lambda: op(q3, k3, wq, wk, eps, eps, off, 0, 0),
                "wrapper": lambda: ops.fused_qk_rmsnorm_(q3, k3, wq, wk, eps, weight_offset=off),
                "apply": lambda: ops.apply_qk_norm(q, k, qn, kn, D),
            }
            if args.worker == "native":
                ranges = (runtime.NormRange * 2)()
                for i, (col, h, w) in enumerate(((0, Hq, wq), (Hq * D, Hkv, wk))):
                    ranges[i].column_offset, ranges[i].num_groups = col, h
                    ranges[i].group_size = ranges[i].group_stride = D
                    ranges[i].weight, ranges[i].weight_dtype = w.data_ptr(), runtime.DTYPE_BF16
                    ranges[i].epsilon, ranges[i].weight_offset, ranges[i].rounding = eps, off, 0
                f, p, ts = lib._fn, qkv.data_ptr(), qkv.stride(0)

                def abi():
                    if f(runtime.DTYPE_BF16, p, ts, p, ts, T, ranges, 2, current_stream()) != 0:
                        raise RuntimeError(lib.last_error_message())

                fns["abi"] = abi
                # The machine's own floor for any torch op call: a dispatcher round trip that
                # does no work (aten.detach), and, with QK_BENCH_SGL_DIR (build_anchors.sh's
                # output, tvm_ffi importable), sglang's fused_inplace_qknorm through tvm-ffi
                # (its DLPack fast path) on the same views.
                fns["aten_detach"] = lambda: torch.ops.aten.detach.default(q3)
                sgl_dir = os.environ.get("QK_BENCH_SGL_DIR")
                if sgl_dir and dev == "cuda" and not off:
                    import tvm_ffi
                    sgl = tvm_ffi.load_module(os.path.join(sgl_dir, "sgl_qknorm_128_bf16_t.so"))
                    fns["sgl"] = lambda: sgl.qknorm(q3, k3, wq, wk, eps)
            for variant, fn in fns.items():
                r = time_calls(fn, args.calls, args.chunk, sync)
                out["results"].append(dict(config=name, T=T, variant=variant, **r))
            del qkv, q, k, q3, k3
    print("RESULT" + json.dumps(out))

def run_worker(path, args):
    env = dict(os.environ)
    if path == "native":
        env.pop("QK_NATIVE_OP", None)
        env["QK_REQUIRE_NATIVE_OP"] = "1"
    else:
        env["QK_NATIVE_OP"] = "0"
        env.pop("QK_REQUIRE_NATIVE_OP", None)
    cmd = [sys.executable, __file__, "--worker", path, "--configs", args.configs, "--tokens", args.tokens,
           "--calls", str(args.calls), "--chunk", str(args.chunk), "--device", args.device]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")]
    if p.returncode != 0 or not lines:
        sys.exit(f"eager_host_cost: the {path} worker failed (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    return json.loads(lines[-1][len("RESULT"):])

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", help="libqk_runtime_cuda.so (else QK_RUNTIME_CUDA_LIB / QK_BUILD_DIR / discovery)")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--tokens", default=",".join(map(str, TOKENS)))
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--chunk", type=int, default=200, help="calls between untimed synchronizes (median)")
    ap.add_argument("--json", help="also write all numbers here")
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--worker", choices=["native", "python"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lib:
        os.environ["QK_RUNTIME_CUDA_LIB"] = str(Path(args.lib).resolve())
    if args.worker:
        return worker(args)

    runs = {p: run_worker(p, args) for p in ("native", "python")}
    import torch
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else "CPU tensors (smoke test)"
    print(f"# eager_host_cost.py: torch {torch.__version__}, {gpu}, "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"{args.calls} calls per cell, bf16")
    for p, r in runs.items():
        print(f"# {p}: {r['op_info']}  |  {r['backend']}")
    cell = {(p, x["config"], x["T"], x["variant"]): x for p, r in runs.items() for x in r["results"]}
    cols = [("native", "op"), ("native", "wrapper"), ("native", "apply"), ("python", "op"), ("python", "wrapper"),
            ("python", "apply"), ("native", "abi"), ("native", "aten_detach"), ("native", "sgl")]
    for metric, title in (("median", "median host wall per call (us), untimed sync every --chunk calls"),
                          ("p90", "90th percentile of the same (us)"),
                          ("loop", f"loop of {args.calls} calls + one synchronize, per call (us)"),
                          ("synced", "call + torch.cuda.synchronize(), median (us)")):
        print(f"\n## {title}")
        head = ["config", "T"] + [f"{p}.{v}" for p, v in cols]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for name in args.configs.split(","):
            for T in [int(t) for t in args.tokens.split(",")]:
                vals = [f"{cell[(p, name, T, v)][metric]:.2f}" if (p, name, T, v) in cell else "-" for p, v in cols]
                print("| " + " | ".join([name, str(T)] + vals) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))

if __name__ == "__main__":
    main()
