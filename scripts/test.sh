#!/usr/bin/env bash
# Builds everything (scripts/setup.sh) and runs the whole lit suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ninja -C build check-qk
