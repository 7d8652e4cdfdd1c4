#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking moss.cpp needs.
# Idempotent; safe to run on a fresh Debian 12 machine as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  # libraries linked by libmoss
  libpcre2-dev nlohmann-json3-dev libcli11-dev libginac-dev libcln-dev
  libsqlite3-dev libcurl4-openssl-dev libcpp-httplib-dev libssl-dev libpq-dev zlib1g-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the PostgreSQL server the store tests also run against (scripts/start_postgres.sh)
  postgresql
  # the browser the web UI's end-to-end test drives (playwright-core, no downloaded browser)
  chromium
  # fixture generators (reference implementation from the spec) and the JS tokenizer oracle
  python3 python3-torch python3-numpy
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Node.js and npm (for the tokenizer oracle and the web UI): machines that already carry a Node.js
# of their own must keep it (Debian's npm package conflicts with it), so install only when missing.
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
