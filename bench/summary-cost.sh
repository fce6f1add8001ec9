#!/usr/bin/env bash
# What the efficiency summary costs batch ingest (docs/benchmarks.md, "Summary cost"):
#
#   bench/summary-cost.sh                # the working tree against HEAD with the summary switched off
#   RUNS=7 bench/summary-cost.sh
#   BEFORE=<rev> bench/summary-cost.sh   # the working tree against another commit, as built
#   OFF_PATCH=<file> bench/summary-cost.sh   # "before" is HEAD with another measurement patch
#   COUNTERS=1 bench/summary-cost.sh     # + each run's GC pause time, collections and allocated bytes (dotnet-counters)
#
# By default "before" is HEAD with bench/summary-off.patch applied: a measurement-only change that
# keeps no footprint, judges no verdict and writes no footprint with the jobs row, so the two
# builds differ by the summary alone (commit your work first: uncommitted changes are only in
# "after"). Builds both Release in a temporary git worktree, then alternates them on SQLite
# (SQLITE_SYNCHRONOUS=full) on loopback: each run a fresh database, 1,000 jobs, 5,000-sample
# batches from 8 connections for SECONDS_PER_RUN (default 20). Prints each run's samples/s and the
# silo's CPU-seconds per 100,000 samples (user + system, from /proc; steadier than the rate on a
# shared machine), the same for the SQLite writer thread alone (the thread that bounds batch ingest
# on SQLite), the writer's mean writes (one job's slice of a request) per commit, and the medians.
# Starts and stops every process by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=${BEFORE:-summary-off}
RUNS=${RUNS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-20}
PORT=${PORT:-18890}
work=$(mktemp -d /tmp/hpc-summary-cost.XXXXXX)
svc_pid=""
cleanup() {
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  git worktree remove --force "$work/before" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$BEFORE" = summary-off ]; then
  git worktree add --detach "$work/before" HEAD >/dev/null 2>&1
  patch=$(realpath "${OFF_PATCH:-bench/summary-off.patch}")
  git -C "$work/before" apply "$patch" || { echo "$patch no longer applies to HEAD: update it" >&2; exit 1; }
  git diff --quiet HEAD -- src || echo "warning: uncommitted changes in src are only in 'after'" >&2
else
  git worktree add --detach "$work/before" "$BEFORE" >/dev/null 2>&1
fi
dotnet build -c Release "$work/before/src/Silo" >/dev/null
dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null
BENCH="dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll"

run() { # label silo-dll run
  env PORT="$PORT" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((PORT + 1)) GATEWAY_PORT=$((PORT + 2)) \
    DATABASE_TYPE=sqlite DATABASE_URL="$work/$1-$3.db" SQLITE_SYNCHRONOUS=full INGEST_MAX_SAMPLES_IN_FLIGHT=1000000 Logging__LogLevel__Default=Warning \
    dotnet "$2" >"$work/$1-$3.log" 2>&1 &
  svc_pid=$!
  until curl -fs "http://127.0.0.1:$PORT/v1/health" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/$1-$3.log"; exit 1; }
    sleep 0.2
  done
  local result cpu_before cpu_after accepted counters_pid="" gc=""
  if [ -n "${COUNTERS:-}" ]; then
    "$COUNTERS_TOOL" collect -p "$svc_pid" --counters System.Runtime --format csv -o "$work/$1-$3.csv" >/dev/null 2>&1 &
    counters_pid=$!
    sleep 1
  fi
  cpu_before=$(cpu_ticks "$svc_pid")
  commits_before=$(commits "$PORT")
  result=$($BENCH batch "http://127.0.0.1:$PORT" 1000 "$SECONDS_PER_RUN" 5000 | grep RESULT)
  cpu_after=$(cpu_ticks "$svc_pid")
  writer=$(writer_ticks "$svc_pid")
  commits_after=$(commits "$PORT")
  if [ -n "$counters_pid" ]; then
    kill -TERM "$counters_pid"; wait "$counters_pid" 2>/dev/null || true # (a background job ignores SIGINT; it flushes each line)
    gc=" $(gc_figures "$work/$1-$3.csv")"
  fi
  kill "$svc_pid"; wait "$svc_pid" 2>/dev/null || true; svc_pid=""
  accepted=$(sed -E 's/.*accepted=([0-9]+).*/\1/' <<<"$result")
  echo "$1 $result cpu_s_per_100k=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$(getconf CLK_TCK)" -v n="$accepted" 'BEGIN { printf "%.3f", t / hz / n * 100000 }') writer_cpu_s_per_100k=$(awk -v t="$writer" -v hz="$(getconf CLK_TCK)" -v n="$accepted" 'BEGIN { printf "%.3f", t / hz / n * 100000 }')$(awk -v a="$commits_before" -v b="$commits_after" 'BEGIN { split(a, x); split(b, y); if (y[2] > x[2]) printf " writes_per_commit=%.0f commits=%d", (y[1] - x[1]) / (y[2] - x[2]), y[2] - x[2] }')$gc" \
    | tee -a "$work/results.txt"
}

