"""The model-family registry (python/qk/models/families.py) and the places that cannot import it.

Python reads the registry (gen_qk_block.py and lit.local.cfg, qk.models, the zoo, the benchmarks);
what is not Python states the same facts again and is parsed here, so that the two cannot drift:
runtime/tests/TestSupport.h (models[] of buildCases), test/Integration/GPU/aot_gpu_check.cu
(models[] of main), the headers of examples/*.mlir, and the Qwen3-Next layout of
test/Integration/gen_strided_block.py. Needs no torch.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FAMILIES_PY = REPO / "python" / "qk" / "models" / "families.py"
INTEGRATION = REPO / "test" / "Integration"


def load(name, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


# The name gen_qk_block.py and the benchmarks load it under, so that all share one module.
families = load("qk_model_families", FAMILIES_PY)


def gen_module(stem):
    if str(INTEGRATION) not in sys.path:
        sys.path.insert(0, str(INTEGRATION))
    return importlib.import_module(stem)


# ---------------------------------------------------------------------------------------------
# the registry itself


def test_registry_entries_are_consistent():
    assert len(families.FAMILIES) == len(set(families.names()))
    for name, f in families.FAMILIES.items():
        assert f.name == name and families.get(name) is f
        assert f.num_heads > 0 and f.num_kv_heads > 0 and f.head_dim > 0 and f.hidden_size > 0, name
        assert f.tp > 1 or f.num_heads % f.num_kv_heads == 0, f"{name}: GQA needs Hkv | Hq"
        assert 0 < f.eps < 1e-3, name
        assert f.weight_offset in (0.0, 1.0), name
        assert 0 < f.partial_rotary_factor <= 1, name
        assert f.source, f"{name}: say where the numbers come from"
        full = f.norm_width == "full"
        assert (f.q_group, f.k_group) == ((f.num_heads * f.head_dim, f.num_kv_heads * f.head_dim) if full
                                          else (f.head_dim, f.head_dim)), name
    with pytest.raises(KeyError, match="known: llama4_scout"):
        families.get("llama5")


def test_shards_follow_the_engines_rule():
    tp8 = families.get("qwen3_235b_tp8")
    full = families.get("qwen3_235b")
    assert (tp8.num_heads, tp8.num_kv_heads, tp8.head_dim, tp8.tp) == (8, 1, 128, 8)
    assert tp8 == full.shard(8, "qwen3_235b_tp8")
    # kv heads split when there are enough of them, else replicated
    assert families.get("qwen3_8b").shard(4).num_kv_heads == 2
    assert families.get("qwen3_8b").shard(16).num_kv_heads == 1
    with pytest.raises(ValueError):
        families.get("llama4_scout").shard(3)
    with pytest.raises(ValueError):
        tp8.shard(2)


def test_kernel_configs():
    # the benchmarks' view: per-head norms; shared = one weight for q and k; gemma = (1 + w)
    configs = {n: families.kernel_config(n) for n in families.KERNEL_CONFIGS}
    assert list(configs) == ["llama4_scout", "qwen3_8b", "qwen3_235b_tp8", "gemma3_27b"]
    assert all(c["eps"] == families.BENCH_EPS for c in configs.values())
    assert [n for n, c in configs.items() if c["shared"]] == ["llama4_scout"]
    assert [n for n, c in configs.items() if c["gemma"]] == ["gemma3_27b"]
    with pytest.raises(ValueError, match="per-head"):
        families.kernel_config("olmo2_7b")


def test_loads_by_path_without_torch_or_the_package():
    code = (
        "import sys, importlib.util\n"
        "sys.modules['torch'] = None\n"  # any `import torch` would now fail
        f"spec = importlib.util.spec_from_file_location('fam', {str(FAMILIES_PY)!r})\n"
        "m = importlib.util.module_from_spec(spec); sys.modules['fam'] = m; spec.loader.exec_module(m)\n"
        "assert 'qk' not in sys.modules\n"
        "print(len(m.FAMILIES))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == len(families.FAMILIES)


# ---------------------------------------------------------------------------------------------
# Python users that derive from it


def test_gen_qk_block_models_come_from_the_registry():
    gen = gen_module("gen_qk_block")
    assert sorted(gen.MODELS) == sorted(gen.FAMILY_OF) == ["gemma3", "llama4", "olmo2", "qwen3"]
    for model, (hq, hkv, d, kind, eps) in gen.MODELS.items():
        f = families.get(gen.FAMILY_OF[model])
        assert (hq, hkv, d) == (f.num_heads, f.num_kv_heads, f.head_dim)
        assert kind == gen.block_kind(f)
        assert float(eps) == pytest.approx(f.eps, rel=1e-7)
    # the f32 spelling the generated files have always had
    assert gen.mlir_f32(1e-5) == "9.99999974E-6" and gen.mlir_f32(1e-6) == "9.99999997E-7"
    assert [gen.MODELS[m][3] for m in ("llama4", "qwen3", "gemma3", "olmo2")] == [
        "no_weight", "before_weight", "one_plus_w", "full_width"]


# ---------------------------------------------------------------------------------------------
# what cannot import it: parsed and compared


def _c_array(text, pattern, what):
    m = re.search(pattern, text, re.S)
    assert m, f"{what}: array not found (was it renamed? update this test)"
    return m


def test_runtime_test_support_models_match():
    """runtime/tests/TestSupport.h buildCases: models[] = {{name, hq, hkv, shared, gemma}, ...},
    every one with head_dim 128 (qkRanges(m.hq, m.hkv, 128, 128))."""
    text = (REPO / "runtime" / "tests" / "TestSupport.h").read_text()
    m = _c_array(text, r"struct M \{\s*const char \*name;\s*int64_t hq, hkv;\s*bool shared, gemma;\s*\}"
                       r"\s*models\[\]\s*=\s*\{(.*?)\};", "TestSupport.h models[]")
    rows = re.findall(r'\{"(\w+)",\s*(\d+),\s*(\d+),\s*(true|false),\s*(true|false)\}', m.group(1))
    assert len(rows) == m.group(1).count("{"), "an entry of models[] was not understood"
    assert [r[0] for r in rows] == list(families.KERNEL_CONFIGS)
    dims = re.findall(r"qkRanges\(m\.hq, m\.hkv, (\d+), (\d+)\)", text[m.end():m.end() + 2000])
    assert len(dims) == 1 and dims[0][0] == dims[0][1], "the models' head_dim in buildCases"
    for name, hq, hkv, shared, gemma in rows:
        f = families.get(name)
        cfg = families.kernel_config(name)
        assert (int(hq), int(hkv), int(dims[0][0])) == (f.num_heads, f.num_kv_heads, f.head_dim), name
        assert (shared == "true", gemma == "true") == (cfg["shared"], cfg["gemma"]), name


def test_aot_gpu_check_models_match():
    """test/Integration/GPU/aot_gpu_check.cu main: models[] = {{gen_qk_block model, hq, hkv, d,
    weights}, ...}."""
    gen = gen_module("gen_qk_block")
    text = (INTEGRATION / "GPU" / "aot_gpu_check.cu").read_text()
    m = _c_array(text, r"const Model models\[\]\s*=\s*\{(.*?)\};", "aot_gpu_check.cu models[]")
    assert re.search(r"struct Model \{\s*const char \*name;\s*int64_t hq, hkv, d;\s*bool weights;\s*\}", text)
    rows = re.findall(r'\{"(\w+)",\s*(\d+),\s*(\d+),\s*(\d+),\s*(true|false)\}', m.group(1))
    assert rows and len(rows) == m.group(1).count("{")
    for model, hq, hkv, d, weights in rows:
        f = families.get(gen.FAMILY_OF[model])
        assert (int(hq), int(hkv), int(d), weights == "true") == (
            f.num_heads, f.num_kv_heads, f.head_dim, f.norm_weight), model


def example_norm_words(f):
    """What an example's header says of a norm of this form."""
    if not f.norm_weight:
        return "weight-less"
    if f.norm_width == "full":
        return "FULL projection width"
    if f.weight_offset == 1.0:
        return "x_hat * (1.0 + w)"
    return "BEFORE the bf16 weight multiply" if f.rounding == "before_weight" else "rounded to bf16 once"


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.mlir")), ids=lambda p: p.stem)
def test_example_headers_match(path):
    """examples/<family>.mlir: '//   hidden N, Hq = X, Hkv = Y, head_dim D = Z' (or 'Hq = Hkv = X'),
    the norm's eps and form in the leading comment."""
    f = families.get(path.stem)
    header = "\n".join(line for line in path.read_text().splitlines()[:12] if line.startswith("//"))
    m = re.search(r"hidden (\d+), Hq = (?:(\d+), Hkv = (\d+)|Hkv = (\d+)), head_dim D = (\d+)", header)
    assert m, f"{path.name}: no size line in the header"
    hidden, hq, hkv, both, d = m.groups()
    hq, hkv = (hq, hkv) if both is None else (both, both)
    assert (int(hidden), int(hq), int(hkv), int(d)) == (f.hidden_size, f.num_heads, f.num_kv_heads, f.head_dim)
    eps = re.search(r"eps\s*=?\s*(\d(?:\.\d+)?e-\d+)", header)
    assert eps and float(eps.group(1)) == f.eps, f"{path.name}: eps"
    qkv = re.search(r"qkv = \[T, (\d+)\]", header)
    assert qkv and int(qkv.group(1)) == f.qkv_width
    assert example_norm_words(f) in header, f"{path.name}: the norm's form"


def test_strided_qwen3_next_layout_matches():
    """gen_strided_block.py's qwen3next layout is Qwen3-Next's attention projection."""
    layout = gen_module("gen_strided_block").layout
    d, c, kind, ranges, _others = layout("qwen3next")
    f = families.get("qwen3_next")
    q, k = {r[0]: r for r in ranges}["q"], {r[0]: r for r in ranges}["k"]
    assert (d, c) == (f.head_dim, f.qkv_width)
    assert (q[2], q[3], q[4]) == (f.num_heads, f.head_dim, 2 * f.head_dim if f.q_gate else f.head_dim)
    assert (k[2], k[3]) == (f.num_kv_heads, f.head_dim)
    assert kind == gen_module("gen_qk_block").block_kind(f)
