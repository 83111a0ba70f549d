#!/usr/bin/env bash
# `make test`: the whole suite twice.
#   1. embedded default: SQLite under var/ + kombu's filesystem:// broker;
#   2. production stack: PostgreSQL + Redis, both private servers started here (installed from
#      Debian packages if missing) and stopped on exit, failure or Ctrl-C included.
# Tests marked `worker` start real Celery worker processes against the same database and broker.
# Browser tests (tests/browser) drive Debian's headless Chromium through its chromedriver
# (installed here when missing; nothing is downloaded at run time); their screenshots go to
# var/test-artifacts/screenshots/<database>/.
# Exits non-zero if either run fails (pytest's "no tests collected", exit 5, fails too).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
PYTEST_ARGS=(-q -p no:cacheprovider --timeout="${TEST_TIMEOUT:-600}" "$@")
export KASPISYNC_ENV_FILE=/dev/null  # the suite must not depend on a developer's .env
unset DATABASE_URL CELERY_BROKER_URL

STACK_DIR=$(mktemp -d /tmp/kaspisync-test.XXXXXX)
PG_BIN="" REDIS_PID=""
SUMMARY=()

as_postgres() {  # PostgreSQL refuses to run as root
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    set +e
    if [ -n "$PG_BIN" ] && [ -f "$STACK_DIR/pg/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$STACK_DIR/pg" -m immediate -w stop >/dev/null 2>&1
    fi
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$STACK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "make test: '$*' missing; install it (apt-get install -y $*) or run as root" >&2
        exit 1
    fi
    echo "== installing $* (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

find_pg_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

start_postgres() {
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then apt_install postgresql; PG_BIN=$(find_pg_bin); fi
    PG_PORT=$(free_port)
    mkdir -p "$STACK_DIR/pg" "$STACK_DIR/pgsock"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$STACK_DIR" && chmod 755 "$STACK_DIR"
    as_postgres "$PG_BIN/initdb" -D "$STACK_DIR/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    # A throwaway cluster: durability off for speed.
    as_postgres "$PG_BIN/pg_ctl" -D "$STACK_DIR/pg" -l "$STACK_DIR/pg.log" -w -t 60 \
        -o "-p $PG_PORT -k $STACK_DIR/pgsock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/kaspisync"
    as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres kaspisync
    echo "== PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
}

start_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
    local port
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --pidfile "$STACK_DIR/redis.pid" --logfile "$STACK_DIR/redis.log" --dir "$STACK_DIR"
    for _ in $(seq 100); do [ -s "$STACK_DIR/redis.pid" ] && break; sleep 0.1; done
    REDIS_PID=$(cat "$STACK_DIR/redis.pid")
    "$PY" -c "import redis, sys; redis.Redis(port=$port).ping()"
    export CELERY_BROKER_URL="redis://127.0.0.1:$port/0"
    echo "== Redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port"
}

run_suite() {  # run_suite LABEL: pytest with the current environment, one summary line
    local label=$1 started rc
    echo "== run: $label"
    started=$(date +%s)
    set +e
    "$PY" -m pytest "${PYTEST_ARGS[@]}"
    rc=$?
    set -e
    local verdict="PASSED"
    [ "$rc" = 0 ] || verdict="FAILED (pytest exit $rc$([ "$rc" = 5 ] && echo ': no tests collected'))"
    SUMMARY+=("$label: $verdict in $(( $(date +%s) - started )) s")
    echo "== ${SUMMARY[-1]}"
    return "$rc"
}

ensure_chromium() {  # the browser tests' Chromium and driver, from Debian's packages
    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        apt_install chromium chromium-driver
    fi
    export KASPISYNC_REQUIRE_BROWSER=1  # a missing browser fails the browser tests, never skips them
}

status=0
ensure_chromium
run_suite "embedded (SQLite + filesystem broker)" || status=1
start_postgres
start_redis
run_suite "production stack (PostgreSQL + Redis)" || status=1

echo
echo "== make test summary"
printf '   %s\n' "${SUMMARY[@]}"
exit "$status"
