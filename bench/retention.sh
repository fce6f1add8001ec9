#!/usr/bin/env bash
# Retention on SQLite at scale: a file holding SAMPLES (default 10,000,000) expired samples, then
# single-sample ingest with wrk (64 connections over 1,000 jobs) while the retention pass deletes
# them, and again once it has finished. Prints the pass's duration and rate, and ingest's rate,
# p50 and p99 in both phases, so the cost of retention to ingest is one comparison.
#
#   bench/retention.sh
#   SAMPLES=1000000 bench/retention.sh     # a quick look
#
# Builds Release; loopback only; stops what it starts by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${SAMPLES:-10000000}
DURATION=${DURATION:-20s}
port=18970
work=$(mktemp -d /tmp/hpc-retention.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
db="$work/retention.db"

start_service() {
  env PORT=$port HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((port + 1)) GATEWAY_PORT=$((port + 2)) \
    DATABASE_TYPE=sqlite DATABASE_URL="$db" Logging__LogLevel__Default=Warning \
    Logging__LogLevel__HpcJobs.Grains.RetentionGrain=Information \
    dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >>"$work/service.log" 2>&1 &
  svc_pid=$!
  pids+=("$svc_pid")
  until curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/service.log"; exit 1; }
    sleep 0.1
  done
}

stop_service() { kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true; }

deleted() { curl -fs "http://127.0.0.1:$port/metrics" | awk '$1 == "hpc_retention_deleted_samples_total" {print int($2)}'; }

ingest() { JOBS=1000 wrk -t2 -c64 -d"$DURATION" --latency -s bench/ingest.lua "http://127.0.0.1:$port" | grep RESULT; }

# The service makes the schema (and its migrations) on an empty file; the samples go in after.
start_service
stop_service
$BENCH seed-samples-sqlite "$db" 1000 "$SAMPLES" 8
echo "file: $(du -h "$db" | cut -f1)"

# The first pass starts 10 s after the silo starts; the warm-up (activations, tiered JIT) runs on
# past it, so that both measured phases meet a warm service and only retention tells them apart.
start_service
started=$SECONDS
$BENCH create "http://127.0.0.1:$port" 1000 bench- >/dev/null
JOBS=1000 wrk -t2 -c64 -d15s -s bench/ingest.lua "http://127.0.0.1:$port" >/dev/null
before=$(deleted)
echo "during retention: $(ingest) (deleted during the run: $(( $(deleted) - before )))"
until grep -q "Retention deleted" "$work/service.log"; do
  kill -0 "$svc_pid" 2>/dev/null || { cat "$work/service.log"; exit 1; }
  sleep 1
done
pass=$((SECONDS - started - 10))
echo "retention pass: $(deleted) samples in ~${pass} s ($(( $(deleted) / (pass > 0 ? pass : 1) )) samples/s)"
echo "after retention:  $(ingest)"
