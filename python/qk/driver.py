"""Runs qk-opt on MLIR and returns the IR, the remarks and the statistics as Python objects.

    result = qk.compile(ir_or_module, target="tensor")
    result.ir                 # the output IR (text)
    result.remarks            # [Remark(kind="Passed", name="Fused", pass_name=..., message=..., location=...,
                              #         args={"norms": "2", "group_size": "128", ...})]
    result.fused              # the Passed/Fused remarks, one per fused site
    result.missed             # every Missed remark (`.reason`: why a norm was not raised or fused)
    result.statistics         # {"qk-raise-rms-norm": {"raised": 2, "rejected": 0}, ...}

Remarks are read from MLIR's YAML remark output (`--remark-format=yaml`, qk.remarks): their
figures are structured arguments (`Remark.args`), so statistics never depend on the wording of a
message (`Remark.message` is for people).

Diagnostics (errors) of qk-opt become a `QKCompileError` that carries the message, the
location (for IR emitted by `qk.frontend`, a Python file and line: torch-mlir's debug locations)
and every diagnostic. For a `torch.nn.Module`, the frontend's errors (`qk.frontend.FrontendError`,
`UnsupportedOpError`) are raised before qk-opt runs.

Targets (the pass pipeline that runs):
    "tensor"      --qk-raise-rms-norm --qk-fuse-strided-qk-norm --qk-fuse-rope  (fused IR on tensors)
    "bufferized"  the above + --one-shot-bufferize=bufferize-function-boundaries
    "cpu", "cuda" --qk-norm-pipeline=target=cpu|cuda                      (LLVM dialect)
    "cpu-decompose"  the above raise + fuse (+ RoPE), --qk-decompose, then the upstream CPU lowering of
                  docs/python.md (LLVM dialect, no runtime calls: the fused op as linalg loops;
                  every function gets a `_mlir_ciface_` entry point)
    "cpu-unfused" the upstream CPU lowering alone, no qk pass: the reference the others must match
"""

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import _discovery
from .remarks import Location, Remark, parse_location, read_yaml, remark_from_args
from .remarks import statistics as _statistics

RAISE_FUSE = ["--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm", "--qk-fuse-rope"]

# The upstream lowering of docs/mlir22-notes (shared/background): what mlir-runner runs on the CPU.
UPSTREAM_CPU_LOWERING = [
    "--one-shot-bufferize=bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map",
    "--buffer-deallocation-pipeline",
    "--convert-linalg-to-loops",
    "--expand-strided-metadata",
    "--lower-affine",
    "--convert-scf-to-cf",
    "--convert-math-to-llvm",
    "--arith-expand",
    "--finalize-memref-to-llvm",
    "--convert-arith-to-llvm",
    "--convert-cf-to-llvm",
    "--llvm-request-c-wrappers",
    "--convert-func-to-llvm",
    "--reconcile-unrealized-casts",
]

TARGETS = ("tensor", "bufferized", "cpu", "cuda", "cpu-decompose", "cpu-unfused")


class QKCompileError(RuntimeError):
    """qk-opt reported an error. `.message`, `.location` (a Location or None) and `.diagnostics`
    (every Diagnostic qk-opt printed) describe it; `.stderr` is qk-opt's raw output."""

    def __init__(self, message, location=None, diagnostics=(), stderr="", command=()):
        self.message = message
        self.location = location
        self.diagnostics = list(diagnostics)
        self.stderr = stderr
        self.command = list(command)
        where = f"{location}: " if location is not None else ""
        super().__init__(f"{where}{message}")


class PipelineUnavailableError(QKCompileError):
    """The requested pipeline is not registered in this qk-opt (e.g. an older build)."""


@dataclass
class Diagnostic:
    severity: str  # "error" | "warning" | "remark" | "note"
    message: str
    location: Optional[Location]
    call_stack: List[Location] = field(default_factory=list)  # "called from" notes, innermost first
    notes: List["Diagnostic"] = field(default_factory=list)


@dataclass
class CompileResult:
    ir: str
    remarks: List[Remark]
    statistics: Dict[str, Dict[str, int]]
    diagnostics: List[Diagnostic]
    command: List[str]
    stderr: str
    target: str

    @property
    def fused(self) -> List[Remark]:
        return [r for r in self.remarks if r.kind == "Passed" and r.pass_name == "qk-fuse-strided-qk-norm"]

    @property
    def rotated(self) -> List[Remark]:
        """The rotations (RoPE) fused into a QK norm as a #qk.rope step."""
        return [r for r in self.remarks if r.kind == "Passed" and r.pass_name == "qk-fuse-rope"]

    @property
    def raised(self) -> List[Remark]:
        return [r for r in self.remarks if r.kind == "Passed" and r.pass_name == "qk-raise-rms-norm"]

    @property
    def missed(self) -> List[Remark]:
        return [r for r in self.remarks if r.kind == "Missed"]

    @property
    def analyses(self) -> List[Remark]:
        return [r for r in self.remarks if r.kind == "Analysis" and not r.category.startswith("qk-summary")]

    def count(self, op_name: str) -> int:
        """Occurrences of an op (e.g. "memref.copy", "qk.fused_qk_norm") in the output IR."""
        return len(re.findall(r"(?<![\w.])" + re.escape(op_name) + r"(?![\w.])", self.ir))


