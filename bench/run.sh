#!/usr/bin/env bash
# The benchmark table of docs/benchmarks.md, in one command:
#
#   bench/run.sh                 # SQLite, then PostgreSQL when initdb/pg_ctl exist
#   BACKENDS=sqlite bench/run.sh
#   RUNS=3 bench/run.sh          # repeat each measurement (report medians)
#   STEPS="batch memory" bench/run.sh   # only some of: single batch scrape list memory events
#   PG_OPTIONS="-c synchronous_commit=off" SERVICE_ENV="DATABASE_POOL_SIZE=64" bench/run.sh   # tuning experiments
#   PG_LIST_FILLFACTOR=100 STEPS=list BACKENDS=postgres bench/run.sh   # the list step with the seeded jobs pages at another fillfactor
#
# Builds Release; runs everything on loopback; starts and stops every process by PID.
# Needs wrk. Takes ~10 minutes per backend and run.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-1}
DURATION=${DURATION:-15s}
BACKENDS=${BACKENDS:-"sqlite postgres"}
STEPS=${STEPS:-"single batch scrape list memory events"}
step() { [[ " $STEPS " == *" $1 "* ]]; }
work=$(mktemp -d /tmp/hpc-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "${pgdata:-}" ]; then runuser -u postgres -- pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || pg_ctl -D "$pgdata" -m fast stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
dotnet build -c Release bench/Baseline >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
results="$work/results.txt"
: > "$results"

record() { echo "$1 $2" | tee -a "$results"; }

# shellcheck source=bench/cpu.sh
source bench/cpu.sh
# shellcheck source=bench/service.sh
source bench/service.sh

wrk_ingest() { # url -> "req_per_s p50 p99"
  JOBS=1000 wrk -t2 -c64 -d10s -s bench/ingest.lua "$1" >/dev/null  # warm-up: activations, tiered JIT
  JOBS=1000 wrk -t2 -c64 -d"$DURATION" --latency -s bench/ingest.lua "$1" | grep RESULT
}

wait_activation() { # port timeout-s -> "jobs seconds" of the start-up re-activation of active jobs, once it has finished
  local deadline=$((SECONDS + $2)) text
  until text=$(curl -fs "http://127.0.0.1:$1/metrics") && [ "$(awk '$1 == "hpc_silo_job_activation_completed_total" {print $2}' <<<"$text")" -ge 1 ] 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "activation not finished after $2 s" >&2; echo "unfinished"; return; }
    sleep 2
  done
  awk '$1 == "hpc_silo_job_activation_last_jobs" {j = $2} $1 == "hpc_silo_job_activation_last_duration_seconds" {s = $2} END {printf "jobs=%d seconds=%.1f\n", j, s}' <<<"$text"
}

# Orleans warnings and errors in a service log (long turns, slow calls, stalls, ...). Orleans 10.4's
# watchdog logs one "Participant check thread has not completed for <host uptime>" at start-up (its
# timestamp starts at zero), so the first such line of each log is not counted; a later one is a stall.
orleans_warnings() {
  awk '/^(warn|fail): Orleans/ { getline msg; if (msg ~ /Participant check thread has not completed for/ && !seen++) next; n++ } END { print n + 0 }' "$1"
}

stop_service() { # label
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true
  record "$1" "orleans_warnings=$(orleans_warnings "$work/$2.log")"
  grep -A1 -E '^(warn|fail): Orleans' "$work/$2.log" | grep -v -- '^--$' | sed "s/^/  [$1] /" >>"$work/warnings.txt" || true
}

database_url() { # backend name -> url (fresh database)
  if [ "$1" = sqlite ]; then echo "$work/$2.db"; return; fi
  psql -h 127.0.0.1 -p "$pgport" -U postgres -qc "CREATE DATABASE $2" >/dev/null
  echo "postgres://postgres:x@127.0.0.1:$pgport/$2?sslmode=disable"
}

if [[ " $BACKENDS " == *" postgres "* ]]; then
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    pgport=18799
    pgdata="$work/pg/data"
    mkdir -p "$work/pg"
    as_pg=()
    if [ "$(id -u)" = 0 ]; then chown -R postgres "$work"; as_pg=(runuser -u postgres --); fi
    "${as_pg[@]}" initdb -D "$pgdata" -U postgres --auth=trust >/dev/null
    "${as_pg[@]}" pg_ctl -D "$pgdata" -l "$work/pg/log" -w \
      -o "-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB ${PG_OPTIONS:-}" start >/dev/null
  else
    echo "PostgreSQL binaries not found: PostgreSQL skipped"
    BACKENDS=sqlite
  fi
fi

# Baseline: bare Kestrel, same JSON parser, no storage.
for run in $(seq "$RUNS"); do
  step single || break
  PORT=18680 dotnet bench/Baseline/bin/Release/net10.0/HpcJobs.Bench.Baseline.dll >/dev/null 2>&1 &
  base_pid=$!; pids+=("$base_pid")
  until curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"cpu_usage":1,"memory_usage_mb":1}' http://127.0.0.1:18680/v1/jobs/x/metrics; do sleep 0.1; done
  record baseline "$(wrk_ingest http://127.0.0.1:18680)"
  kill "$base_pid"; wait "$base_pid" 2>/dev/null || true
