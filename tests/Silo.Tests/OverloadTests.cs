using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace HpcJobs.Silo.Tests;

/// <summary>Far more batch ingest than the silo admits, on a real service process (Kestrel, SQLite).</summary>
public sealed class OverloadTests(ITestOutputHelper output)
{
    private const int Jobs = 20;
    private const int Posters = 48;
    private const int BatchesPerPoster = 5;
    private const int BatchSize = 400;

    [Fact]
    public async Task BatchIngest_Answers503WithRetryAfterAndStoresEveryAcknowledgedSampleOnce_WhenFarBeyondAdmission()
    {
        await using var backend = new SqliteBackend();
        var settings = new Dictionary<string, string>(await backend.CreateDatabaseAsync())
        {
            // About four 400-sample batches at once (each estimated from its ~45 KB body).
            ["INGEST_MAX_SAMPLES_IN_FLIGHT"] = "2000",
        };
        await using var service = await ServiceProcess.StartAsync(settings);
        var ids = Enumerable.Range(0, Jobs).Select(i => $"ov-{i}").ToList();
        await Ingest.CreateJobsAsync(service.Client, ids);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Posters })
        {
            BaseAddress = service.Client.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        var start = DateTimeOffset.UtcNow;
        long sequence = -1;
        var acknowledged = new ConcurrentDictionary<string, int>();
        var refused = 0;
        var refusals = new ConcurrentBag<string>();

        async Task PostAsync()
        {
            for (var b = 0; b < BatchesPerPoster; b++)
            {
                var jobs = new string[BatchSize];
                var body = new StringBuilder("{\"samples\":[");
                for (var i = 0; i < BatchSize; i++)
                {
                    var n = Interlocked.Increment(ref sequence);
                    jobs[i] = ids[(int)(n % Jobs)];
                    var timestamp = start.AddMilliseconds(n / Jobs).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
                    body.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""{"job_id":"{{jobs[i]}}","timestamp":"{{timestamp}}","cpu_usage":{{n % 100}},"memory_usage_mb":{{n}}}""");
                }

                using var response = await client.PostAsync("/v1/metrics", new StringContent(body.Append("]}").ToString(), Encoding.UTF8, "application/json"));
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    Interlocked.Increment(ref refused);
                    refusals.Add($"{response.Headers.RetryAfter?.Delta?.TotalSeconds} {text}");
                    continue;
                }

                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
                using var answer = JsonDocument.Parse(text);
                Assert.Equal(0, answer.RootElement.GetProperty("rejected").GetArrayLength());
                Assert.Equal(BatchSize, answer.RootElement.GetProperty("accepted").GetInt32());
                foreach (var job in jobs)
                {
                    acknowledged.AddOrUpdate(job, 1, (_, count) => count + 1);
                }
            }
        }

        var posting = Task.WhenAll(Enumerable.Range(0, Posters).Select(_ => Task.Run(PostAsync)));
        var slowest = new Dictionary<string, TimeSpan>();
        using var probe = new HttpClient { BaseAddress = service.Client.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        while (!posting.IsCompleted)
        {
            foreach (var path in new[] { "/v1/health/live", "/v1/health/ready", "/v1/jobs?limit=5" })
            {
                var watch = Stopwatch.StartNew();
                using var response = await probe.GetAsync(path);
                watch.Stop();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                slowest[path] = slowest.TryGetValue(path, out var before) && before > watch.Elapsed ? before : watch.Elapsed;
            }

            await Task.Delay(50);
        }

        await posting;
        output.WriteLine($"refused {refused} of {Posters * BatchesPerPoster}; slowest probes: {string.Join(", ", slowest.Select(s => $"{s.Key} {s.Value.TotalMilliseconds:F0} ms"))}");
        Assert.InRange(refused, 1, (Posters * BatchesPerPoster) - 1);
        Assert.All(refusals, r => Assert.Equal("1 {\"error\":\"unavailable\",\"message\":\"the service is at its ingest limit; retry after the Retry-After delay\"}", r));
        Assert.All(slowest, s => Assert.True(s.Value < TimeSpan.FromSeconds(1), $"{s.Key} took {s.Value.TotalMilliseconds:F0} ms under overload"));

        foreach (var id in ids)
        {
            using var history = JsonDocument.Parse(await service.Client.GetStringAsync($"/v1/jobs/{id}/metrics?limit=10000"));
            Assert.Equal(acknowledged.GetValueOrDefault(id), history.RootElement.GetProperty("total").GetInt32());
        }

        var metrics = await service.Client.GetStringAsync("/metrics");
        Assert.Contains($"hpc_ingest_refused_requests_total{{route=\"batch\"}} {refused}", metrics, StringComparison.Ordinal);
        Assert.Contains("hpc_ingest_samples_in_flight 0", metrics, StringComparison.Ordinal);
    }
}
