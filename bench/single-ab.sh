#!/usr/bin/env bash
# Single-sample ingest on SQLite of several revisions, alternated (docs/benchmarks.md, "Memory per
# active job", the directory cache):
#
#   REVS="HEAD ." bench/single-ab.sh            # "." is the working tree
#   REVS="147a522 ." RUNS=5 bench/single-ab.sh
#
# Builds each revision Release in a temporary git worktree (the working tree in place), then per run
# and revision: a fresh SQLite file (SQLITE_SYNCHRONOUS=full), the service, 1,000 jobs, wrk at 64
# connections (bench/ingest.lua; 10 s warm-up, then DURATION). Prints req/s, p50, p99 and the silo's
# CPU-seconds per 100,000 requests over the measured part (user + system, from /proc: steadier than
# the rate on a shared machine), then the medians. Each run holds /tmp/hpc-bench.lock. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."

REVS=${REVS:-"HEAD ."}
RUNS=${RUNS:-3}
DURATION=${DURATION:-15s}
PORT=${PORT:-18930}
work=$(mktemp -d /tmp/hpc-single-ab.XXXXXX)
svc=""
# shellcheck source=bench/revisions.sh
source bench/revisions.sh
cleanup() {
  if [ -n "$svc" ]; then kill "$svc" 2>/dev/null || true; wait "$svc" 2>/dev/null || true; fi
  remove_revisions
  rm -rf "$work"
}
trap cleanup EXIT

build_revisions "$work"
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
tck=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }

run() { # rev run
  local name result cpu0 cpu1 requests
  name="$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_')_$2"
  exec 9>/tmp/hpc-bench.lock
  flock 9
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE=sqlite DATABASE_URL="$work/$name.db" SQLITE_SYNCHRONOUS=full Logging__LogLevel__Default=Warning \
    ${SERVICE_ENV:-} dotnet "${dll[$1]}" >"$work/$name.log" 2>&1 &
  svc=$!
  until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
    kill -0 "$svc" 2>/dev/null || { cat "$work/$name.log"; exit 1; }
    sleep 0.2
  done
  $BENCH create "http://127.0.0.1:$PORT" 1000 bench- >/dev/null
  JOBS=1000 wrk -t2 -c64 -d10s -s bench/ingest.lua "http://127.0.0.1:$PORT" >/dev/null
  cpu0=$(cpu_ticks "$svc")
  result=$(JOBS=1000 wrk -t2 -c64 -d"$DURATION" --latency -s bench/ingest.lua "http://127.0.0.1:$PORT" | grep RESULT)
  cpu1=$(cpu_ticks "$svc")
  kill "$svc"; wait "$svc" 2>/dev/null || true; svc=""
  flock -u 9
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$result")
  echo "$1 $result silo_cpu_s_per_100k=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" -v t="$tck" 'BEGIN { printf "%.3f", (b - a) / t / n * 100000 }') load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$work/results.txt"
}

alternate_revisions
print_medians "$work/results.txt" "req_per_s|p50_ms|p99_ms|silo_cpu_s_per_100k"
