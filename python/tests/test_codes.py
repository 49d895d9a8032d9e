"""The ABI's codes have one source, include/qk/Runtime/Codes.def (an X-macro table). The C enums,
the runtimes' tables and the lowering are generated from it at compile time; the Python constants
stay hand-written in qk.runtime (the package installs and runs without a CMake build, e.g. on the
GPU machine) and are checked here against the table, as are the ODS RoundingMode cases (their
values are also tied by static_asserts in the lowering; their spellings only here). Needs no
build; the torch checks need torch."""
import re

import pytest

from qk import runtime
from conftest import REPO

CODES_DEF = REPO / "include" / "qk" / "Runtime" / "Codes.def"
QK_ATTRS_TD = REPO / "include" / "qk" / "Dialect" / "QK" / "IR" / "QKAttrs.td"

_FIELDS = {
    "QK_DTYPE": ("name", "code", "cname", "bytes", "mlir_type", "torch"),
    "QK_ROUNDING": ("name", "code", "mnemonic", "ods_name"),
    "QK_STATUS": ("name", "code", "description"),
    # ABI version 3 (docs/rope-abi.md)
    "QK_ROPE_STYLE": ("name", "code", "mnemonic", "ods_name"),
    "QK_ROPE_ROUNDING": ("name", "code", "mnemonic", "ods_name"),
    "QK_INDEX": ("name", "code", "cname", "bytes", "torch"),
}


def _split_args(text):
    """Macro arguments: commas outside string literals separate them."""
    args, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    args.append(cur.strip())
    return args


def read_codes():
    """{macro: [row dict]} of Codes.def: the rows are the lines that invoke a table macro (the
    #define lines and comments are not rows)."""
    tables = {macro: [] for macro in _FIELDS}
    for line in CODES_DEF.read_text().splitlines():
        m = re.match(r"^(" + "|".join(_FIELDS) + r")\((.*)\)\s*$", line)
        if not m:
            continue
        macro, args = m.group(1), _split_args(m.group(2))
        fields = _FIELDS[macro]
        assert len(args) == len(fields), f"{line!r}: expected {len(fields)} fields {fields}"
        row = dict(zip(fields, args))
        row["code"] = int(row["code"])
        if "bytes" in row:
            row["bytes"] = int(row["bytes"])
        if "description" in row:
            assert row["description"].startswith('"') and row["description"].endswith('"'), line
            row["description"] = row["description"][1:-1]
        tables[macro].append(row)
    return tables


CODES = read_codes()


def test_table_is_well_formed():
    for macro, rows in CODES.items():
        assert rows, f"no {macro} rows in {CODES_DEF}"
        codes = [r["code"] for r in rows]
        names = [r["name"] for r in rows]
        assert len(set(codes)) == len(codes), f"{macro}: duplicate codes {codes}"
        assert len(set(names)) == len(names), f"{macro}: duplicate names {names}"
    assert [r for r in CODES["QK_STATUS"] if r["code"] == 0][0]["name"] == "OK"


def test_runtime_dtype_constants():
    for row in CODES["QK_DTYPE"]:
        const = f"DTYPE_{row['name']}"
        assert getattr(runtime, const, None) == row["code"], (
            f"qk.runtime.{const} is {getattr(runtime, const, None)!r}, Codes.def says {row['code']}")


def test_runtime_rounding_constants():
    for row in CODES["QK_ROUNDING"]:
        const = f"ROUNDING_{row['name']}"
        assert getattr(runtime, const, None) == row["code"], (
            f"qk.runtime.{const} is {getattr(runtime, const, None)!r}, Codes.def says {row['code']}")


def test_runtime_status_names():
    expected = {row["code"]: row["description"] for row in CODES["QK_STATUS"]}
    assert runtime.STATUS_NAMES == expected


