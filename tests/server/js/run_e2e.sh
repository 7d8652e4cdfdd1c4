#!/usr/bin/env bash
# Runs e2e.mjs against a real `moss serve -m fake:` process, then kills the server with SIGKILL,
# restarts it on the same SQLite file and checks that every acknowledged conversation survived.
# Usage: tests/server/js/run_e2e.sh PATH/TO/moss    (needs `npm ci` in tests/server/js first)
set -euo pipefail
MOSS=${1:?usage: run_e2e.sh PATH/TO/moss}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
SERVER_PID=
cleanup() { [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
DB="sqlite:$TMP/e2e.db"
KEY=$("$MOSS" user add tester --db "$DB" 2>/dev/null)

start_server() {
  # --rate 0: this checks durability; the traffic loop would otherwise hit the per-user rate limit
  # and the checks after the restart (one GET per acknowledged chat) could exceed its burst.
  "$MOSS" serve -m fake: --fake-delay-ms 0 --port 0 --rate 0 --db "$DB" 2>"$TMP/serve.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$TMP/serve.log")
    [[ -n "$PORT" ]] && return 0
    sleep 0.05
  done
  echo "server did not start:"; cat "$TMP/serve.log"; exit 1
}

start_server
N=$(MOSS_URL="http://127.0.0.1:$PORT" MOSS_KEY="$KEY" node "$HERE/e2e.mjs")
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
start_server
MOSS_URL="http://127.0.0.1:$PORT" MOSS_KEY="$KEY" node "$HERE/e2e.mjs" --verify "$N"

# Kill -9 in the middle of traffic: every conversation whose /api/chat answer arrived must exist.
: >"$TMP/acked"
( while true; do
    R=$(curl -s -m 5 -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{"prompt":"durable?"}' "http://127.0.0.1:$PORT/api/chat" || true)
    UID_=$(sed -n 's|.*"uid":"\([0-9a-f]*\)".*|\1|p' <<<"$R")
    [[ -n "$UID_" ]] && echo "$UID_" >>"$TMP/acked"
  done ) &
LOOP=$!
sleep 1
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
sleep 0.2; kill "$LOOP" 2>/dev/null || true; wait "$LOOP" 2>/dev/null || true
start_server
ACKED=$(wc -l <"$TMP/acked")
[[ "$ACKED" -gt 0 ]] || { echo "no acknowledged chats before the kill"; exit 1; }
while read -r id; do
  CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/conversations/$id")
  [[ "$CODE" == 200 ]] || { echo "acknowledged conversation $id lost after kill -9 (HTTP $CODE)"; exit 1; }
done <"$TMP/acked"
echo "run_e2e: $ACKED chats acknowledged before kill -9 all survived"
echo "run_e2e: OK"
