# Sourced by the A/B scripts (bench/pg-ab.sh, bench/single-ab.sh): builds each revision of $REVS
# Release in a temporary git worktree under $1 ("." is the working tree, built in place) and fills
# the associative array dll (revision -> HpcJobs.Silo.dll). remove_revisions removes the worktrees.
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
