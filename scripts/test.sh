#!/usr/bin/env bash
# Builds everything (scripts/setup.sh), runs the whole lit suite, then the
# Python package's tests (scripts/test-python.sh: installs Debian's
# python3-torch and pytest if missing, pip-installs ./python into a venv).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-qk
scripts/test-python.sh
