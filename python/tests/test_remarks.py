"""Remarks as structured data: qk.remarks reads MLIR's YAML remark output (the subset LLVM's
serializer writes), statistics and figures come from the remarks' arguments, never from their
text, so rewording a remark is safe. Needs no torch; the tests on qk-opt's own output need qk-opt."""
import importlib.util
import stat
import sys
import textwrap

import pytest

import qk
from qk import driver, remarks
from qk.remarks import Location, RemarkYAMLError
from conftest import EXAMPLES, REPO

# The remarks of one raise + fuse run, as qk-opt writes them, with every message reworded: the
# figures are in the arguments only. Includes what LLVM's serializer does to long flow mappings
# (wrapped DebugLoc) and the location arguments of a call-site location.
REWORDED = textwrap.dedent("""\
    --- !Passed
    Pass:            qk-raise-rms-norm
    Name:            Raised
    DebugLoc:        { File: '/tmp/qk-x/a very long directory name/input.mlir', Line: 192,
                       Column: 13 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'an RMSNorm became qk.rms_norm'
      - row_size:        '128'
      - element_type:    bf16
      - epsilon:         '1.000000e-06'
      - weight:          'true'
      - weight_offset:   '0.000000e+00'
      - rounding:        before_weight
    ...
    --- !Missed
    Pass:            qk-raise-rms-norm
    Name:            NotRaised
    DebugLoc:        { File: 'x.mlir', Line: 73, Column: 10 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'left alone: mean over 127 (row has 128)'
      - reason:          wrong-divisor
      - divisor:         '1.270000e+02'
      - row_size:        '128'
    ...
    --- !Analysis
    Pass:            'qk-summary:qk-raise-rms-norm'
    Name:            Summary
    DebugLoc:        { File: 'x.mlir', Line: 0, Column: 0 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'Raise: one norm raised; one skipped.'
      - raised:          '1'
      - rejected:        '1'
    ...
    --- !Passed
    Pass:            qk-fuse-strided-qk-norm
    Name:            Fused
    DebugLoc:        { File: '<unknown file>', Line: 0, Column: 0 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'QK norms fused (32 + 8 of 128)'
      - norms:           '2'
      - groups:          '40'
      - group_size:      '128'
      - q_groups:        '32'
      - k_groups:        '8'
      - bufferization:   copy_removed
      - loc:             'model.py:12:3'
      - called_from_2:   'outer.py:40:5'
      - called_from_1:   'block.py:30:7'
    ...
    --- !Analysis
    Pass:            'qk-summary:qk-fuse-strided-qk-norm'
    Name:            Summary
    DebugLoc:        { File: 'x.mlir', Line: 0, Column: 0 }
    Function:        '<unknown function>'
    Args:
      - Remark:          'Fuse pass: 1 site, 2 norms, nothing rejected, 0 copies kept.'
      - sites_fused:     '1'
      - norms_fused:     '2'
      - rejected:        '0'
      - copies_kept:     '0'
    ...
    """)


def test_reworded_remarks_statistics_come_from_arguments():
    rs = remarks.parse_yaml(REWORDED)
    assert [(r.kind, r.name, r.pass_name) for r in rs] == [
        ("Passed", "Raised", "qk-raise-rms-norm"), ("Missed", "NotRaised", "qk-raise-rms-norm"),
        ("Analysis", "Summary", "qk-raise-rms-norm"), ("Passed", "Fused", "qk-fuse-strided-qk-norm"),
        ("Analysis", "Summary", "qk-fuse-strided-qk-norm")]
    expected = {"qk-raise-rms-norm": {"raised": 1, "rejected": 1},
                "qk-fuse-strided-qk-norm": {"sites_fused": 1, "norms_fused": 2, "rejected": 0,
                                            "copies_kept": 0}}
    assert remarks.statistics(rs) == expected
    assert driver.statistics_from_remarks(rs) == expected
    raised, missed, _, fused, _ = rs
    assert raised.message == "an RMSNorm became qk.rms_norm"
    assert raised.location == Location("/tmp/qk-x/a very long directory name/input.mlir", 192, 13)
    assert raised.int_arg("row_size") == 128 and raised.arg("element_type") == "bf16"
    assert raised.float_arg("epsilon") == 1e-6 and raised.args["rounding"] == "before_weight"
    assert missed.reason == "wrong-divisor" and missed.float_arg("divisor") == 127.0
    assert missed.int_arg("row_size") == 128 and missed.int_arg("missing", 7) == 7
    # the location arguments make the location and the call stack (innermost first), not figures
    assert fused.location == Location("model.py", 12, 3)
    assert [str(l) for l in fused.call_stack] == ["block.py:30:7", "outer.py:40:5"]
    assert str(fused.source_location) == "outer.py:40:5"
    assert "loc" not in fused.args and not any(k.startswith("called_from") for k in fused.args)
    assert fused.counts() == {"norms": 2, "groups": 40, "group_size": 128, "q_groups": 32,
                              "k_groups": 8}
    assert fused.fields is fused.args  # the former name


