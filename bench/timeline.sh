#!/usr/bin/env bash
# One PostgreSQL batch run, second by second (docs/benchmarks.md, "PostgreSQL batch, the afternoon
# of 2026-12-02"): a private PostgreSQL (bench/private-postgres.sh), the service (Release build),
# `bench/Bench batch` (1,000 jobs, 5,000-sample batches, 8 connections) for SECONDS_PER_RUN after
# WARM_UP seconds, and once a second: samples accepted and group commits (from /metrics), the mean
# commit time, the CPU of the silo and of every PostgreSQL process (from /proc), and the machine's
# idle and steal time (from /proc/stat), all per wall second and in % of one core.
#
#   bench/timeline.sh                          # 60 s from the first request (the JIT's ramp included)
#   SECONDS_PER_RUN=30 WARM_UP=20 bench/timeline.sh
#   SERVICE_ENV="DOTNET_TC_CallCountingDelayMs=0" bench/timeline.sh
#
# Holds /tmp/hpc-bench.lock while it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-60}
WARM_UP=${WARM_UP:-0}
PORT=${PORT:-18960}
pgport=${PGPORT:-18959}
work=$(mktemp -d /tmp/hpc-timeline.XXXXXX)
# shellcheck source=bench/private-postgres.sh
source bench/private-postgres.sh
# shellcheck source=bench/cpu.sh
source bench/cpu.sh
# shellcheck source=bench/service.sh
source bench/service.sh

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
exec 9>/tmp/hpc-bench.lock
flock 9
start_private_postgres hpc
start_service silo "$PORT" postgres "postgres://postgres:x@127.0.0.1:$pgport/hpc?sslmode=disable" INGEST_MAX_SAMPLES_IN_FLIGHT=1000000
svc=$svc_pid

metrics() { # -> "accepted commits commit-seconds"
  curl -fs "http://127.0.0.1:$PORT/metrics" | awk '
    $1 == "hpc_ingest_samples_accepted_total" { a = $2 }
    $1 == "hpc_storage_commit_duration_seconds_count" { c += $2 }
    $1 == "hpc_storage_commit_duration_seconds_sum" { s += $2 }
    END { printf "%d %d %.6f\n", a, c, s }'
}
reading() { echo "$(date +%s.%N) $(metrics) $(cpu_ticks) $(proc_cpu "$svc") $(pg_cpu)"; }

dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll batch "http://127.0.0.1:$PORT" 1000 "$SECONDS_PER_RUN" 5000 "$WARM_UP" >"$work/bench.out" &
bench=$!
pids+=("$bench")
tck=$(getconf CLK_TCK)
cores=$(nproc)
last=$(reading)
second=0
while kill -0 "$bench" 2>/dev/null; do
  sleep 1
  now=$(reading)
  second=$((second + 1))
  awk -v t="$second" -v tck="$tck" -v cores="$cores" -v a="$last" -v b="$now" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    wall = y[1] - x[1]; commits = y[3] - x[3]; ticks = y[5] - x[5]
    if (wall <= 0 || ticks <= 0) exit
    core = ticks / cores / wall  # ticks of one core per wall second (/proc/stat counts all cores together)
    printf "t=%3d samples/s=%7d commits/s=%5.1f commit_ms=%6.1f silo=%3.0f%% postgres=%3.0f%% idle=%3.0f%% steal=%3.0f%%\n",
      t, (y[2] - x[2]) / wall, commits / wall, (commits > 0 ? (y[4] - x[4]) / commits * 1000 : 0),
      (y[8] - x[8]) * 100 / tck / wall, (y[9] - x[9]) * 100 / tck / wall,
      (y[7] - x[7]) * 100 / core / wall, (y[6] - x[6]) * 100 / core / wall }'
  last=$now
done
wait "$bench"
grep -E "WINDOW|RESULT" "$work/bench.out"
