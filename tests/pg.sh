#!/bin/sh
# A private PostgreSQL cluster for the demo, the tests and the benchmark.
#
#   tests/pg.sh start DIR   create (first time) and start a cluster in DIR; prints its URL
#   tests/pg.sh stop DIR    stop it
#   tests/pg.sh discard DIR stop it at once, without a checkpoint (its data is thrown away)
#   tests/pg.sh url DIR     print its URL
#
# The server listens only on a Unix socket in DIR/run, so clusters of parallel test runs
# never collide on a TCP port. initdb refuses to run as root, so as root the cluster belongs
# to a system user `loa` (created here when missing) and we connect as that role.
set -eu
cmd=${1:?usage: pg.sh start|stop|url DIR}
dir=${2:?usage: pg.sh start|stop|url DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u loa -- "$@"; else "$@"; fi
}
role() { if [ "$(id -u)" -eq 0 ]; then echo loa; else id -un; fi; }
url() { echo "postgresql:///loa?host=$dir/run&user=$(role)"; }

case "$cmd" in
start)
  if [ "$(id -u)" -eq 0 ]; then
    id loa >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin loa
    chown loa "$dir"
    if ! runuser -u loa -- test -w "$dir"; then
      echo "pg.sh: user loa cannot reach $dir; make its parent folders searchable (chmod o+x)" >&2; exit 1
    fi
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U "$(role)" --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  as_owner mkdir -p "$dir/run"
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir/run -c fsync=${PG_FSYNC:-on} -c synchronous_commit=${PG_SYNC_COMMIT:-on} -c max_connections=100 -c shared_buffers=256MB -c timezone=UTC" \
      start >/dev/null || { tail -n 20 "$dir/server.log" >&2; exit 1; }
  fi
  as_owner "$bindir/psql" -h "$dir/run" -d postgres -U "$(role)" -qAtc "SELECT 1 FROM pg_database WHERE datname='loa'" | grep -q 1 \
    || as_owner "$bindir/createdb" -h "$dir/run" -U "$(role)" loa
  url ;;
stop)
  [ -f "$dir/data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true ;;
discard)
  # A throwaway cluster (a test session's): nothing in it is kept, so skip the shutdown
  # checkpoint, which on a cluster of hundreds of test databases takes a minute.
  [ -f "$dir/data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true ;;
url) url ;;
*) echo "usage: pg.sh start|stop|discard|url DIR" >&2; exit 2 ;;
esac
