"""Remarks of qk-opt as Python objects, read from MLIR's YAML remark output.

    qk-opt x.mlir --qk-raise-rms-norm --qk-fuse-strided-qk-norm \\
        --remarks-filter='qk-.*' --remark-format=yaml --remarks-output-file=remarks.yaml
    remarks = qk.remarks.read_yaml("remarks.yaml")   # [Remark(kind, name, category, message, ...)]
    qk.remarks.statistics(remarks)                   # {"qk-raise-rms-norm": {"raised": 2, ...}}

Each YAML document is one remark (LLVM's remark format, llvm/Remarks/YAMLRemarkSerializer):

    --- !Passed                                   kind: Passed | Missed | Analysis | Failure
    Pass:            qk-fuse-strided-qk-norm      category (summary remarks: qk-summary:<pass>)
    Name:            Fused
    DebugLoc:        { File: 'x.mlir', Line: 12, Column: 3 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed'
      - norms:           '2'
      ...
    ...

The `Remark` arguments are the human-readable message; every other argument is a figure of the
remark (`Remark.args`), so tools read the figures, never the message text. The YAML keeps only
plain file:line:col locations: for any other (torch-mlir's call-site locations, the fused
location of a fused op) the passes add the shown location as argument `loc` and the callers as
`called_from_1`, `called_from_2`, ... (innermost first); they become `Remark.location` and
`Remark.call_stack`.

The reader handles the subset of YAML that LLVM's serializer writes (block mappings, the Args
sequence of mappings, flow mappings, plain / single-quoted / double-quoted scalars, folded
continuation lines), so the package needs no YAML library. Standard library only: the scripts
(scripts/zoo_report.py) import it from the checkout.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

__all__ = ["Location", "Remark", "RemarkYAMLError", "parse_yaml", "read_yaml", "statistics",
           "parse_location"]

# Arguments that carry the location (see the module doc), not figures.
LOCATION_ARG = "loc"
CALLER_ARG_PREFIX = "called_from_"
UNKNOWN_FILE = "<unknown file>"


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"


def parse_location(text: str) -> Optional[Location]:
    """`file:line:col` (the file may contain colons) -> Location, else None."""
    parts = text.strip().rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return Location(parts[0], int(parts[1]), int(parts[2]))


@dataclass
class Remark:
    """One remark of MLIR's remark engine (mlir/IR/Remarks.h): `kind` (Passed, Missed, Analysis,
    Failure), `name` (Raised, NotRaised, Fused, NotFused, Summary), `category` (the pass; summary
    remarks: qk-summary:<pass>), `message` (the human-readable text: for people, never parsed),
    `args` (the figures, by key, as strings: `int_arg` / `float_arg` convert), `location` and
    `call_stack` (callers, innermost first)."""

    kind: str
    name: str
    category: str
    message: str
    location: Optional[Location]
    call_stack: List[Location] = field(default_factory=list)
    args: Dict[str, str] = field(default_factory=dict)

    @property
    def pass_name(self) -> str:
        """The pass that emitted the remark (the sub-category of summary remarks)."""
        return self.category.split(":", 1)[1] if ":" in self.category else self.category

    @property
    def source_location(self) -> Optional[Location]:
        """The outermost frame: for frontend IR the line of the module's forward that called it."""
        return self.call_stack[-1] if self.call_stack else self.location

    @property
    def fields(self) -> Dict[str, str]:
        """The former name of `args`."""
        return self.args

    @property
    def reason(self) -> Optional[str]:
        """The reason code of a NotRaised / NotFused remark (e.g. "non-unit-stride")."""
        return self.args.get("reason")

    def arg(self, key: str, default: Optional[str] = None) -> Optional[str]:
        return self.args.get(key, default)

    def int_arg(self, key: str, default: Optional[int] = None) -> Optional[int]:
        v = self.args.get(key)
        return default if v is None else int(v)

    def float_arg(self, key: str, default: Optional[float] = None) -> Optional[float]:
        v = self.args.get(key)
        return default if v is None else float(v)

    def counts(self) -> Dict[str, int]:
        """The integer-valued arguments (the counts of a summary remark)."""
        out = {}
        for k, v in self.args.items():
            try:
                out[k] = int(v)
            except ValueError:
                pass
        return out

    def __str__(self):
        return f"{self.location}: [{self.kind}] {self.name} ({self.category}): {self.message}"


