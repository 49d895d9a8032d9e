#!/usr/bin/env bash
# Builds everything (scripts/setup.sh), runs the whole lit suite, then the
# Python package's tests (scripts/test-python.sh: creates build/torch-venv once
# with torch, torch-mlir, ml_dtypes and pytest from PyPI, pip-installs ./python
# into it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-qk
scripts/test-python.sh
