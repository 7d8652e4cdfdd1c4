#!/usr/bin/env bash
# The sanitizer pass CI runs after the tests (design.md habits): builds everything with
# AddressSanitizer + UndefinedBehaviorSanitizer into build-asan and runs the unit tests there (the
# PostgreSQL copies and the browser test already ran in scripts/test.sh), then builds the libFuzzer
# targets with clang and runs each for a bounded time (scripts/fuzz.sh). Any report fails the run.
# Usage: bash scripts/sanitize.sh [fuzz seconds per target, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMOSS_SANITIZE=ON -DMOSS_BENCH=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" -LE 'postgres|web'
bash scripts/fuzz.sh "${1:-20}"