def remark_from_args(kind: str, name: str, category: str, args: Sequence[Tuple[str, str]],
                     location: Optional[Location] = None,
                     call_stack: Sequence[Location] = ()) -> Remark:
    """A Remark from its arguments in order: the `Remark` ones make the message, `loc` and
    `called_from_<i>` the location (they override `location` / `call_stack`), the rest the
    figures."""
    message, figures, callers = [], {}, []
    for key, val in args:
        if key == "Remark":
            message.append(val)
        elif key == LOCATION_ARG and parse_location(val) is not None:
            location = parse_location(val)
        elif key.startswith(CALLER_ARG_PREFIX) and key[len(CALLER_ARG_PREFIX):].isdigit() \
                and parse_location(val) is not None:
            callers.append((int(key[len(CALLER_ARG_PREFIX):]), parse_location(val)))
        else:
            figures[key] = val
    if callers:
        call_stack = [loc for _, loc in sorted(callers, key=lambda c: c[0])]
    return Remark(kind=kind, name=name, category=category, message="".join(message),
                  location=location, call_stack=list(call_stack), args=figures)


# --------------------------------------------------------------------------------------------
# The YAML subset of LLVM's remark serializer

class RemarkYAMLError(ValueError):
    """The text is not YAML as LLVM's remark serializer writes it."""


YamlValue = Union[str, Dict[str, "YamlValue"], List["YamlValue"]]

_DQ_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
               "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
               "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_DQ_HEX = {"x": 2, "u": 4, "U": 8}


def _fold(raw: str) -> str:
    """YAML line folding of a quoted scalar's raw text: a line break and the indentation around
    it become one space; each further (empty) line a newline."""
    lines = raw.split("\n")
    if len(lines) == 1:
        return raw
    out = lines[0].rstrip(" \t")
    empty = 0
    for i, line in enumerate(lines[1:], 1):
        text = line.strip(" \t") if i < len(lines) - 1 else line.lstrip(" \t")
        if not text and i < len(lines) - 1:
            empty += 1
            continue
        out += ("\n" * empty) if empty else " "
        out += text
        empty = 0
    return out


def _scan_quoted(s: str, i: int) -> Tuple[str, int]:
    """The quoted scalar starting at s[i] (a quote) -> (value, index after the closing quote)."""
    quote = s[i]
    j = i + 1
    if quote == "'":
        buf = []
        while True:
            k = s.find("'", j)
            if k < 0:
                raise RemarkYAMLError(f"unterminated single-quoted scalar: {s[i:i + 60]!r}")
            buf.append(s[j:k])
            if s.startswith("''", k):
                buf.append("'")
                j = k + 2
                continue
            return _fold("".join(buf)), k + 1
    # double-quoted: escapes, and a backslash before a line break joins the lines
    out, seg = [], []
    while j < len(s):
        c = s[j]
        if c == '"':
            out.append(_fold("".join(seg)))
            return "".join(out), j + 1
        if c == "\\":
            if j + 1 >= len(s):
                break
            e = s[j + 1]
            if e == "\n":  # escaped line break: no space, leading indentation dropped
                out.append(_fold("".join(seg)))
                seg = []
                j += 2
                while j < len(s) and s[j] in " \t":
                    j += 1
                continue
            out.append(_fold("".join(seg)))
            seg = []
            if e in _DQ_ESCAPES:
                out.append(_DQ_ESCAPES[e])
                j += 2
            elif e in _DQ_HEX:
                n = _DQ_HEX[e]
                digits = s[j + 2:j + 2 + n]
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    raise RemarkYAMLError(f"bad escape \\{e}{digits!r}") from None
                j += 2 + n
            else:
                raise RemarkYAMLError(f"unknown escape \\{e}")
            continue
        seg.append(c)
        j += 1
    raise RemarkYAMLError(f"unterminated double-quoted scalar: {s[i:i + 60]!r}")


