#!/usr/bin/env python3
"""Mutation fuzzer for qk-opt's passes and pipelines.

Seeds: every .mlir under test/ (test/Inputs/** included; the big torch-mlir
fixtures of test/Inputs/torch-mlir are sampled with a lower weight) and
examples/*.mlir, split at `// -----`. Seeds that do not parse and verify in
qk-opt are dropped. Each mutant applies 1-3 text mutations that keep the IR
parseable most of the time but push the passes into odd-but-valid corners
(see MUTATORS). A mutant that does not parse + verify (`qk-opt` with no
pass) is discarded; one that does is run through every pass configuration
of CONFIGS (--transform-interpreter only where the input has a transform
script), each with a timeout.

Findings:
  crash       a signal (rc < 0 or >= 128), or "Stack dump" / "PLEASE submit a
              bug report" in stderr. Deduplicated by the top frames of the
              LLVM stack dump (function names, else binary+offset); classified
              "project" when a frame is in qk-opt itself or names qk/QK, else
              "upstream-only".
  invalid-IR  a pass produced IR that fails the verifier (a miscompile-class
              bug): the run fails with --verify-each and the pass that fails
              (--mlir-print-ir-after-failure) is not the one that fails
              without it, or the run without --verify-each succeeds but its
              output does not verify. Deduplicated by (pass, error message
              with names and numbers masked).
  timeout     no result within --timeout seconds (a possible hang).

  mutate.py [--seed S] [--mutants N | --seconds S] [--jobs J] [--save]
            [--json FILE] [--expect-clean]

--save writes each unique finding's reproducer (the mutant reduced by line
deletion while the same finding reproduces, the command, stderr) under
fuzz/crashes/<hash>/. --expect-clean exits 1 on any project crash or
invalid-IR output (for the lit smoke test).
"""

import argparse
import glob
import hashlib
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QK_OPT = os.environ.get("QK_OPT", os.path.join(ROOT, "build", "bin", "qk-opt"))

CONFIGS = [
    ("raise", ["--qk-raise-rms-norm"]),
    ("fuse", ["--qk-fuse-strided-qk-norm"]),
    ("raise+fuse", ["--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm"]),
    ("rope", ["--qk-fuse-rope"]),
    ("raise+fuse+rope", ["--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm", "--qk-fuse-rope"]),
    ("decompose", ["--qk-decompose"]),
    ("pipeline-cpu", ["--qk-norm-pipeline=target=cpu"]),
    ("pipeline-cuda", ["--qk-norm-pipeline=target=cuda"]),
    ("transform", ["--transform-interpreter"]),
]

# ---------------------------------------------------------------- seeds


def load_seeds(root, torch_weight):
    files = sorted(glob.glob(os.path.join(root, "test", "**", "*.mlir"), recursive=True))
    files += sorted(glob.glob(os.path.join(root, "examples", "*.mlir")))
    seeds = []
    for f in files:
        text = open(f, errors="replace").read()
        rel = os.path.relpath(f, root)
        weight = torch_weight if "torch-mlir" in rel else 1.0
        for i, chunk in enumerate(re.split(r"^// -----.*$", text, flags=re.M)):
            if chunk.strip():
                seeds.append((f"{rel}#{i}", chunk, weight))
    return seeds


def run_opt(args, text, timeout):
    """(rc, stdout, stderr); rc None on timeout; rc 'missing' when qk-opt is
    briefly absent (another agent rebuilding it)."""
    for attempt in range(60):
        if not os.path.exists(QK_OPT):
            time.sleep(2)
            continue
        try:
            p = subprocess.run([QK_OPT] + args, input=text, capture_output=True,
                               text=True, timeout=timeout, errors="replace")
            return p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            return None, "", ""
        except OSError:  # being rebuilt
            time.sleep(2)
    return "missing", "", "qk-opt missing"


def verifies(text, timeout):
    rc, _, err = run_opt(["--verify-each"], text, timeout)
    return rc, err


# ---------------------------------------------------------------- mutators

