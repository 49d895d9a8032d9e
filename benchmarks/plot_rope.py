#!/usr/bin/env python3
"""Plot of bench_qk_norm_rope.py's results (docs/rope-performance-h200.md): one panel per configuration,
time per call against T for every variant, relative to ours unfused (our norm, then sglang's RoPE kernel:
`qk_2k`), so that a line above 1 is faster than the unfused pair. Needs matplotlib (not a project
dependency: any environment with it).

    python3 benchmarks/plot_rope.py RESULT.json [--extra LABEL=RESULT.json ...] --out docs/rope-performance-h200.png

--extra adds ours (`qk`) from another run as a dashed line (e.g. the bf16-cache run).
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {  # variant: (label, colour)
    "qk": ("ours, one call", "tab:blue"),
    "qk_2k": ("our norm + sglang RoPE", "black"),
    "sgl": ("sglang fused", "tab:orange"),
    "vllm": ("vLLM fused (auto)", "tab:green"),
    "vllm_h1": ("vLLM fused, 1 head/warp", "tab:olive"),
    "tri": ("Triton reference", "tab:purple"),
}
WRONG = 0.1  # max |err| above which a variant's output is wrong (bench marks it "(wrong)")


def load(path):
    d = json.load(open(path))
    rows = {}
    for r in d["rows"]:
        if "rot_us" in r:
            rows[(r["config"], r["T"], r["variant"])] = r
    return d, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("result")
    ap.add_argument("--extra", action="append", default=[], help="LABEL=bench.json: its `qk` rows, dashed")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    d, rows = load(args.result)
    configs = list(dict.fromkeys(c for c, _, _ in rows))
    extras = [(e.split("=", 1)[0], load(e.split("=", 1)[1])[1]) for e in args.extra]
    fig, axes = plt.subplots(1, len(configs), figsize=(4.2 * len(configs), 4.2), sharey=True)
    axes = axes if len(configs) > 1 else [axes]
    for ax, c in zip(axes, configs):
        Ts = sorted({t for cc, t, _ in rows if cc == c})
        base = {t: rows[(c, t, "qk_2k")]["rot_us"] for t in Ts if (c, t, "qk_2k") in rows}
        for v, (label, colour) in STYLE.items():
            pts = [(t, base[t] / rows[(c, t, v)]["rot_us"], rows[(c, t, v)].get("max_abs_err", 0.0) > WRONG)
                   for t in Ts if (c, t, v) in rows and t in base]
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colour, label=label,
                    lw=2.2 if v == "qk" else 1.2, ms=4)
            bad = [p for p in pts if p[2]]
            if bad:
                ax.plot([p[0] for p in bad], [p[1] for p in bad], "x", color="red", ms=9, mew=2,
                        label="wrong output")
        for label, er in extras:
            pts = [(t, base[t] / er[(c, t, "qk")]["rot_us"]) for t in Ts if (c, t, "qk") in er and t in base]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "s--", color="tab:cyan", label=label, lw=1.8, ms=4)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_title(c)
        ax.set_xlabel("T (tokens)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("speed vs our norm + sglang RoPE (x)")
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    env = d["env"]
    fig.suptitle(f"QK RMSNorm + RoPE, bf16, {env.get('cache_dtype', 'float32')} cos_sin_cache, CUDA-graph replay over "
                 f"rotating buffers; {env.get('gpu')}, torch {env.get('torch')}", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
