#!/usr/bin/env bash
# Installs what the tests need, builds, starts a local PostgreSQL for the store tests and runs the
# whole test suite with ctest.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f tools/package.json ]; then (cd tools && npm ci --no-audit --no-fund --silent); fi
# The official openai npm client for the web.openai_client test (registered when installed).
(cd tests/server/js && npm ci --no-audit --no-fund --silent)
cmake -S . -B build >/dev/null  # re-run configure so the test above is registered
# The server tests run a second time against PostgreSQL (ctest's postgres.* tests, label
# `postgres`): start a throwaway local cluster unless a URL is given.
if [ -z "${MOSS_TEST_POSTGRES_URL:-}" ]; then
  MOSS_TEST_POSTGRES_URL="$(bash scripts/start_postgres.sh)"
fi
export MOSS_TEST_POSTGRES_URL
ctest --test-dir build --output-on-failure -j "$(nproc)"
