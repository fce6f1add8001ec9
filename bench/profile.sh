#!/usr/bin/env bash
# CPU profile of the service under the single-sample ingest load (wrk, 64 connections, 1,000 jobs):
# dotnet-trace's sampling profiler for DURATION, then the top methods by exclusive and inclusive time.
# Needs: dotnet tool install -g dotnet-trace; wrk.
#
#   bench/profile.sh            # SQLite;  DATABASE_TYPE=postgres DATABASE_URL=... for PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
PORT=${PORT:-18980}
SECONDS_TRACED=${SECONDS_TRACED:-10}
work=$(mktemp -d /tmp/hpc-profile.XXXXXX)
dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
env PORT=$PORT HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
  DATABASE_TYPE=${DATABASE_TYPE:-sqlite} DATABASE_URL=${DATABASE_URL:-$work/p.db} Logging__LogLevel__Default=Warning \
  dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do sleep 0.1; done
dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll create "http://127.0.0.1:$PORT" 1000 bench- >/dev/null
JOBS=1000 wrk -t2 -c64 -d$((SECONDS_TRACED + 10))s -s bench/ingest.lua "http://127.0.0.1:$PORT" > "$work/wrk.txt" &
wrk_pid=$!
sleep 4
dotnet-trace collect -p $pid --profile dotnet-sampled-thread-time --duration 00:00:00:$SECONDS_TRACED -o "$work/trace.nettrace" >/dev/null
wait $wrk_pid || true
grep RESULT "$work/wrk.txt"
echo "--- top methods, exclusive ---"
dotnet-trace report "$work/trace.nettrace" topN -n 25 2>/dev/null || true
echo "--- top methods, inclusive ---"
dotnet-trace report "$work/trace.nettrace" topN -n 40 --inclusive 2>/dev/null || true
