#!/bin/bash
# Slurm Epilog (slurm.conf: Epilog=/etc/slurm/hpc-jobs/epilog.sh): tells the HPC job service that
# a job ended, with its exit code and signal. See README.md next to this file.
#
# A failing Epilog drains the node, so this script exits 0 whatever happens. Problems go to
# syslog (tag hpc-jobs), undelivered events to the spool. When the service does not know the
# job (its prolog event was lost), the epilog sends the job-started event it can rebuild from
# its own environment, then job-finished again. HPC_JOBS_REPORT asks for the efficiency report.
# shellcheck source-path=SCRIPTDIR
set -u
trap 'exit 0' EXIT
# Slurm runs epilogs without a search path.
PATH="${PATH:+$PATH:}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
HPC_HOOK=epilog
hpc_here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
# shellcheck source=hpc-jobs-common.sh
if ! source "$hpc_here/hpc-jobs-common.sh"; then
    logger -t hpc-jobs -p daemon.warning -- "epilog job ${SLURM_JOB_ID:-?}: $hpc_here/hpc-jobs-common.sh missing" 2>/dev/null
    exit 0
fi
trap hpc_on_exit EXIT

# Slurm's own marker for an out-of-memory batch script: the job's wait status is SIG_OOM (253),
# which sacct shows as ExitCode 0:125 with State OUT_OF_MEMORY.
HPC_SIG_OOM_STATUS=253

# Sets HPC_EVENT to the job-finished body, ended at $1. No hook's environment carries Slurm's state word
# (CANCELLED, TIMEOUT, ...), so raw_state is sent only where the exit status encodes it (OOM);
# otherwise the service derives the state from exit_code and signal.
hpc_finished_body() {
    local status=${SLURM_JOB_EXIT_CODE:-} exit_code='' signal=''
    if [[ ${SLURM_JOB_EXIT_CODE2:-} =~ ^([0-9]+):([0-9]+)$ ]]; then
        exit_code=${BASH_REMATCH[1]}
        signal=${BASH_REMATCH[2]}
    elif [[ $status =~ ^[0-9]+$ ]]; then
        if (((status & 0x7f) == 0)); then
            exit_code=$(((status >> 8) & 0xff))
            signal=0
        else
            exit_code=0
            signal=$((status & 0x7f))
        fi
    fi
    hpc_field_string job_id "$SLURM_JOB_ID"
    hpc_field_string timestamp "$1"
    hpc_field_int exit_code "$exit_code"
    hpc_field_int signal "$signal"
    if [[ $status == "$HPC_SIG_OOM_STATUS" ]]; then
        hpc_field_string raw_state OUT_OF_MEMORY
    fi
    hpc_field_int restart_count "$(hpc_restart_count)"
    hpc_body
}

# The job's output file, when Slurm's pattern can be resolved here (%j, %u, %N, %n, %%); patterns
# that need what a node hook is not told (%A, %a, %x, ...) give nothing.
hpc_job_output_file() {
    local path=${SLURM_JOB_STDOUT:-}
    [[ -n $path && $path != /dev/* ]] || return 1
    path=${path//%%/$'\x01'}
    path=${path//%j/$SLURM_JOB_ID}
    path=${path//%u/${SLURM_JOB_USER:-}}
    path=${path//%N/${SLURMD_NODENAME:-}}
    path=${path//%n/0}
    [[ $path != *%* ]] || return 1
    path=${path//$'\x01'/%}
    [[ $path == /* ]] || path="${SLURM_JOB_WORK_DIR:-/nonexistent}/$path"
    [[ -f $path ]] || return 1
    printf '%s' "$path"
}

# Appends stdin to file $1 with the job owner's identity, so root never writes where the user
# points it (a symlink swapped in cannot make root overwrite anything).
hpc_append_as_owner() {
    local file=$1
    if ((EUID != 0)); then
        cat >>"$file"
    elif [[ ${SLURM_JOB_UID:-} =~ ^[0-9]+$ && ${SLURM_JOB_GID:-} =~ ^[0-9]+$ ]] && command -v setpriv >/dev/null; then
        # shellcheck disable=SC2016 # $1 is the inner shell's argument
        setpriv --reuid="$SLURM_JOB_UID" --regid="$SLURM_JOB_GID" --clear-groups -- \
            /bin/bash -c 'cat >>"$1"' hpc-jobs-report "$file"
    else
        return 1
    fi
}

# HPC_JOBS_REPORT=1 (or stdout): print the report on stdout; =job-output: append it to the job's
# output file. A missing report (404: not built yet, or unknown job) stays silent.
hpc_report() {
    local mode=${HPC_JOBS_REPORT:-0} out status text target
    case $mode in
        1 | stdout | job-output) ;;
        *) return 0 ;;
    esac
    local args=(--silent --max-time 2 --connect-timeout 1 --header 'Accept: text/plain'
        --write-out '\n%{http_code}' "$HPC_URL/v1/jobs/$SLURM_JOB_ID/report")
    if [[ -n $HPC_TOKEN ]]; then
        local escaped=${HPC_TOKEN//\\/\\\\}
        escaped=${escaped//\"/\\\"}
        out=$(curl --config <(printf 'header = "Authorization: Bearer %s"\n' "$escaped") "${args[@]}" 2>/dev/null) || true
    else
        out=$(curl "${args[@]}" 2>/dev/null) || true
    fi
    status=${out##*$'\n'}
    text=${out%$'\n'*}
    [[ $out == *$'\n'* ]] || text=''
    case $status in
        200) ;;
        404) return 0 ;;
        *)
            hpc_fail "report not fetched (${status:-no answer})"
            return 0
            ;;
    esac
    if [[ $mode == job-output ]]; then
        if target=$(hpc_job_output_file); then
            printf '\n%s\n' "$text" | hpc_append_as_owner "$target" 2>/dev/null ||
                hpc_fail "report not written to $target"
        fi
    else
        printf '%s\n' "$text"
    fi
}

hpc_epilog() {
    hpc_begin || return 0
    local finished ended_at
    ended_at=$(hpc_timestamp)
    hpc_finished_body "$ended_at"
    finished=$HPC_EVENT
    hpc_deliver finished "$finished"
    if [[ $HPC_STATUS == 404 ]]; then
        # The service never heard of the job: its prolog event was lost. Rebuild it, then retry.
        hpc_started_body "$ended_at"
        hpc_deliver started "$HPC_EVENT"
        if [[ $HPC_STATUS == 2?? ]]; then
            hpc_deliver finished "$finished"
        elif ((hpc_spool_blocked)); then
            hpc_spool finished "$finished"
        else
            hpc_fail "job unknown to the service and job-started refused ($HPC_STATUS)"
        fi
        [[ $HPC_STATUS == 404 ]] && hpc_fail "job-finished still 404 after job-started"
    fi
    if [[ $HPC_STATUS == 2?? ]]; then
        hpc_report
    fi
}

hpc_epilog
exit 0
