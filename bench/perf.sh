#!/usr/bin/env bash
# Whole-machine CPU profile (Linux perf, with .NET JIT symbols) while the service takes a load:
# which threads and processes (service, writer, GC, JIT, wrk, PostgreSQL) the two cores go to, then
# the top symbols. Needs perf (Debian package linux-perf) and wrk; run as root or with
# kernel.perf_event_paranoid <= 1.
#
#   bench/perf.sh single            # single-sample ingest (wrk, 64 connections, 1,000 jobs)
#   bench/perf.sh batch             # POST /v1/metrics, 5,000 samples per request, 8 concurrent
#   DATABASE_TYPE=postgres DATABASE_URL=postgres://... bench/perf.sh batch
#   PERF_DATA=/tmp/batch.data bench/perf.sh batch   # keep the recording (and the JIT map in /tmp) for perf report
set -euo pipefail
cd "$(dirname "$0")/.."
LOAD=${1:-single}
PORT=${PORT:-18990}
SECONDS_TRACED=${SECONDS_TRACED:-10}
work=$(mktemp -d /tmp/hpc-perf.XXXXXX)
dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"

# Perf maps name the JIT-compiled methods; without W^X the code is not double-mapped, so perf can resolve it.
env PORT=$PORT HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
  DATABASE_TYPE=${DATABASE_TYPE:-sqlite} DATABASE_URL=${DATABASE_URL:-$work/p.db} Logging__LogLevel__Default=Warning \
  DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 \
  dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
pid=$!
load_pid=
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  rm -rf "$work"
  [ -n "${PERF_DATA:-}" ] || rm -f "/tmp/perf-$pid.map" # perf report needs it to name the JIT-compiled frames
}
trap cleanup EXIT
until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do sleep 0.1; done

warm=15
case $LOAD in
  single)
    $BENCH create "http://127.0.0.1:$PORT" 1000 bench- >/dev/null
    JOBS=1000 wrk -t2 -c64 -d$((warm + SECONDS_TRACED + 2))s --latency -s bench/ingest.lua "http://127.0.0.1:$PORT" >"$work/load.txt" &
    ;;
  batch)
    warm=20
    $BENCH batch "http://127.0.0.1:$PORT" 1000 $((SECONDS_TRACED + 2)) 5000 "$warm" >"$work/load.txt" &
    warm=$((warm + 3)) # the batch command creates its jobs, then warms up itself
    ;;
  *) echo "unknown load $LOAD (single or batch)" >&2; exit 2 ;;
esac
load_pid=$!
sleep "$warm"
perf record -F 999 -g -a -o "$work/perf.data" -- sleep "$SECONDS_TRACED" >/dev/null 2>&1
wait "$load_pid" || true
load_pid=
[ -n "${PERF_DATA:-}" ] && cp "$work/perf.data" "$PERF_DATA"
grep RESULT "$work/load.txt" || true
echo "--- CPU by thread name (whole machine; .NET threads of the service and of the load generator share names) ---"
perf report -i "$work/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
echo "--- the service: by thread and library ---"
perf report -i "$work/perf.data" --no-children --pid "$pid" --sort comm,dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -15
echo "--- the service: top symbols ---"
perf report -i "$work/perf.data" --no-children --pid "$pid" --sort sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-160 | head -"${TOP:-30}"