INTS = [0, -1, 1, 2, 3, 7, 16, -16, 1 << 31, -(1 << 31), (1 << 62), 1000003]
FLOAT_HEX = {"f32": ["0x7FC00000", "0x7F800000", "0xFF800000", "0x80000000", "0x00000001"],
             "f64": ["0x7FF8000000000000", "0x7FF0000000000000", "0xFFF0000000000000"],
             "f16": ["0x7E00", "0x7C00", "0xFC00", "0x8000"],
             "bf16": ["0x7FC0", "0x7F80", "0xFF80", "0x8000"]}
FLOATS = ["0.000000e+00", "-1.000000e-05", "-1.000000e+00", "1.000000e+30",
          "1.000000e-30", "1.000000e+00", "3.200000e+01", "2.000000e+00"]
ELTS = ["bf16", "f16", "f32", "f64", "i32"]

ANY_INT_CONST = re.compile(r"(arith\.constant )(-?\d+)( : (?:index|i\d+))")
FLOAT_CONST = re.compile(
    r"(arith\.constant )(-?\d[\d.]*(?:[eE][-+]?\d+)?|0x[0-9A-Fa-f]+)( : (f16|bf16|f32|f64))\b")
TENSOR_T = re.compile(r"tensor<((?:(?:\d+|\?)x)+)([a-z]+\d+)>")
SLICE = re.compile(r"(_slice[^\[\n]*%[\w#]+)\[([^\[\]\n]*)\] \[([^\[\]\n]*)\] \[([^\[\]\n]*)\]")
ELT = re.compile(r"\b(bf16|f16|f32|f64|i32)\b")
REASSOC = re.compile(r"\[\[[\d, \[\]]*\]\]")
AMAP = re.compile(r"affine_map<\(([^()]*)\)(\[[^\]]*\])? -> \(([^()]*)\)>")
ITERS = re.compile(r"iterator_types = \[([^\]]*)\]")
QKFIELD = re.compile(r"\b(column_offset|num_groups|group_size|group_stride|weight|"
                     r"weight_offset|epsilon|rounding) = ([^,>}\s]+)")
ARITH_BIN = re.compile(r"(arith\.(?:addf|mulf|subf|divf|addi|muli|maxnumf|minnumf) )"
                       r"(%[\w#]+), (%[\w#]+)")
INS_PAIR = re.compile(r"ins\((%[\w#]+), (%[\w#]+) : ([^,()]+|[^,()]+<[^>]*>), ([^)]*)\)")
DEF = re.compile(r"^(\s*)(%[\w#:]+(?:, %[\w#:]+)*) = ")
SSA = r"(?<![\w#%%])%s(?![\w#])"


def pick(rng, matches):
    matches = list(matches)
    return rng.choice(matches) if matches else None


def sub_at(text, m, group, new):
    return text[:m.start(group)] + new + text[m.end(group):]


def mut_int(text, rng):
    m = pick(rng, ANY_INT_CONST.finditer(text))
    if not m:
        return None
    old = int(m.group(2))
    new = rng.choice(INTS + [old + 1, old - 1, old * 2, -old])
    return sub_at(text, m, 2, str(new))


def mut_float(text, rng):
    m = pick(rng, FLOAT_CONST.finditer(text))
    if not m:
        return None
    new = rng.choice(FLOATS + FLOAT_HEX[m.group(4)])
    return sub_at(text, m, 2, new)


def mut_dim(text, rng):
    m = pick(rng, TENSOR_T.finditer(text))
    if not m:
        return None
    dims = m.group(1)[:-1].split("x")
    i = rng.randrange(len(dims))
    if dims[i] == "?":
        dims[i] = str(rng.choice([1, 2, 5, 8, 16, 64]))
    else:
        dims[i] = rng.choice(["?", "?", "1", "0", str(int(dims[i]) * 2)])
    new = "tensor<" + "x".join(dims) + "x" + m.group(2) + ">"
    if rng.random() < 0.6:  # the same type everywhere: stays consistent
        return text.replace(m.group(0), new)
    return text[:m.start()] + new + text[m.end():]


