#!/usr/bin/env bash
# PostgreSQL batch ingest of several revisions, alternated (docs/benchmarks.md, "Write path at the
# limit (issue 16)"):
#
#   REVS="a5ae767 ." bench/pg-ab.sh            # "." is the working tree
#   REVS="8ec6bcb 6169e99 c22347c^ c22347c" RUNS=3 bench/pg-ab.sh
#
# Builds each revision Release in a temporary git worktree (the working tree in place), starts one
# private PostgreSQL (bench/private-postgres.sh), then per run and revision: a fresh database, the
# service, `bench/Bench batch` (1,000 jobs, 5,000-sample batches, 8 connections, 20 s warm-up +
# SECONDS_PER_RUN) from the working tree's Bench. Besides samples/s it prints the CPU seconds per
# 1,000 stored samples of the silo, of PostgreSQL (postmaster, its backends, and the backends that
# exited) and of the client, and the WAL bytes per stored sample, all over the whole bench command
# (warm-up included) divided by the samples stored: robust to the noise of a shared machine.
# Each run holds /tmp/hpc-bench.lock, so benchmarks of other sessions do not overlap it.
set -euo pipefail
cd "$(dirname "$0")/.."

REVS=${REVS:-"a5ae767 ."}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
PORT=${PORT:-18910}
pgport=${PGPORT:-18909}
work=$(mktemp -d /tmp/hpc-pg-ab.XXXXXX)
# shellcheck source=bench/private-postgres.sh
source bench/private-postgres.sh
# shellcheck source=bench/revisions.sh
source bench/revisions.sh
# shellcheck source=bench/cpu.sh
source bench/cpu.sh
pg_cleanup() {
  remove_revisions
  cleanup
}
trap pg_cleanup EXIT

build_revisions /tmp
dotnet build -c Release bench/Bench >/dev/null
start_private_postgres ab_template
tck=$(getconf CLK_TCK)

sql() { psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtq "$@"; }

run() { # rev run
  local name db svc bench_pid result pg0 pg1 svc0 svc1 lsn0 stored wal bench_cpu
  name="ab_$(echo "$1" | tr -c 'a-z0-9\n' '_')_$2"
  sql -c "CREATE DATABASE $name"
  db="postgres://postgres:x@127.0.0.1:$pgport/$name?sslmode=disable"
  exec 9>/tmp/hpc-bench.lock
  flock 9
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE=postgres DATABASE_URL="$db" INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 Logging__LogLevel__Default=Warning \
    ${SERVICE_ENV:-} dotnet "${dll[$1]}" >"$work/$name.log" 2>&1 &
  svc=$!
  pids+=("$svc")
  until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
    kill -0 "$svc" 2>/dev/null || { cat "$work/$name.log"; exit 1; }
    sleep 0.2
  done
  lsn0=$(sql -d "$name" -c "SELECT pg_current_wal_lsn()")
  pg0=$(pg_cpu); svc0=$(proc_cpu "$svc"); ticks0=$(cpu_ticks)
  dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll batch "http://127.0.0.1:$PORT" 1000 "$SECONDS_PER_RUN" 5000 >"$work/bench.out" &
  bench_pid=$!
  pids+=("$bench_pid")
  # The client's CPU: polled from /proc until it exits (its last reading is within 0.5 s of the end).
  bench_cpu=0
  while kill -0 "$bench_pid" 2>/dev/null; do
    bench_cpu=$(proc_cpu "$bench_pid" 2>/dev/null || echo "$bench_cpu")
    sleep 0.5
  done
  wait "$bench_pid"
  pg1=$(pg_cpu); svc1=$(proc_cpu "$svc"); steal=$(steal_pct "$ticks0" "$(cpu_ticks)")
  stored=$(sql -d "$name" -c "SELECT count(*) FROM samples")
  wal=$(sql -d "$name" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")
  kill "$svc"; wait "$svc" 2>/dev/null || true
  flock -u 9
  sql -c "DROP DATABASE $name"
  result=$(grep RESULT "$work/bench.out")
  echo "$1 $result stored=$stored silo_cpu_s_per_k=$(awk -v a="$svc0" -v b="$svc1" -v n="$stored" -v t="$tck" 'BEGIN { printf "%.4f", (b - a) / t / n * 1000 }') pg_cpu_s_per_k=$(awk -v a="$pg0" -v b="$pg1" -v n="$stored" -v t="$tck" 'BEGIN { printf "%.4f", (b - a) / t / n * 1000 }') client_cpu_s_per_k=$(awk -v b="$bench_cpu" -v n="$stored" -v t="$tck" 'BEGIN { printf "%.4f", b / t / n * 1000 }') wal_b_per_sample=$(awk -v w="$wal" -v n="$stored" 'BEGIN { printf "%.0f", w / n }') load=$(cut -d' ' -f1 /proc/loadavg) steal_pct=$steal" | tee -a "$work/results.txt"
}

alternate_revisions
print_medians "$work/results.txt" "samples_per_s|silo_cpu_s_per_k|pg_cpu_s_per_k|client_cpu_s_per_k|wal_b_per_sample"
