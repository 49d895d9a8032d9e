"""python -m qk report <module spec>: the RMSNorm sites qk-opt finds in a PyTorch module, what
was fused, and why anything was not.

Module specs:
    qk.models:qwen3_8b              a factory returning (module, example_inputs) or a module
    my_pkg.attn:MyAttention         an nn.Module class (constructed without arguments)
    path/to/model.py:build          the same, from a file
Example inputs come from the factory, else from --input (repeatable, "T" = token count):
    --input T:int64 --input Tx4096:bfloat16
The module is exported with torch.export + torch-mlir (qk.frontend): the token count is dynamic
unless --static; locations are the module's Python lines.
"""

import argparse
import importlib
import importlib.util
import json
import os
import sys
from typing import List, Optional


def _load_object(spec: str):
    if ":" not in spec:
        raise SystemExit(f"qk report: module spec must be MODULE:NAME or FILE.py:NAME, not {spec!r}")
    mod_name, attr = spec.rsplit(":", 1)
    if mod_name.endswith(".py") or os.sep in mod_name:
        path = os.path.abspath(mod_name)
        if not os.path.isfile(path):
            raise SystemExit(f"qk report: no such file {mod_name}")
        name = "_qk_report_" + os.path.splitext(os.path.basename(path))[0]
        s = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(s)
        sys.modules[name] = module
        s.loader.exec_module(module)
    else:
        module = importlib.import_module(mod_name)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"qk report: {mod_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _parse_input(text: str):
    import torch
    from .frontend import TensorSpec
    if ":" not in text:
        raise SystemExit(f"qk report: --input must be SHAPE:DTYPE (e.g. Tx4096:bfloat16), not {text!r}")
    shape_s, dtype_s = text.split(":", 1)
    dtype = getattr(torch, dtype_s, None)
    if not isinstance(dtype, torch.dtype):
        raise SystemExit(f"qk report: unknown dtype {dtype_s!r}")
    shape = [("T" if d == "T" else int(d)) for d in shape_s.split("x")] if shape_s else []
    return TensorSpec(tuple(shape), dtype)


def resolve(spec: str, inputs: Optional[List[str]] = None):
    """(module, example_inputs) for a module spec."""
    import torch.nn as nn
    obj = _load_object(spec)
    example = None
    if isinstance(obj, nn.Module):
        module = obj
    elif isinstance(obj, type) and issubclass(obj, nn.Module):
        module = obj()
    elif callable(obj):
        made = obj()
        if isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], nn.Module):
            module, example = made
        elif isinstance(made, nn.Module):
            module = made
        else:
            raise SystemExit(f"qk report: {spec} returned {type(made).__name__}, expected a module "
                             "or (module, example_inputs)")
    else:
        raise SystemExit(f"qk report: {spec} is not a module, a module class or a factory")
    if inputs:
        example = tuple(_parse_input(t) for t in inputs)
    if example is None and hasattr(module, "qk_example_inputs"):
        example = tuple(module.qk_example_inputs())
    if example is None:
        raise SystemExit("qk report: no example inputs: give --input SHAPE:DTYPE for every forward input")
    return module.eval(), tuple(example)


def _short(loc) -> str:
    if loc is None:
        return "?"
    return f"{os.path.basename(loc.file)}:{loc.line}"


def _where(r) -> str:
    chain = [r.location] + list(r.call_stack)
    return " <- ".join(_short(l) for l in chain)