def _scan_scalar(s: str, i: int, stops: str) -> Tuple[str, int]:
    """A scalar at s[i:] (leading blanks skipped) up to one of `stops` (plain scalars) ->
    (value, index after it)."""
    while i < len(s) and s[i] in " \t\n":
        i += 1
    if i < len(s) and s[i] in "'\"":
        return _scan_quoted(s, i)
    j = i
    while j < len(s) and s[j] not in stops:
        j += 1
    return " ".join(s[i:j].split()), j


def _scan_flow_map(s: str, i: int) -> Tuple[Dict[str, YamlValue], int]:
    """`{ key: value, ... }` starting at s[i] -> (dict, index after the closing brace)."""
    out: Dict[str, YamlValue] = {}
    j = i + 1
    while True:
        while j < len(s) and s[j] in " \t\n,":
            j += 1
        if j >= len(s):
            raise RemarkYAMLError(f"unterminated flow mapping: {s[i:i + 60]!r}")
        if s[j] == "}":
            return out, j + 1
        key, j = _scan_scalar(s, j, ":}")
        if j >= len(s) or s[j] != ":":
            raise RemarkYAMLError(f"expected ':' after {key!r} in a flow mapping")
        j += 1
        while j < len(s) and s[j] in " \t\n":
            j += 1
        if j < len(s) and s[j] == "{":
            val, j = _scan_flow_map(s, j)
        else:
            val, j = _scan_scalar(s, j, ",}")
        out[key] = val


def _complete(text: str) -> bool:
    """Whether a value's text is complete (no open quote or flow mapping)."""
    try:
        _scan_value(text)
        return True
    except RemarkYAMLError:
        return False


def _scan_value(text: str) -> YamlValue:
    text = text.strip(" \t")
    if not text:
        return ""
    if text.startswith("{"):
        val, end = _scan_flow_map(text, 0)
    elif text[0] in "'\"":
        val, end = _scan_quoted(text, 0)
    else:
        return " ".join(text.split())
    if text[end:].strip():
        raise RemarkYAMLError(f"unexpected text after a value: {text[end:]!r}")
    return val


def _split_key(text: str) -> Tuple[str, str]:
    """`key: rest` -> (key, rest); the key may be quoted."""
    if text[:1] in "'\"":
        key, j = _scan_quoted(text, 0)
    else:
        j = 0
        while True:
            j = text.find(":", j)
            if j < 0:
                raise RemarkYAMLError(f"expected 'key: value', got {text!r}")
            if j + 1 == len(text) or text[j + 1] in " \t":
                break
            j += 1
        key = text[:j].strip()
    if not text[j:].startswith(":"):
        raise RemarkYAMLError(f"expected ':' after the key in {text!r}")
    return key, text[j + 1:]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _parse_block(lines: List[str], i: int, indent: int) -> Tuple[YamlValue, int]:
    """The block node whose lines start at lines[i] with indentation `indent`: a mapping, or a
    sequence (of mappings or scalars) when its first line starts with '- '."""
    seq = lines[i].lstrip(" ").startswith("- ") or lines[i].strip() == "-"
    node: YamlValue = [] if seq else {}
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        ind = _indent(line)
        if ind < indent:
            break
        if ind > indent:
            raise RemarkYAMLError(f"unexpected indentation: {line!r}")
        text = line[ind:]
        if seq:
            if not (text.startswith("- ") or text == "-"):
                break
            item_indent = ind + 2
            rest = text[2:] if text.startswith("- ") else ""
            # the item's first line becomes a line of its own block at the item's indentation
            sub = [" " * item_indent + rest] if rest.strip() else []
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) >= item_indent):
                sub.append(lines[j])
                j += 1
            if sub and _looks_like_key(sub[0].strip()):
                item, _ = _parse_block(sub, 0, item_indent)
            else:
                item = _scan_value("\n".join(s.strip() for s in sub))
            node.append(item)
            i = j
            continue
        key, rest = _split_key(text)
        i += 1
        if rest.strip():
            # a quoted scalar or a flow mapping may go on over more indented lines
            while not _complete(rest) and i < len(lines) and _indent(lines[i]) > indent:
                rest += "\n" + lines[i]
                i += 1
            node[key] = _scan_value(rest)
        elif i < len(lines) and lines[i].strip() and (_indent(lines[i]) > indent or (
                _indent(lines[i]) == indent and lines[i].lstrip(" ").startswith("- "))):
            node[key], i = _parse_block(lines, i, _indent(lines[i]))
        else:
            node[key] = ""
    return node, i