def ods_enum_cases(enum):
    """[(code, OdsName, mnemonic)] of the I32EnumAttr<"enum", ...> of QKAttrs.td: its case list names
    defs `def X : I32EnumAttrCase<"OdsName", code, "mnemonic">;`."""
    td = QK_ATTRS_TD.read_text()
    case_defs = {d: (int(code), name, mn) for d, name, code, mn in re.findall(
        r'def\s+(\w+)\s*:\s*I32EnumAttrCase<\s*"(\w+)"\s*,\s*(\d+)\s*,\s*"(\w+)"\s*>', td)}
    m = re.search(r'I32EnumAttr<\s*"' + enum + r'"\s*,\s*"[^"]*"\s*,\s*\[([^\]]*)\]', td)
    assert m, f"no I32EnumAttr {enum} in {QK_ATTRS_TD}"
    return sorted(case_defs[d.strip()] for d in m.group(1).split(",") if d.strip())


def test_ods_rounding_mode_matches_table():
    """QKAttrs.td's RoundingMode cases (I32EnumAttrCase<"OdsName", code, "mnemonic">) are the table's rows."""
    table = sorted((r["code"], r["ods_name"], r["mnemonic"]) for r in CODES["QK_ROUNDING"])
    assert ods_enum_cases("RoundingMode") == table


@pytest.mark.parametrize("macro,enum", [("QK_ROPE_STYLE", "RopeStyle"), ("QK_ROPE_ROUNDING", "RopeRounding")])
def test_ods_rope_enums_match_table(macro, enum):
    table = sorted((r["code"], r["ods_name"], r["mnemonic"]) for r in CODES[macro])
    assert ods_enum_cases(enum) == table


def test_runtime_rope_constants():
    """qk.runtime's ABI-3 constants (ROPE_STYLE_<NAME>, ROPE_ROUNDING_<NAME>, INDEX_<NAME>) and the
    mnemonic maps qk.ops takes (ROPE_STYLE, ROPE_ROUNDING) are the table's rows."""
    for macro, prefix in (("QK_ROPE_STYLE", "ROPE_STYLE_"), ("QK_ROPE_ROUNDING", "ROPE_ROUNDING_"),
                          ("QK_INDEX", "INDEX_")):
        for row in CODES[macro]:
            const = prefix + row["name"]
            assert getattr(runtime, const, None) == row["code"], (
                f"qk.runtime.{const} is {getattr(runtime, const, None)!r}, Codes.def says {row['code']}")
    assert runtime.ROPE_STYLES == {r["mnemonic"]: r["code"] for r in CODES["QK_ROPE_STYLE"]}
    assert runtime.ROPE_ROUNDINGS == {r["mnemonic"]: r["code"] for r in CODES["QK_ROPE_ROUNDING"]}


def test_torch_dtypes_and_op_constants():
    torch = pytest.importorskip("torch")
    for row in CODES["QK_DTYPE"]:
        dt = getattr(torch, row["torch"], None)
        assert isinstance(dt, torch.dtype), f"torch.{row['torch']} is not a torch.dtype"
        assert torch.empty((), dtype=dt).element_size() == row["bytes"], row
    from qk import ops
    assert ops.ROUNDING == {r["mnemonic"]: r["code"] for r in CODES["QK_ROUNDING"]}
    # the op's torch.dtype -> code map (private; checked while it exists)
    dtypes = getattr(ops, "_DTYPES", None)
    if dtypes is not None:
        assert dtypes == {getattr(torch, r["torch"]): r["code"] for r in CODES["QK_DTYPE"]}
    # positions: the op's torch.dtype -> QK_INDEX code map, and the element sizes
    for row in CODES["QK_INDEX"]:
        assert torch.empty((), dtype=getattr(torch, row["torch"])).element_size() == row["bytes"], row
    assert ops._INDEX == {getattr(torch, r["torch"]): r["code"] for r in CODES["QK_INDEX"]}
    assert ops.ROPE_STYLE == {r["mnemonic"]: r["code"] for r in CODES["QK_ROPE_STYLE"]}
    assert ops.ROPE_ROUNDING == {r["mnemonic"]: r["code"] for r in CODES["QK_ROPE_ROUNDING"]}


def test_abi_version_matches_the_header():
    """qk.runtime speaks the ABI version of the header it was written against."""
    header = (REPO / "include" / "qk" / "Runtime" / "QKNormRuntime.h").read_text()
    m = re.search(r"#define QK_RUNTIME_ABI_VERSION (\d+)", header)
    assert m, "QK_RUNTIME_ABI_VERSION not found in QKNormRuntime.h"
    assert runtime.ABI_VERSION == int(m.group(1))
