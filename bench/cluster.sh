#!/usr/bin/env bash
# Single-sample ingest on PostgreSQL: one silo, then two silos side by side on the same database
# (each silo loaded by its own wrk, 32 connections each, the same 64 in total), and the time for
# the survivor to serve every job after `kill -9` of the other. Starts a private PostgreSQL;
# stops everything it starts by PID.
#
#   bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15s}
work=$(mktemp -d /tmp/hpc-cluster.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  [ -n "$(ls "$work/pg/data/postmaster.pid" 2>/dev/null)" ] && kill "$(head -n 1 "$work/pg/data/postmaster.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
pgport=18899
mkdir -p "$work/pg" && chown -R postgres "$work"
runuser -u postgres -- initdb -D "$work/pg/data" -U postgres --auth=trust >/dev/null
runuser -u postgres -- pg_ctl -D "$work/pg/data" -l "$work/pg/log" -w \
  -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB" start >/dev/null

silo() { # name http-port db
  env PORT="$2" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$(($2 + 1)) GATEWAY_PORT=$(($2 + 2)) CLUSTER_ID=bench \
    DATABASE_TYPE=postgres DATABASE_URL="postgres://postgres:x@127.0.0.1:$pgport/$3?sslmode=disable" Logging__LogLevel__Default=Warning \
    dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/$1.log" 2>&1 &
  pids+=($!)
  eval "$1_pid=$!"
  until curl -fs "http://127.0.0.1:$2/v1/health" >/dev/null; do sleep 0.1; done
}

run_wrk() { JOBS=1000 wrk -t1 -c"$2" -d"$DURATION" --latency -s bench/ingest.lua "$1" | grep RESULT; }

psql -h 127.0.0.1 -p $pgport -U postgres -qc "CREATE DATABASE one" >/dev/null
silo one 18900 one
$BENCH create http://127.0.0.1:18900 1000 bench- >/dev/null
JOBS=1000 wrk -t2 -c64 -d5s -s bench/ingest.lua http://127.0.0.1:18900 >/dev/null
echo "one silo, 64 connections: $(JOBS=1000 wrk -t2 -c64 -d"$DURATION" --latency -s bench/ingest.lua http://127.0.0.1:18900 | grep RESULT)"
kill "$one_pid"; wait "$one_pid" 2>/dev/null || true

psql -h 127.0.0.1 -p $pgport -U postgres -qc "CREATE DATABASE two" >/dev/null
silo a 18910 two
silo b 18920 two
$BENCH create http://127.0.0.1:18910 1000 bench- >/dev/null
JOBS=1000 wrk -t1 -c32 -d5s -s bench/ingest.lua http://127.0.0.1:18910 >/dev/null &
JOBS=1000 wrk -t1 -c32 -d5s -s bench/ingest.lua http://127.0.0.1:18920 >/dev/null
wait $!
run_wrk http://127.0.0.1:18910 32 > "$work/a.txt" &
wrk_a=$!
run_wrk http://127.0.0.1:18920 32 > "$work/b.txt"
wait $wrk_a
echo "two silos, silo A (32 connections): $(cat "$work/a.txt")"
echo "two silos, silo B (32 connections): $(cat "$work/b.txt")"
awk '{for (i = 1; i <= NF; i++) if ($i ~ /^req_per_s=/) { split($i, kv, "="); sum += kv[2] }} END { printf "two silos, total: req_per_s=%.0f\n", sum }' "$work/a.txt" "$work/b.txt"

# Failover: kill -9 silo A, then time until B serves all 1,000 jobs.
kill -9 "$a_pid"
start=$(date +%s%N)
for ((i = 0; i < 1000; i++)); do
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:18920/v1/jobs/bench-$i")" = 200 ]; do sleep 0.05; done
done
echo "failover: all 1000 jobs served by silo B $(( ($(date +%s%N) - start) / 1000000 )) ms after kill -9 of silo A"
echo "machine: $(nproc) cores; wrk and both silos and PostgreSQL on the same machine"