def _fake_qk_opt(tmp_path, yaml_text, ir="module {\n}\n"):
    """A qk-opt that prints `ir` and writes `yaml_text` where --remarks-output-file says."""
    script = tmp_path / "qk-opt"
    (tmp_path / "remarks.in").write_text(yaml_text)
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys
        for a in sys.argv[1:]:
            if a.startswith("--remarks-output-file="):
                with open(a.split("=", 1)[1], "w") as f:
                    f.write(open({str(tmp_path / "remarks.in")!r}).read())
        sys.stdout.write({ir!r})
        """))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_compile_reads_yaml_remarks_not_their_text(tmp_path):
    fake = _fake_qk_opt(tmp_path, REWORDED)
    res = qk.compile("module {}", qk_opt=fake)
    assert "--remark-format=yaml" in res.command
    assert any(a.startswith("--remarks-output-file=") for a in res.command)
    assert res.statistics == {"qk-raise-rms-norm": {"raised": 1, "rejected": 1},
                              "qk-fuse-strided-qk-norm": {"sites_fused": 1, "norms_fused": 2,
                                                          "rejected": 0, "copies_kept": 0}}
    assert [r.message for r in res.fused] == ["QK norms fused (32 + 8 of 128)"]
    assert [r.reason for r in res.missed] == ["wrong-divisor"]
    assert len(res.raised) == 1 and res.analyses == []
    assert res.stderr == "" and res.diagnostics == []


def test_compile_without_remarks_asks_for_none(tmp_path):
    fake = _fake_qk_opt(tmp_path, REWORDED)
    res = qk.compile("module {}", qk_opt=fake, remarks=False)
    assert res.remarks == [] and res.statistics == {}
    assert not any(a.startswith("--remark") for a in res.command)


def test_printed_remark_arguments():
    """A remark printed as a diagnostic (--remark-format=emitRemark) carries the same arguments,
    sorted by key after the message; statistics come from them, whatever the text says."""
    d = driver.parse_diagnostics(
        'x.mlir:0:0: remark: [Analysis] Summary | Category:qk-summary:qk-raise-rms-norm | '
        'Remark="reworded, with 9 numbers, 8 of them wrong", raised=2, rejected=1\n'
        'm.py:12:3: remark: [Missed] NotFused | Category:qk-fuse-strided-qk-norm | '
        'Remark="not fused: the slice of qkv has a non-unit stride", called_from_1=outer.py:40:5, '
        'loc=m.py:12:3, reason=non-unit-stride\n'
        'outer.py:40:5: note: called from\n')
    s, m = (driver.parse_remark(x) for x in d)
    assert s.message == "reworded, with 9 numbers, 8 of them wrong"
    assert driver.statistics_from_remarks([s, m]) == {"qk-raise-rms-norm": {"raised": 2, "rejected": 1}}
    assert m.args == {"reason": "non-unit-stride"} and m.location == Location("m.py", 12, 3)
    assert [str(l) for l in m.call_stack] == ["outer.py:40:5"]


# --------------------------------------------------------------------------------------------
# the YAML subset


def test_yaml_scalars_and_folding():
    text = textwrap.dedent("""\
        --- !Missed
        Pass:            qk-fuse-strided-qk-norm
        Name:            NotFused
        DebugLoc:        { File: "a \\"quoted\\" path:1.mlir", Line: 3,
                           Column: 4 }
        Args:
          - Remark:          'it''s a message that LLVM wrapped
              over two lines'
          - reader:          "func.return\\tand\\x41\\u00e9"
          - empty:           ''
          - plain:           two words
          - escaped:         "joined\\
              here"
          - DebugLoc:        { File: x.mlir, Line: 1, Column: 2 }
        ...
        --- !Analysis
        Pass:            'qk-summary:p'
        Name:            Summary
        Args:
        ...
        """)
    m, s = remarks.parse_yaml(text)
    assert m.location == Location('a "quoted" path:1.mlir', 3, 4)
    assert m.message == "it's a message that LLVM wrapped over two lines"
    assert m.args == {"reader": "func.return\tandA\u00e9", "empty": "", "plain": "two words",
                      "escaped": "joinedhere"}
    assert (s.kind, s.pass_name, s.message, s.args, s.location) == ("Analysis", "p", "", {}, None)


def test_yaml_empty_and_missing(tmp_path):
    assert remarks.parse_yaml("") == []
    assert remarks.read_yaml(tmp_path / "none.yaml") == []
    assert remarks.statistics([]) == {}


@pytest.mark.parametrize("bad", [
    "Pass: x\n",                                         # outside a document
    "--- !Passed\nPass: 'unterminated\n...\n",
    "--- !Passed\nDebugLoc: { File: x, Line: 1\n...\n",
    "--- !Passed\nArgs:\n  - Remark: \"bad \\q escape\"\n...\n",
])
def test_yaml_errors(bad):
    with pytest.raises(RemarkYAMLError):
        remarks.parse_yaml(bad)


# --------------------------------------------------------------------------------------------
# qk-opt's own output


def test_qk_opt_yaml_arguments(qk_opt):
    res = qk.compile(EXAMPLES / "qwen3_8b.mlir")
    [fused] = res.fused
    assert fused.location.file.endswith("qwen3_8b.mlir") and fused.location.line > 0
    assert {k: fused.args[k] for k in ("norms", "q_groups", "k_groups", "group_size", "ranges",
                                       "bufferization", "copies_before", "copies_after")} == {
        "norms": "2", "q_groups": "32", "k_groups": "8", "group_size": "128", "ranges": "2",
        "bufferization": "copy_removed", "copies_before": "2", "copies_after": "0"}
    for r in res.raised:
        assert r.int_arg("row_size") == 128 and r.args["element_type"] == "bf16"
        assert r.args["rounding"] == "before_weight" and r.args["weight"] == "true"
    summaries = [r for r in res.remarks if r.name == "Summary"]
    assert {r.pass_name: r.counts() for r in summaries} == res.statistics


MISSED_IR = """
func.func @strided(%qkv: tensor<8x128xf32>) -> tensor<8x32xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 32] [1, 2] : tensor<8x128xf32> to tensor<8x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  %n = qk.rms_norm ins(%q : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) epsilon(1.0e-06) -> tensor<8x32xf32> loc(callsite("m.py":12:3 at "outer.py":40:5))
  return %n : tensor<8x32xf32>
}
"""


def test_qk_opt_missed_reason_and_call_site_location(qk_opt):
    res = qk.compile(MISSED_IR)
    [m] = res.missed
    assert m.reason == "non-unit-stride" and m.pass_name == "qk-fuse-strided-qk-norm"
    assert m.location == Location("m.py", 12, 3)
    assert [str(l) for l in m.call_stack] == ["outer.py:40:5"]
    assert res.statistics["qk-fuse-strided-qk-norm"]["rejected"] == 1


def test_zoo_report_uses_the_shared_reader(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts python/ first
    spec = importlib.util.spec_from_file_location("zoo_report", REPO / "scripts" / "zoo_report.py")
    zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zoo)
    assert zoo.parse_yaml is remarks.parse_yaml
    assert zoo.parse_remarks(REWORDED)[1] == ("Missed", "qk-raise-rms-norm", "NotRaised",
                                              "left alone: mean over 127 (row has 128)")
