using System.Diagnostics;
using System.Net;
using System.Text;
using HpcJobs.Bench;

// Load generator for the benchmarks in docs/benchmarks.md. Talks to a running service over loopback.
//   HpcJobs.Bench scrape <base-url> <stored-jobs> <running-jobs> [scrapes]
//   HpcJobs.Bench create <base-url> <count> <prefix>
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: HpcJobs.Bench scrape <url> <stored> <running> [scrapes] | create <url> <count> <prefix>");
    return 2;
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
        var scrapes = args.Length > 4 ? int.Parse(args[4]) : 20;
        var watch = Stopwatch.StartNew();
        await Load.CreateJobsAsync(client, running, "run-", completeAll: false);
        await Load.CreateJobsAsync(client, stored - running, "done-", completeAll: true);
        Console.WriteLine($"seeded {stored} jobs ({running} running) in {watch.Elapsed.TotalSeconds:F0} s");
        await Load.ScrapeAsync(client, scrapes, running);
        return 0;
    default:
        Console.Error.WriteLine($"unknown command {args[0]}");
        return 2;
}

namespace HpcJobs.Bench
{
    internal static class Load
    {
        public static async Task CreateJobsAsync(HttpClient client, int count, string prefix, bool completeAll)
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
                    using var sample = await client.PostAsync(
                        $"/v1/jobs/{id}/metrics",
                        Json($$"""{"cpu_usage":{{i % 100}},"memory_usage_mb":{{1024 + (i % 64000)}},"gpu_usage":{{i % 7 * 10}}}"""));
                    Expect(sample, HttpStatusCode.Created);
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
            string text = string.Empty;
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

            times.Sort();
            var exported = text.Split('\n').Count(l => l.StartsWith("hpc_job_cpu_usage_percent{", StringComparison.Ordinal));
            Console.WriteLine(
                $"RESULT scrape running={running} exported_jobs={exported} bytes={size} p50_ms={times[times.Count / 2]:F1} " +
                $"p99_ms={times[(int)Math.Ceiling(times.Count * 0.99) - 1]:F1} max_ms={times[^1]:F1} scrapes={scrapes}");
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
