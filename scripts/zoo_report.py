#!/usr/bin/env python3
"""What qk-opt makes of the torch-mlir attention zoo (test/Inputs/torch-mlir/*.mlir): a markdown table.

    scripts/zoo_report.py                      # all fixtures, qk-opt from $QK_OPT or build/bin/qk-opt
    scripts/zoo_report.py --only qwen3 gemma3  # some zoo entries
    scripts/zoo_report.py --reasons            # also list the distinct Missed remarks per fixture

Per fixture, four qk-opt runs (no python packages needed, only qk-opt):
  1. --qk-raise-rms-norm                                    -> `qk.rms_norm` ops in the output IR
  2. --qk-raise-rms-norm --qk-fuse-strided-qk-norm (+ remarks as YAML)
                                                            -> `qk.fused_qk_norm` ops, their #qk.range
                                                               count, Passed/Missed remarks
  3. --one-shot-bufferize=bufferize-function-boundaries     -> memref.copy / memref.alloc (before)
  4. 2 followed by the same bufferization                   -> memref.copy / memref.alloc (after)
  5. 2 + --qk-fuse-rope, then the same bufferization        -> fused rotations (#qk.rope steps on
                                                               ops) and memref.copy / alloc (+rope)

Counts come from the printed IR, so they do not depend on the remark text; the remarks give the
reasons (read with python/qk/remarks.py, the package's YAML remark reader: standard library only). "expected" is the zoo's number of QK-norm sites that a correct raise finds in that dtype
(0 for the negative fixture: torch.nn.RMSNorm in bf16 computes in bf16), over the q/k ranges of
the fused projection that a correct fusion covers. A cell reads `err` when qk-opt failed; the
first line of its message is listed under the table.
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))
from qk.remarks import parse_yaml, read_yaml  # noqa: E402  (the checkout's reader, no qk-opt run)
FIXTURES = os.path.join(REPO, "test", "Inputs", "torch-mlir")
BUFFERIZE = "--one-shot-bufferize=bufferize-function-boundaries"
RAISE = "--qk-raise-rms-norm"
FUSE = "--qk-fuse-strided-qk-norm"
ROPE = "--qk-fuse-rope"

# the fixture's own header: "//   expected: 2 QK-norm site(s) over 2 q/k range(s) ...; raised in bf16: 2"
EXPECTED = re.compile(r"^//\s+expected: (\d+) QK-norm site\(s\) over (\d+) q/k range\(s\).*raised in \w+: (\d+)", re.M)
FILE_NAME = re.compile(r"^(?P<entry>[A-Za-z0-9_]+)-(?P<dtype>bf16|f32)-(?P<shape>static|dynamic)\.mlir$")
ALIAS_DEF = re.compile(r"^#([\w.$-]+)\s*=\s*(.*)$", re.M)


def op_lines(ir, op):
    """Lines of `ir` on which op `op` is defined (custom or generic form)."""
    name = re.escape(op)
    pat = re.compile(r"^\s*(?:%[^=]*=\s*)?(?:\"" + name + r"\"|" + name + r")[\s(<{]")
    return [l for l in ir.splitlines() if pat.match(l)]


def count_op(ir, op):
    return len(op_lines(ir, op))


def expand_aliases(text, aliases, depth=0):
    if depth > 8:
        return text
    def sub(m):
        return aliases.get(m.group(1), m.group(0))
    out = re.sub(r"#([\w.$-]+)", sub, text)
    return out if out == text else expand_aliases(out, aliases, depth + 1)


def fused_ranges(ir):
    """Number of #qk.range entries over all qk.fused_qk_norm ops (attribute aliases resolved)."""
    aliases = {m.group(1): m.group(2) for m in ALIAS_DEF.finditer(ir)}
    return sum(expand_aliases(l, aliases).count("#qk.range<") for l in op_lines(ir, "qk.fused_qk_norm"))


