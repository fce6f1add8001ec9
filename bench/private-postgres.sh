# shellcheck shell=bash disable=SC2154
# Sourced by the PostgreSQL benchmarks: a private PostgreSQL under $work/pg on loopback port
# $pgport (as the postgres user when run as root), and the cleanup that stops it and every PID in
# $pids. Set work, pgport (and optionally PG_OPTIONS) before sourcing; call start_private_postgres.
pids=()
pgdata="$work/pg/data"
as_pg=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

start_private_postgres() { # database-name
  mkdir -p "$work/pg"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$work"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" initdb -D "$pgdata" -U postgres --auth=trust >/dev/null
  "${as_pg[@]}" pg_ctl -D "$pgdata" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB ${PG_OPTIONS:-}" start >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtqc "CREATE DATABASE $1" >/dev/null
}
