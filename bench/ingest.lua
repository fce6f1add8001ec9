-- wrk script: single-sample ingest spread over JOBS jobs (bench-0 .. bench-(JOBS-1)).
local jobs = tonumber(os.getenv("JOBS") or "1000")
local counter = 0
-- Samples are identified by (job, node, timestamp): each request carries a timestamp of its own
-- (thread id + counter as microseconds after a start a minute ago), so no sample is a replay.
-- Those are older than the sample `bench/Bench create` posted with each job (the server's time),
-- so none becomes its job's latest usage. START_AGO=0 starts the timestamps at this run's start
-- instead (the counter advances slower than the clock, so they stay behind it): newer than that
-- sample and than an earlier run's, so a sample is its job's latest usage, as an agent's is, unless
-- the other thread's counter is ahead and posted a newer one to the same job.
local t0 = os.time() - tonumber(os.getenv("START_AGO") or "60")
local threads = 0
local id = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("offset", math.random(0, jobs - 1))
  thread:set("id", threads)
  threads = threads + 1
end

local function timestamp(n)
  return os.date("!%Y-%m-%dT%H:%M:%S", t0 + math.floor(n / 1000000)) .. string.format(".%06dZ", n % 1000000)
end

request = function()
  counter = counter + 1
  local job = (counter + offset) % jobs
  local body = string.format('{"cpu_usage":%d.5,"memory_usage_mb":%d,"gpu_usage":%d,"timestamp":"%s"}',
    counter % 100, 1024 + counter % 4096, counter % 97, timestamp(counter * 64 + id))
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
