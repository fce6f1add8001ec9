#!/usr/bin/env bash
# Batch ingest beyond what a silo admits (docs/benchmarks.md, "Overload"):
#
#   bench/overload.sh                          # 8 then 256 connections, default limit
#   LIMIT=8000 bench/overload.sh               # INGEST_MAX_SAMPLES_IN_FLIGHT for this run
#   CONNECTIONS="8 64 256" SECONDS_PER_RUN=20 bench/overload.sh
#   EXPECT_CONTINUE=1 bench/overload.sh       # clients send "Expect: 100-continue"
#
# For each connection count: a fresh release build of the service on SQLite on loopback, 2,000
# jobs, 1,000-sample batches (distinct timestamps per job) for SECONDS_PER_RUN after a 5 s
# warm-up. Prints accepted samples/s, the 503 share, the /v1/health/ready p99 (probed every
# ~100 ms) and the service's peak resident memory (VmRSS sampled every 100 ms, and VmHWM).
# Starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-"8 256"}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
JOBS=${JOBS:-2000}
BATCH=${BATCH:-1000}
PORT=${PORT:-18790}
work=$(mktemp -d /tmp/hpc-overload.XXXXXX)
svc_pid=""
sampler_pid=""
cleanup() {
  if [ -n "$sampler_pid" ]; then kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; fi
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
limit_env=()
if [ -n "${LIMIT:-}" ]; then limit_env=(INGEST_MAX_SAMPLES_IN_FLIGHT="$LIMIT"); fi

sample_rss() { # pid file: the highest VmRSS (kB) seen, rewritten every 100 ms
  local peak=0 kb
  while kb=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status" 2>/dev/null) && [ -n "$kb" ]; do
    if [ "$kb" -gt "$peak" ]; then peak=$kb; echo "$peak" >"$2"; fi
    sleep 0.1
  done
}

for connections in $CONNECTIONS; do
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE=sqlite DATABASE_URL="$work/overload-$connections.db" Logging__LogLevel__Default=Warning "${limit_env[@]}" \
    dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service-$connections.log" 2>&1 &
  svc_pid=$!
  until curl -fs "http://127.0.0.1:$PORT/v1/health/ready" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/service-$connections.log"; exit 1; }
    sleep 0.2
  done
  echo 0 >"$work/rss"
  sample_rss "$svc_pid" "$work/rss" &
  sampler_pid=$!
  result=$(EXPECT_CONTINUE=${EXPECT_CONTINUE:-0} dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll overload "http://127.0.0.1:$PORT" "$JOBS" "$connections" "$SECONDS_PER_RUN" "$BATCH" | grep RESULT)
  hwm=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$svc_pid/status")
  limit=$(curl -fs "http://127.0.0.1:$PORT/metrics" | awk '$1 == "hpc_ingest_samples_in_flight_limit" {print $2}')
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true; svc_pid=""
  echo "$result limit=$limit peak_rss_mb=$(($(cat "$work/rss") / 1024)) vm_hwm_mb=$((hwm / 1024))"
done
