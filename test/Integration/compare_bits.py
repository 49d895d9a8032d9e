#!/usr/bin/env python3
"""Compares printMemrefI32 dumps of element bit patterns (gen_qk_block.py).

  compare_bits.py --dtype bf16 --exact-from COL REF OUT [OUT ...]

Every OUT must have REF's shape. Columns >= COL (v, and the pre-norm q of
--keep-prenorm cases) must be bit-identical: nothing may write them.
Columns < COL (normalised q | k) must satisfy, element by element,

    |out - ref| <= rtol * |ref| + atol

with the tolerance of the activation type:
    bf16: rtol 2^-7  (one bf16 ulp),        atol 1e-6
    f16:  rtol 2^-10 (one f16 ulp),         atol 1e-7
    f32:  rtol 1e-5  (~80 f32 ulp),         atol 1e-7
One ulp covers a different but correct fp32 rsqrt or summation order in the
runtime before the final rounding; a wrong stride, offset, weight or
rounding order is off by far more. NaN or Inf anywhere fails.
Prints one summary line per OUT; exits 1 on the first failing OUT.
"""

import argparse
import math
import re
import struct
import sys

TOLERANCE = {"bf16": (2.0 ** -7, 1e-6), "f16": (2.0 ** -10, 1e-7),
             "f32": (1e-5, 1e-7)}


def load(path):
    text = open(path).read()
    m = re.search(r"sizes = \[([0-9, ]+)\].*?data =", text)
    if not m:
        sys.exit(f"{path}: no printMemrefI32 output")
    shape = [int(s) for s in m.group(1).split(",")]
    values = [int(v) for v in re.findall(r"-?\d+", text[m.end():])]
    if len(values) != math.prod(shape):
        sys.exit(f"{path}: {len(values)} values for shape {shape}")
    return shape, values


def decode(bits, dtype):
    if dtype == "bf16":
        return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]
    if dtype == "f16":
        return struct.unpack("<e", struct.pack("<H", bits & 0xFFFF))[0]
    return struct.unpack("<f", struct.pack("<i", bits))[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", required=True, choices=sorted(TOLERANCE))
    ap.add_argument("--exact-from", type=int, required=True)
    ap.add_argument("ref")
    ap.add_argument("outs", nargs="+")
    args = ap.parse_args()
    rtol, atol = TOLERANCE[args.dtype]
    shape, ref = load(args.ref)
    cols = shape[-1]
    ref_f = [decode(b, args.dtype) for b in ref]
    if any(not math.isfinite(v) for v in ref_f):
        sys.exit(f"{args.ref}: reference holds NaN/Inf")
    status = 0
    for path in args.outs:
        oshape, out = load(path)
        if oshape != shape:
            sys.exit(f"{path}: shape {oshape}, reference {shape}")
        worst, worst_at, differing, failure = 0.0, None, 0, None
        for i, (rb, ob) in enumerate(zip(ref, out)):
            row, col = divmod(i, cols)
            if col >= args.exact_from:
                if rb != ob and failure is None:
                    failure = (f"[{row}, {col}] must be unchanged: bits "
                               f"{ob:#x}, reference {rb:#x}")
                continue
            if rb == ob:
                continue
            differing += 1
            r, o = ref_f[i], decode(ob, args.dtype)
            err = abs(o - r)
            if not math.isfinite(o) or err > rtol * abs(r) + atol:
                if failure is None:
                    failure = (f"[{row}, {col}] = {o!r}, reference {r!r} "
                               f"(|diff| {err:.3g} > {rtol * abs(r) + atol:.3g})")
            if r == 0:
                continue  # within atol of a zero reference (else failed above)
            rel = err / abs(r)
            if rel > worst:
                worst, worst_at = rel, (row, col)
        if failure:
            print(f"FAIL {path}: {failure}")
            status = 1
            break
        print(f"OK {path}: {len(ref)} values, {differing} differ from the "
              f"reference (max rel {worst:.3g}{' at ' + str(list(worst_at)) if worst_at else ''}), "
              f"columns >= {args.exact_from} bit-identical")
    sys.exit(status)


if __name__ == "__main__":
    main()
