# shellcheck shell=bash
# Sourced by the benchmarks: the CPU time the hypervisor gave to other guests (steal, in /proc/stat)
# as a share of this machine's, between two readings of `cpu_ticks`. On a shared host the figures
# move with it (docs/benchmarks.md, "PostgreSQL batch, the afternoon of 2026-12-02").
cpu_ticks() { head -1 /proc/stat | awk '{ print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $9 }'; }
steal_pct() { # "total steal" before, "total steal" after -> percent of the machine
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[1] - x[1]; printf "%.1f", (d > 0 ? (y[2] - x[2]) * 100 / d : 0) }'
}
