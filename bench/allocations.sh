#!/usr/bin/env bash
# Allocations per request of the ingest hot path, by type: the Release service on SQLite under load,
# a dotnet-trace of the runtime's GC AllocationTick events (type and bytes, about every 100 KB) and
# the EventCounters that count the requests (Microsoft.AspNetCore.Hosting requests-per-second, at
# level 1 so not its per-request events) and the GC's bytes (System.Runtime alloc-rate, a check),
# summarised by bench/Allocations. Needs: dotnet tool install -g dotnet-trace; wrk.
# KEEP_TRACE=file keeps the trace (bench/Allocations re-reads it with other arguments).
#
#   bench/allocations.sh single    # POST /v1/jobs/{id}/metrics, wrk 64 connections over 1,000 jobs: per request
#   START_AGO=0 bench/allocations.sh single   # the same with samples that become their job's latest usage
#   bench/allocations.sh batch     # POST /v1/metrics, 5,000 samples per request over 1,000 jobs: per sample
#   FRAMES=6 bench/allocations.sh single   # also the allocating frames of each top type
#   TYPES=25 SECONDS_TRACED=15 ...          # more types, a longer trace
#   DATABASE_TYPE=postgres DATABASE_URL=postgres://... bench/allocations.sh batch   # on PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
MODE=${1:-single}
PORT=${PORT:-18960}
SECONDS_TRACED=${SECONDS_TRACED:-10}
TYPES=${TYPES:-15}
FRAMES=${FRAMES:-0}
BATCH_SIZE=5000
work=$(mktemp -d /tmp/hpc-alloc.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
dotnet build -c Release bench/Allocations >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
url="http://127.0.0.1:$PORT"

env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
  DATABASE_TYPE="${DATABASE_TYPE:-sqlite}" DATABASE_URL="${DATABASE_URL:-$work/a.db}" SQLITE_SYNCHRONOUS=full INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 \
  Logging__LogLevel__Default=Warning \
  dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
svc=$!
pids+=("$svc")
until curl -fs "$url/v1/health" >/dev/null; do
  kill -0 "$svc" 2>/dev/null || { cat "$work/service.log"; exit 1; }
  sleep 0.1
done

load_seconds=$((SECONDS_TRACED + 25))
case "$MODE" in
  single)
    units=1
    $BENCH create "$url" 1000 bench- >/dev/null
    # bench/ingest.lua's START_AGO (default 60) passes through: see there.
    JOBS=1000 wrk -t2 -c64 -d10s -s bench/ingest.lua "$url" >/dev/null  # warm-up: activations, tiered JIT
    JOBS=1000 wrk -t2 -c64 -d"${load_seconds}s" -s bench/ingest.lua "$url" >"$work/load.txt" &
    load=$!
    ;;
  batch)
    units=$BATCH_SIZE
    # The bench creates its jobs, warms up for 5 s, then posts for load_seconds.
    $BENCH batch "$url" 1000 "$load_seconds" "$BATCH_SIZE" >"$work/load.txt" &
    load=$!
    until curl -fs "$url/metrics" | awk '$1 == "hpc_ingest_samples_accepted_total" && $2 > 0 {found = 1} END {exit !found}'; do sleep 0.5; done
    sleep 10  # past the bench's warm-up
    ;;
  *) echo "usage: $0 single|batch" >&2; exit 2 ;;
esac
pids+=("$load")
sleep 4
dotnet-trace collect -p "$svc" --duration "00:00:00:$SECONDS_TRACED" -o "$work/trace.nettrace" \
  --providers "Microsoft-Windows-DotNETRuntime:0x1:5,System.Runtime:0:1:EventCounterIntervalSec=1,Microsoft.AspNetCore.Hosting:0:1:EventCounterIntervalSec=1" \
  >/dev/null
wait "$load" || true
grep RESULT "$work/load.txt" || cat "$work/load.txt"
[ -n "${KEEP_TRACE:-}" ] && cp "$work/trace.nettrace" "$KEEP_TRACE"
dotnet bench/Allocations/bin/Release/net10.0/HpcJobs.Bench.Allocations.dll "$work/trace.nettrace" "$units" "$TYPES" "$FRAMES"
