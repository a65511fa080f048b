#!/usr/bin/env bash
# `make test`'s first step: what the suite needs beside Python, then the suite itself.
#
# - Debian packages the suite uses and a clean machine lacks (Chromium for the browser tests, npm
#   for axe-core, PostgreSQL, the libraries WeasyPrint draws PDFs with, Python's venv): installed
#   when run as root, else named with the command that installs them.
# - A throwaway PostgreSQL server on a free port, for the suite's PostgreSQL run, stopped and
#   deleted afterwards, unless VIGIL_TEST_POSTGRES_URL names a server to use instead.
#
# Usage: tests/with_services.sh COMMAND...   (runs COMMAND with VIGIL_TEST_POSTGRES_URL set)
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
ldconfig -p | grep -q libpangoft2-1.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ -z "${VIGIL_TEST_POSTGRES_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "make test: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "make test: the suite needs ${missing[*]}; install them (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if [ -n "${VIGIL_TEST_POSTGRES_URL:-}" ]; then
  echo "make test: PostgreSQL run against VIGIL_TEST_POSTGRES_URL"
  exec "$@"
fi

pgbin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
pgdir=$(mktemp -d /tmp/vigil-test-pg.XXXXXX)
as_pg() {
  # PostgreSQL refuses to run as root: as root, run it as Debian's postgres user.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
stop_pg() {
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -t 10 stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap stop_pg EXIT
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust --no-sync >/dev/null
# A port free right now; a fixed one can be taken, even by a passing connection's own end.
for attempt in 1 2 3; do
  pgport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off: a test database that a crash loses is simply made again.
  if as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 30 \
    -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
    start >/dev/null; then
    break
  fi
  if [ "$attempt" = 3 ]; then
    tail -n 5 "$pgdir/log" >&2
    exit 1
  fi
done
echo "make test: a throwaway PostgreSQL on port $pgport (stopped afterwards)"
export VIGIL_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$pgport/postgres"
export VIGIL_REQUIRE_POSTGRES=1
status=0
"$@" || status=$?
exit "$status"