def mut_slice(text, rng):
    m = pick(rng, SLICE.finditer(text))
    if not m:
        return None
    g = rng.choice([2, 3, 4])
    items = [s.strip() for s in m.group(g).split(",")]
    idx = [i for i, s in enumerate(items) if re.fullmatch(r"-?\d+", s)]
    if not idx:
        return None
    i = rng.choice(idx)
    old = int(items[i])
    items[i] = str(rng.choice([0, 1, -1, 2, old + 1, old - 1, old * 2, old + 16, 1 << 40]))
    return sub_at(text, m, g, ", ".join(items))


def mut_elt(text, rng):
    m = pick(rng, ELT.finditer(text))
    if not m:
        return None
    new = rng.choice([e for e in ELTS if e != m.group(1)])
    if rng.random() < 0.5:
        return re.sub(r"\b%s\b" % m.group(1), new, text)
    return sub_at(text, m, 1, new)


def op_spans(lines):
    """(start, end) line spans of ops that define results: one line, or a
    region op up to its closing `} -> type` line."""
    spans = []
    for i, line in enumerate(lines):
        if not DEF.match(line) or "func.func" in line:
            continue
        if line.rstrip().endswith("{"):
            depth = 0
            for j in range(i, len(lines)):
                depth += lines[j].count("{") - lines[j].count("}")
                if depth <= 0:
                    spans.append((i, j))
                    break
        else:
            spans.append((i, i))
    return spans


def results_of(line):
    names = []
    for r in DEF.match(line).group(2).split(","):
        r = r.strip()
        if ":" in r:  # %0:2
            base, n = r.split(":")
            names += [f"{base}#{k}" for k in range(int(n))] + [base]
        else:
            names.append(r)
    return names


def replace_uses(lines, start, old, new):
    pat = re.compile(SSA % re.escape(old))
    for k in range(start, len(lines)):
        lines[k] = pat.sub(new, lines[k])


def mut_drop(text, rng):
    """Drops an op; its uses go to its DPS init (outs(%x ...)) when it has
    one, else to another value defined earlier, else nowhere."""
    lines = text.split("\n")
    spans = op_spans(lines)
    if not spans:
        return None
    i, j = rng.choice(spans)
    op = "\n".join(lines[i:j + 1])
    res = results_of(lines[i])
    outs = re.search(r"outs\((%[\w#]+)", op)
    repl = outs.group(1) if outs else None
    if repl is None:
        earlier = [results_of(lines[a])[0] for a, b in spans if b < i]
        repl = rng.choice(earlier) if earlier else None
    del lines[i:j + 1]
    if repl:
        replace_uses(lines, i, res[0], repl)
    return "\n".join(lines)


def mut_dup(text, rng):
    """Duplicates an op under fresh names; some later uses read the copy."""
    lines = text.split("\n")
    spans = op_spans(lines)
    if not spans:
        return None
    i, j = rng.choice(spans)
    copy = lines[i:j + 1]
    res = [r for r in results_of(lines[i]) if "#" not in r]
    tag = f"_dup{rng.randrange(1000)}"
    copy[0] = DEF.sub(lambda m: m.group(1) + ", ".join(
        (r.split(":")[0] + tag + (":" + r.split(":")[1] if ":" in r else ""))
        for r in m.group(2).split(", ")) + " = ", copy[0], count=1)
    lines[j + 1:j + 1] = copy
    after = j + 1 + len(copy)
    for r in res:
        pat = re.compile(SSA % re.escape(r))
        for k in range(after, len(lines)):
            if pat.search(lines[k]) and rng.random() < 0.5:
                lines[k] = pat.sub(r + tag, lines[k])
    return "\n".join(lines)


