#!/usr/bin/env bash
# The write path's physical limits on this machine, to put bench/run.sh's figures against
# (docs/benchmarks.md "Goals missed, and what bounds them"):
#
#   bench/limits.sh                  # everything (~8 minutes)
#   STEPS="sqlite commit" bench/limits.sh   # only some of: sqlite extra commit hop service postgres pghop
#   SECONDS_PER_RUN=30 bench/limits.sh      # longer SQLite runs (default 15, after a 5 s warm-up)
#
#   sqlite  SQLite's own insert rate for the batch benchmark's rows (5,000 samples of 1,000 jobs per
#           transaction, the service's pragmas and 64-row statements, a fresh file each run), for
#           the current and the keyed samples table, without and with the per-job UPDATE jobs
#   extra   the keyed table with the jobs update, departing from the service's writer: one row per
#           INSERT (no statement journal), temp_store = MEMORY (statement journal in memory), and
#           synchronous = NORMAL (no fsync per commit); both tables with the jobs update at 20,000
#           samples (four requests) a transaction
#   commit  one 1-row transaction's commit (WAL write + fsync), median of 1,000; a bare 4 KiB fsync
#   hop     bench/Baseline as bench/run.sh measures it (wrk, 64 connections, bench/ingest.lua, 10 s
#           warm-up then DURATION), then with one no-op grain call per request (HOP=grain), then
#           with the grain awaiting a group commit of the keyed table (HOP=grain-sqlite)
#   service the service's own single and batch steps on SQLite, as bench/run.sh runs them, right
#           after, for the ratios to the limits above on the same machine state; with the writer's
#           mean writes per commit and commit time over the measured window (from /metrics)
#   postgres PostgreSQL's own insert rate for the same rows into the service's schema (a private
#           PostgreSQL as bench/run.sh starts it, a fresh database per run with sql/postgres 010 onwards),
#           one connection, 5,000 rows a durable transaction: binary COPY into the partitioned table,
#           into the day's partition, and INSERT ... SELECT FROM unnest ON CONFLICT DO NOTHING, each
#           with the jobs rows' latest-usage UPDATE; COPY also without it and with synchronous_commit
#           = off. CPU microseconds per row of the backend, the whole server and the client. Each run
#           holds /tmp/hpc-bench.lock. bench/pg-ab.sh measures the service against it.
#   pghop   bench/Baseline with HOP=grain-postgres (the grain awaiting a durable group commit of its
#           sample into the service's schema on the private PostgreSQL: binary COPY and the jobs
#           update, one writer), then the service's single step on PostgreSQL, same load as hop;
#           with "hop" in STEPS too, the ratios to the bare baseline
#
# Builds Release; runs everything on loopback (ports 18880-18898); starts and stops every process
# by PID. Needs wrk for the hop and service steps.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-15}
STEPS=${STEPS:-"sqlite extra commit hop service postgres pghop"}
PORT=18880
step() { [[ " $STEPS " == *" $1 "* ]]; }
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/hpc-limits.XXXXXX)
pgport=18898
# pids, cleanup (every PID, the private PostgreSQL if started, the work directory) and start_private_postgres
# shellcheck source=bench/private-postgres.sh
source bench/private-postgres.sh
# shellcheck source=bench/service.sh
source bench/service.sh

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
  # no fsync in the commit (WAL still synced at checkpoints): the bound of a commit that does not
  # wait for the disk, as a pipelined group commit's writer does
  insert sqlite_insert_keyed_jobs_update_sync_normal keyed --jobs-update --synchronous normal
  # four requests a transaction, as the service's group commit may hold (4,096 writes of 5 samples)
  insert sqlite_insert_current_jobs_update_20k_tx current --jobs-update --transaction-samples 20000
  insert sqlite_insert_keyed_jobs_update_20k_tx keyed --jobs-update --transaction-samples 20000
fi

