#!/usr/bin/env bash
# Installs the Debian packages moss.cpp needs, builds it in Release into build/ and builds the web
# UI (npm packages from the registry, pinned by web/package-lock.json) into web/dist.
# Usage: bash scripts/setup.sh        (then run ./build/moss --help)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
# ccache keys on paths relative to the checkout, so a fresh clone elsewhere reuses the cache.
export CCACHE_BASEDIR="$PWD"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
(cd web && npm ci --no-audit --no-fund --silent && npx vite build --logLevel warn)
