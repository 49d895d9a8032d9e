"""python -m qk report <module spec>."""
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _frontend(torch_mlir):
    """Every report exports a module with torch-mlir."""


def run(*args, cwd=None):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "qk", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def test_report_reference_model(qk_opt):
    p = run("report", "qk.models:qwen3_tiny")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "RMSNorm sites found: 2 raised to qk.rms_norm, 0 candidate(s) rejected" in out
    assert "Fused: 1 site(s) (2 norms) into 1 qk.fused_qk_norm, 0 with a copy kept" in out
    assert "fused QK RMSNorm: 4 q + 2 k heads, head_dim 16, copy removed" in out
    assert "qwen3.py:" in out
    assert ("qk report: qk.models:qwen3_tiny -> Qwen3Attention (@qwen3_attention(positions: T int64, "
            "hidden_states: Tx64 bfloat16); token count T dynamic)") in out
    # the counts themselves are test_models.py's (qk-opt's bufferization of torch-mlir output)
    assert re.search(r"memref\.copy after one-shot bufferization: \d+ without the qk passes, \d+ with them", out)


def test_report_json(qk_opt):
    p = run("report", "qk.models:olmo2_tiny", "--json", "--no-copies")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["module"] == "Olmo2Attention" and r["dynamic"] is True
    assert [a["shape"] for a in r["arguments"]] == [["T"], ["T", "64"]]
    assert [f["message"] for f in r["fused"]] == [
        "fused QK RMSNorm: 64 q + 64 k columns, each normalised over its full width, in place"]
    assert r["statistics"]["qk-raise-rms-norm"] == {"raised": 2, "rejected": 0}


MODEL_FILE = textwrap.dedent('''
    import torch
    import torch.nn as nn

    class Attn(nn.Module):
        """q is every other column of qkv: a non-unit stride, not fusable."""
        def __init__(self):
            super().__init__()
            self.qkv_proj = nn.Linear(32, 96, bias=False)

        def forward(self, x):
            qkv = self.qkv_proj(x)
            k = qkv[:, 64:]
            q = qkv[:, 0:64:2].reshape(-1, 16)
            qf = q.float()
            q = (qf * torch.rsqrt(qf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(q.dtype)
            return q, k

    class Bad(nn.Module):
        def forward(self, x):
            return torch.erfinv(x)
''')


def test_report_file_spec_with_inputs_and_missed_reasons(qk_opt, tmp_path):
    f = tmp_path / "mymodel.py"
    f.write_text(MODEL_FILE)
    p = run("report", f"{f}:Attn", "--input", "Tx32:float32", "--no-copies")
    assert p.returncode == 0, p.stderr
    assert "Fused: 0 site(s)" in p.stdout
    assert "[qk-fuse-strided-qk-norm] not fused: the slice of qkv has a non-unit stride" in p.stdout
    assert "mymodel.py:" in p.stdout


def test_report_static_and_emit_mlir(qk_opt, tmp_path):
    out = tmp_path / "olmo2.mlir"
    p = run("report", "qk.models:olmo2_tiny", "--static", "--no-copies", "--emit-mlir", str(out))
    assert p.returncode == 0, p.stderr
    assert "token count T static" in p.stdout
    text = out.read_text()
    assert "func.func @olmo2_attention(%arg0: tensor<8xi64>" in text and "dialect_resources" in text


def test_report_unsupported_op_fails_with_line(tmp_path):
    f = tmp_path / "bad.py"
    f.write_text(MODEL_FILE)
    p = run("report", f"{f}:Bad", "--input", "Tx8:float32")
    assert p.returncode == 1
    assert "UnsupportedOpError: unsupported op aten.erfinv" in p.stderr and "bad.py:" in p.stderr
    assert "return torch.erfinv(x)" in p.stderr


def test_report_bad_spec():
    p = run("report", "qk.models:does_not_exist")
    assert p.returncode != 0 and "has no attribute" in (p.stderr + p.stdout)
