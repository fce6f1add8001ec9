#!/usr/bin/env bash
# Single-sample ingest benchmark: start-up time, then req/s, p50 and p99 at 64 connections
# over 1,000 active jobs, on loopback. Builds Release, starts the service on a fresh database,
# and stops it by PID afterwards.
#
#   bench/ingest.sh                      # SQLite
#   DATABASE_TYPE=postgres DATABASE_URL=postgres://... bench/ingest.sh
#
# Needs wrk (Debian package "wrk").
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-1000}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-20s}
PORT=${PORT:-18480}
work=$(mktemp -d /tmp/hpc-bench.XXXXXX)

dotnet build -c Release src/Silo >/dev/null
export PORT HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1
export SILO_PORT=${SILO_PORT:-18481} GATEWAY_PORT=${GATEWAY_PORT:-18482}
export DATABASE_TYPE=${DATABASE_TYPE:-sqlite}
export DATABASE_URL=${DATABASE_URL:-$work/bench.db}
export Logging__LogLevel__Default=Warning

start=$(date +%s%N)
dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
  kill -0 $pid 2>/dev/null || { cat "$work/service.log"; exit 1; }
  sleep 0.05
done
ready=$(date +%s%N)
echo "startup_ms=$(( (ready - start) / 1000000 )) (process start to first healthy answer)"

for ((i = 0; i < JOBS; i++)); do
  printf '{"id":"bench-%d","user":"u%d","nodes":["node-%d"]}\n' "$i" $((i % 50)) $((i % 100))
done | xargs -d "\n" -P 16 -I{} curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$PORT/v1/jobs"

# Warm up (activations, JIT), then measure.
JOBS=$JOBS wrk -t2 -c"$CONNECTIONS" -d5s -s bench/ingest.lua "http://127.0.0.1:$PORT" >/dev/null
JOBS=$JOBS wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$work/wrk.txt" || true
cat "$work/wrk.txt"
echo "database=$DATABASE_TYPE jobs=$JOBS connections=$CONNECTIONS duration=$DURATION cores=$(nproc)"
