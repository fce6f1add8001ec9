-- wrk script: single-sample ingest spread over JOBS jobs (bench-0 .. bench-(JOBS-1)).
local jobs = tonumber(os.getenv("JOBS") or "1000")
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("offset", math.random(0, jobs - 1))
end

request = function()
  counter = counter + 1
  local job = (counter + offset) % jobs
  local body = string.format('{"cpu_usage":%d.5,"memory_usage_mb":%d,"gpu_usage":%d}', counter % 100, 1024 + counter % 4096, counter % 97)
  return wrk.format(nil, "/v1/jobs/bench-" .. job .. "/metrics", nil, body)
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT req_per_s=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