if step commit; then
  while read -r line; do
    case "$line" in
      *"RESULT commit"*) record sqlite_commit_1row "$line"; figure sqlite_commit_1row_p50_ms "$(field p50_ms "$line")" ;;
      *"RESULT fsync"*) record fsync_4k "$line"; figure fsync_4k_p50_ms "$(field p50_ms "$line")" ;;
    esac
  done < <($LIMITS commit "$work/commit.db" current --commits 1000)
fi

pg_insert() { # name load [options...]
  local name=$1 load=$2 line; shift 2
  psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtqc "CREATE DATABASE $name"
  line=$(flock /tmp/hpc-bench.lock $LIMITS pg "Host=127.0.0.1;Port=$pgport;Username=postgres;Database=$name" "$load" \
    --warmup 5 --seconds "$SECONDS_PER_RUN" "$@" | grep RESULT)
  psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtqc "DROP DATABASE $name"
  record "$name" "$line"
  figure "$name" "$(field rows_per_s "$line")"
  figure "${name}_server_cpu_us_per_row" "$(field server_cpu_us_per_row "$line")"
  figure "${name}_client_cpu_us_per_row" "$(field client_cpu_us_per_row "$line")"
}

pg_started=""
if step postgres; then
  start_private_postgres limits
  pg_started=yes
  pg_insert pg_copy_jobs_update copy --jobs-update
  pg_insert pg_copy_partition_jobs_update copy-partition --jobs-update
  pg_insert pg_unnest_jobs_update unnest --jobs-update
  pg_insert pg_copy copy
  pg_insert pg_copy_jobs_update_async copy --jobs-update --synchronous normal
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

# The service as bench/run.sh starts it (bench/service.sh; same environment and load, SQLite,
# synchronous=full), with its writer's commit metrics scraped every 2 s, so that the group commit's
# real transaction size over the measured window is known.
stop_service() {
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true
}

poll_writer() { # port file: "time writes commits commit_seconds" every 2 s until TERM
  local sleeper=
  trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; exit 0' TERM
  while true; do
    curl -fs "http://127.0.0.1:$1/metrics" | awk -v t="$(date +%s.%N)" '
      $1 == "hpc_storage_commit_batch_size_sum" {w = $2} $1 == "hpc_storage_commit_batch_size_count" {c = $2}
      $1 == "hpc_storage_commit_duration_seconds_sum" {s = $2} END {print t, w + 0, c + 0, s + 0}' >>"$2" || true
    sleep 2 & sleeper=$!
    wait "$sleeper" || true
  done
}

start_poll() { # port file
  poll_writer "$1" "$2" &
  poll_pid=$!
  pids+=("$poll_pid")
}

writer_window() { # file seconds -> the writer's commits over the last <seconds> scraped
  kill "$poll_pid"; wait "$poll_pid" 2>/dev/null || true
  awk -v span="$2" '{t[NR] = $1; w[NR] = $2; c[NR] = $3; s[NR] = $4}
    END {
      last = NR; first = last
      while (first > 1 && t[last] - t[first] < span) first--
      commits = c[last] - c[first]
      if (commits > 0) printf "writes_per_commit=%.1f commit_ms=%.2f commits_per_s=%.0f window_s=%.0f\n",
        (w[last] - w[first]) / commits, 1000 * (s[last] - s[first]) / commits, commits / (t[last] - t[first]), t[last] - t[first]
    }' "$1"
}

