using System.Collections.Concurrent;
using System.Net;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>200 concurrent writers over HTTP, on one job and on many: every 201 stored once, latest values consistent.</summary>
public abstract class ConcurrencyTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private const int Writers = 200;

    private async Task<string[]> CreateJobsAsync(int count)
    {
        var prefix = "conc-" + Guid.NewGuid().ToString("N")[..8] + "-";
        var ids = Enumerable.Range(0, count).Select(i => prefix + i).ToArray();
        foreach (var id in ids)
        {
            using var response = await service.Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"conc","nodes":["c1"]}""");
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        return ids;
    }

    private async Task RunWritersAsync(string[] jobs, int samplesPerWriter)
    {
        var origin = DateTimeOffset.UtcNow.AddSeconds(-60); // a sample may precede its job's start by at most the clock skew
        var acknowledged = new ConcurrentDictionary<string, ConcurrentBag<long>>();
        using var start = new ManualResetEventSlim();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            start.Wait();
            var job = jobs[w % jobs.Length];
            for (var k = 0; k < samplesPerWriter; k++)
            {
                var memory = (w * samplesPerWriter) + k;
                var at = origin.AddTicks(memory * 10L).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'");
                using var response = await service.Client.PostJsonAsync(
                    $"/v1/jobs/{job}/metrics", $$"""{"cpu_usage":{{memory % 100}},"memory_usage_mb":{{memory}},"timestamp":"{{at}}"}""");
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                acknowledged.GetOrAdd(job, _ => []).Add(memory);
            }
        })).ToArray();
        start.Set();
        await Task.WhenAll(writers);

        foreach (var job in jobs)
        {
            var history = await (await service.Client.GetAsync($"/v1/jobs/{job}/metrics?limit=10000")).ReadJsonAsync();
            var stored = history.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("memory_usage_mb").GetInt64()).ToList();
            Assert.Equal(acknowledged[job].Order(), stored.Order());
            var latest = await (await service.Client.GetAsync($"/v1/jobs/{job}")).ReadJsonAsync();
            // Timestamps grow with memory, so the newest sample is the one with the largest memory.
            Assert.Equal(acknowledged[job].Max(), latest.GetProperty("memory_usage_mb").GetInt64());
            var listed = await (await service.Client.GetAsync($"/v1/jobs?user=conc&limit=1000")).ReadJsonAsync();
            var row = listed.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("id").GetString() == job);
            Assert.Equal(acknowledged[job].Max(), row.GetProperty("memory_usage_mb").GetInt64());
        }
    }

    [SkippableFact]
    public Task TwoHundredWriters_OnOneJob_StoreEverySampleOnce() => RunAsync(jobs: 1);

    [SkippableFact]
    public Task TwoHundredWriters_OnManyJobs_StoreEverySampleOnce() => RunAsync(jobs: 50);

    private async Task RunAsync(int jobs) =>
        await RunWritersAsync(await CreateJobsAsync(jobs), samplesPerWriter: StressSettings.Count(5, 50));
}

public sealed class SqliteConcurrencyTests(ServiceFixture<SqliteBackend> service) : ConcurrencyTests<SqliteBackend>(service);

public sealed class PostgresConcurrencyTests(ServiceFixture<PostgresBackend> service) : ConcurrencyTests<PostgresBackend>(service);
