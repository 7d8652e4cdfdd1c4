#!/usr/bin/env bash
# Serves the 1.24B q4_0 random-weight benchmark model with `moss serve` on loopback and runs
# bench/loadgen.mjs against it (1, 4 and 8 concurrent streams; time to first token of cached vs
# rebuilt follow-up turns). Bounded: a few dozen requests, then the server is stopped.
# Usage: bash bench/serve_load.sh [MODEL.gguf] [max tokens per answer, default 64] [moss serve options...]
# (LOADGEN_ROUNDS sets the rounds, default 3.)
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-/tmp/small-q4_0.gguf}"
tokens="${2:-64}"
shift $(($# < 2 ? $# : 2))
moss="${MOSS:-./build/moss}"
[ -f "$model" ] || $moss bench --make-model "$model" --shape small --type q4_0
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
key="$($moss user add loadadmin --admin --db "sqlite:$work/load.db" | grep -o 'moss-[0-9a-f]*' | head -1)"
port=$((20000 + RANDOM % 20000))
$moss serve -m "$model" --port "$port" --db "sqlite:$work/load.db" --rate 0 --cached-conversations 32 -t "$(nproc)" "$@" &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
node bench/loadgen.mjs --url "http://127.0.0.1:$port" --admin-key "$key" --streams 1,4,8 --max-tokens "$tokens" --rounds "${LOADGEN_ROUNDS:-3}" --json
