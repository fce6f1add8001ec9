#!/usr/bin/env bash
# The job-started rate, before and after a change (docs/benchmarks.md, "Lifecycle events"):
#
#   bench/events-ab.sh                          # against ef675e3, both backends, 3 runs each
#   BEFORE=<rev> RUNS=5 BACKENDS=postgres bench/events-ab.sh
#   ONLY=after bench/events-ab.sh               # just the working tree (a profile run)
#
# Builds the service at BEFORE (in a temporary git worktree) and at the working tree, both Release,
# then alternates the two, a fresh service and database each run, with the events step of
# bench/run.sh (10 s warm-up, then 10,000 job-started and 10,000 job-finished over 64 connections).
# Besides events/s and latency it prints the CPU milliseconds per event of the silo and of the
# database server (PostgreSQL: the postmaster and its backends) during each phase; on a shared
# 2-core machine those move less than the rate. Starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=${BEFORE:-ef675e3}
RUNS=${RUNS:-3}
BACKENDS=${BACKENDS:-"sqlite postgres"}
ONLY=${ONLY:-}
PORT=${PORT:-18870}
TASKS=${TASKS:-10000}
work=$(mktemp -d /tmp/hpc-events-ab.XXXXXX)
svc_pid=""
pgdata=""
cleanup() {
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  if [ -n "$pgdata" ]; then runuser -u postgres -- pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || true; fi
  git worktree remove --force "$work/before" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$ONLY" != after ]; then
  git worktree add --detach "$work/before" "$BEFORE" >/dev/null 2>&1
  dotnet build -c Release "$work/before/src/Silo" >/dev/null
fi
dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"

if [[ " $BACKENDS " == *" postgres "* ]]; then
  pgport=$((PORT + 9))
  pgdata="$work/pg/data"
  mkdir -p "$work/pg"
  chown -R postgres "$work"
  runuser -u postgres -- initdb -D "$pgdata" -U postgres --auth=trust >/dev/null
  runuser -u postgres -- pg_ctl -D "$pgdata" -l "$work/pg/log" -w \
    -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB ${PG_OPTIONS:-}" start >/dev/null
  pg_pid=$(head -1 "$pgdata/postmaster.pid")
fi

run() { # label silo-dll backend run
  local url cpu
  if [ "$3" = sqlite ]; then
    url="$work/$1-$4.db"
  else
    psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE events_$1_$4" >/dev/null
    url="postgres://postgres:x@127.0.0.1:$pgport/events_$1_$4?sslmode=disable"
  fi
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE="$3" DATABASE_URL="$url" SQLITE_SYNCHRONOUS=full Logging__LogLevel__Default=Warning ${SERVICE_ENV:-} \
    dotnet "$2" >"$work/$1-$3-$4.log" 2>&1 &
  svc_pid=$!
  until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/$1-$3-$4.log"; exit 1; }
    sleep 0.2
  done
  cpu="silo=$svc_pid"
  [ "$3" = postgres ] && cpu="$cpu db=$pg_pid"
  BENCH_CPU_PIDS="$cpu" $BENCH events "http://127.0.0.1:$PORT" "$TASKS" 64 | grep RESULT | grep -v warm-up | sed "s/^/$3 $1 /" | tee -a "$work/results.txt"
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true; svc_pid=""
}

for i in $(seq "$RUNS"); do
  for backend in $BACKENDS; do
    [ "$ONLY" = after ] || run before "$work/before/src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll" "$backend" "$i"
    run after src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll "$backend" "$i"
  done
done

echo
echo "medians of $RUNS runs (before $BEFORE, after: the working tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src sql || echo '+changes')):"
python3 - "$work/results.txt" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    words = line.split()
    label = " ".join(words[:2] + [words[3]])  # backend version phase
    for key, value in re.findall(r"(\w+)=([-0-9.]+)", line):
        if key not in ("events", "connections"):
            runs.setdefault((label, key), []).append(float(value))
for (label, key), values in sorted(runs.items()):
    print(f"{label} {key}={statistics.median(values):g} (runs: {', '.join(f'{v:g}' for v in values)})")
PY
