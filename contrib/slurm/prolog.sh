#!/bin/bash
# Slurm Prolog (slurm.conf: Prolog=/etc/slurm/hpc-jobs/prolog.sh, PrologFlags=Alloc): tells the
# HPC job service that a job started. See README.md next to this file.
#
# A failing Prolog drains the node and requeues the job, so this script exits 0 whatever
# happens: service down, bad settings, or a bug here. Problems go to syslog (tag hpc-jobs),
# undelivered events to the spool, which the next run (or the node agent) sends first.
# shellcheck source-path=SCRIPTDIR
set -u
trap 'exit 0' EXIT
# Slurm runs prologs without a search path.
PATH="${PATH:+$PATH:}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
HPC_HOOK=prolog
hpc_here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
# shellcheck source=hpc-jobs-common.sh
if ! source "$hpc_here/hpc-jobs-common.sh"; then
    logger -t hpc-jobs -p daemon.warning -- "prolog job ${SLURM_JOB_ID:-?}: $hpc_here/hpc-jobs-common.sh missing" 2>/dev/null
    exit 0
fi
trap hpc_on_exit EXIT

hpc_prolog() {
    hpc_begin || return 0
    hpc_started_body ""
    hpc_deliver started "$HPC_EVENT"
}

hpc_prolog
exit 0
