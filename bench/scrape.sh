#!/usr/bin/env bash
# Scrape cost: time and size of GET /metrics with RUNNING running jobs among STORED stored jobs.
# Builds Release, starts the service on a fresh database (ended jobs leave /metrics at once:
# METRICS_ENDED_JOB_GRACE_SECONDS=0), seeds it through the API, scrapes 20 times, stops it by PID.
#
#   STORED=100000 RUNNING=10000 bench/scrape.sh
set -euo pipefail
cd "$(dirname "$0")/.."

STORED=${STORED:-100000}
RUNNING=${RUNNING:-10000}
PORT=${PORT:-18580}
work=$(mktemp -d /tmp/hpc-scrape.XXXXXX)

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
export PORT HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=18581 GATEWAY_PORT=18582
export DATABASE_TYPE=${DATABASE_TYPE:-sqlite} DATABASE_URL=${DATABASE_URL:-$work/scrape.db}
export METRICS_ENDED_JOB_GRACE_SECONDS=0 SQLITE_SYNCHRONOUS=${SQLITE_SYNCHRONOUS:-normal}
export Logging__LogLevel__Default=Warning

dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
  kill -0 $pid 2>/dev/null || { cat "$work/service.log"; exit 1; }
  sleep 0.1
done

dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll scrape "http://127.0.0.1:$PORT" "$STORED" "$RUNNING" 20
echo "rss_kb=$(ps -o rss= -p $pid) database=$DATABASE_TYPE cores=$(nproc)"