COUNTERS_TOOL=${DOTNET_COUNTERS:-$HOME/.dotnet/tools/dotnet-counters}
gc_figures() { # counters csv -> the GC's pause seconds, collections per generation and bytes allocated over the run
  python3 - "$1" <<'PY'
import csv, sys
pause = alloc = 0.0
gens = {}
for row in csv.reader(open(sys.argv[1])):
    if len(row) < 5 or row[0] == "Timestamp":
        continue
    name, kind, value = row[2], row[3], float(row[4] or 0)
    if name.startswith("dotnet.gc.pause.time"):
        pause += value
    elif name.startswith("dotnet.gc.heap.total_allocated"):
        alloc += value
    elif name.startswith("dotnet.gc.collections"):
        gens[name] = gens.get(name, 0) + value
print(f"gc_pause_s={pause:.3f} gc_alloc_mb={alloc / 1e6:.0f} " + " ".join(f"{k.split('=')[-1].strip(']')}={v:.0f}" for k, v in sorted(gens.items())))
PY
}

commits() { # port -> "writes commits" of the sample writer so far (its /metrics)
  { curl -fs "http://127.0.0.1:$1/metrics" || true; } | awk '$1 == "hpc_storage_commit_batch_size_sum" {w = $2} $1 == "hpc_storage_commit_batch_size_count" {c = $2} END {print w + 0, c + 0}'
}

cpu_ticks() { # pid -> utime + stime in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

writer_ticks() { # pid -> utime + stime of its SQLite writer thread since it started (it writes only under the bench's load)
  local task
  for task in /proc/"$1"/task/*; do
    if [ "$(cat "$task/comm" 2>/dev/null)" = sqlite-writer ]; then
      sed 's/^.*) //' "$task/stat" | awk '{ print $12 + $13 }'
      return
    fi
  done
  echo 0
}

for i in $(seq "$RUNS"); do
  run before "$work/before/src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll" "$i"
  run after src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll "$i"
done

python3 - "$work/results.txt" <<'PY'
import re, statistics, sys
rates, cpu, writer = {}, {}, {}
for line in open(sys.argv[1]):
    label = line.split()[0]
    rates.setdefault(label, []).append(float(re.search(r"samples_per_s=([0-9.]+)", line).group(1)))
    cpu.setdefault(label, []).append(float(re.search(r" cpu_s_per_100k=([0-9.]+)", line).group(1)))
    writer.setdefault(label, []).append(float(re.search(r"writer_cpu_s_per_100k=([0-9.]+)", line).group(1)))
before, after = statistics.median(rates["before"]), statistics.median(rates["after"])
print(f"median samples/s: before {before:.0f}, after {after:.0f}, change {100 * (after - before) / before:+.1f} %")
before, after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
print(f"median silo CPU-s per 100,000 samples: before {before:.3f}, after {after:.3f}, change {100 * (after - before) / before:+.1f} %")
before, after = statistics.median(writer["before"]), statistics.median(writer["after"])
print(f"median writer-thread CPU-s per 100,000 samples: before {before:.3f}, after {after:.3f}, change {100 * (after - before) / before:+.1f} %")
PY
