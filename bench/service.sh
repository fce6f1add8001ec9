# shellcheck shell=bash disable=SC2154
# Sourced by the benchmarks: start_service starts the service's Release build on loopback, its log
# in $work/<name>.log, with $SERVICE_ENV and the extra assignments given, adds it to $pids, sets
# svc_pid, and returns once /v1/health answers (or prints the log and exits if it died first).
start_service() { # name port db-type db-url [extra env...]
  local name=$1 port=$2 type=$3 url=$4; shift 4
  env PORT="$port" HOST=127.0.0.1 ADVERTISED_IP=127.0.0.1 SILO_PORT=$((port + 1)) GATEWAY_PORT=$((port + 2)) \
    DATABASE_TYPE="$type" DATABASE_URL="$url" Logging__LogLevel__Default=Warning ${SERVICE_ENV:-} "$@" \
    dotnet src/Silo/bin/Release/net10.0/HpcJobs.Silo.dll >"$work/$name.log" 2>&1 &
  svc_pid=$!
  pids+=("$svc_pid")
  until curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null; do
    kill -0 "$svc_pid" 2>/dev/null || { cat "$work/$name.log"; exit 1; }
    sleep 0.1
  done
}
