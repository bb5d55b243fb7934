#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL server for the registry tests.
#   export METRICFORGE_TEST_PG_URL="$(scripts/pg_test_server.sh start)"
#   scripts/pg_test_server.sh stop      # stops it and deletes its data
# The URL is the only thing printed on stdout. Settings: PG_TEST_PORT (55432),
# PG_TEST_DATA (/tmp/metricforge-pgdata). Installs postgresql with apt-get when missing.
set -euo pipefail

PORT="${PG_TEST_PORT:-55432}"
DATA="${PG_TEST_DATA:-/tmp/metricforge-pgdata}"
LOG="${DATA}.log"
URL="postgresql+psycopg://postgres@127.0.0.1:${PORT}/postgres"

say() { echo "pg_test_server: $*" >&2; }

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_postgres() {
    say "PostgreSQL binaries not found; installing with apt-get"
    as_root apt-get update >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >&2
}

# Run a command as the server's owner: 'postgres' when we are root (initdb refuses root).
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

start() {
    BIN="$(find_bin)"
    [ -n "$BIN" ] || { install_postgres; BIN="$(find_bin)"; }
    [ -n "$BIN" ] || { say "no PostgreSQL binaries after install"; exit 1; }
    if as_owner "'$BIN/pg_ctl' -D '$DATA' status" >/dev/null 2>&1; then
        say "already running (data $DATA)"
        echo "$URL"
        return
    fi
    mkdir -p "$DATA"
    touch "$LOG"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DATA" "$LOG"; fi
    chmod 700 "$DATA"
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_owner "'$BIN/initdb' -D '$DATA' -A trust -U postgres" >&2
    fi
    as_owner "'$BIN/pg_ctl' -D '$DATA' -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1' -l '$LOG' -w start" >&2
    say "running on port $PORT (log $LOG)"
    echo "$URL"
}

stop() {
    BIN="$(find_bin)"
    if [ -n "$BIN" ] && [ -d "$DATA" ]; then
        as_owner "'$BIN/pg_ctl' -D '$DATA' -m fast -w stop" >&2 || true
    fi
    rm -rf "$DATA" "$LOG"
    say "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
