# shellcheck shell=bash
# Sourced by the benchmarks: CPU accounting from /proc, in clock ticks (getconf CLK_TCK).
#   proc_cpu PID        a process's own CPU ticks and those of its children it has reaped
#   pg_cpu              the PostgreSQL in $pgdata: the postmaster (with its exited backends) and its live children
#   cpu_ticks           the machine's "total steal idle" ticks, all cores together
#   steal_pct A B       the CPU time the hypervisor gave to other guests (steal) between two cpu_ticks
#                       readings, in % of the machine; on a shared host the figures move with it
#                       (docs/benchmarks.md, "PostgreSQL batch, the afternoon of 2026-12-02")
proc_cpu() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}
pg_cpu() {
  local pm total=0 child
  pm=$(head -1 "$pgdata/postmaster.pid")
  total=$(proc_cpu "$pm")
  for child in $(ps -o pid= --ppid "$pm"); do
    total=$((total + $(proc_cpu "$child" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
cpu_ticks() { head -1 /proc/stat | awk '{ print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9, $5 }'; }
steal_pct() {
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[1] - x[1]; printf "%.1f", (d > 0 ? (y[2] - x[2]) * 100 / d : 0) }'
}
