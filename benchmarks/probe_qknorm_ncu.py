#!/usr/bin/env python3
"""A few launches of our kernel (and the Triton reference) for Nsight Compute.

Run under ncu to read per-kernel duration, DRAM throughput and occupancy, e.g.
  ncu --metrics gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,\
sm__warps_active.avg.pct_of_peak_sustained_active python3 probe_qknorm_ncu.py --lib LIB
Config: llama4_scout (Hq=40, Hkv=8, D=128, bf16), T in --tokens.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_qknorm as b  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--tokens", default="1,32768")
ap.add_argument("--config", default="llama4_scout")
args = ap.parse_args()
lib = b.load_lib(args.lib)
cfg = b.CONFIGS[args.config]
D = cfg["D"]
W = (cfg["Hq"] + 2 * cfg["Hkv"]) * D
w = (1.0 + 0.1 * torch.randn(D, device="cuda")).to(b.DT)
rg = b.qk_ranges(cfg, w, w)
for T in (int(t) for t in args.tokens.split(",")):
    x = torch.randn(T, W, device="cuda", dtype=b.DT)
    for _ in range(3):
        b.qk_call(lib, x, rg)
        b.tri_qknorm_inplace(x, w, w, cfg["Hq"], cfg["Hkv"], D, cfg["eps"], False, 16, 8)
    torch.cuda.synchronize()
print("probe done")