def mut_swap(text, rng):
    cands = [(m, "bin") for m in ARITH_BIN.finditer(text)]
    cands += [(m, "ins") for m in INS_PAIR.finditer(text) if m.group(3).strip() ==
              m.group(4).split(",")[0].strip()]
    if not cands:
        return None
    m, kind = rng.choice(cands)
    a, b = m.group(2), m.group(3) if kind == "bin" else m.group(2)
    if kind == "bin":
        a, b = m.group(2), m.group(3)
        new = rng.choice([f"{b}, {a}", f"{a}, {a}", f"{b}, {b}"])
        return text[:m.start(2)] + new + text[m.end(3):]
    a, b = m.group(1), m.group(2)
    new = rng.choice([f"{b}, {a}", f"{a}, {a}", f"{b}, {b}"])
    return text[:m.start(1)] + new + text[m.end(2):]


def mut_reassoc(text, rng):
    m = pick(rng, REASSOC.finditer(text))
    if not m:
        return None
    groups = json.loads(m.group(0))
    if len(groups) < 2:
        groups = [groups[0][:1], groups[0][1:]] if len(groups[0]) > 1 else groups
    else:
        k = rng.randrange(len(groups) - 1)
        op = rng.choice(["left", "right", "merge", "split"])
        if op == "left" and len(groups[k + 1]) > 1:
            groups[k].append(groups[k + 1].pop(0))
        elif op == "right" and len(groups[k]) > 1:
            groups[k + 1].insert(0, groups[k].pop())
        elif op == "merge":
            groups[k:k + 2] = [groups[k] + groups[k + 1]]
        elif len(groups[k]) > 1:
            groups[k:k + 1] = [groups[k][:1], groups[k][1:]]
    new = "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"
    return text[:m.start()] + new + text[m.end():]


def mut_map(text, rng):
    m = pick(rng, AMAP.finditer(text))
    if not m:
        return None
    dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
    res = [r.strip() for r in m.group(3).split(",") if r.strip()]
    op = rng.choice(["replace", "swap", "drop", "add"])
    if op == "replace" and res:
        res[rng.randrange(len(res))] = rng.choice(dims + ["0", "0"]) if dims else "0"
    elif op == "swap" and len(res) > 1:
        a, b = rng.sample(range(len(res)), 2)
        res[a], res[b] = res[b], res[a]
    elif op == "drop" and res:
        res.pop(rng.randrange(len(res)))
    elif dims:
        res.insert(rng.randrange(len(res) + 1), rng.choice(dims))
    new = f"affine_map<({m.group(1)}){m.group(2) or ''} -> ({', '.join(res)})>"
    return text[:m.start()] + new + text[m.end():]


def mut_iter(text, rng):
    m = pick(rng, ITERS.finditer(text))
    if not m:
        return None
    its = [s.strip() for s in m.group(1).split(",")]
    i = rng.randrange(len(its))
    its[i] = '"reduction"' if "parallel" in its[i] else '"parallel"'
    return sub_at(text, m, 1, ", ".join(its))


def mut_qk(text, rng):
    m = pick(rng, QKFIELD.finditer(text))
    if not m:
        return None
    field, val = m.group(1), m.group(2)
    if field == "rounding":
        new = "once" if "before" in val else "before_weight"
    elif field in ("epsilon", "weight_offset"):
        new = rng.choice(FLOATS + ["0x7FC00000", "0x7F800000", "-0.000000e+00"])
    else:
        try:
            old = int(val)
        except ValueError:
            return None
        new = str(rng.choice(INTS + [old + 1, old - 1, old * 2, old + 16, old - 16]))
    return sub_at(text, m, 2, new)


MUTATORS = [("int", mut_int, 3), ("float", mut_float, 2), ("dim", mut_dim, 3),
            ("slice", mut_slice, 3), ("elt", mut_elt, 1), ("drop", mut_drop, 2),
            ("dup", mut_dup, 2), ("swap", mut_swap, 2), ("reassoc", mut_reassoc, 1),
            ("map", mut_map, 2), ("iter", mut_iter, 1), ("qk", mut_qk, 3)]


