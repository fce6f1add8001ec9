using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using HpcJobs.Bench;

// Load generator for the benchmarks in docs/benchmarks.md. Talks to a running service over loopback.
//   create  <url> <count> <prefix>                   jobs (running) with one sample each
//   scrape  <url> <stored> <running> [scrapes]       seed through the API, then time GET /metrics
//   batch   <url> <jobs> <seconds> [batch-size] [warm-up-seconds]   POST /v1/metrics throughput (warm-up 20 s)
//   batch-body <jobs> <batch-size> <batches>         what building the batch load's bodies costs per sample
//   list    <url> <requests>                          GET /v1/jobs latency (filtered by state and user)
//   memory  <url> <pid> <jobs>                        resident memory per active job
//   events  <url> <tasks> <connections>               a job array's job-started, then job-finished, all at once
//   page    <url> <samples> [requests]                 GET /jobs/{id} render time for a job with that many samples
//   overload <url> <jobs> <connections> <seconds> [batch-size]   batch ingest beyond admission (bench/overload.sh)
//   seed-sqlite <file> <jobs>  |  seed-postgres <connection-string> <jobs>   jobs table rows for the list benchmark
//   seed-samples-sqlite <file> <jobs> <samples> <days-ago>   expired samples for the retention benchmark (bench/retention.sh)
if (args.Length < 2)
{
    Console.Error.WriteLine("see the comment at the top of bench/Bench/Program.cs for usage");
    return 2;
}

if (args[0] == "batch-body")
{
    return BatchBody.Measure(int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3]));
}

if (args[0] == "seed-samples-sqlite")
{
    Seed.SamplesSqlite(args[1], int.Parse(args[2]), long.Parse(args[3]), int.Parse(args[4]));
    return 0;
}

if (args[0].StartsWith("seed-", StringComparison.Ordinal))
{
    await Seed.JobsAsync(args[0] == "seed-sqlite" ? "sqlite" : "postgres", args[1], int.Parse(args[2]));
    return 0;
}

using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 })
{
    BaseAddress = new Uri(args[1]),
    Timeout = TimeSpan.FromMinutes(5),
};

switch (args[0])
{
    case "create":
        await Load.CreateJobsAsync(client, int.Parse(args[2]), args[3], completeAll: false);
        return 0;
    case "scrape":
        var stored = int.Parse(args[2]);
        var running = int.Parse(args[3]);
        var watch = Stopwatch.StartNew();
        await Load.CreateJobsAsync(client, running, "run-", completeAll: false);
        await Load.CreateJobsAsync(client, stored - running, "done-", completeAll: true);
        Console.WriteLine($"seeded {stored} jobs ({running} running) in {watch.Elapsed.TotalSeconds:F0} s");
        await Load.ScrapeAsync(client, args.Length > 4 ? int.Parse(args[4]) : 20, running);
        return 0;
    case "batch":
        await Load.BatchAsync(
            client, int.Parse(args[2]), TimeSpan.FromSeconds(int.Parse(args[3])), args.Length > 4 ? int.Parse(args[4]) : 5000,
            TimeSpan.FromSeconds(args.Length > 5 ? int.Parse(args[5]) : 20));
        return 0;
    case "list":
        await Load.ListAsync(client, int.Parse(args[2]));
        return 0;
    case "overload":
        await Overload.RunAsync(new Uri(args[1]), int.Parse(args[2]), int.Parse(args[3]), TimeSpan.FromSeconds(int.Parse(args[4])), args.Length > 5 ? int.Parse(args[5]) : 1000, Environment.GetEnvironmentVariable("EXPECT_CONTINUE") == "1");
        return 0;
    case "events":
        await Events.RunAsync(new Uri(args[1]), int.Parse(args[2]), int.Parse(args[3]));
        return 0;
    case "page":
        await Page.RunAsync(client, int.Parse(args[2]), args.Length > 3 ? int.Parse(args[3]) : 50);
        return 0;
    case "memory":
        await Load.MemoryAsync(client, int.Parse(args[2]), int.Parse(args[3]));
        return 0;
    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
}

namespace HpcJobs.Bench
{
    internal static class Load
    {
        public static async Task CreateJobsAsync(HttpClient client, int count, string prefix, bool completeAll, bool sample = true)
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var id = prefix + i;
                    var body = $$"""{"id":"{{id}}","user":"user{{i % 200}}","nodes":["node-{{i % 500:D3}}","node-{{(i + 1) % 500:D3}}"]}""";
                    using var created = await client.PostAsync("/v1/jobs", Json(body));
                    Expect(created, HttpStatusCode.Created);
                    if (sample)
                    {
                        using var posted = await client.PostAsync(
                            $"/v1/jobs/{id}/metrics",
                            Json($$"""{"cpu_usage":{{i % 100}},"memory_usage_mb":{{1024 + (i % 64000)}},"gpu_usage":{{i % 7 * 10}}}"""));
                        Expect(posted, HttpStatusCode.Created);
                    }