_DIAG_RE = re.compile(r"^(?P<loc>.*?): (?P<sev>error|warning|remark|note): (?P<msg>.*)$")


def _parse_location(text: str) -> Optional[Location]:
    return parse_location(text)


def parse_diagnostics(stderr: str) -> List[Diagnostic]:
    """Parses MLIR's SourceMgr diagnostics; source snippet lines are skipped, notes attach to the
    diagnostic before them ("called from" notes become its call stack)."""
    diags: List[Diagnostic] = []
    for line in stderr.splitlines():
        m = _DIAG_RE.match(line)
        if not m:
            continue
        loc = _parse_location(m.group("loc"))
        sev, msg = m.group("sev"), m.group("msg")
        if sev == "note" and diags:
            if msg.strip() == "called from" and loc is not None:
                diags[-1].call_stack.append(loc)
            else:
                diags[-1].notes.append(Diagnostic(sev, msg, loc))
            continue
        diags.append(Diagnostic(sev, msg, loc))
    return diags


def _split_outside_quotes(text: str, sep: str) -> List[str]:
    """`text` split at `sep` where it is not inside a double-quoted value."""
    parts, start, quoted, i = [], 0, False, 0
    while i < len(text):
        if text[i] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _printed_args(text: str) -> List[tuple]:
    """`Remark="message", key=value, ...` (Remark::print: values with a blank, comma or brace
    are double-quoted, others bare) -> [(key, value)]."""
    out = []
    for item in _split_outside_quotes(text.strip(), ", "):
        key, eq, val = item.partition("=")
        if not eq:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1]
        out.append((key.strip(), val))
    return out


def parse_remark(diag: Diagnostic) -> Optional[Remark]:
    """A remark printed as a diagnostic (`--remark-format=emitRemark`, mlir Remark::print):
    `[Kind] Name | Category:cat[:sub] | Remark="message", key=value, ...`. qk.compile reads the
    YAML output instead (qk.remarks); this reads a log of printed remarks."""
    text = diag.message.strip()
    if not text.startswith("[") or "]" not in text:
        return None
    kind, _, rest = text[1:].partition("]")
    segments = [p.strip() for p in _split_outside_quotes(rest, "|")]
    name, category, args = segments[0], "", []
    for seg in segments[1:]:
        if seg.startswith("Category:"):
            category = seg[len("Category:"):]
        elif seg.startswith("Function="):
            continue
        else:
            args += _printed_args(seg)
    return remark_from_args(kind.strip(), name, category, args, location=diag.location,
                            call_stack=diag.call_stack)


def statistics_from_remarks(remarks: Sequence[Remark]) -> Dict[str, Dict[str, int]]:
    """The counts of the summary remarks per pass, from their structured arguments only
    (qk.remarks.statistics): the message text is for people and may be reworded freely."""
    return _statistics(remarks)


_HELP_CACHE: Dict[str, str] = {}


def qk_opt_help(qk_opt: Optional[str] = None) -> str:
    exe = str(_discovery.find_qk_opt(qk_opt))
    if exe not in _HELP_CACHE:
        out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
        _HELP_CACHE[exe] = out.stdout + out.stderr
    return _HELP_CACHE[exe]


def has_pass(name: str, qk_opt: Optional[str] = None) -> bool:
    """Whether qk-opt registers the pass or pipeline `name` (e.g. "qk-norm-pipeline")."""
    return re.search(r"--" + re.escape(name) + r"\b", qk_opt_help(qk_opt)) is not None


def pipeline_args(target: str, qk_opt: Optional[str] = None) -> List[str]:
    if target == "tensor":
        return list(RAISE_FUSE)
    if target == "bufferized":
        return RAISE_FUSE + ["--one-shot-bufferize=bufferize-function-boundaries"]
    if target in ("cpu", "cuda"):
        if not has_pass("qk-norm-pipeline", qk_opt):
            raise PipelineUnavailableError(
                f"this qk-opt ({_discovery.find_qk_opt(qk_opt)}) has no --qk-norm-pipeline: "
                f"target={target!r} needs a build with the lowering (lib/Conversion)")
        return [f"--qk-norm-pipeline=target={target}"]
    if target == "cpu-decompose":
        return RAISE_FUSE + ["--qk-decompose"] + UPSTREAM_CPU_LOWERING
    if target == "cpu-unfused":
        return list(UPSTREAM_CPU_LOWERING)
    raise ValueError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")