def _looks_like_key(text: str) -> bool:
    """Whether a sequence item starts with `key:` (LLVM writes keys unquoted)."""
    return not text.startswith(("{", "'", '"')) and (": " in text or text.endswith(":"))


def parse_yaml_documents(text: str) -> List[Tuple[str, Dict[str, YamlValue]]]:
    """The documents of a YAML remark file: [(tag without '!', mapping)]."""
    docs: List[Tuple[str, Dict[str, YamlValue]]] = []
    tag, body = None, []

    def flush():
        if tag is None:
            return
        lines = [l.rstrip("\r") for l in body]
        first = next((k for k, l in enumerate(lines) if l.strip()), None)
        node: YamlValue = {}
        if first is not None:
            node, end = _parse_block(lines, first, _indent(lines[first]))
            if any(l.strip() for l in lines[end:]):
                raise RemarkYAMLError(f"unexpected text in a remark: {lines[end]!r}")
        if not isinstance(node, dict):
            raise RemarkYAMLError("a remark document is not a mapping")
        docs.append((tag, node))

    for line in text.splitlines():
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t"):
            flush()
            tag, body = line[3:].strip().lstrip("!"), []
        elif line.rstrip() == "...":
            flush()
            tag, body = None, []
        elif tag is not None:
            body.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise RemarkYAMLError(f"text outside a remark document: {line!r}")
    flush()
    return docs


def _args_of(node: YamlValue) -> List[Tuple[str, str]]:
    """The Args sequence -> [(key, value)] in order; each item is a one-key mapping (an item's
    own DebugLoc, which LLVM allows for an argument, is dropped)."""
    if node == "":
        return []
    if not isinstance(node, list):
        raise RemarkYAMLError("Args is not a sequence")
    out = []
    for item in node:
        if not isinstance(item, dict):
            raise RemarkYAMLError(f"an argument is not a mapping: {item!r}")
        for k, v in item.items():
            if k != "DebugLoc":
                out.append((k, v if isinstance(v, str) else str(v)))
    return out


def _debug_loc(node: YamlValue) -> Optional[Location]:
    if not isinstance(node, dict):
        return None
    f, line, col = node.get("File"), node.get("Line"), node.get("Column")
    if not isinstance(f, str) or f == UNKNOWN_FILE or not f:
        return None
    try:
        return Location(f, int(line), int(col))
    except (TypeError, ValueError):
        return None


def parse_yaml(text: str) -> List[Remark]:
    """The remarks of MLIR's YAML remark output (`--remark-format=yaml`), in order."""
    out = []
    for tag, doc in parse_yaml_documents(text):
        def s(key):
            v = doc.get(key, "")
            return v if isinstance(v, str) else ""
        out.append(remark_from_args(tag, s("Name"), s("Pass"), _args_of(doc.get("Args", "")),
                                    location=_debug_loc(doc.get("DebugLoc"))))
    return out


def read_yaml(path) -> List[Remark]:
    """parse_yaml of a file; no file (qk-opt wrote no remark) reads as no remarks."""
    try:
        with open(path, encoding="utf-8") as f:
            return parse_yaml(f.read())
    except FileNotFoundError:
        return []


def statistics(remarks: Sequence[Remark]) -> Dict[str, Dict[str, int]]:
    """The counts of the summary remarks (category qk-summary:<pass>), summed per pass, from
    their arguments: {"qk-raise-rms-norm": {"raised": 2, "rejected": 0}, ...}."""
    stats: Dict[str, Dict[str, int]] = {}
    for r in remarks:
        if r.category.startswith("qk-summary"):
            d = stats.setdefault(r.pass_name, {})
            for k, v in r.counts().items():
                d[k] = d.get(k, 0) + v
    return stats
