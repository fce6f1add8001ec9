using System.Net;
using System.Text;
using HpcJobs.Api.Tests.Infrastructure;

namespace HpcJobs.Api.Tests;

/// <summary><c>POST /v1/metrics</c>, on each backend.</summary>
public abstract class BatchIngestContractTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private HttpClient Client => service.Client;

    private async Task<string> CreateAsync(string state = "running")
    {
        var id = "batch-" + Guid.NewGuid().ToString("N");
        using var response = await Client.PostJsonAsync("/v1/jobs", $$"""{"id":"{{id}}","user":"u","nodes":["n1"],"state":"{{state}}"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return id;
    }

    [SkippableFact]
    public async Task Batch_StoresValidSamplesInOrder_AndRejectsEachBadOneByIndex()
    {
        var a = await CreateAsync();
        var b = await CreateAsync();
        var ended = await CreateAsync("pending");
        using (await Client.PatchJsonAsync($"/v1/jobs/{ended}", """{"state":"cancelled"}"""))
        {
        }

        var first = DateTimeOffset.UtcNow.AddSeconds(-30).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var second = DateTimeOffset.UtcNow.AddSeconds(-29).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var response = await Client.PostJsonAsync("/v1/metrics", $$"""
            {"samples": [
              {"job_id": "{{a}}", "cpu_usage": 10, "memory_usage_mb": 100, "timestamp": "{{first}}"},
              {"jobId": "{{b}}", "cpuUsage": 20, "memoryUsageMb": 200, "gpuUsage": 50},
              {"job_id": "{{a}}", "cpu_usage": 11, "memory_usage_mb": 101, "timestamp": "{{second}}"},
              {"job_id": "{{ended}}", "cpu_usage": 1, "memory_usage_mb": 1},
              {"job_id": "missing-{{a}}", "cpu_usage": 1, "memory_usage_mb": 1},
              {"job_id": "{{a}}", "cpu_usage": 101, "memory_usage_mb": 1},
              {"job_id": "{{a}}", "cpu_usage": 1},
              {"cpu_usage": 1, "memory_usage_mb": 1},
              "not an object"
            ]}
            """);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(3, body.GetProperty("accepted").GetInt64());
        var rejected = body.GetProperty("rejected").EnumerateArray()
            .Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("error").GetString()))
            .ToList();
        Assert.Equal(
            [(3, "conflict"), (4, "not_found"), (5, "validation_error"), (6, "validation_error"), (7, "validation_error"), (8, "validation_error")],
            rejected);
        var history = await (await Client.GetAsync($"/v1/jobs/{a}/metrics")).ReadJsonAsync();
        Assert.Equal([10.0, 11.0], history.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("cpu_usage").GetDouble()));
        var job = await (await Client.GetAsync($"/v1/jobs/{b}")).ReadJsonAsync();
        Assert.Equal(50, job.GetProperty("gpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task Batch_Answers413_WhenOverTenThousandSamples()
    {
        var id = await CreateAsync();
        var items = string.Join(',', Enumerable.Repeat($$"""{"job_id":"{{id}}","cpu_usage":1,"memory_usage_mb":1}""", 10_001));

        using var response = await Client.PostJsonAsync("/v1/metrics", $$"""{"samples":[{{items}}]}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("payload_too_large", (await response.ReadJsonAsync()).GetProperty("error").GetString());
        var history = await (await Client.GetAsync($"/v1/jobs/{id}/metrics")).ReadJsonAsync();
        Assert.Equal(0, history.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task Batch_AcceptsTenThousandSamples_AcrossManyJobs()
    {
        var jobs = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => CreateAsync()));
        var start = DateTimeOffset.UtcNow.AddSeconds(-60);
        var items = new StringBuilder();
        for (var i = 0; i < 10_000; i++)
        {
            items.Append(i == 0 ? "" : ",").Append($$"""{"job_id":"{{jobs[i % 50]}}","cpu_usage":{{i % 100}},"memory_usage_mb":{{i}},"timestamp":"{{start.AddMilliseconds(i).UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}}"}""");
        }

        using var response = await Client.PostJsonAsync("/v1/metrics", $$"""{"samples":[{{items}}]}""");

        var body = await response.ReadJsonAsync();
        Assert.Equal(10_000, body.GetProperty("accepted").GetInt64());
        Assert.Empty(body.GetProperty("rejected").EnumerateArray());
        var history = await (await Client.GetAsync($"/v1/jobs/{jobs[7]}/metrics?limit=10000")).ReadJsonAsync();
        var memory = history.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("memory_usage_mb").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(0, 200).Select(k => (long)(7 + (50 * k))), memory);
        var job = await (await Client.GetAsync($"/v1/jobs/{jobs[7]}")).ReadJsonAsync();
        Assert.Equal(9_957, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableTheory]
    [InlineData("""{"samples": 5}""")]
    [InlineData("""{"items": []}""")]
    [InlineData("""[]""")]
    public async Task Batch_Answers400_WhenShapeIsWrong(string json)
    {
        using var response = await Client.PostJsonAsync("/v1/metrics", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}

public sealed class SqliteBatchIngestContractTests(ServiceFixture<SqliteBackend> service) : BatchIngestContractTests<SqliteBackend>(service);

public sealed class PostgresBatchIngestContractTests(ServiceFixture<PostgresBackend> service) : BatchIngestContractTests<PostgresBackend>(service);
