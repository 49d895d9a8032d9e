#!/usr/bin/env python3
"""Compile time of qk-raise-rms-norm + qk-fuse-strided-qk-norm on a generated decoder stack.

    python3 benchmarks/compile_time.py [--qk-opt build/bin/qk-opt] [--layers 250 500 ... 8000]

Each layer is what torch-mlir emits for a Qwen3-style attention prologue (T dynamic, bf16):
qkv = x @ Wqkv; q, k, v = split; q/k viewed as heads; RMSNorm decomposed into one linalg.generic
per step (f64 epsilon + arith.truncf, math.fpowi, keepdim sum); an opaque attention call;
o_proj; the result feeds the next layer. For every N it times, with --mlir-timing (wall, best of
--repeat runs), the two passes on the file and `--canonicalize` on the same file, and prints
time per layer and the ratio. A pass that is linear in the graph has a flat time per layer.
Two ratios: the passes' own work (--verify-each=false), and with the verification of the whole IR
that the pass manager runs after every pass (two passes pay it twice, --canonicalize once).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HEADER = """#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#col = affine_map<(d0, d1, d2) -> (d2)>
module {
  func.func private @attention(tensor<?x4x32xbf16>, tensor<?x2x32xbf16>, tensor<?x64xbf16>) -> tensor<?x128xbf16>
"""


def norm(p, x, heads, w):
    """Decomposed vLLM RMSNorm of x : tensor<?x{heads}x32xbf16> with weight w, as torch-mlir writes it."""
    t = f"tensor<?x{heads}x32"
    return f"""
    %{p}e = tensor.empty(%T) : {t}xf32>
    %{p}x = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{x} : {t}xbf16>) outs(%{p}e : {t}xf32>) {{
    ^bb0(%a: bf16, %o: f32):
      %r = arith.extf %a : bf16 to f32
      linalg.yield %r : f32
    }} -> {t}xf32>
    %{p}sq = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{p}x : {t}xf32>) outs(%{p}e : {t}xf32>) {{
    ^bb0(%a: f32, %o: f32):
      %r = math.fpowi %a, %c2_i64 : f32, i64
      linalg.yield %r : f32
    }} -> {t}xf32>
    %{p}e1 = tensor.empty(%T) : tensor<?x{heads}x1xf32>
    %{p}z = linalg.fill ins(%zero : f32) outs(%{p}e1 : tensor<?x{heads}x1xf32>) -> tensor<?x{heads}x1xf32>
    %{p}sum = linalg.generic {{indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]}} ins(%{p}sq : {t}xf32>) outs(%{p}z : tensor<?x{heads}x1xf32>) {{
    ^bb0(%a: f32, %o: f32):
      %r = arith.addf %a, %o : f32
      linalg.yield %r : f32
    }} -> tensor<?x{heads}x1xf32>
    %{p}rs = linalg.generic {{indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{p}sum : tensor<?x{heads}x1xf32>) outs(%{p}e1 : tensor<?x{heads}x1xf32>) {{
    ^bb0(%a: f32, %o: f32):
      %m = arith.divf %a, %d32 : f32
      %eps = arith.truncf %eps64 : f64 to f32
      %s = arith.addf %m, %eps : f32
      %r = math.rsqrt %s : f32
      linalg.yield %r : f32
    }} -> tensor<?x{heads}x1xf32>
    %{p}n = linalg.generic {{indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{p}x, %{p}rs : {t}xf32>, tensor<?x{heads}x1xf32>) outs(%{p}e : {t}xf32>) {{
    ^bb0(%a: f32, %b: f32, %o: f32):
      %r = arith.mulf %a, %b : f32
      linalg.yield %r : f32
    }} -> {t}xf32>
    %{p}eb = tensor.empty(%T) : {t}xbf16>
    %{p}y = linalg.generic {{indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel", "parallel"]}} ins(%{p}n, %{w} : {t}xf32>, tensor<32xbf16>) outs(%{p}eb : {t}xbf16>) {{
    ^bb0(%a: f32, %b: bf16, %o: bf16):
      %r0 = arith.truncf %a : f32 to bf16
      %r = arith.mulf %r0, %b : bf16
      linalg.yield %r : bf16
    }} -> {t}xbf16>"""


def layer(i, x):
    p = f"l{i}_"
    return f"""
    %{p}qe = tensor.empty(%T) : tensor<?x256xf32>
    %{p}qz = linalg.fill ins(%zero : f32) outs(%{p}qe : tensor<?x256xf32>) -> tensor<?x256xf32>
    %{p}qkvf = linalg.matmul ins(%{x}, %wqkv : tensor<?x128xbf16>, tensor<128x256xbf16>) outs(%{p}qz : tensor<?x256xf32>) -> tensor<?x256xf32>
    %{p}qkve = tensor.empty(%T) : tensor<?x256xbf16>
    %{p}qkv = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}} ins(%{p}qkvf : tensor<?x256xf32>) outs(%{p}qkve : tensor<?x256xbf16>) {{
    ^bb0(%a: f32, %o: bf16):
      %r = arith.truncf %a : f32 to bf16
      linalg.yield %r : bf16
    }} -> tensor<?x256xbf16>
    %{p}q = tensor.extract_slice %{p}qkv[0, 0] [%T, 128] [1, 1] : tensor<?x256xbf16> to tensor<?x128xbf16>
    %{p}k = tensor.extract_slice %{p}qkv[0, 128] [%T, 64] [1, 1] : tensor<?x256xbf16> to tensor<?x64xbf16>
    %{p}v = tensor.extract_slice %{p}qkv[0, 192] [%T, 64] [1, 1] : tensor<?x256xbf16> to tensor<?x64xbf16>
    %{p}q3 = tensor.expand_shape %{p}q [[0], [1, 2]] output_shape [%T, 4, 32] : tensor<?x128xbf16> into tensor<?x4x32xbf16>
    %{p}k3 = tensor.expand_shape %{p}k [[0], [1, 2]] output_shape [%T, 2, 32] : tensor<?x64xbf16> into tensor<?x2x32xbf16>""" \
        + norm(p + "qn_", p + "q3", 4, "wq") + norm(p + "kn_", p + "k3", 2, "wk") + f"""
    %{p}a = func.call @attention(%{p}qn_y, %{p}kn_y, %{p}v) : (tensor<?x4x32xbf16>, tensor<?x2x32xbf16>, tensor<?x64xbf16>) -> tensor<?x128xbf16>
    %{p}oe = tensor.empty(%T) : tensor<?x128xf32>
    %{p}oz = linalg.fill ins(%zero : f32) outs(%{p}oe : tensor<?x128xf32>) -> tensor<?x128xf32>
    %{p}of = linalg.matmul ins(%{p}a, %wo : tensor<?x128xbf16>, tensor<128x128xbf16>) outs(%{p}oz : tensor<?x128xf32>) -> tensor<?x128xf32>
    %{p}ob = tensor.empty(%T) : tensor<?x128xbf16>
    %{p}out = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}} ins(%{p}of : tensor<?x128xf32>) outs(%{p}ob : tensor<?x128xbf16>) {{
    ^bb0(%a: f32, %o: bf16):
      %r = arith.truncf %a : f32 to bf16
      linalg.yield %r : bf16
    }} -> tensor<?x128xbf16>"""


def stack(n):
    body = [HEADER, """  func.func @decoder(%x: tensor<?x128xbf16>, %wqkv: tensor<128x256xbf16>, %wo: tensor<128x128xbf16>,
                     %wq: tensor<32xbf16>, %wk: tensor<32xbf16>) -> tensor<?x128xbf16> {
    %c0 = arith.constant 0 : index
    %c2_i64 = arith.constant 2 : i64
    %zero = arith.constant 0.000000e+00 : f32
    %d32 = arith.constant 3.200000e+01 : f32
    %eps64 = arith.constant 9.9999999999999995E-7 : f64
    %T = tensor.dim %x, %c0 : tensor<?x128xbf16>"""]
    x = "x"
    for i in range(n):
        body.append(layer(i, x))
        x = f"l{i}_out"
    body.append(f"\n    return %{x} : tensor<?x128xbf16>\n  }}\n}}\n")
    return "".join(body)


TIMING = re.compile(r"^\s*([\d.]+)\s+\(\s*[\d.]+%\)\s+(.*?)\s*$")


NO_VERIFY = ["--verify-each=false"]


def pass_times(qk_opt, path, args):
    """Wall seconds per pass from --mlir-timing. A pass's time includes the verification of the whole
    IR that the pass manager runs after it, unless args has --verify-each=false."""
    r = subprocess.run([qk_opt, path, *args, "--mlir-timing", "-o", "/dev/null"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"qk-opt failed: {r.stderr[-2000:]}")
    times = {}
    for line in r.stderr.splitlines():
        m = TIMING.match(line)
        if m:
            times[m.group(2)] = float(m.group(1))
    return times


def best(qk_opt, path, args, name, repeat):
    return min(pass_times(qk_opt, path, args).get(name, 0.0) for _ in range(repeat))


def measure(qk_opt, path, repeat, verify):
    """(raise, fuse, canonicalize) seconds, best of `repeat` each."""
    extra = [] if verify else NO_VERIFY
    both = ["--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm", *extra]
    return (best(qk_opt, path, ["--qk-raise-rms-norm", *extra], "QKRaiseRMSNorm", repeat),
            best(qk_opt, path, both, "QKFuseStridedQKNorm", repeat),
            best(qk_opt, path, ["--canonicalize", *extra], "Canonicalizer", repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qk-opt", default=os.environ.get("QK_OPT", os.path.join(REPO, "build", "bin", "qk-opt")))
    ap.add_argument("--layers", type=int, nargs="*", default=[250, 500, 1000, 2000, 4000, 8000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-verify", action="store_true",
                    help="only the passes' own work (--verify-each=false); by default also the times with "
                         "the pass manager's verification after each pass, which two passes pay twice")
    args = ap.parse_args()
    cols = "| layers | ops | raise (ms/layer) | fuse (ms/layer) | raise+fuse (s) | canonicalize (s) | ratio |"
    sep = "|---|---|---|---|---|---|---|"
    if not args.no_verify:
        cols += " raise+fuse, verified (s) | canonicalize, verified (s) | ratio, verified |"
        sep += "---|---|---|"
    print("Own work (--verify-each=false)" + ("" if args.no_verify else "; then with the verification after each pass"))
    print(cols)
    print(sep)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.layers:
            path = os.path.join(tmp, f"stack{n}.mlir")
            text = stack(n)
            with open(path, "w") as f:
                f.write(text)
            ops = text.count(" = ") + text.count("linalg.yield")
            raise_s, fuse_s, canon_s = measure(args.qk_opt, path, args.repeat, verify=False)
            total = raise_s + fuse_s
            row = (f"| {n} | {ops} | {1e3 * raise_s / n:.3f} | {1e3 * fuse_s / n:.3f} | {total:.3f} | "
                   f"{canon_s:.3f} | {total / canon_s:.2f} |")
            if not args.no_verify:
                vr, vf, vc = measure(args.qk_opt, path, args.repeat, verify=True)
                row += f" {vr + vf:.3f} | {vc:.3f} | {(vr + vf) / vc:.2f} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
