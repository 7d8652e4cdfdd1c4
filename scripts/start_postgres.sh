#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server for the server tests (loopback only, trust auth) and prints
# its URL. Usage:
#   scripts/start_postgres.sh [PORT]          -> prints postgresql://postgres@127.0.0.1:PORT/moss_test
#   scripts/start_postgres.sh --stop [PORT]
# Then: MOSS_TEST_STORE=postgres MOSS_TEST_POSTGRES_URL=<url> build/tests/test_server
# Needs the PostgreSQL server binaries (Debian: postgresql) and libpq (libpq-dev) for the build.
# initdb refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail
STOP=0
if [[ "${1:-}" == "--stop" ]]; then STOP=1; shift; fi
PORT=${1:-54331}
DATA=/tmp/moss-pg-$PORT
BIN=$(dirname "$(readlink -f "$(command -v pg_ctl || echo /usr/lib/postgresql/15/bin/pg_ctl)")")
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ $STOP == 1 ]]; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
  exit 0
fi
if [[ ! -f "$DATA/PG_VERSION" ]]; then
  mkdir -p "$DATA"
  [[ $(id -u) == 0 ]] && chown postgres "$DATA"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DATA -c fsync=on" start >/dev/null
fi
as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='moss_test'" \
  | grep -q 1 || as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres moss_test
echo "postgresql://postgres@127.0.0.1:$PORT/moss_test"