def report(spec: str, inputs=None, *, qk_opt=None, copies: bool = True, emit_mlir=None, fused_ir=None,
           dynamic: bool = True) -> dict:
    from . import driver
    from .frontend import to_mlir
    module, example = resolve(spec, inputs)
    # the weights are only needed in the IR when it is written out (it then runs)
    emitted = to_mlir(module, example, dynamic=dynamic, elide_weights=not emit_mlir)
    if emit_mlir:
        emitted.write(emit_mlir)
    res = driver.compile(emitted, target="tensor", qk_opt=qk_opt)
    if fused_ir:
        with open(fused_ir, "w") as f:
            f.write(res.ir)
    out = {
        "spec": spec,
        "module": type(module).__name__,
        "function": emitted.func_name,
        "dynamic": emitted.dynamic,
        "arguments": [{"name": a.name, "kind": a.kind, "source": a.source,
                       "shape": [str(d) for d in a.shape], "dtype": str(a.dtype).replace("torch.", "")}
                      for a in emitted.arguments],
        # each remark's figures (`args`, e.g. the reason code of a missed one) next to its text
        "raised": [{"where": _where(r), "message": r.message, "args": r.args} for r in res.raised],
        "fused": [{"where": _where(r), "message": r.message, "args": r.args} for r in res.fused],
        "missed": [{"where": _where(r), "pass": r.pass_name, "message": r.message, "args": r.args}
                   for r in res.missed],
        "analyses": [{"where": _where(r), "message": r.message, "args": r.args} for r in res.analyses],
        "statistics": res.statistics,
        "fused_ops": res.count("qk.fused_qk_norm"),
    }
    if copies:
        before, _, _ = driver.run_qk_opt(emitted.mlir, ["--one-shot-bufferize=bufferize-function-boundaries"],
                                         qk_opt=qk_opt, remarks=False)
        after = driver.compile(emitted, target="bufferized", qk_opt=qk_opt, remarks=False)
        out["memref_copies"] = {"without_qk_passes": before.count("memref.copy"),
                                "with_qk_passes": after.count("memref.copy")}
    return out


def format_report(r: dict) -> str:
    lines = []
    args = ", ".join(f"{a['name']}: {'x'.join(a['shape']) or 'scalar'} {a['dtype']}" for a in r["arguments"])
    lines.append(f"qk report: {r['spec']} -> {r['module']} (@{r['function']}({args}); token count T "
                 f"{'dynamic' if r['dynamic'] else 'static'})")
    st = r["statistics"]
    raised = st.get("qk-raise-rms-norm", {})
    lines.append(f"RMSNorm sites found: {raised.get('raised', 0)} raised to qk.rms_norm, "
                 f"{raised.get('rejected', 0)} candidate(s) rejected")
    for x in r["raised"]:
        lines.append(f"  {x['where']}: {x['message'].replace('raised RMSNorm to qk.rms_norm: ', '')}")
    fuse = st.get("qk-fuse-strided-qk-norm", {})
    lines.append(f"Fused: {fuse.get('sites_fused', 0)} site(s) ({fuse.get('norms_fused', 0)} norms) into "
                 f"{r['fused_ops']} qk.fused_qk_norm, {fuse.get('copies_kept', 0)} with a copy kept")
    for x in r["fused"]:
        lines.append(f"  {x['where']}: {x['message']}")
    lines.append("Not raised / not fused:" + ("" if r["missed"] else " none"))
    for x in r["missed"]:
        lines.append(f"  {x['where']}: [{x['pass']}] {x['message']}")
    if r["analyses"]:
        lines.append("Notes:")
        for x in r["analyses"]:
            lines.append(f"  {x['where']}: {x['message']}")
    if "memref_copies" in r:
        c = r["memref_copies"]
        lines.append(f"memref.copy after one-shot bufferization: {c['without_qk_passes']} without the qk passes, "
                     f"{c['with_qk_passes']} with them")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m qk", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("report", help="sites found, fused, and why not")
    rp.add_argument("spec", help="MODULE:NAME or FILE.py:NAME")
    rp.add_argument("--input", action="append", help="SHAPE:DTYPE of a forward input, e.g. Tx4096:bfloat16")
    rp.add_argument("--json", action="store_true", help="print the report as JSON")
    rp.add_argument("--qk-opt", help="path to qk-opt (default: QK_OPT, the build tree, PATH)")
    rp.add_argument("--no-copies", action="store_true", help="skip the memref.copy count (bufferization)")
    rp.add_argument("--emit-mlir", metavar="PATH", help="write the frontend's IR (torch-mlir's output, with weights)")
    rp.add_argument("--fused-ir", metavar="PATH", help="write the IR after raise + fuse")
    rp.add_argument("--static", action="store_true", help="export with a static token count")
    args = p.parse_args(argv)
    from .driver import QKCompileError
    from ._discovery import ToolNotFoundError
    try:
        from .frontend import FrontendError
    except ImportError as e:  # torch missing
        print(f"qk report: needs torch ({e})", file=sys.stderr)
        return 1
    try:
        r = report(args.spec, args.input, qk_opt=args.qk_opt, copies=not args.no_copies,
                   emit_mlir=args.emit_mlir, fused_ir=args.fused_ir, dynamic=not args.static)
    except (FrontendError, QKCompileError, ToolNotFoundError) as e:
        print(f"qk report: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(r, indent=2) if args.json else format_report(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
