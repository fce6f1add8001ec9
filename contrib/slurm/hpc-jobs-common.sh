# shellcheck shell=bash
# Shared by prolog.sh and epilog.sh (sourced, never run): configuration, JSON building, delivery
# with retries, and the spool. Everything here must leave the job alone: no function exits
# non-zero on purpose, and the callers' EXIT trap turns any slip into exit 0.
#
# Spool format (the node agent flushes the same directory with the same rules, keep it exact):
#   ${HPC_JOBS_SPOOL_DIR}/<epoch-nanoseconds>-<pid>.<started|finished>.json
#   content: the event's JSON body exactly as it would have been POSTed;
#   written to a dot-prefixed .tmp name in the same directory, then renamed.
#   Only names of exactly that form are events. Flush: oldest first (epoch, then pid, started
#   before finished); 2xx or a 4xx other than 429 deletes the file; 429, 5xx or no answer keeps
#   it and stops the flush. contrib/slurm/README.md has the rest.

HPC_DEFAULTS_KEYS=(HPC_JOBS_URL HPC_JOBS_TOKEN_FILE HPC_JOBS_SPOOL_DIR HPC_JOBS_SPOOL_MAX_FILES
    HPC_JOBS_REPORT HPC_JOBS_GPU_VENDOR HPC_JOBS_CGROUP_ROOT HPC_JOBS_DEV_DIR)

hpc_failures=()
hpc_spool_blocked=0
HPC_STATUS=000
HPC_EVENT=''
HPC_RUN_STARTED_US=0
# The hook running (prolog or epilog): set by the script that sources this file.
HPC_HOOK=${HPC_HOOK:-hook}

# Records a problem for the single syslog line written at exit.
hpc_fail() {
    hpc_failures+=("$*")
}

