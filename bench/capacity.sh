#!/usr/bin/env bash
# The per-unit costs behind docs/capacity.md, measured on one silo and a private PostgreSQL:
#   - per job (one job-started + one job-finished, a 10,000-task array): WAL bytes, table bytes,
#     CPU of the silo and of PostgreSQL;
#   - per sample (batch ingest, 5,000-sample batches of 5,000 jobs — one sample per job per batch, as
#     agents send them — so each sample also costs its job row's latest-usage update): WAL bytes, bytes on disk
#     (table and indexes), CPU of the silo and of PostgreSQL;
#   - per exported job at scrape time: exposition bytes and scrape milliseconds (RUNNING running jobs,
#     plus the ended jobs of the steps before, still within their grace);
#   - Orleans membership: rows written and statements per second for one idle silo.
# Prints one "UNIT name value" line per figure.
#
#   bench/capacity.sh                     # ≈ 4 minutes
#   BATCH_SECONDS=60 bench/capacity.sh
#
# Builds Release; loopback only; starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
BATCH_SECONDS=${BATCH_SECONDS:-20}
RUNNING=${RUNNING:-10000}
work=$(mktemp -d /tmp/hpc-capacity.XXXXXX)
# shellcheck source=bench/private-postgres.sh
source bench/private-postgres.sh

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
pgport=18879
port=18880
start_private_postgres capacity
postmaster=$(head -n 1 "$pgdata/postmaster.pid")
sql() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d capacity -XAtqc "$1"; }

# shellcheck disable=SC2086 # SERVICE_ENV is a list of VAR=value words
env PORT=$port HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((port + 1)) GATEWAY_PORT=$((port + 2)) CLUSTER_ID=capacity \
  DATABASE_TYPE=postgres DATABASE_URL="postgres://postgres:x@127.0.0.1:$pgport/capacity?sslmode=disable" \
  Logging__LogLevel__Default=Warning INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 ${SERVICE_ENV:-} \
  dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/silo.log" 2>&1 &
silo=$!
pids+=("$silo")
until curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null; do
  kill -0 "$silo" 2>/dev/null || { cat "$work/silo.log"; exit 1; }
  sleep 0.1
done
silo_started=$SECONDS

ticks=$(getconf CLK_TCK)
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }              # utime + stime of one process, in ticks
pg_cpu() {                                                          # the postmaster and every backend, in ticks
  local total=0 pid
  for pid in $postmaster $(pgrep -P "$postmaster"); do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(cpu_of "$pid")))
  done
  echo "$total"
}
wal() { sql "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn"; }
snapshot() { s_wal=$(wal); s_silo=$(cpu_of "$silo"); s_pg=$(pg_cpu); }
per() { # label units  -> UNIT lines for WAL bytes and CPU ms per unit since the snapshot
  local units=$2
  echo "UNIT $1_wal_bytes $(( ($(wal) - s_wal) / units ))"
  awk -v s="$(( $(cpu_of "$silo") - s_silo ))" -v p="$(( $(pg_cpu) - s_pg ))" -v t="$ticks" -v u="$units" -v n="$1" \
    'BEGIN { printf "UNIT %s_silo_cpu_ms %.3f\nUNIT %s_postgres_cpu_ms %.3f\n", n, s * 1000 / t / u, n, p * 1000 / t / u }'
}
size_of() { # total bytes of a table (partitions included) and its indexes
  sql "SELECT coalesce(sum(pg_total_relation_size(c)), 0) FROM (SELECT '$1'::regclass AS c UNION ALL SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '$1'::regclass) t"
}

# Jobs: a 10,000-task array started and finished (plus the bench's own warm-up arrays).
snapshot
$BENCH events "http://127.0.0.1:$port" 10000 64 | sed 's/^/  /'
jobs=$(sql "SELECT count(*) FROM jobs")
per job "$jobs"
echo "UNIT job_table_bytes $(( ($(size_of jobs) + $(size_of job_nodes) + $(size_of job_audit)) / jobs ))"

# Samples: batch ingest.
before=$(sql "SELECT count(*) FROM samples")
snapshot
$BENCH batch "http://127.0.0.1:$port" 5000 "$BATCH_SECONDS" 5000 | sed 's/^/  /'
sql "CHECKPOINT" >/dev/null
samples=$(( $(sql "SELECT count(*) FROM samples") - before ))
per sample "$samples"
sql "VACUUM ANALYZE samples" >/dev/null
echo "UNIT sample_disk_bytes $(( $(size_of samples) / $(sql "SELECT count(*) FROM samples") ))"

# Scrape: RUNNING running jobs exported by this silo.
scrape=$($BENCH scrape "http://127.0.0.1:$port" "$RUNNING" "$RUNNING" 20 | grep RESULT)
echo "  $scrape"
bytes=$(sed -E 's/.* bytes=([0-9]+).*/\1/' <<<"$scrape")
exported=$(sed -E 's/.* exported_jobs=([0-9]+).*/\1/' <<<"$scrape")   # running, plus ended jobs within their grace
echo "UNIT scrape_bytes_per_exported_job $(( bytes / exported ))"
echo "UNIT scrape_p50_ms_per_1000_exported_jobs $(awk -v l="$scrape" -v a="$exported" 'BEGIN { match(l, /p50_ms=[0-9.]+/); printf "%.2f", substr(l, RSTART + 7, RLENGTH - 7) * 1000 / a }')"

# Membership: what one silo writes and reads in Orleans' tables, over its life so far.
sleep 30
uptime_s=$((SECONDS - silo_started))
sql "SELECT 'UNIT membership_rows_written_per_s ' || round((sum(n_tup_ins + n_tup_upd + n_tup_del))::numeric / $uptime_s, 3)
     FROM pg_stat_user_tables WHERE relname IN ('orleansmembershiptable', 'orleansmembershipversiontable')"
sql "SELECT 'UNIT membership_reads_per_s ' || round((sum(seq_scan + coalesce(idx_scan, 0)))::numeric / $uptime_s, 3)
     FROM pg_stat_user_tables WHERE relname IN ('orleansmembershiptable', 'orleansmembershipversiontable')"
echo "UNIT silo_rss_kb $(awk '/VmRSS/ {print $2}' "/proc/$silo/status")"
