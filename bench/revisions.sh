# Sourced by the A/B scripts (bench/pg-ab.sh, bench/single-ab.sh). build_revisions builds each revision of $REVS
# Release in a temporary git worktree under $1 ("." is the working tree, built in place) and fills
# the associative array dll (revision -> HpcJobs.Silo.dll); alternate_revisions runs them in turn,
# print_medians sums up; remove_revisions removes the worktrees.
# shellcheck shell=bash
# shellcheck disable=SC2034 # used by the scripts that source this one
declare -A dll
revision_trees=()

build_revisions() { # worktree-parent
  local rev tree
  for rev in $REVS; do
    if [ "$rev" = . ]; then
      dotnet build -c Release src/Silo >/dev/null
      dll[$rev]=src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll
    else
      tree="$1/rev-$(git rev-parse --short "$rev")"
      git worktree add --detach "$tree" "$rev" >/dev/null 2>&1
      revision_trees+=("$tree")
      dotnet build -c Release "$tree/src/Silo" >/dev/null
      dll[$rev]="$tree/src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll"
    fi
  done
}

remove_revisions() {
  local tree
  for tree in "${revision_trees[@]}"; do git worktree remove --force "$tree" >/dev/null 2>&1 || true; done
}

alternate_revisions() { # calls the sourcing script's `run <rev> <round>` RUNS times over REVS, alternated
  local round rev
  for round in $(seq "$RUNS"); do
    for rev in $REVS; do run "$rev" "$round"; done
  done
}

print_medians() { # results-file key-regex: the median of each key=value per revision (the first word of a line)
  python3 - "$1" "$2" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    rev = line.split()[0]
    for key, value in re.findall(r"(" + sys.argv[2] + r")=([0-9.]+)", line):
        runs.setdefault(rev, {}).setdefault(key, []).append(float(value))
print("medians:")
for rev, keys in runs.items():
    print(rev, " ".join(f"{k}={statistics.median(v):g}" for k, v in keys.items()))
PY
}