def mutate(text, rng):
    applied = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        for _ in range(8):
            name, fn, _w = rng.choices(MUTATORS, weights=[w for *_, w in MUTATORS])[0]
            new = fn(text, rng)
            if new is not None and new != text:
                text = new
                applied.append(name)
                break
    return text, applied


# ---------------------------------------------------------------- analysis

SKIP_FRAME = re.compile(r"PrintStackTrace|RunSignalHandlers|SignalHandler|__restore_rt|"
                        r"raise|abort|__pthread_kill|pthread_kill|gsignal|libc\.so")
FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ (.*)$")


def frames(stderr):
    out = []
    for line in stderr.splitlines():
        m = FRAME.match(line)
        if not m:
            continue
        body = m.group(2)
        binm = re.search(r" ?\(([^()]*)\+(0x[0-9a-f]+)\)$", body)
        name = body[:binm.start()].strip() if binm else body.strip()
        binary = os.path.basename(binm.group(1)) if binm else ""
        if not name:
            name = f"{binary}+{binm.group(2)}" if binm else "?"
        out.append((name, binary))
    return out


def crash_info(stderr, nframes=5):
    fr = frames(stderr)
    # Drop the signal-handling prologue: everything up to the last handler frame.
    start = 0
    for k, (name, binary) in enumerate(fr[:8]):
        if SKIP_FRAME.search(name) or (binary.startswith("libLLVM") and "+" in name and k < 4):
            start = k + 1
    top = [n for n, _ in fr[start:start + nframes]]
    project = any(b == "qk-opt" and n not in ("main", "_start") or
                  re.search(r"\bqk\b|mlir::qk|QK", n) for n, b in fr[start:])
    passm = re.findall(r"^\d+\.\s+(Running pass '[^']*')", stderr, flags=re.M)
    msg = ""
    am = re.search(r"Assertion `.*' failed|LLVM ERROR: .*|UNREACHABLE.*", stderr)
    if am:
        msg = am.group(0)
    return top, project, (passm[-1] if passm else ""), msg


def failing_pass(stderr):
    m = re.findall(r"IR Dump After (\S+) Failed", stderr)
    return m[-1] if m else None


def first_error(stderr):
    m = re.search(r"error: (.*)", stderr)
    return m.group(1).strip() if m else stderr.strip().splitlines()[-1:] and ""


def mask(msg):
    msg = re.sub(r"%[\w#]+", "%V", msg)
    msg = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "N", msg)
    return re.sub(r"'[^']*' (type|op)", r"'T' \1", msg)[:200]


def is_crash(rc, stderr):
    if rc is None or rc == "missing":
        return False
    return rc < 0 or rc >= 128 or "Stack dump" in stderr or "PLEASE submit a bug report" in stderr


def check(text, config_name, args, timeout):
    """One pass configuration on a verified mutant. Returns a finding dict or
    None; kinds crash / invalid-ir / timeout / missing."""
    rc, out, err = run_opt(args, text, timeout)
    if rc == "missing":
        return {"kind": "missing"}
    if rc is None:
        return {"kind": "timeout", "key": f"timeout:{config_name}", "config": config_name}
    if is_crash(rc, err):
        rc2, _, err2 = run_opt(args, text, timeout)
        if not is_crash(rc2, err2):
            return None  # not reproducible: qk-opt rebuilt under us
        top, project, passname, msg = crash_info(err)
        key = "crash:" + "|".join(top) + ("|" + msg if msg else "")
        return {"kind": "crash", "key": key, "config": config_name, "project": bool(project),
                "frames": top, "pass": passname, "msg": msg, "stderr": err[-6000:]}
    if rc == 0:
        return None
    # Failed. Whose failure is it: the pass's own, or the verifier's after it?
    rc1, _, err1 = run_opt(args + ["--mlir-print-ir-after-failure"], text, timeout)
    rc0, out0, err0 = run_opt(args + ["--verify-each=0", "--mlir-print-ir-after-failure"],
                              text, timeout)
    if rc0 is None or rc1 is None or rc0 == "missing" or rc1 == "missing":
        return None
    if is_crash(rc0, err0):
        # Invalid IR that a later pass crashes on, or an unverified crash.
        top, project, passname, msg = crash_info(err0)
        f1 = failing_pass(err1)
        return {"kind": "invalid-ir", "key": f"invalid-ir:{f1}:{mask(first_error(err))}",
                "config": config_name, "pass": f1, "error": first_error(err),
                "note": "without --verify-each a later pass crashes", "stderr": err[-6000:]}
    f1, f0 = failing_pass(err1), failing_pass(err0)
    bad = None
    if rc0 == 0:
        vrc, verr = verifies(out0, timeout)
        bad = f1 or "?"
        if vrc == 0 and f1 is None:
            bad = None
    elif f1 is not None and f1 != f0:
        bad = f1
    if bad is None:
        return None  # the pass itself reported failure: not a bug class here
    return {"kind": "invalid-ir", "key": f"invalid-ir:{bad}:{mask(first_error(err))}",
            "config": config_name, "pass": bad, "error": first_error(err),
            "stderr": err[-6000:]}


