#!/usr/bin/env bash
# What the efficiency summary costs batch ingest (docs/benchmarks.md, "Summary cost"):
#
#   bench/summary-cost.sh                # against 9c01ca9, the last commit before the summary
#   BEFORE=<rev> RUNS=5 bench/summary-cost.sh
#
# Builds the service at BEFORE (in a temporary git worktree) and at the working tree, both Release,
# then alternates the two on SQLite (SQLITE_SYNCHRONOUS=full) on loopback: each run a fresh
# database, 1,000 jobs, 5,000-sample batches from 8 connections for SECONDS_PER_RUN (default 20).
# Prints each run and the medians. Starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=${BEFORE:-9c01ca9}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18890}
work=$(mktemp -d /tmp/hpc-summary-cost.XXXXXX)
svc_pid=""
cleanup() {
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  git worktree remove --force "$work/before" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

git worktree add --detach "$work/before" "$BEFORE" >/dev/null 2>&1
dotnet build -c Release "$work/before/src/Silo" >/dev/null
dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"

run() { # label silo-dll run
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE=sqlite DATABASE_URL="$work/$1-$3.db" SQLITE_SYNCHRONOUS=full INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 Logging__LogLevel__Default=Warning \
    dotnet "$2" >"$work/$1-$3.log" 2>&1 &
  svc_pid=$!
  until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/$1-$3.log"; exit 1; }
    sleep 0.2
  done
  local result
  result=$($BENCH batch "http://127.0.0.1:$PORT" 1000 "$SECONDS_PER_RUN" 5000 | grep RESULT)
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true; svc_pid=""
  echo "$1 $result" | tee -a "$work/results.txt"
}

for i in $(seq "$RUNS"); do
  run before "$work/before/src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll" "$i"
  run after src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll "$i"
done

python3 - "$work/results.txt" <<'PY'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    label = line.split()[0]
    rates.setdefault(label, []).append(float(re.search(r"samples_per_s=([0-9.]+)", line).group(1)))
before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
print(f"median samples/s: before {before:.0f}, after {after:.0f}, change {100 * (after - before) / before:+.1f} %")
PY
