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
        m = re.match(r"^(QK_DTYPE|QK_ROUNDING|QK_STATUS)\((.*)\)\s*$", line)
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


def test_ods_rounding_mode_matches_table():
    """QKAttrs.td's I32EnumAttrCase<"OdsName", code, "mnemonic"> cases are the table's rows."""
    cases = re.findall(r'I32EnumAttrCase<\s*"(\w+)"\s*,\s*(\d+)\s*,\s*"(\w+)"\s*>', QK_ATTRS_TD.read_text())
    assert cases, f"no I32EnumAttrCase in {QK_ATTRS_TD}"
    ods = sorted((int(code), name, mnemonic) for name, code, mnemonic in cases)
    table = sorted((r["code"], r["ods_name"], r["mnemonic"]) for r in CODES["QK_ROUNDING"])
    assert ods == table


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


def test_abi_version_matches_the_header():
    """qk.runtime speaks the ABI version of the header it was written against."""
    header = (REPO / "include" / "qk" / "Runtime" / "QKNormRuntime.h").read_text()
    m = re.search(r"#define QK_RUNTIME_ABI_VERSION (\d+)", header)
    assert m, "QK_RUNTIME_ABI_VERSION not found in QKNormRuntime.h"
    assert runtime.ABI_VERSION == int(m.group(1))
