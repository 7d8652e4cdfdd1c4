#!/usr/bin/env bash
# Installs what the tests need, builds, and runs the whole test suite with ctest.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f tools/package.json ]; then (cd tools && npm ci --no-audit --no-fund --silent); fi
ctest --test-dir build --output-on-failure -j "$(nproc)"
