#!/usr/bin/env bash
# The memory step of bench/run.sh (resident memory per active job, 100,000 active jobs, SQLite), and
# where it goes: with GCDUMP=1 a heap dump of the silo after the load, summarised per job and type.
#
#   bench/memory.sh                              # the step alone
#   GCDUMP=1 bench/memory.sh                     # + live heap per job by type (needs dotnet-gcdump)
#   GCDUMP=1 GCDUMP_OUT=heap.txt bench/memory.sh # + keep the whole report
#   COUNTERS=1 bench/memory.sh                   # + the GC's view after the load: heap, fragmentation, committed (dotnet-counters)
#   bench/memory.sh DOTNET_gcServer=0            # extra environment for the service (GC experiments)
#
# Builds Release; loopback only; starts and stops its processes by PID. ≈ 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/hpc-memory.XXXXXX)
svc_pid=
cleanup() {
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

dotnet build -c Release src/Silo >/dev/null
dotnet build -c Release bench/Bench >/dev/null

env PORT=18760 HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=18761 GATEWAY_PORT=18762 \
  DATABASE_TYPE=sqlite DATABASE_URL="$work/memory.db" Logging__LogLevel__Default=Warning SQLITE_SYNCHRONOUS=normal "$@" \
  dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/service.log" 2>&1 &
svc_pid=$!
until curl -fs http://127.0.0.1:18760/v1/health >/dev/null; do
  kill -0 "$svc_pid" 2>/dev/null || { cat "$work/service.log"; exit 1; }
  sleep 0.1
done

dotnet bench/Bench/bin/Release/net10.0/HpcJobs.Bench.dll memory http://127.0.0.1:18760 "$svc_pid" 100000 | grep RESULT

if [ -n "${COUNTERS:-}" ]; then
  counters=${DOTNET_COUNTERS:-$HOME/.dotnet/tools/dotnet-counters}
  "$counters" collect -p "$svc_pid" --counters System.Runtime --format csv -o "$work/counters.csv" --duration 00:00:00:04 >/dev/null
  # The last value of each series, per job over the 102,000 jobs (2,000 warm-up jobs and 100,000 measured).
  python3 - "$work/counters.csv" <<'PY'
import csv, sys
last = {}
for row in csv.DictReader(open(sys.argv[1])):
    last[(row["Counter Name"], row.get("Tags", ""))] = float(row["Mean/Increment"])
for (name, tags), value in sorted(last.items()):
    if any(k in name for k in ("heap.size", "fragmentation", "committed", "working_set", "gc.heap.total")):
        print(f"{value / 102000:10.0f} B/job  {value / 1048576:9.1f} MiB  {name} {tags}")
PY
fi

if [ -n "${GCDUMP:-}" ]; then
  gcdump=${DOTNET_GCDUMP:-$HOME/.dotnet/tools/dotnet-gcdump}
  "$gcdump" collect -p "$svc_pid" -o "$work/heap.gcdump" >/dev/null
  "$gcdump" report "$work/heap.gcdump" >"$work/heap.txt"
  if [ -n "${GCDUMP_OUT:-}" ]; then cp "$work/heap.txt" "$GCDUMP_OUT"; fi
  # The report gives a type's object size and count, or its total for arrays over a size; per job
  # is the total over the 102,000 jobs (2,000 warm-up jobs and 100,000 measured).
  python3 - "$work/heap.txt" <<'PY'
import re, sys
totals = {}
for line in open(sys.argv[1]).readlines()[4:]:
    m = re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.*)$", line)
    if not m:
        continue
    size, count, name = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), m.group(3).strip()
    total = size if "Bytes >" in name else size * count
    name = re.sub(r"\s*\(Bytes > [^)]*\)", "", name)
    totals[name] = totals.get(name, 0) + total
jobs = 102000
print(f"live heap per job: {sum(totals.values()) / jobs:.0f} B")
for name, total in sorted(totals.items(), key=lambda t: -t[1])[:40]:
    print(f"{total / jobs:8.0f} B  {name[:140]}")
PY
fi
