#!/usr/bin/env bash
# Recovery of a three-silo cluster on PostgreSQL holding JOBS (default 30,000) active jobs:
#   1. kill -9 of the oldest silo (the one running the re-activation passes): seconds until the two
#      survivors export every active job exactly once again, and the re-activation calls spent;
#   2. a full restart (all three stopped, then started again): seconds from the first start until
#      every active job is exported exactly once.
# Prints RESULT lines (docs/capacity.md, docs/benchmarks.md).
#
#   bench/recovery.sh
#   JOBS=3000 bench/recovery.sh     # a quick look
#
# Builds Release; loopback only; starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-30000}
work=$(mktemp -d /tmp/hpc-recovery.XXXXXX)
# shellcheck source=bench/private-postgres.sh
source bench/private-postgres.sh

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"
pgport=18939
start_private_postgres recovery

declare -A silo_pid
start_silo() { # http-port
  env PORT="$1" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$(($1 + 1)) GATEWAY_PORT=$(($1 + 2)) CLUSTER_ID=recovery \
    DATABASE_TYPE=postgres DATABASE_URL="postgres://postgres:x@127.0.0.1:$pgport/recovery?sslmode=disable" \
    Logging__LogLevel__Default=Warning Logging__LogLevel__HpcJobs.Grains.ActiveJobActivator=Information \
    dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >>"$work/silo-$1.log" 2>&1 &
  silo_pid[$1]=$!
  pids+=("$!")
}
wait_ready() { # http-port
  until curl -fs "http://127.0.0.1:$1/v1/health/ready" >/dev/null; do
    kill -0 "${silo_pid[$1]}" 2>/dev/null || { cat "$work/silo-$1.log"; exit 1; }
    sleep 0.2
  done
}
exported() { # ports... -> "jobs-exported-once jobs-exported-more-than-once"
  local port
  for port in "$@"; do
    curl -fs --max-time 20 "http://127.0.0.1:$port/metrics" | grep '^hpc_job_runtime_seconds{' | sed -E 's/.*job_id="([^"]*)".*/\1/' || true
  done | sort | uniq -c | awk '$1 == 1 { once++ } $1 > 1 { more++ } END { print once + 0, more + 0 }'
}
counter() { # name ports... -> sum of that counter over the silos
  local name=$1 port total=0 value; shift
  for port in "$@"; do
    value=$(curl -fs --max-time 20 "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1 == n {print int($2)}')
    total=$((total + ${value:-0}))
  done
  echo "$total"
}
wait_exported() { # seconds-limit ports... -> seconds until JOBS exported exactly once
  local limit=$1 started=$SECONDS once more; shift
  while true; do
    read -r once more < <(exported "$@")
    [ "$once" -eq "$JOBS" ] && [ "$more" -eq 0 ] && { echo $((SECONDS - started)); return; }
    [ $((SECONDS - started)) -lt "$limit" ] || { echo "timeout: $once exported once, $more more than once" >&2; echo "-"; return; }
    sleep 1
  done
}

ports=(18940 18950 18960)
for port in "${ports[@]}"; do start_silo "$port"; wait_ready "$port"; done   # 18940 is the oldest
per=$((JOBS / 3))
creators=()
for i in 0 1 2; do $BENCH create "http://127.0.0.1:${ports[$i]}" "$per" "rec$i-" >/dev/null & creators+=("$!"); done
for pid in "${creators[@]}"; do wait "$pid"; done
JOBS=$((per * 3))
held=$(for port in "${ports[@]}"; do curl -fs "http://127.0.0.1:$port/metrics" | grep -c '^hpc_job_runtime_seconds{' || true; done | paste -sd/)
echo "RESULT setup jobs=$JOBS held=$held (oldest/second/third)"

calls_before=$(counter hpc_silo_job_reactivation_calls_total 18950 18960)
kill -9 "${silo_pid[18940]}"
seconds=$(wait_exported 180 18950 18960)
sleep 10   # let the pass finish its count
calls=$(( $(counter hpc_silo_job_reactivation_calls_total 18950 18960) - calls_before ))
echo "RESULT kill-oldest seconds_to_all_exported_once=$seconds reactivation_calls=$calls jobs=$JOBS"

for port in 18950 18960; do kill "${silo_pid[$port]}"; wait "${silo_pid[$port]}" 2>/dev/null || true; done
restart=$SECONDS
for port in "${ports[@]}"; do start_silo "$port"; done
for port in "${ports[@]}"; do wait_ready "$port"; done
ready=$((SECONDS - restart))
seconds=$(wait_exported 300 "${ports[@]}")
echo "RESULT full-restart seconds_to_ready=$ready seconds_to_all_exported_once=$([ "$seconds" = - ] && echo - || echo $((ready + seconds))) jobs=$JOBS"
grep -h "Re-activated" "$work"/silo-*.log | tail -n 3 || true
