"""The qk-opt driver: IR, remarks and statistics as Python objects; diagnostics as exceptions.
Needs no torch."""
import os
import stat

import pytest

import qk
from qk import driver
from conftest import EXAMPLES

# examples/README.md: the fused site of each bundled attention block, and the memref.copy counts
EXPECTED = {
    "llama4_scout.mlir": ("fused QK RMSNorm: 48 heads, head_dim 128, copy removed", 1, 1),
    "qwen3_8b.mlir": ("fused QK RMSNorm: 32 q + 8 k heads, head_dim 128, copy removed", 2, 2),
    "gemma3_27b.mlir": ("fused QK RMSNorm: 32 q + 16 k heads, head_dim 128, copy removed", 2, 2),
    "olmo2_7b.mlir": ("fused QK RMSNorm: 4096 q + 4096 k columns, each normalised over its full width, in place", 2, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_fuse_one_site(qk_opt, name):
    message, norms, copies = EXPECTED[name]
    res = qk.compile(EXAMPLES / name)
    assert [r.message for r in res.fused] == [message]
    assert res.fused[0].kind == "Passed" and res.fused[0].name == "Fused"
    assert res.fused[0].location.file.endswith(name) and res.fused[0].location.line > 0
    assert len(res.raised) == norms
    assert res.statistics["qk-raise-rms-norm"] == {"raised": norms, "rejected": 0}
    assert res.statistics["qk-fuse-strided-qk-norm"] == {"sites_fused": 1, "norms_fused": norms, "rejected": 0,
                                                         "copies_kept": 0}
    assert res.count("qk.fused_qk_norm") == 1
    assert res.count("qk.rms_norm") == 0
    assert res.missed == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_examples_bufferized_copies(qk_opt, name):
    _, _, copies = EXPECTED[name]
    before, _, _ = driver.run_qk_opt((EXAMPLES / name).read_text(), ["--one-shot-bufferize=bufferize-function-boundaries"],
                                     remarks=False)
    after = qk.compile(EXAMPLES / name, target="bufferized", remarks=False)
    assert before.count("memref.copy") == copies
    assert after.count("memref.copy") == 0


def test_compile_accepts_text_and_path(qk_opt):
    text = (EXAMPLES / "qwen3_8b.mlir").read_text()
    a = qk.compile(text)
    b = qk.compile(str(EXAMPLES / "qwen3_8b.mlir"))
    assert a.ir == b.ir
    assert [r.message for r in a.fused] == [r.message for r in b.fused]


MISSED_IR = """
func.func @strided(%qkv: tensor<8x128xf32>) -> tensor<32x16xf32> {
  %q = tensor.extract_slice %qkv[0, 0] [8, 64] [1, 2] : tensor<8x128xf32> to tensor<8x64xf32>
  %q3 = tensor.expand_shape %q [[0], [1, 2]] output_shape [8, 4, 16] : tensor<8x64xf32> into tensor<8x4x16xf32>
  %q2 = tensor.collapse_shape %q3 [[0, 1], [2]] : tensor<8x4x16xf32> into tensor<32x16xf32>
  %e = tensor.empty() : tensor<32x16xf32>
  %n = qk.rms_norm ins(%q2 : tensor<32x16xf32>) outs(%e : tensor<32x16xf32>) epsilon(1.0e-06) -> tensor<32x16xf32>
  return %n : tensor<32x16xf32>
}
"""


def test_missed_remark_carries_reason_and_location(qk_opt):
    res = qk.compile(MISSED_IR)
    assert res.fused == []
    [m] = res.missed
    assert m.kind == "Missed" and m.pass_name == "qk-fuse-strided-qk-norm"
    assert m.message == "not fused: the slice of qkv has a non-unit stride"
    assert m.location.line == 7  # the qk.rms_norm line of MISSED_IR
    assert res.statistics["qk-fuse-strided-qk-norm"]["rejected"] == 1
    assert res.count("qk.rms_norm") == 1


def test_error_becomes_exception_with_location(qk_opt):
    bad = "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n  %y = arith.addi %x, %x : tensor<4xf32>\n" \
          "  return %y : tensor<4xf32>\n}\n"
    with pytest.raises(qk.QKCompileError) as ei:
        qk.compile(bad)
    e = ei.value
    assert "arith.addi" in e.message and "signless-integer" in e.message
    assert e.location is not None and e.location.line == 2 and e.location.col == 8
    assert any(d.severity == "error" for d in e.diagnostics)
    assert str(e).startswith(f"{e.location}: ")


def test_parse_error_is_exception(qk_opt):
    with pytest.raises(qk.QKCompileError) as ei:
        qk.compile("func.func @f( {")
    assert ei.value.location is not None and ei.value.location.line == 1


def test_parse_remark_fields():
    d = driver.parse_diagnostics(
        'm.py:12:3: remark: [Missed] NotFused | Category:qk-fuse-strided-qk-norm | '
        'Remark="not fused: groups of 12 elements cross token rows (range width 64)"\n'
        '  %x = qk.rms_norm ...\n'
        '      ^\n'
        'outer.py:40:5: note: called from\n'
        'x.mlir:0:0: remark: [Analysis] Summary | Category:qk-summary:qk-fuse-strided-qk-norm | '
        'Remark="0 site(s) fused (0 norms), 1 rejected, 0 with a copy kept", copies_kept=0, norms_fused=0, '
        'rejected=1, sites_fused=0\n')
    assert len(d) == 2
    r = driver.parse_remark(d[0])
    assert (r.kind, r.name, r.category, r.pass_name) == ("Missed", "NotFused", "qk-fuse-strided-qk-norm",
                                                        "qk-fuse-strided-qk-norm")
    assert r.message == "not fused: groups of 12 elements cross token rows (range width 64)"
    assert (r.location.file, r.location.line, r.location.col) == ("m.py", 12, 3)
    assert [str(l) for l in r.call_stack] == ["outer.py:40:5"]
    assert str(r.source_location) == "outer.py:40:5"
    s = driver.parse_remark(d[1])
    assert s.pass_name == "qk-fuse-strided-qk-norm"
    assert driver.statistics_from_remarks([r, s]) == {
        "qk-fuse-strided-qk-norm": {"sites_fused": 0, "norms_fused": 0, "rejected": 1, "copies_kept": 0}}


def test_statistics_ignore_the_summary_text():
    """Counts come from the arguments: a summary without them counts nothing, whatever its
    text says, and a reworded text with arguments counts the arguments."""
    d = driver.parse_diagnostics(
        'x.mlir:0:0: remark: [Analysis] Summary | Category:qk-summary:qk-raise-rms-norm | '
        'Remark="2 RMSNorm(s) raised, 1 candidate(s) rejected"\n'
        'x.mlir:0:0: remark: [Analysis] Summary | Category:qk-summary:qk-raise-rms-norm | '
        'Remark="raised three norms today", raised=3, rejected=0\n')
    old, new = (driver.parse_remark(x) for x in d)
    assert driver.statistics_from_remarks([old]).get("qk-raise-rms-norm", {}) == {}
    assert driver.statistics_from_remarks([new]) == {"qk-raise-rms-norm": {"raised": 3, "rejected": 0}}


def _fake_qk_opt(tmp_path, help_text):
    p = tmp_path / "qk-opt"
    p.write_text(f"#!/bin/sh\necho '{help_text}'\n")
    p.chmod(p.stat().st_mode | stat.S_IEXEC)
    return str(p)


def test_pipeline_unavailable_is_reported(tmp_path):
    fake = _fake_qk_opt(tmp_path, "  --qk-raise-rms-norm  - Raise")
    with pytest.raises(qk.PipelineUnavailableError) as ei:
        qk.compile("module {}", target="cpu", qk_opt=fake)
    assert "qk-norm-pipeline" in str(ei.value)
    assert driver.pipeline_args("tensor", fake) == ["--qk-raise-rms-norm", "--qk-fuse-strided-qk-norm",
                                                    "--qk-fuse-rope"]


def test_pipeline_args_with_pipeline(qk_opt):
    if not qk.has_pass("qk-norm-pipeline"):
        pytest.skip("this qk-opt has no --qk-norm-pipeline")
    assert driver.pipeline_args("cuda") == ["--qk-norm-pipeline=target=cuda"]


def test_unknown_target():
    with pytest.raises(ValueError):
        driver.pipeline_args("tpu")


def test_missing_qk_opt_is_clear(monkeypatch):
    monkeypatch.setenv("QK_OPT", "/nonexistent/qk-opt")
    with pytest.raises(qk.ToolNotFoundError) as ei:
        qk.compile("module {}")
    assert "QK_OPT=/nonexistent/qk-opt" in str(ei.value)