def configs_for(text):
    return [(n, a) for n, a in CONFIGS
            if n != "transform" or "transform.named_sequence" in text]


TRIES = 5


def fuzz_one(job):
    """Worker: generate mutant `idx` of `seed` and run it everywhere."""
    gseed, idx, timeout = job
    seeds = _SEEDS
    rng = random.Random(f"{gseed}:{idx}")
    # Up to TRIES mutants until one parses and verifies.
    for attempt in range(TRIES):
        sname, text, _ = rng.choices(seeds, weights=[w for *_, w in seeds])[0]
        mutant, applied = mutate(text, rng)
        rc, err = verifies(mutant, timeout)
        if rc == 0 or is_crash(rc, err):
            break
    res = {"idx": idx, "seed": sname, "mutations": applied, "valid": False,
           "findings": [], "runs": 0, "tries": attempt + 1}
    if is_crash(rc, err) and not is_crash(*verifies(mutant, timeout)):
        rc = 1  # did not reproduce (qk-opt rebuilt under us?)
    if is_crash(rc, err):
        top, project, passname, msg = crash_info(err)
        res["findings"].append({"kind": "crash", "config": "parse+verify",
                                "key": "crash:" + "|".join(top) + ("|" + msg if msg else ""),
                                "project": bool(project), "frames": top, "pass": passname,
                                "msg": msg, "stderr": err[-6000:]})
        res["mutant"] = mutant
        return res
    if rc != 0:
        return res
    res["valid"] = True
    for name, args in configs_for(mutant):
        f = check(mutant, name, args, timeout)
        res["runs"] += 1
        if f and f["kind"] != "missing":
            res["findings"].append(f)
    if res["findings"]:
        res["mutant"] = mutant
    return res


# ---------------------------------------------------------------- reduce/save


def reproduces(text, finding, timeout):
    if finding["config"] == "parse+verify":
        rc, err = verifies(text, timeout)
        if not is_crash(rc, err):
            return False
        top, *_ = crash_info(err)
        return "crash:" + "|".join(top) in finding["key"]
    args = dict(CONFIGS)[finding["config"]]
    rc, err = verifies(text, timeout)
    if rc != 0:
        return False
    f = check(text, finding["config"], args, timeout)
    return bool(f) and f.get("key") == finding["key"]


