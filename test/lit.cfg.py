# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "QK"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qk_obj_root, "test")
# Inputs/ holds IR that tests include, not tests.
config.excludes = ["Inputs", "CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%qk_libs", config.qk_lib_dir))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%examples", os.path.join(os.path.dirname(config.test_source_root), "examples")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.qk_tools_dir, config.llvm_tools_dir]
tools = ["qk-opt", "qk-tblgen", "mlir-opt", "mlir-runner", "mlir-translate", "llc", "llvm-nm",
         "FileCheck", "count", "not"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.qk_tools_dir, append_path=True)

# The host runtime's test program, when the runtime was built.
if os.path.exists(os.path.join(config.qk_tools_dir, "qk-runtime-host-test")):
    config.available_features.add("qk-runtime")

# Differential integration tests (test/Integration): the upstream-only CPU
# lowering that serves as the reference, and mlir-runner with the upstream
# runner utilities (plus our host runtime for the call path).
import sys
config.substitutions.append(("%python", sys.executable))
_upstream_lowering = " ".join([
    "--one-shot-bufferize=bufferize-function-boundaries",
    "--convert-linalg-to-loops", "--expand-strided-metadata", "--lower-affine",
    "--convert-scf-to-cf", "--convert-math-to-llvm",
    "--finalize-memref-to-llvm", "--convert-arith-to-llvm",
    "--convert-cf-to-llvm", "--convert-func-to-llvm",
    "--reconcile-unrealized-casts"])
config.substitutions.append(("%upstream_cpu_lowering", _upstream_lowering))
_runner_libs = ",".join(os.path.join(config.mlir_lib_dir, l) for l in
                        ["libmlir_runner_utils.so", "libmlir_c_runner_utils.so"])
_runner = "mlir-runner -e main -entry-point-result=void --shared-libs="
config.substitutions.append((
    "%mlir_run_host_runtime",
    _runner + _runner_libs + "," +
    os.path.join(config.qk_lib_dir, "libqk_runtime_host.so")))
config.substitutions.append(("%mlir_run", _runner + _runner_libs))
config.substitutions.append(("%host_cxx", config.host_cxx))
config.substitutions.append(
    ("%qk_include", os.path.join(os.path.dirname(config.test_source_root), "include")))
config.substitutions.append(("%mlir_include", config.mlir_include_dir))
config.substitutions.append(("%qk_src", os.path.dirname(config.test_source_root)))