def parse_remarks(yaml_text):
    """MLIR's YAML remarks (qk.remarks.parse_yaml): [(kind, pass, name, message)]."""
    return [(r.kind, r.category, r.name, r.message) for r in parse_yaml(yaml_text)]


class Run:
    def __init__(self, qk_opt, path, passes, remarks=False):
        self.ir, self.error, self.remarks = None, None, []
        with tempfile.TemporaryDirectory(prefix="qk-zoo-") as tmp:
            cmd = [qk_opt, path] + passes
            yaml_path = os.path.join(tmp, "remarks.yaml")
            if remarks:
                cmd += ["--remarks-filter=qk-.*", "--remark-format=yaml", f"--remarks-output-file={yaml_path}"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                lines = [l for l in r.stderr.splitlines() if l.strip()]
                self.error = next((l for l in lines if "error" in l), lines[0] if lines else f"exit {r.returncode}")
                return
            self.ir = r.stdout
            if remarks:
                self.remarks = read_yaml(yaml_path)


def analyse(qk_opt, path):
    with open(path) as f:
        head = f.read(4096)
    m = EXPECTED.search(head)
    sites, ranges, expected = (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (None, None, None)
    raised = Run(qk_opt, path, [RAISE])
    fused = Run(qk_opt, path, [RAISE, FUSE], remarks=True)
    before = Run(qk_opt, path, [BUFFERIZE])
    after = Run(qk_opt, path, [RAISE, FUSE, BUFFERIZE])
    rope = Run(qk_opt, path, [RAISE, FUSE, ROPE, BUFFERIZE])
    res = dict(sites=sites, ranges=ranges, expected=expected, errors=[])

    def val(run, fn, what):
        if run.ir is None:
            res["errors"].append(f"{what}: {run.error}")
            return None
        return fn(run.ir)

    res["raised"] = val(raised, lambda ir: count_op(ir, "qk.rms_norm"), "raise")
    res["fused_ops"] = val(fused, lambda ir: count_op(ir, "qk.fused_qk_norm"), "raise+fuse")
    res["fused_ranges"] = val(fused, fused_ranges, "raise+fuse") if fused.ir is not None else None
    res["left_rms_norm"] = count_op(fused.ir, "qk.rms_norm") if fused.ir is not None else None
    res["copies"] = (val(before, lambda ir: count_op(ir, "memref.copy"), "bufferize"),
                     val(after, lambda ir: count_op(ir, "memref.copy"), "raise+fuse+bufferize"))
    res["allocs"] = (count_op(before.ir, "memref.alloc") if before.ir is not None else None,
                     count_op(after.ir, "memref.alloc") if after.ir is not None else None)
    res["rotated_ops"] = val(rope, lambda ir: sum(1 for l in op_lines(ir, "qk.fused_qk_norm")
                                                   if "#qk.rope" in expand_aliases(l, dict(ALIAS_DEF.findall(ir)))),
                             "raise+fuse+rope+bufferize")
    res["rope_copies"] = count_op(rope.ir, "memref.copy") if rope.ir is not None else None
    res["rope_allocs"] = count_op(rope.ir, "memref.alloc") if rope.ir is not None else None
    res["remarks"] = fused.remarks
    return res


def cell(v):
    return "err" if v is None else str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qk-opt", default=os.environ.get("QK_OPT", os.path.join(REPO, "build", "bin", "qk-opt")))
    ap.add_argument("--fixtures", default=FIXTURES, help="folder of <entry>-<dtype>-<shape>.mlir files")
    ap.add_argument("--only", nargs="*", default=None, help="zoo entries to report (default: all)")
    ap.add_argument("--reasons", action="store_true", help="list the distinct Missed remarks per fixture")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 4)
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every fixture raises its expected norms, fuses its expected "
                         "ranges (except --known-unfused entries, which must stay unfused), and ends "
                         "with no more memref.copy / memref.alloc than without the passes")
    ap.add_argument("--known-unfused", nargs="*", default=[],
                    help="entries whose norms are raised but knowingly not fused (with --check)")
    args = ap.parse_args()

    if not os.path.exists(args.qk_opt):
        print(f"error: qk-opt not found at {args.qk_opt} (set $QK_OPT or build it)", file=sys.stderr)
        return 2
    files = []
    for f in sorted(os.listdir(args.fixtures)):
        m = FILE_NAME.match(f)
        if m and (not args.only or m.group("entry") in args.only):
            files.append((m.group("entry"), m.group("shape"), m.group("dtype"), os.path.join(args.fixtures, f)))
    if not files:
        print(f"error: no fixtures in {args.fixtures}", file=sys.stderr)
        return 2
    order = {"static": 0, "dynamic": 1, "bf16": 0, "f32": 1}
    files.sort(key=lambda t: (t[0], order[t[1]], order[t[2]]))

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda t: analyse(args.qk_opt, t[3]), files))

    print(f"qk-opt: {args.qk_opt}\n")
    print("| module | T | dtype | expected sites (ranges) | raised `qk.rms_norm` | `qk.fused_qk_norm` ops | "
          "fused ranges | `memref.copy` before→after | `memref.alloc` before→after | "
          "ops with RoPE fused | `memref.copy` / `memref.alloc` with RoPE fused |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    totals = dict(expected=0, raised=0, ranges=0, fused_ranges=0)
    notes = []
    for (entry, shape, dtype, path), r in zip(files, results):
        exp = "?" if r["expected"] is None else f"{r['expected']} ({r['ranges'] if r['expected'] else 0})"
        if r["expected"] is not None and r["sites"] != r["expected"]:
            exp += f" of {r['sites']} (negative)"
        print(f"| {entry} | {shape} | {dtype} | {exp} | {cell(r['raised'])} | {cell(r['fused_ops'])} | "
              f"{cell(r['fused_ranges'])} | {cell(r['copies'][0])}→{cell(r['copies'][1])} | "
              f"{cell(r['allocs'][0])}→{cell(r['allocs'][1])} | {cell(r['rotated_ops'])} | "
              f"{cell(r['rope_copies'])} / {cell(r['rope_allocs'])} |")
        if r["expected"] is not None:
            totals["expected"] += r["expected"]
            totals["ranges"] += r["ranges"] if r["expected"] else 0
        totals["raised"] += r["raised"] or 0
        totals["fused_ranges"] += r["fused_ranges"] or 0
        name = os.path.basename(path)
        for e in dict.fromkeys(r["errors"]):
            notes.append(f"- {name}: qk-opt failed ({e})")
        if args.reasons:
            missed = {}
            for rem in r["remarks"]:
                if rem.kind == "Missed":
                    key = (rem.category, rem.message)
                    missed[key] = missed.get(key, 0) + 1
            for (pss, msg), n in sorted(missed.items()):
                notes.append(f"- {name}: {n}x [{pss}] {msg}")
    print(f"\nTotals: raised {totals['raised']} of {totals['expected']} expected sites; "
          f"fused ranges {totals['fused_ranges']} of {totals['ranges']} expected.")
    if notes:
        print("\n" + "\n".join(notes))
    if not args.check:
        return 0
    failures = []
    for (entry, shape, dtype, path), r in zip(files, results):
        name = os.path.basename(path)
        if r["errors"]:
            failures.append(f"{name}: qk-opt failed")
            continue
        if r["expected"] is not None and r["raised"] != r["expected"]:
            failures.append(f"{name}: raised {r['raised']}, expected {r['expected']}")
        want = 0 if entry in args.known_unfused or not r["expected"] else r["ranges"]
        if r["fused_ranges"] != want:
            failures.append(f"{name}: fused ranges {r['fused_ranges']}, expected {want}")
        for what, (before, after) in (("memref.copy", r["copies"]), ("memref.alloc", r["allocs"])):
            if after > before:
                failures.append(f"{name}: {what} {before} -> {after} (more with the passes)")
    for f in failures:
        print(f"CHECK FAILED: {f}")
    print(f"check: {len(files)} fixtures, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