                    if (completeAll)
                    {
                        using var done = await client.PatchAsync($"/v1/jobs/{id}", Json("""{"state":"completed"}"""));
                        Expect(done, HttpStatusCode.OK);
                    }
                }
            }));
        }

        public static async Task ScrapeAsync(HttpClient client, int scrapes, int running)
        {
            var times = new List<double>();
            long size = 0;
            var text = string.Empty;
            for (var i = 0; i < scrapes + 3; i++)
            {
                var watch = Stopwatch.StartNew();
                text = await client.GetStringAsync("/metrics");
                watch.Stop();
                if (i >= 3)
                {
                    times.Add(watch.Elapsed.TotalMilliseconds);
                    size = Encoding.UTF8.GetByteCount(text);
                }
            }

            var exported = text.Split('\n').Count(l => l.StartsWith("hpc_job_cpu_usage_percent{", StringComparison.Ordinal));
            Console.WriteLine(
                $"RESULT scrape running={running} exported_jobs={exported} bytes={size} p50_ms={Percentile(times, 50):F1} " +
                $"p99_ms={Percentile(times, 99):F1} scrapes={scrapes}");
        }

        public static async Task BatchAsync(HttpClient client, int jobs, TimeSpan duration, int batchSize, TimeSpan warmUp)
        {
            await CreateJobsAsync(client, jobs, "batch-", completeAll: false, sample: false);
            var body = new BatchBody(jobs, batchSize, DateTime.UtcNow.AddSeconds(-60));
            var bodies = new BatchBodies(body.Build);
            // Warm up, then measure. The warm-up covers the service's tiered JIT reaching its
            // optimised, profile-guided code under this load, which takes ~15 s on two cores
            // (docs/benchmarks.md, "The batch's warm-up"); the rate of every 5 s is printed as
            // WINDOW lines, so a run still rising at its end shows.
            var accepted = new StrongBox<long>();
            using var windows = PrintWindows(accepted, TimeSpan.FromSeconds(5));
            await PostBatchesAsync(client, bodies, warmUp, accepted);
            var before = Interlocked.Read(ref accepted.Value);
            var watch = Stopwatch.StartNew();
            await PostBatchesAsync(client, bodies, duration, accepted);
            var measured = Interlocked.Read(ref accepted.Value) - before;
            Console.WriteLine($"RESULT batch samples_per_s={measured / watch.Elapsed.TotalSeconds:F0} accepted={measured} batch_size={batchSize} jobs={jobs} seconds={watch.Elapsed.TotalSeconds:F1} warm_up_s={warmUp.TotalSeconds:F0}");
        }

        private static Timer PrintWindows(StrongBox<long> accepted, TimeSpan every)
        {
            var watch = Stopwatch.StartNew();
            long last = 0;
            return new Timer(
                _ =>
                {
                    var now = Interlocked.Read(ref accepted.Value);
                    Console.WriteLine($"WINDOW t={watch.Elapsed.TotalSeconds:F0} samples_per_s={(now - last) / every.TotalSeconds:F0}");
                    last = now;
                },
                null,
                every,
                every);
        }

        private sealed class BatchBodies(Func<long, byte[]> build)
        {
            private long _next = -1;

            public byte[] Next() => build(Interlocked.Increment(ref _next));
        }

        private static async Task PostBatchesAsync(HttpClient client, BatchBodies bodies, TimeSpan duration, StrongBox<long> accepted)
        {
            var stop = DateTime.UtcNow + duration;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
            {
                while (DateTime.UtcNow < stop)
                {
                    var content = new ByteArrayContent(bodies.Next());
                    content.Headers.ContentType = new("application/json");
                    using var response = await client.PostAsync("/v1/metrics", content);
                    Expect(response, HttpStatusCode.OK);
                    var body = await response.Content.ReadAsStringAsync();
                    var start = body.IndexOf("\"accepted\":", StringComparison.Ordinal) + 11;
                    Interlocked.Add(ref accepted.Value, long.Parse(body.AsSpan(start, body.IndexOf(',', start) - start)));
                }
            }));
        }

        public static async Task ListAsync(HttpClient client, int requests)
        {
            var states = new[] { "running", "completed", "pending", "failed" };
            var times = new List<double>(requests);
            for (var i = 0; i < requests + 20; i++)
            {
                var url = $"/v1/jobs?state={states[i % states.Length]}&user=user{(i * 7) % 200}&limit=100&offset={(i % 5) * 100}";
                var watch = Stopwatch.StartNew();
                using var response = await client.GetAsync(url);
                await response.Content.ReadAsByteArrayAsync();
                watch.Stop();
                Expect(response, HttpStatusCode.OK);
                if (i >= 20)
                {
                    times.Add(watch.Elapsed.TotalMilliseconds);
                }
            }

            Console.WriteLine($"RESULT list p50_ms={Percentile(times, 50):F2} p99_ms={Percentile(times, 99):F2} requests={requests}");
        }

        public static async Task MemoryAsync(HttpClient client, int pid, int jobs)
        {
            await CreateJobsAsync(client, 2000, "warm-", completeAll: false);
            await Task.Delay(2000);
            var before = ResidentKb(pid);
            await CreateJobsAsync(client, jobs, "mem-", completeAll: false);
            await Task.Delay(5000);
            var after = ResidentKb(pid);
            Console.WriteLine($"RESULT memory jobs={jobs} rss_before_kb={before} rss_after_kb={after} bytes_per_job={(after - before) * 1024.0 / jobs:F0}");
        }

        private static long ResidentKb(int pid) =>
            long.Parse(File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);

        internal static double Percentile(List<double> values, int percentile)
        {
            var sorted = values.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(sorted.Count * percentile / 100.0) - 1, 0, sorted.Count - 1)];
        }

        private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

        private static void Expect(HttpResponseMessage response, HttpStatusCode status)
        {
            if (response.StatusCode != status)
            {
                throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode}");
            }
        }
    }
}
