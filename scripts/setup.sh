#!/usr/bin/env bash
# Installs the Debian packages moss.cpp needs and builds it in Release into build/.
# Usage: bash scripts/setup.sh        (then run ./build/moss --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