if step service; then
  dotnet build -c Release src/Silo >/dev/null
  dotnet build -c Release bench/Bench >/dev/null
  BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"

  # single: 1,000 running jobs, then wrk as above; the last 14 s are inside wrk's measured 15 s
  start_service service_single 18890 sqlite "$work/service_single.db" SQLITE_SYNCHRONOUS=full
  $BENCH create http://127.0.0.1:18890 1000 bench- >/dev/null
  start_poll 18890 "$work/single.writer"
  line=$(wrk_ingest http://127.0.0.1:18890)
  record service_sqlite_single "$line $(writer_window "$work/single.writer" 14)"
  figure service_sqlite_single_req_per_s "$(field req_per_s "$line")"
  figure service_sqlite_single_p99_ms "$(field p99_ms "$line")"
  stop_service

  # batch: 8 connections x 5,000 samples of 1,000 jobs; every one admitted, as in bench/run.sh.
  # A write is one job's slice of a request (5 samples), so samples per commit = 5 x writes per commit.
  start_service service_batch 18895 sqlite "$work/service_batch.db" SQLITE_SYNCHRONOUS=full INGEST_MAX_SAMPLES_IN_FLIGHT=1000000
  start_poll 18895 "$work/batch.writer"
  line=$($BENCH batch http://127.0.0.1:18895 1000 "$SECONDS_PER_RUN" 5000 | grep RESULT)
  record service_sqlite_batch "$line $(writer_window "$work/batch.writer" 14)"
  figure service_sqlite_batch_samples_per_s "$(field samples_per_s "$line")"
  stop_service
fi

# The same hop on PostgreSQL: the grain awaiting a durable group commit (binary COPY + the jobs
# update) into the service's schema, then the service's single step on PostgreSQL as bench/run.sh
# runs it, on the same private server.
if step pghop; then
  [ -n "$pg_started" ] || start_private_postgres limits
  psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtqc "CREATE DATABASE hop_pg"
  PG_CONNECTION="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=hop_pg" baseline baseline_grain_postgres grain-postgres
  dotnet build -c Release src/Silo >/dev/null
  dotnet build -c Release bench/Bench >/dev/null
  psql -h 127.0.0.1 -p "$pgport" -U postgres -XAtqc "CREATE DATABASE service_pg"
  start_service service_pg_single 18890 postgres "postgres://postgres:x@127.0.0.1:$pgport/service_pg?sslmode=disable"
  dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll create http://127.0.0.1:18890 1000 bench- >/dev/null
  line=$(wrk_ingest http://127.0.0.1:18890)
  record service_postgres_single "$line"
  figure service_postgres_single_req_per_s "$(field req_per_s "$line")"
  figure service_postgres_single_p99_ms "$(field p99_ms "$line")"
  stop_service
fi

# The ratios between the figures above (only those whose figures were measured in this run).
awk 'BEGIN {v["goal"] = 200000} {v[$2] = $3}
  function ratio(name, a, b) { if (v[a] > 0 && v[b] > 0) printf "RESULT %s %.2f\n", name, v[a] / v[b] }
  END {
    ratio("baseline_grain_over_baseline", "baseline_grain_req_per_s", "baseline_req_per_s")
    ratio("baseline_grain_sqlite_over_baseline", "baseline_grain_sqlite_req_per_s", "baseline_req_per_s")
    ratio("service_single_over_baseline", "service_sqlite_single_req_per_s", "baseline_req_per_s")
    ratio("service_single_over_baseline_grain", "service_sqlite_single_req_per_s", "baseline_grain_req_per_s")
    ratio("service_single_over_baseline_grain_sqlite", "service_sqlite_single_req_per_s", "baseline_grain_sqlite_req_per_s")
    ratio("baseline_grain_postgres_over_baseline", "baseline_grain_postgres_req_per_s", "baseline_req_per_s")
    ratio("service_postgres_single_over_baseline", "service_postgres_single_req_per_s", "baseline_req_per_s")
    ratio("service_postgres_single_over_baseline_grain_postgres", "service_postgres_single_req_per_s", "baseline_grain_postgres_req_per_s")
    ratio("service_batch_over_sqlite_insert_current_jobs_update", "service_sqlite_batch_samples_per_s", "sqlite_insert_current_jobs_update")
    ratio("service_batch_over_sqlite_insert_current_jobs_update_20k_tx", "service_sqlite_batch_samples_per_s", "sqlite_insert_current_jobs_update_20k_tx")
    ratio("sqlite_insert_current_jobs_update_over_goal_200000", "sqlite_insert_current_jobs_update", "goal")
    ratio("sqlite_insert_keyed_jobs_update_over_goal_200000", "sqlite_insert_keyed_jobs_update", "goal")
  }' "$summary" > "$work/ratios.txt"

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; load generator on the same machine"
cat "$results"
echo
cat "$summary" "$work/ratios.txt"