REMARK_FILTER = "--remarks-filter=qk-.*"


def run_qk_opt_remarks(ir: str, args: Sequence[str], *, qk_opt: Optional[str] = None,
                       remarks: bool = True, input_name: Optional[str] = None, timeout: float = 600):
    """Runs qk-opt on `ir` with `args`; returns (stdout, stderr, command, remarks). With `remarks`,
    the remarks of the qk passes are written as YAML to a temporary file and read back
    (qk.remarks). Raises QKCompileError when qk-opt fails."""
    exe = str(_discovery.find_qk_opt(qk_opt))
    cmd = [exe]
    rems: List[Remark] = []
    with tempfile.TemporaryDirectory(prefix="qk-") as tmp:
        name = input_name or "input.mlir"
        src = Path(tmp) / os.path.basename(name)
        src.write_text(ir)
        cmd += [str(src), *args]
        yaml_path = Path(tmp) / "remarks.yaml"
        if remarks:
            cmd += [REMARK_FILTER, "--remark-format=yaml", f"--remarks-output-file={yaml_path}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if remarks and proc.returncode == 0:
            rems = [_renamed(r, str(src), name) for r in read_yaml(yaml_path)]
    stderr = proc.stderr.replace(str(src), name)
    if proc.returncode != 0:
        diags = parse_diagnostics(stderr)
        errors = [d for d in diags if d.severity == "error"]
        if errors:
            first = errors[0]
            loc = first.location
            raise QKCompileError(first.message, loc, diags, stderr, cmd)
        tail = stderr.strip().splitlines()[-5:]
        raise QKCompileError(f"qk-opt exited with status {proc.returncode}: " + " | ".join(tail),
                             None, diags, stderr, cmd)
    return proc.stdout, stderr, cmd, rems


def _renamed(r: Remark, temp_path: str, name: str) -> Remark:
    """The remark with the temporary input file's path replaced by the input's name."""
    def fix(loc):
        if loc is not None and loc.file == temp_path:
            return Location(name, loc.line, loc.col)
        return loc
    r.location = fix(r.location)
    r.call_stack = [fix(l) for l in r.call_stack]
    return r


def run_qk_opt(ir: str, args: Sequence[str], *, qk_opt: Optional[str] = None,
               remarks: bool = True, input_name: Optional[str] = None, timeout: float = 600):
    """Runs qk-opt on `ir` with `args`; returns (stdout, stderr, command). Raises QKCompileError
    when qk-opt fails. The remarks (with `remarks`) are run_qk_opt_remarks'."""
    out, err, cmd, _ = run_qk_opt_remarks(ir, args, qk_opt=qk_opt, remarks=remarks,
                                          input_name=input_name, timeout=timeout)
    return out, err, cmd


def compile(module_or_ir, target: str = "tensor", *, example_inputs=None, qk_opt: Optional[str] = None,
            extra_args: Sequence[str] = (), remarks: bool = True, **frontend_options) -> CompileResult:
    """Compiles MLIR text, a path to a .mlir file, a `qk.frontend.EmittedModule`, or a
    `torch.nn.Module` (exported with torch-mlir: `qk.frontend.to_mlir(module, example_inputs,
    **frontend_options)`, e.g. `dynamic=False` for a static token count).

    target: one of "tensor", "bufferized", "cpu", "cuda", "cpu-decompose" (see the module doc).
    extra_args are appended to qk-opt's command line (after the pipeline).
    """
    input_name = None
    if isinstance(module_or_ir, Path) or (isinstance(module_or_ir, str) and module_or_ir.endswith(".mlir")
                                          and "\n" not in module_or_ir and Path(module_or_ir).is_file()):
        input_name = str(module_or_ir)
        ir = Path(module_or_ir).read_text()
    elif isinstance(module_or_ir, str):
        ir = module_or_ir
    elif hasattr(module_or_ir, "mlir") and hasattr(module_or_ir, "arguments"):  # EmittedModule
        ir = module_or_ir.mlir
        input_name = getattr(module_or_ir, "name", None)
        input_name = f"{input_name}.mlir" if input_name else None
    else:
        from .frontend import to_mlir  # needs torch
        if example_inputs is None:
            raise TypeError("compile(module) needs example_inputs (or pass the IR / an EmittedModule)")
        emitted = to_mlir(module_or_ir, example_inputs, **frontend_options)
        ir = emitted.mlir
        input_name = f"{emitted.name}.mlir"
    args = pipeline_args(target, qk_opt) + list(extra_args)
    out, err, cmd, rems = run_qk_opt_remarks(ir, args, qk_opt=qk_opt, remarks=remarks,
                                             input_name=input_name)
    diags = parse_diagnostics(err)
    return CompileResult(ir=out, remarks=rems, statistics=_statistics(rems),
                         diagnostics=diags, command=cmd, stderr=err, target=target)