def reduce(text, finding, timeout, budget_s=60):
    """Greedy line deletion (ops, then chunks) while the finding reproduces."""
    t0 = time.time()
    # First: one top-level function alone (the other functions and a
    # trailing transform module dropped), when that reproduces.
    funcs = re.split(r"(?m)^(?=func\.func|  func\.func|module)", text)
    for f in sorted((f for f in funcs if "func.func" in f), key=len):
        if f.startswith("  func.func"):
            continue
        if time.time() - t0 < budget_s and reproduces(f, finding, timeout):
            text = f
            break
    lines = text.split("\n")
    lines = [l for l in lines if not l.lstrip().startswith("//")] or lines
    if not reproduces("\n".join(lines), finding, timeout):
        lines = text.split("\n")
    chunk = max(1, len(lines) // 4)
    while chunk >= 1 and time.time() - t0 < budget_s:
        i, changed = 0, False
        while i < len(lines) and time.time() - t0 < budget_s:
            cand = lines[:i] + lines[i + chunk:]
            if reproduces("\n".join(cand), finding, timeout):
                lines, changed = cand, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return "\n".join(lines)


def save(finding, mutant, seed, timeout, outdir):
    h = hashlib.sha1(finding["key"].encode()).hexdigest()[:12]
    d = os.path.join(outdir, h)
    if os.path.exists(d):
        return d
    os.makedirs(d)
    small = reduce(mutant, finding, timeout)
    open(os.path.join(d, "input.mlir"), "w").write(small + "\n")
    args = ["--verify-each"] if finding["config"] == "parse+verify" else \
        dict(CONFIGS)[finding["config"]]
    cmd = "build/bin/qk-opt " + " ".join(args) + f" fuzz/crashes/{h}/input.mlir"
    open(os.path.join(d, "cmd.sh"), "w").write("#!/bin/sh\n# from seed " + seed +
                                                 "\n" + cmd + "\n")
    rc, out, err = run_opt(args + [os.path.join(d, "input.mlir")], "", timeout)
    open(os.path.join(d, "stderr.txt"), "w").write(err[-20000:])
    meta = {k: v for k, v in finding.items() if k != "stderr"}
    meta["seed"] = seed
    json.dump(meta, open(os.path.join(d, "finding.json"), "w"), indent=1)
    return d


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mutants", type=int, default=0,
                    help="stop after N jobs (each: up to 5 mutants until one verifies)")
    ap.add_argument("--seconds", type=float, default=0, help="stop after S seconds")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--torch-weight", type=float, default=0.15,
                    help="sampling weight of a torch-mlir fixture chunk (others: 1)")
    ap.add_argument("--save", action="store_true", help="write reproducers to --out")
    ap.add_argument("--out", default=os.path.join(ROOT, "fuzz", "crashes"))
    ap.add_argument("--json", help="write the summary (and findings) here")
    ap.add_argument("--expect-clean", action="store_true",
                    help="exit 1 on a project crash or an invalid-IR output")
    ap.add_argument("--known", help="file of finding-key substrings (one a line, # "
                    "comments) already reported: listed, but --expect-clean ignores them")
    ap.add_argument("--qk-opt", help="the qk-opt binary (default build/bin/qk-opt)")
    args = ap.parse_args()
    if not args.mutants and not args.seconds:
        args.mutants = 200
    if args.qk_opt:
        global QK_OPT
        QK_OPT = os.path.abspath(args.qk_opt) if os.path.exists(args.qk_opt) else args.qk_opt

    t0 = time.time()
    seeds = load_seeds(ROOT, args.torch_weight)
    # Keep the seeds that parse and verify (the lit tests of invalid IR do not).
    with multiprocessing.Pool(args.jobs) as pool:
        ok = pool.map(_seed_ok, [(s[1], args.timeout) for s in seeds])
    seeds = [s for s, good in zip(seeds, ok) if good]
    print(f"seeds: {len(seeds)} verified chunks ({time.time() - t0:.1f}s)", flush=True)

    stats = {"mutants": 0, "valid": 0, "runs": 0, "timeouts": 0}
    uniq = {}
    mutations = {}
    done = 0

    def batches():
        # Pool's feeder thread drains a generator eagerly: hand it bounded
        # batches, checking the limits between them.
        i = 0
        while (not args.mutants or i < args.mutants) and \
                (not args.seconds or time.time() - t0 < args.seconds):
            n = 4 * args.jobs if not args.mutants else min(4 * args.jobs, args.mutants - i)
            yield [(args.seed, k, args.timeout) for k in range(i, i + n)]
            i += n

    with multiprocessing.Pool(args.jobs, _init, (seeds,)) as pool:
        for res in (r for b in batches() for r in pool.imap_unordered(fuzz_one, b)):
            stats["mutants"] += res["tries"]
            stats["valid"] += res["valid"]
            stats["runs"] += res["runs"]
            for m in res["mutations"]:
                mutations[m] = mutations.get(m, 0) + 1
            for f in res["findings"]:
                if f["kind"] == "timeout":
                    stats["timeouts"] += 1
                u = uniq.setdefault(f["key"], dict(f, count=0, first_mutant=res["idx"],
                                                   seed=res["seed"],
                                                   mutations=res["mutations"]))
                u["count"] += 1
                if args.save and u["count"] == 1 and f["kind"] != "timeout":
                    u["saved"] = save(f, res["mutant"], res["seed"], args.timeout, args.out)
                elif u["count"] == 1 and f["kind"] != "timeout":
                    u["mutant_text"] = res["mutant"]
            done += 1
            if done % 100 == 0:
                print(f"  {stats['mutants']} mutants, {stats['valid']} valid, "
                      f"{stats['runs']} runs, {len(uniq)} unique findings, "
                      f"{time.time() - t0:.0f}s", flush=True)

    elapsed = time.time() - t0
    crashes = [u for u in uniq.values() if u["kind"] == "crash"]
    proj = [u for u in crashes if u["project"]]
    upstream = [u for u in crashes if not u["project"]]
    # An invalid-IR output is the project's when a qk pass produced it.
    invalid_all = [u for u in uniq.values() if u["kind"] == "invalid-ir"]
    invalid = [u for u in invalid_all if re.search(r"qk|QK", u.get("pass") or "")]
    invalid_up = [u for u in invalid_all if u not in invalid]
    timeouts = [u for u in uniq.values() if u["kind"] == "timeout"]
    print(f"seed {args.seed}: {stats['mutants']} mutants ({stats['valid']} parse+verify), "
          f"{stats['runs']} pass runs in {elapsed:.0f}s")
    print(f"mutations applied: {dict(sorted(mutations.items()))}")
    print(f"unique crashes: {len(crashes)} (project {len(proj)}, upstream-only "
          f"{len(upstream)}); invalid-IR outputs: {len(invalid_all)} (project {len(invalid)}, "
          f"upstream-only {len(invalid_up)}); "
          f"timeouts: {stats['timeouts']} ({len(timeouts)} configs)")
    for u in proj + upstream + invalid + invalid_up:
        where = ("project crash" if u.get("project") else "upstream crash") \
            if u["kind"] == "crash" else \
            ("project invalid-ir" if u in invalid else "upstream invalid-ir")
        print(f"  [{where}] x{u['count']} {u['config']} seed {u['seed']} "
              f"mutant {u['first_mutant']} ({'+'.join(u['mutations'])}): "
              f"{' <- '.join(u.get('frames', [])[:3]) or u.get('error', '')} "
              f"{u.get('pass', '')} {u.get('saved', '')}")
    if args.json:
        json.dump({"args": vars(args), "elapsed_s": elapsed, "stats": stats,
                   "mutations": mutations,
                   "findings": [{k: v for k, v in u.items() if k != "stderr"}
                                for u in uniq.values()]},
                  open(args.json, "w"), indent=1)
    known = []
    if args.known:
        known = [l.strip() for l in open(args.known) if l.strip() and not l.startswith("#")]

    def new(us):
        return [u for u in us if not any(k in u["key"] for k in known)]
    print("project crashes: %d (new: %d)" % (len(proj), len(new(proj))))
    print("project invalid-IR outputs: %d (new: %d)" % (len(invalid), len(new(invalid))))
    if args.expect_clean and (new(proj) or new(invalid)):
        return 1
    return 0


_SEEDS = []


def _init(seeds):
    global _SEEDS
    _SEEDS = seeds


def _seed_ok(job):
    text, timeout = job
    rc, _ = verifies(text, timeout)
    return rc == 0


if __name__ == "__main__":
    sys.exit(main())