done

for backend in $BACKENDS; do
  for run in $(seq "$RUNS"); do
    tag="${backend}_${run}"
    sync_env=()
    [ "$backend" = sqlite ] && sync_env=(SQLITE_SYNCHRONOUS="${SQLITE_SYNCHRONOUS:-full}")

    # 1. single-sample ingest over 1,000 active jobs at 64 connections
    if step single; then
      start_service ingest 18700 "$backend" "$(database_url "$backend" "ingest_$tag")" "${sync_env[@]}"
      $BENCH create http://127.0.0.1:18700 1000 bench- >/dev/null
      record "$backend single" "$(wrk_ingest http://127.0.0.1:18700)"
      stop_service "$backend single-log" ingest
    fi

    # 2. batch ingest
    if step batch; then
      # 8 connections x 5,000 samples are offered at once: admit them all (the overload step measures the limit).
      start_service batch 18710 "$backend" "$(database_url "$backend" "batch_$tag")" "${sync_env[@]}" INGEST_MAX_SAMPLES_IN_FLIGHT=1000000
      ticks0=$(cpu_ticks)
      result=$($BENCH batch http://127.0.0.1:18710 1000 15 5000 | grep RESULT)
      record "$backend batch" "$result steal_pct=$(steal_pct "$ticks0" "$(cpu_ticks)")"
      stop_service "$backend batch-log" batch
    fi

    # 3. scrape at 10,000 running with 100,000 stored
    if step scrape; then
      start_service scrape 18720 "$backend" "$(database_url "$backend" "scrape_$tag")" METRICS_ENDED_JOB_GRACE_SECONDS=0 SQLITE_SYNCHRONOUS=normal
      record "$backend scrape" "$($BENCH scrape http://127.0.0.1:18720 100000 10000 20 | grep RESULT)"
      stop_service "$backend scrape-log" scrape
    fi

    # 4. GET /v1/jobs with 1,000,000 jobs stored
    if step list; then
      # (seeded once per backend; the runs only read it)
      if [ "$run" = 1 ]; then
        list_url=$(database_url "$backend" "list_$backend")
        if [ "$backend" = sqlite ]; then $BENCH seed-sqlite "$list_url" 1000000; else $BENCH seed-postgres "Host=127.0.0.1;Port=$pgport;Username=postgres;Database=list_$backend" 1000000; fi
        if [ "$backend" = postgres ] && [ -n "${PG_LIST_FILLFACTOR:-}" ]; then
          # An A/B of the jobs table's fillfactor (sql/postgres/060): the seeded pages rewritten at another one.
          psql -h 127.0.0.1 -p "$pgport" -U postgres -d "list_$backend" -q -c "ALTER TABLE jobs SET (fillfactor = $PG_LIST_FILLFACTOR)" -c "VACUUM FULL jobs"
        fi
      fi
      url=$list_url
      # The seed's active jobs started up to 60 days ago without samples: stale by default, and the
      # step measures a pass over all 250,000 of them.
      start_service list 18730 "$backend" "$url" STALE_JOB_HOURS=8760
      record "$backend activation" "$(wait_activation 18730 900)"
      record "$backend list" "$($BENCH list http://127.0.0.1:18730 500 | grep RESULT)"
      stop_service "$backend list-log" list
    fi

    # 5. resident memory per active job with 100,000 active jobs
    if step memory; then
      start_service memory 18740 "$backend" "$(database_url "$backend" "memory_$tag")" SQLITE_SYNCHRONOUS=normal
      record "$backend memory" "$($BENCH memory http://127.0.0.1:18740 "$svc_pid" 100000 | grep RESULT)"
      stop_service "$backend memory-log" memory
    fi

    # 6. a 10,000-task job array starting at once: job-started from 64 connections, then job-finished
    if step events; then
      start_service events 18750 "$backend" "$(database_url "$backend" "events_$tag")" "${sync_env[@]}"
      while read -r line; do record "$backend events" "$line"; done < <($BENCH events http://127.0.0.1:18750 10000 64 | grep RESULT | grep -v warm-up)
      stop_service "$backend events-log" events
    fi
  done
done

if [ "$RUNS" -gt 1 ]; then
  echo
  echo "medians of $RUNS runs:"
  python3 - "$results" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    words = line.split()
    label = " ".join(w for w in words if "=" not in w and w != "RESULT")
    for key, value in re.findall(r"(\w+)=([-0-9.]+)", line):
        runs.setdefault((label, key), []).append(float(value))
for (label, key), values in runs.items():
    print(f"{label} {key}={statistics.median(values):g} (runs: {', '.join(f'{v:g}' for v in values)})")
PY
fi

if [ -s "$work/warnings.txt" ]; then
  echo
  echo "Orleans warnings in the service logs (the start-up watchdog line is not counted above):"
  cat "$work/warnings.txt"
fi

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); load generator on the same machine"
cat "$results"