# The one syslog line per run (only when something went wrong), then exit 0 whatever happened.
hpc_on_exit() {
    local status=$?
    if ((status != 0)); then
        hpc_fail "internal error (status $status)"
    fi
    if ((${#hpc_failures[@]} > 0)); then
        local IFS=';'
        logger -t hpc-jobs -p daemon.warning -- \
            "${HPC_HOOK:-hook} job ${SLURM_JOB_ID:-?}: ${hpc_failures[*]}" >/dev/null 2>&1 || true
    fi
    exit 0
}

# Microseconds since the epoch, without a fork where bash can tell (bash 5); date otherwise.
hpc_now_us() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        local t=${EPOCHREALTIME/[^0-9]/}
        printf '%s' "$t"
    else
        local ns
        ns=$(date +%s%N)
        printf '%s' "${ns:0:${#ns}-3}"
    fi
}

# KEY=VALUE lines from the defaults file, for the known keys only; the environment wins. The
# file is parsed, not sourced: nothing in it is ever executed.
hpc_load_defaults() {
    local file=${HPC_JOBS_DEFAULTS:-/etc/default/hpc-jobs} line key value known
    [[ -r $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Z_][A-Z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        value=${value%"${value##*[![:space:]]}"}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        for known in "${HPC_DEFAULTS_KEYS[@]}"; do
            if [[ $key == "$known" && -z ${!key+set} ]]; then
                printf -v "$key" '%s' "$value"
            fi
        done
    done <"$file"
}

# Sets the run's settings; returns 1 when no service is configured (nothing to do).
hpc_configure() {
    hpc_load_defaults
    HPC_URL=${HPC_JOBS_URL:-}
    HPC_URL=${HPC_URL%/}
    HPC_SPOOL=${HPC_JOBS_SPOOL_DIR:-/var/spool/hpc-jobs}
    HPC_SPOOL_MAX=${HPC_JOBS_SPOOL_MAX_FILES:-10000}
    [[ $HPC_SPOOL_MAX =~ ^[0-9]+$ ]] || HPC_SPOOL_MAX=10000
    HPC_NODE=${SLURMD_NODENAME:-${HOSTNAME:-localhost}}
    HPC_CLUSTER=${SLURM_CLUSTER_NAME:-}
    HPC_TOKEN=
    if [[ -n ${HPC_JOBS_TOKEN_FILE:-} ]]; then
        if [[ -r $HPC_JOBS_TOKEN_FILE ]]; then
            IFS= read -r HPC_TOKEN <"$HPC_JOBS_TOKEN_FILE" || true
            HPC_TOKEN=${HPC_TOKEN%$'\r'}
        else
            hpc_fail "token file $HPC_JOBS_TOKEN_FILE unreadable"
        fi
    fi
    if [[ -z $HPC_URL ]]; then
        hpc_fail "HPC_JOBS_URL not set (${HPC_JOBS_DEFAULTS:-/etc/default/hpc-jobs})"
        return 1
    fi
    return 0
}

# A JSON string literal for $1: backslash, quote and every control character escaped.
hpc_json_string() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    s=${s//$'\b'/\\b}
    s=${s//$'\f'/\\f}
    if [[ $s == *[$'\x01'-$'\x1f'$'\x7f']* ]]; then
        local out='' c i code
        for ((i = 0; i < ${#s}; i++)); do
            c=${s:i:1}
            if [[ $c == [$'\x01'-$'\x1f'$'\x7f'] ]]; then
                printf -v code '\\u%04x' "'$c"
                out+=$code
            else
                out+=$c
            fi
        done
        s=$out
    fi
    printf '"%s"' "$s"
}

# The event being built: hpc_field_* append "key":value pairs, hpc_body closes the object.
hpc_fields=''

hpc_field_raw() {
    hpc_fields+="${hpc_fields:+,}\"$1\":$2"
}

# A string field; skipped when empty.
hpc_field_string() {
    [[ -n ${2:-} ]] || return 0
    hpc_field_raw "$1" "$(hpc_json_string "$2")"
}

# A whole-number field (leading zeros dropped); skipped unless $2 is one.
hpc_field_int() {
    [[ ${2:-} =~ ^[0-9]{1,18}$ ]] || return 0
    hpc_field_raw "$1" "$((10#$2))"
}

# A JSON array of strings from the comma-separated $2; skipped when empty.
hpc_field_string_list() {
    [[ -n ${2:-} ]] || return 0
    local item items='' list
    IFS=',' read -r -a list <<<"$2"
    for item in "${list[@]}"; do
        [[ -n $item ]] || continue
        items+="${items:+,}$(hpc_json_string "$item")"
    done
    [[ -n $items ]] && hpc_field_raw "$1" "[$items]"
    return 0
}

# Sets HPC_EVENT (read by prolog.sh and epilog.sh) to the object built so far; starts a new one.
# shellcheck disable=SC2034
hpc_body() {
    HPC_EVENT="{$hpc_fields}"
    hpc_fields=''
}

# RFC 3339 UTC for epoch seconds $1, or now.
hpc_timestamp() {
    if [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 > 0)); then
        date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ
    else
        date -u +%Y-%m-%dT%H:%M:%S.%6NZ
    fi
}

hpc_restart_count() {
    local count=${SLURM_JOB_RESTART_COUNT:-${SLURM_RESTART_COUNT:-0}}
    [[ $count =~ ^[0-9]+$ ]] || count=0
    printf '%s' "$count"
}

hpc_node_list() {
    printf '%s' "${SLURM_JOB_NODELIST:-${SLURM_NODELIST:-${SLURMD_NODENAME:-}}}"
}

# The first host a hostlist expression names: the first number of each bracket, as written
# (gpu[01-04,07],login1 -> gpu01; r[1-2]n[01-02] -> r1n01).
hpc_first_host() {
    local expr=$1 out='' c i in_bracket=0 taking=0
    for ((i = 0; i < ${#expr}; i++)); do
        c=${expr:i:1}
        if ((in_bracket)); then
            if [[ $c == ']' ]]; then
                in_bracket=0
            elif ((taking)) && [[ $c == [0-9] ]]; then
                out+=$c
            else
                taking=0
            fi
        elif [[ $c == '[' ]]; then
            in_bracket=1
            taking=1
        elif [[ $c == [,[:space:]] ]]; then
            [[ -n $out ]] && break
        else
            out+=$c
        fi
    done
    printf '%s' "$out"
}

# Only one node of a multi-node job reports (the first of its node list), so a job's events
# are not sent once per node with per-node details that would contradict each other.
hpc_is_reporting_node() {
    local list first
    list=$(hpc_node_list)
    [[ -n ${SLURMD_NODENAME:-} && -n $list ]] || return 0
    first=$(hpc_first_host "$list")
    [[ -z $first || $first == "$SLURMD_NODENAME" ]]
}

# Total CPUs from SLURM_JOB_CPUS_PER_NODE ("72(x2),36" -> 180).
hpc_total_cpus() {
    local spec=${SLURM_JOB_CPUS_PER_NODE:-} part total=0 parts
    [[ -n $spec ]] || return 0
    IFS=',' read -r -a parts <<<"$spec"
    for part in "${parts[@]}"; do
        if [[ $part =~ ^([0-9]+)\(x([0-9]+)\)$ ]]; then
            total=$((total + 10#${BASH_REMATCH[1]} * 10#${BASH_REMATCH[2]}))
        elif [[ $part =~ ^[0-9]+$ ]]; then
            total=$((total + 10#$part))
        else
            return 0
        fi
    done
    printf '%s' "$total"
}

# The job's cgroup (path relative to the cgroup root) and its memory limit in MiB, when the
# cgroup exists at this moment. Sets hpc_cgroup_path and hpc_cgroup_memory_mb.
hpc_probe_cgroup() {
    hpc_cgroup_path=''
    hpc_cgroup_memory_mb=''
    local root=${HPC_JOBS_CGROUP_ROOT:-/sys/fs/cgroup} id=${SLURM_JOB_ID:-} dir limit=''
    [[ -n $id ]] || return 0
    local candidates=("$root"/system.slice/*slurmstepd.scope/"job_$id" "$root"/*slurmstepd.scope/"job_$id"
        "$root"/memory/slurm*/"uid_${SLURM_JOB_UID:-}"/"job_$id")
    for dir in "${candidates[@]}"; do
        [[ -d $dir ]] || continue
        if [[ -r $dir/memory.max ]]; then
            IFS= read -r limit <"$dir/memory.max" || true
        elif [[ -r $dir/memory.limit_in_bytes ]]; then
            IFS= read -r limit <"$dir/memory.limit_in_bytes" || true
        fi
        hpc_cgroup_path=${dir#"$root"}
        hpc_cgroup_path=${hpc_cgroup_path#/memory}
        # "max" (v2) and the v1 "unlimited" value (about 2^63) mean no limit.
        if [[ $limit =~ ^[0-9]+$ ]] && ((${#limit} < 19)); then
            hpc_cgroup_memory_mb=$((limit / 1048576))
        fi
        return 0
    done
}

hpc_gpu_vendor() {
    if [[ -n ${HPC_JOBS_GPU_VENDOR:-} ]]; then
        printf '%s' "$HPC_JOBS_GPU_VENDOR"
        return 0
    fi
    local dev=${HPC_JOBS_DEV_DIR:-/dev} nvidia=0 amd=0
    [[ -e $dev/nvidiactl ]] && nvidia=1
    [[ -e $dev/kfd ]] && amd=1
    if ((nvidia && amd)); then
        printf 'mixed'
    elif ((nvidia)); then
        printf 'nvidia'
    elif ((amd)); then
        printf 'amd'
    fi
}

# Sets HPC_EVENT to the job-started body, from what this hook's environment says (the prolog,
# or an epilog reconstructing a lost prolog). $1: the start time to claim when Slurm gives none.
hpc_started_body() {
    local gpus=${SLURM_JOB_GPUS:-} gpu_count=0 nodes=${SLURM_JOB_NUM_NODES:-1} list
    if [[ -n $gpus ]]; then
        IFS=',' read -r -a list <<<"$gpus"
        gpu_count=${#list[@]}
    fi
    [[ $nodes =~ ^[0-9]+$ ]] && ((nodes > 0)) || nodes=1
    hpc_probe_cgroup
    hpc_field_string job_id "${SLURM_JOB_ID:-}"
    hpc_field_string user "${SLURM_JOB_USER:-}"
    hpc_field_string node_list "$(hpc_node_list)"
    if [[ ${SLURM_JOB_START_TIME:-} =~ ^[1-9][0-9]*$ ]]; then
        hpc_field_string timestamp "$(hpc_timestamp "$SLURM_JOB_START_TIME")"
    else
        hpc_field_string timestamp "${1:-$(hpc_timestamp)}"
    fi
    hpc_field_int cpu_allocation "$(hpc_total_cpus)"
    hpc_field_int memory_allocation_mb "$hpc_cgroup_memory_mb"
    # SLURM_JOB_GPUS lists this node's GPUs; the job's total assumes the same count per node.
    hpc_field_int gpu_allocation "$((gpu_count * nodes))"
    if ((gpu_count > 0)); then
        hpc_field_string gpu_vendor "$(hpc_gpu_vendor)"
        hpc_field_string_list gpu_devices "$gpus"
    fi
    hpc_field_string cgroup_path "$hpc_cgroup_path"
    hpc_field_string partition "${SLURM_JOB_PARTITION:-}"
    hpc_field_string account "${SLURM_JOB_ACCOUNT:-}"
    hpc_field_string qos "${SLURM_JOB_QOS:-}"
    hpc_field_string cluster "$HPC_CLUSTER"
    local start=${SLURM_JOB_START_TIME:-} end=${SLURM_JOB_END_TIME:-}
    # An unlimited job gets an end time a year ahead: that is no time limit.
    if [[ $start =~ ^[0-9]+$ && $end =~ ^[0-9]+$ ]] && ((end > start && end - start < 365 * 86400)); then
        hpc_field_int time_limit_minutes "$(((end - start) / 60))"
    fi
    hpc_field_int restart_count "$(hpc_restart_count)"
    hpc_body
}

# X-Correlation-Id for a body: <cluster>-<job id>-<restart count>.
hpc_correlation_for() {
    local body=$1 job='' cluster=${HPC_CLUSTER:-slurm} restart=0
    local string_re='"((\\.|[^"\\])*)"'
    [[ $body =~ \"job_id\":$string_re ]] && job=${BASH_REMATCH[1]}
    [[ $body =~ \"cluster\":$string_re ]] && cluster=${BASH_REMATCH[1]}
    [[ $body =~ \"restart_count\":([0-9]+) ]] && restart=${BASH_REMATCH[1]}
    local id="$cluster-$job-$restart"
    # Header values must be printable; an odd job id only loses its correlation id.
    [[ $id == *[![:print:]]* || ${#id} -gt 255 ]] && id=''
    printf '%s' "$id"
}

# One POST of body $3 to route $2 (event kind $1), at most $4 seconds. X-Source and X-Changed-By
# name the hook that sends, also for events it flushes from the spool. Sets HPC_STATUS to the
# HTTP status (000: no answer) and HPC_CURL_EXIT to curl's exit status.
hpc_post_once() {
    local route=$2 body=$3 max_time=${4:-2} correlation status
    correlation=$(hpc_correlation_for "$body")
    local args=(--silent --output /dev/null --write-out '%{http_code}'
        --max-time "$max_time" --connect-timeout 1 --request POST
        --header 'Content-Type: application/json'
        --header "X-Source: $HPC_HOOK"
        --header "X-Changed-By: slurm-$HPC_HOOK@$HPC_NODE")
    [[ -n $correlation ]] && args+=(--header "X-Correlation-Id: $correlation")
    args+=(--data-binary @- "$HPC_URL$route")
    HPC_CURL_EXIT=0
    if [[ -n $HPC_TOKEN ]]; then
        # The token goes through a config file descriptor, never the command line (ps shows that).
        local escaped=${HPC_TOKEN//\\/\\\\}
        escaped=${escaped//\"/\\\"}
        status=$(curl --config <(printf 'header = "Authorization: Bearer %s"\n' "$escaped") \
            "${args[@]}" <<<"$body" 2>/dev/null) || HPC_CURL_EXIT=$?
    else
        status=$(curl "${args[@]}" <<<"$body" 2>/dev/null) || HPC_CURL_EXIT=$?
    fi
    [[ $status =~ ^[0-9]{3}$ ]] || status=000
    HPC_STATUS=$status
}

hpc_route_for() {
    case $1 in
        started) printf '/v1/events/job-started' ;;
        finished) printf '/v1/events/job-finished' ;;
    esac
}

# Whether a status means "try again later" (keep the event): no answer, 429, 5xx.
hpc_retryable() {
    [[ $1 == 000 || $1 == 429 || $1 == 5?? ]]
}

# Describes the last failed attempt for the syslog line.
hpc_describe_status() {
    if [[ $HPC_STATUS == 000 ]]; then
        printf 'no answer from %s (curl exit %s)' "$HPC_URL" "$HPC_CURL_EXIT"
    else
        printf 'service answered %s' "$HPC_STATUS"
    fi
}

# POST with up to 3 attempts, backoff 0.3 s then 0.9 s, each attempt at most 2 s; a retry is only
# made while the run is under 5 s old, so a run (flush included) stays under about 8 s, and under
# 2 s when the port is closed. Sets HPC_STATUS.
hpc_post() {
    local kind=$1 body=$2 route attempt
    route=$(hpc_route_for "$kind")
    for attempt in 1 2 3; do
        hpc_post_once "$kind" "$route" "$body" 2
        hpc_retryable "$HPC_STATUS" || return 0
        (($(hpc_now_us) - HPC_RUN_STARTED_US < 5000000)) || return 0
        case $attempt in
            1) sleep 0.3 ;;
            2) sleep 0.9 ;;
        esac
    done
}

# The spooled events, oldest first, as paths. Only names of exactly the spool's form count (the
# node agent reads the same set); sorted by epoch, then pid, a started event before a finished one.
hpc_spool_files() {
    local f name
    for f in "$HPC_SPOOL"/*.json; do
        name=${f##*/}
        [[ -f $f && $name =~ ^[0-9]{1,20}-[0-9]{1,10}\.(started|finished)\.json$ ]] && printf '%s\n' "$name"
    done | sort -t- -k1,1n -k2,2n -k2,2r | while IFS= read -r name; do
        printf '%s/%s\n' "$HPC_SPOOL" "$name"
    done
}

# Writes event $2 of kind $1 to the spool, atomically (temp name, then rename).
hpc_spool() {
    local kind=$1 body=$2 us count name tmp
    if ! [[ -d $HPC_SPOOL ]] && ! (umask 077 && mkdir -p "$HPC_SPOOL") 2>/dev/null; then
        hpc_fail "cannot create spool $HPC_SPOOL: $kind event lost"
        return 0
    fi
    count=$(hpc_spool_files | wc -l)
    if ((count >= HPC_SPOOL_MAX)); then
        hpc_fail "spool $HPC_SPOOL full ($count files): $kind event dropped"
        return 0
    fi
    us=$(hpc_now_us)
    name="${us}000-$$.$kind.json"
    tmp="$HPC_SPOOL/.$name.tmp"
    if printf '%s\n' "$body" >"$tmp" 2>/dev/null && mv -f "$tmp" "$HPC_SPOOL/$name" 2>/dev/null; then
        hpc_fail "$kind event spooled to $HPC_SPOOL/$name"
    else
        rm -f "$tmp" 2>/dev/null
        hpc_fail "cannot write spool $HPC_SPOOL: $kind event lost"
    fi
}

# Sends spooled events oldest first, one attempt each, for at most 3 s. Returns 0 when the spool
# is empty afterwards, 1 when events remain (new events then queue behind them, keeping order).
hpc_flush_spool() {
    [[ -d $HPC_SPOOL ]] || return 0
    local started_us now_us file kind body files
    mapfile -t files < <(hpc_spool_files)
    ((${#files[@]} > 0)) || return 0
    started_us=$(hpc_now_us)
    for file in "${files[@]}"; do
        now_us=$(hpc_now_us)
        if ((now_us - started_us > 3000000)); then
            hpc_fail "spool flush stopped after 3 s"
            return 1
        fi
        [[ -f $file ]] || continue # another flusher (the agent) took it
        kind=${file%.json}
        kind=${kind##*.}
        body=$(<"$file") || continue
        hpc_post_once "$kind" "$(hpc_route_for "$kind")" "$body" 2
        if [[ $HPC_STATUS == 2?? ]]; then
            rm -f "$file"
        elif hpc_retryable "$HPC_STATUS"; then
            hpc_fail "spooled events kept: $(hpc_describe_status)"
            return 1
        else
            hpc_fail "spooled $kind event ${file##*/} refused ($HPC_STATUS), deleted"
            rm -f "$file"
        fi
    done
    [[ -z $(hpc_spool_files) ]]
}

# Delivers event $2 of kind $1: behind any spooled events, with retries, spooled when the service
# cannot take it now. Sets HPC_STATUS (000 when it went to the spool without an attempt).
hpc_deliver() {
    local kind=$1 body=$2
    if ((hpc_spool_blocked)); then
        HPC_STATUS=000
        hpc_spool "$kind" "$body"
        return 0
    fi
    hpc_post "$kind" "$body"
    if hpc_retryable "$HPC_STATUS"; then
        hpc_fail "$kind: $(hpc_describe_status)"
        hpc_spool "$kind" "$body"
        hpc_spool_blocked=1
    elif [[ $HPC_STATUS != 2?? && $HPC_STATUS != 404 ]]; then
        hpc_fail "$kind event refused with $HPC_STATUS"
    fi
}

# Common start of both hooks: settings, the reporting-node check, the spool flush.
# Returns 1 when this run has nothing to do.
hpc_begin() {
    export LC_ALL=C
    umask 077
    HPC_RUN_STARTED_US=$(hpc_now_us)
    hpc_spool_blocked=0
    hpc_configure || return 1
    hpc_is_reporting_node || return 1
    if [[ -z ${SLURM_JOB_ID:-} ]]; then
        hpc_fail "SLURM_JOB_ID not set"
        return 1
    fi
    hpc_flush_spool || hpc_spool_blocked=1
    return 0
}
