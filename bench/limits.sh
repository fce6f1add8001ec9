#!/usr/bin/env bash
# The write path's physical limits on this machine, to put bench/run.sh's figures against
# (docs/benchmarks.md "Goals missed, and what bounds them"):
#
#   bench/limits.sh                  # everything (~9 minutes)
#   STEPS="sqlite commit" bench/limits.sh   # only some of: sqlite extra commit hop service
#   SECONDS_PER_RUN=30 bench/limits.sh      # longer SQLite runs (default 15, after a 5 s warm-up)
#
#   sqlite  SQLite's own insert rate for the batch benchmark's rows (5,000 samples of 1,000 jobs per
#           transaction, the service's pragmas and 64-row statements, a fresh file each run), for
#           the current and the keyed samples table, without and with the per-job UPDATE jobs
#   extra   the keyed table with the jobs update, departing from the service's writer: one row per
#           INSERT (no statement journal), and temp_store = MEMORY (statement journal in memory)
#   commit  one 1-row transaction's commit (WAL write + fsync), median of 1,000; a bare 4 KiB fsync
#   hop     bench/Baseline as bench/run.sh measures it (wrk, 64 connections, bench/ingest.lua, 10 s
#           warm-up then DURATION), then with one no-op grain call per request (HOP=grain), then
#           with the grain awaiting a group commit of the keyed table (HOP=grain-sqlite)
#   service the service's own single and batch steps on SQLite (BACKENDS=sqlite STEPS="single batch"
#           bench/run.sh, which measures its own baseline too), right after, for the ratios to the
#           limits above on the same machine state
#
# Builds Release; runs everything on loopback (ports 18880-18882); starts and stops every process
# by PID. Needs wrk for the hop step.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
STEPS=${STEPS:-"sqlite extra commit hop service"}
PORT=18880
step() { [[ " $STEPS " == *" $1 "* ]]; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/hpc-limits.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release bench/Limits >/dev/null
dotnet build -c Release bench/Baseline >/dev/null
LIMITS="dotnet bench/Limits/bin/Release/net10.0/HpcJobs.Bench.Limits.dll"
results="$work/results.txt"
summary="$work/summary.txt"
: > "$results"
: > "$summary"

record() { echo "$1 $2" | tee -a "$results"; }
figure() { echo "RESULT $1 $2" >> "$summary"; }  # name value: the one-line-per-figure summary
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"; }

insert() { # name schema [options...]
  local name=$1 schema=$2 line; shift 2
  line=$($LIMITS insert "$work/$name.db" "$schema" --warmup 5 --seconds "$SECONDS_PER_RUN" "$@" | grep RESULT)
  record "$name" "$line"
  figure "$name" "$(field samples_per_s "$line")"
  figure "${name}_per_cpu_s" "$(field samples_per_cpu_s "$line")"
  rm -f "$work/$name.db" "$work/$name.db-wal" "$work/$name.db-shm"
}

if step sqlite; then
  for schema in current keyed; do
    insert "sqlite_insert_$schema" "$schema"
    insert "sqlite_insert_${schema}_jobs_update" "$schema" --jobs-update
  done
fi

if step extra; then
  insert sqlite_insert_keyed_jobs_update_1row keyed --jobs-update --rows-per-statement 1
  insert sqlite_insert_keyed_jobs_update_temp_memory keyed --jobs-update --temp-store memory
fi

if step commit; then
  while read -r line; do
    case "$line" in
      *"RESULT commit"*) record sqlite_commit_1row "$line"; figure sqlite_commit_1row_p50_ms "$(field p50_ms "$line")" ;;
      *"RESULT fsync"*) record fsync_4k "$line"; figure fsync_4k_p50_ms "$(field p50_ms "$line")" ;;
    esac
  done < <($LIMITS commit "$work/commit.db" current --commits 1000)
fi

wrk_ingest() { # url -> "req_per_s p50 p99", exactly as bench/run.sh measures the single step
  JOBS=1000 wrk -t2 -c64 -d10s -s bench/ingest.lua "$1" >/dev/null  # warm-up: activations, tiered JIT
  JOBS=1000 wrk -t2 -c64 -d"$DURATION" --latency -s bench/ingest.lua "$1" | grep RESULT
}

baseline() { # name hop
  local name=$1 line
  HOP=$2 PORT=$PORT SQLITE_PATH="$work/$name.db" JOBS=1000 \
    dotnet bench/Baseline/bin/Release/net10.0/HpcJobs.Bench.Baseline.dll >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  until curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"cpu_usage":1,"memory_usage_mb":1}' "http://127.0.0.1:$PORT/v1/jobs/bench-0/metrics"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log"; exit 1; }
    sleep 0.1
  done
  line=$(wrk_ingest "http://127.0.0.1:$PORT")
  record "$name" "$line"
  figure "${name}_req_per_s" "$(field req_per_s "$line")"
  figure "${name}_p99_ms" "$(field p99_ms "$line")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

if step hop; then
  baseline baseline none
  baseline baseline_grain grain
  baseline baseline_grain_sqlite grain-sqlite
fi

if step service; then
  DURATION=$DURATION BACKENDS=sqlite STEPS="single batch" bench/run.sh >"$work/run.txt" 2>&1 || { cat "$work/run.txt"; exit 1; }
  # run.sh repeats its results at the end: the last of each is taken.
  for label in "baseline" "sqlite single" "sqlite batch"; do
    line=$(grep "^$label RESULT" "$work/run.txt" | tail -1)
    name="service_${label// /_}"
    [ "$label" = baseline ] && name=service_run_baseline
    record "$name" "$line"
    case "$label" in
      "sqlite batch") figure "${name}_samples_per_s" "$(field samples_per_s "$line")" ;;
      *) figure "${name}_req_per_s" "$(field req_per_s "$line")"; figure "${name}_p99_ms" "$(field p99_ms "$line")" ;;
    esac
  done
fi

# The ratios between the figures above (only those whose figures were measured in this run).
awk 'BEGIN {v["goal"] = 200000} {v[$2] = $3}
  function ratio(name, a, b) { if (v[a] > 0 && v[b] > 0) printf "RESULT %s %.2f\n", name, v[a] / v[b] }
  END {
    ratio("baseline_grain_over_baseline", "baseline_grain_req_per_s", "baseline_req_per_s")
    ratio("baseline_grain_sqlite_over_baseline", "baseline_grain_sqlite_req_per_s", "baseline_req_per_s")
    ratio("service_single_over_run_baseline", "service_sqlite_single_req_per_s", "service_run_baseline_req_per_s")
    ratio("service_single_over_baseline_grain", "service_sqlite_single_req_per_s", "baseline_grain_req_per_s")
    ratio("service_single_over_baseline_grain_sqlite", "service_sqlite_single_req_per_s", "baseline_grain_sqlite_req_per_s")
    ratio("service_batch_over_sqlite_insert_current_jobs_update", "service_sqlite_batch_samples_per_s", "sqlite_insert_current_jobs_update")
    ratio("service_batch_over_sqlite_insert_keyed_jobs_update", "service_sqlite_batch_samples_per_s", "sqlite_insert_keyed_jobs_update")
    ratio("sqlite_insert_current_jobs_update_over_goal_200000", "sqlite_insert_current_jobs_update", "goal")
    ratio("sqlite_insert_keyed_jobs_update_over_goal_200000", "sqlite_insert_keyed_jobs_update", "goal")
  }' "$summary" > "$work/ratios.txt"

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; load generator on the same machine"
cat "$results"
echo
cat "$summary" "$work/ratios.txt"
