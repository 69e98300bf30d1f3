#!/usr/bin/env bash
# A local PostgreSQL server from Debian's packages, for `make test` and `make bench`.
#   postgres.sh up      initdb if new, start in the background, create the database, wait until it answers
#   postgres.sh down    stop the server this script started (pg_ctl on its own data directory)
#   postgres.sh status  say whether a server answers (exit 1 when none does)
#   postgres.sh url     print the SQLAlchemy URL of the database
# A server already listening on the port (not started here) is shared, never stopped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${MR_CACHE_DIR:-$root/.cache}
home=$cache/postgres
data=$home/data
sockets=$home/run
logfile=$home/server.log
port=${MR_POSTGRES_PORT:-15432}
database=${MR_POSTGRES_DB:-market_reaction}
wait_s=${MR_POSTGRES_WAIT_S:-60}

log() { printf 'postgres: %s\n' "$*" >&2; }

bindir() {
  # Debian keeps the server tools per major version; /usr/bin holds wrappers of the client tools
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x $dir/pg_ctl && -x $dir/pg_isready ]] && { echo "$dir"; return; }
  done
  if command -v pg_ctl >/dev/null; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  log "PostgreSQL server binaries not found (Debian package postgresql: make install)"
  exit 1
}
bin=$(bindir)

# postgres refuses to run as root: run its tools as the `postgres` OS user then
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [[ -f $data/postmaster.pid ]] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

answering() { "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 2 >/dev/null 2>&1; }

psql_() { "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }

ensure_database() {
  if [[ -z $(psql_ -d postgres -tAc "select 1 from pg_database where datname = '$database'") ]]; then
    psql_ -d postgres -c "create database $database" >/dev/null
    log "created database $database"
  fi
}

init() {
  mkdir -p "$home" "$sockets"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$home" "$sockets"
  if [[ -f $data/PG_VERSION ]]; then return; fi
  log "initdb into $data"
  as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$home/initdb.log" 2>&1 || { tail -n 20 "$home/initdb.log" >&2; exit 1; }
  cat >"$data/pg_hba.conf" <<EOF
# loopback only, trust: a throw-away test server
local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
EOF
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$data/pg_hba.conf"
  return 0
}

up() {
  if running; then log "already running on 127.0.0.1:$port"; ensure_database; return; fi
  if answering; then
    log "a server not started here answers on 127.0.0.1:$port; using it"
    ensure_database
    return
  fi
  init
  : >"$logfile"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$logfile"
  # listen on loopback only, sockets inside the cache dir; fsync off: test data is disposable
  as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $sockets -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start || true
  log "waiting up to ${wait_s}s for 127.0.0.1:$port"
  for ((i = 0; i < wait_s * 4; i++)); do
    if answering; then
      ensure_database
      log "ready on 127.0.0.1:$port, database $database (log: $logfile)"
      return
    fi
    if ((i > 8)) && ! running; then break; fi
    sleep 0.25
  done
  log "no answer on 127.0.0.1:$port; last lines of its log:"
  tail -n 30 "$logfile" >&2 || true
  down
  exit 1
}

down() {
  if ! running; then log "not running (started here)"; return; fi
  as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 -s stop || {
    log "fast stop failed; immediate stop"
    as_owner "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 -s stop
  }
  log "stopped"
}

status() {
  if running; then echo "running on 127.0.0.1:$port (data $data)"
  elif answering; then echo "a server not started here answers on 127.0.0.1:$port"
  else echo "stopped"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  url) echo "postgresql+asyncpg://postgres@127.0.0.1:$port/$database" ;;
  *) echo "usage: $0 up|down|status|url" >&2; exit 2 ;;
esac
