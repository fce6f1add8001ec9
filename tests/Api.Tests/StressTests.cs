using System.Globalization;
using System.Net;
using System.Text;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Many jobs × many samples at once, through both ingest routes, then exact counts.
/// <c>STRESS_TEST=1 dotnet test --filter Stress</c> runs the long version; CI runs this short one.
/// </summary>
public abstract class StressTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task Stress_ConcurrentIngest_StoresEverySampleExactlyOnce()
    {
        var client = service.Client;
        var jobs = StressSettings.Count(40, 400);
        var perJob = StressSettings.Count(30, 300);
        var prefix = "stress-" + Guid.NewGuid().ToString("N")[..8] + "-";
        var origin = DateTimeOffset.UtcNow.AddSeconds(-60); // after the jobs' start minus the clock-skew allowance
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (j, _) =>
        {
            using var created = await client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{prefix}}{{j}}","user":"stress","nodes":["s{{j % 7}}"]}""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        });

        static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

        // Half of each job's samples one by one, the other half in node batches, all at once.
        var singles = Enumerable.Range(0, jobs).SelectMany(j => Enumerable.Range(0, perJob / 2).Select(k => (j, k)));
        var singleLoad = Parallel.ForEachAsync(singles, new ParallelOptions { MaxDegreeOfParallelism = 48 }, async (item, _) =>
        {
            var (j, k) = item;
            using var response = await client.PostJsonAsync(
                $"/v1/jobs/{prefix}{j}/metrics",
                $$"""{"cpu_usage":{{k % 100}},"memory_usage_mb":{{k}},"timestamp":"{{Time(origin.AddMilliseconds(k * 10))}}"}""");
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        });
        var batchLoad = Parallel.ForEachAsync(Enumerable.Range(perJob / 2, perJob - (perJob / 2)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (k, _) =>
        {
            var body = new StringBuilder("{\"samples\":[");
            for (var j = 0; j < jobs; j++)
            {
                body.Append(j == 0 ? "" : ",").Append($$"""{"job_id":"{{prefix}}{{j}}","cpu_usage":{{k % 100}},"memory_usage_mb":{{k}},"timestamp":"{{Time(origin.AddMilliseconds(k * 10))}}"}""");
            }

            using var response = await client.PostJsonAsync("/v1/metrics", body.Append("]}").ToString());
            var result = await response.ReadJsonAsync();
            Assert.Equal(jobs, result.GetProperty("accepted").GetInt64());
        });
        await Task.WhenAll(singleLoad, batchLoad);

        for (var j = 0; j < jobs; j++)
        {
            var history = await (await client.GetAsync($"/v1/jobs/{prefix}{j}/metrics?limit=10000")).ReadJsonAsync();
            var memory = history.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("memory_usage_mb").GetInt64()).ToList();
            Assert.Equal(Enumerable.Range(0, perJob).Select(k => (long)k), memory);
            var job = await (await client.GetAsync($"/v1/jobs/{prefix}{j}")).ReadJsonAsync();
            Assert.Equal(perJob - 1, job.GetProperty("memory_usage_mb").GetInt64());
        }

        var listed = await (await client.GetAsync($"/v1/jobs?user=stress&limit=1")).ReadJsonAsync();
        Assert.True(listed.GetProperty("total").GetInt64() >= jobs);
    }
}

public sealed class SqliteStressTests(ServiceFixture<SqliteBackend> service) : StressTests<SqliteBackend>(service);

public sealed class PostgresStressTests(ServiceFixture<PostgresBackend> service) : StressTests<PostgresBackend>(service);
