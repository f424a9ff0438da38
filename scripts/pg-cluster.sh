#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests.
#   pg-cluster.sh start DIR   creates a cluster in DIR (which must not exist or be empty), starts it
#                             on 127.0.0.1 and a free port (no unix socket at all), creates the
#                             database `spokeflow` and prints its postgresql:// URL on stdout.
#   pg-cluster.sh restart DIR restarts its server (pg_ctl restart -m fast: clients are cut off,
#                             open transactions rolled back) on the same port, and returns once it
#                             accepts connections again.
#   pg-cluster.sh stop DIR    stops it and removes DIR.
# The server refuses to run as root: when run as root, it runs as the `postgres` system user the
# Debian package creates (DIR is handed to that user). The password is random, in DIR only.
# Durability across an OS crash does not matter here, so fsync is off (the tests' speed on a
# shared machine does); a crash of the server or of a client is still survived as usual.
set -euo pipefail

PG_BIN=${PG_BIN:-}
if [ -z "$PG_BIN" ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN=$d; done
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "pg-cluster: no PostgreSQL server found (install Debian's postgresql: scripts/setup.sh)" >&2
  exit 1
fi

usage() { echo "usage: $0 start DIR | restart DIR | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
CMD=$1
DIR=$2

# Runs a server program as the unprivileged user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    echo "pg-cluster: $DIR exists and is not empty" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres > /dev/null 2>&1; then
      echo "pg-cluster: running as root needs the 'postgres' system user (Debian's postgresql package makes it)" >&2
      exit 1
    fi
    chown postgres: "$DIR"
    if ! runuser -u postgres -- test -w "$DIR"; then
      echo "pg-cluster: the postgres user cannot reach $DIR (a parent folder is closed to it); use a folder under /tmp" >&2
      exit 1
    fi
  fi
  chmod 700 "$DIR"
  local password
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  (umask 077 && printf '%s\n' "$password" > "$DIR/password")
  [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR/password"
  if ! as_owner "$PG_BIN/initdb" -D "$DIR/data" -U spokeflow --pwfile="$DIR/password" --auth=scram-sha-256 \
       -E UTF8 --locale=C > "$DIR/initdb.log" 2>&1; then
    echo "pg-cluster: initdb failed:" >&2
    cat "$DIR/initdb.log" >&2
    exit 1
  fi
  cat >> "$DIR/data/postgresql.conf" <<'EOF'
# pg-cluster.sh: a throwaway cluster for tests.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
full_page_writes = off
max_connections = 200
EOF
  # A free port: the server says when the one tried is taken, and another is tried.
  local port tries=0
  while :; do
    port=$((20000 + RANDOM % 40000))
    if as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $port" -w -t 60 start > /dev/null 2>&1; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 10 ] || ! grep -qi "address already in use\|could not bind" "$DIR/server.log" 2>/dev/null; then
      echo "pg-cluster: the server did not start; its log:" >&2
      cat "$DIR/server.log" >&2 2>/dev/null || true
      exit 1
    fi
  done
  echo "$port" > "$DIR/port"
  if ! PGPASSWORD=$password "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U spokeflow spokeflow >&2; then
    echo "pg-cluster: createdb failed" >&2
    exit 1
  fi
  echo "postgresql://spokeflow:$password@127.0.0.1:$port/spokeflow"
}

stop() {
  [ -d "$DIR" ] || exit 0
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop > /dev/null 2>&1 ||
      echo "pg-cluster: pg_ctl stop failed (log: $DIR/server.log)" >&2
  fi
  rm -rf "$DIR"
}

restart() {
  if [ ! -f "$DIR/port" ] || [ ! -d "$DIR/data" ]; then
    echo "pg-cluster: no cluster in $DIR" >&2
    exit 1
  fi
  local port
  port=$(cat "$DIR/port")
  if ! as_owner "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $port" -m fast -w -t 60 restart \
       > /dev/null 2>&1; then
    echo "pg-cluster: pg_ctl restart failed; the server's log:" >&2
    tail -n 20 "$DIR/server.log" >&2 2>/dev/null || true
    exit 1
  fi
  # pg_ctl -w returns once the server says it is ready; wait for a real connection too.
  local i
  for i in $(seq 1 300); do
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
    sleep 0.1
  done
  echo "pg-cluster: the server did not accept connections within 30 s of its restart" >&2
  exit 1
}

case "$CMD" in
  start) start ;;
  restart) restart ;;
  stop) stop ;;
  *) usage ;;
esac
