using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Samples that name their node, on each backend: the node must be one of the job's; a multi-node
/// job's latest usage is the mean CPU/GPU and summed memory of the nodes reporting within
/// 3 × SAMPLE_INTERVAL_SECONDS (default 30 s) of the newest; history returns node and the optional fields.
/// </summary>
public abstract class NodeSampleTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private HttpClient Client => service.Client;

    [SkippableFact]
    public async Task RecordSample_Answers400OnNode_AndStoresNothing_WhenNodeIsNotTheJobs()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-1);

        using var single = await Client.PostJsonAsync($"/v1/jobs/{id}/metrics", Sample(at, 10, 100, node: "c"));
        var (accepted, _, rejected) = await PostBatchAsync(Client, Batch(Sample(at, 10, 100, node: "c", jobId: id), Sample(at, 11, 110, node: "a", jobId: id)));

        var error = await ExpectValidationErrorAsync(single);
        Assert.True(error.GetProperty("details").TryGetProperty("node", out _), error.ToString());
        Assert.Equal(1, accepted);
        var refused = Assert.Single(rejected);
        Assert.Equal(0, refused.GetProperty("index").GetInt32());
        Assert.Equal("validation_error", refused.GetProperty("error").GetString());
        var stored = Assert.Single(await HistoryAsync(Client, id));
        Assert.Equal("a", stored.GetProperty("node").GetString());
    }

    [SkippableFact]
    public async Task LatestUsage_IsMeanCpuAndSummedMemory_WhenTwoNodesReportWithinTheWindow()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-2);

        await PostSampleAsync(Client, id, Sample(at, 20, 100, node: "a"));
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(10), 40, 300, node: "b"));

        var job = await GetJobAsync(Client, id);
        Assert.Equal(30, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(400, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task LatestUsage_LeavesOutANode_WhenItsNewestSampleIsMoreThanThreeIntervalsOlder()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-3);

        await PostSampleAsync(Client, id, Sample(at, 20, 100, node: "a"));
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(100), 40, 300, node: "b"));

        var job = await GetJobAsync(Client, id);
        Assert.Equal(40, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(300, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task LatestUsage_AveragesGpuOnlyOverNodesReportingGpu()
    {
        var id = await CreateJobAsync(Client, ["a", "b", "c"]);
        var at = Now().AddMinutes(-2);

        var (accepted, _, rejected) = await PostBatchAsync(Client, Batch(
            Sample(at, 10, 100, node: "a", gpu: 50, jobId: id),
            Sample(at.AddSeconds(1), 20, 100, node: "b", gpu: 70, jobId: id),
            Sample(at.AddSeconds(2), 30, 100, node: "c", jobId: id)));

        Assert.Equal(3, accepted);
        Assert.Empty(rejected);
        var job = await GetJobAsync(Client, id);
        Assert.Equal(60, job.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(20, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(300, job.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task LatestUsage_IsTheWholeJobSample_UntilANodeReportsAfterIt()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-2);
        await PostSampleAsync(Client, id, Sample(at, 20, 100, node: "a"));
        await PostSampleAsync(Client, id, Sample(at, 40, 300, node: "b"));

        await PostSampleAsync(Client, id, Sample(at.AddSeconds(10), 5, 50));
        var afterWholeJob = await GetJobAsync(Client, id);
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(20), 30, 200, node: "a"));
        var afterNode = await GetJobAsync(Client, id);

        Assert.Equal(5, afterWholeJob.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(50, afterWholeJob.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(35, afterNode.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(500, afterNode.GetProperty("memory_usage_mb").GetInt64());
    }

    [SkippableFact]
    public async Task History_ReturnsNodeAndOptionalFields_OfEachSample()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-2);
        var full = $$"""{"timestamp":"{{Wire(at)}}","cpu_usage":10,"memory_usage_mb":100,"node":"a","gpu_memory_mb":2048,"memory_peak_mb":150,"oom_kills":2}""";

        var answer = await PostSampleAsync(Client, id, full);
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(1), 20, 200, node: "b"));
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(2), 30, 300));

        Assert.Equal(2048, answer.GetProperty("gpu_memory_mb").GetInt64());
        var history = await HistoryAsync(Client, id);
        Assert.Equal(3, history.Length);
        var onA = history.Single(s => s.GetProperty("cpu_usage").GetDouble() == 10);
        Assert.Equal("a", onA.GetProperty("node").GetString());
        Assert.Equal(2048, onA.GetProperty("gpu_memory_mb").GetInt64());
        Assert.Equal(150, onA.GetProperty("memory_peak_mb").GetInt64());
        Assert.Equal(2, onA.GetProperty("oom_kills").GetInt64());
        var onB = history.Single(s => s.GetProperty("cpu_usage").GetDouble() == 20);
        Assert.Equal("b", onB.GetProperty("node").GetString());
        Assert.False(onB.TryGetProperty("gpu_memory_mb", out _), onB.ToString());
        Assert.False(onB.TryGetProperty("oom_kills", out _), onB.ToString());
        var wholeJob = history.Single(s => s.GetProperty("cpu_usage").GetDouble() == 30);
        Assert.False(wholeJob.TryGetProperty("node", out var node) && node.ValueKind != System.Text.Json.JsonValueKind.Null, wholeJob.ToString());
    }

    [SkippableFact]
    public async Task ListJobs_ShowsTheSameAggregatedLatestUsage_AsGetJob()
    {
        var user = "agg-" + Guid.NewGuid().ToString("N");
        var id = await CreateJobAsync(Client, ["a", "b"], user: user);
        var at = Now().AddMinutes(-2);
        await PostSampleAsync(Client, id, Sample(at, 20, 100, node: "a", gpu: 10));
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(10), 40, 300, node: "b", gpu: 30));

        var job = await GetJobAsync(Client, id);
        using var list = await Client.GetAsync($"/v1/jobs?user={user}");
        var listed = Assert.Single((await list.ReadJsonAsync()).GetProperty("jobs").EnumerateArray());

        Assert.Equal(30, job.GetProperty("cpu_usage").GetDouble());
        foreach (var field in new[] { "cpu_usage", "memory_usage_mb", "gpu_usage" })
        {
            Assert.Equal(job.GetProperty(field).GetRawText(), listed.GetProperty(field).GetRawText());
        }
    }
}

public sealed class SqliteNodeSampleTests(ServiceFixture<SqliteBackend> service) : NodeSampleTests<SqliteBackend>(service);

public sealed class PostgresNodeSampleTests(ServiceFixture<PostgresBackend> service) : NodeSampleTests<PostgresBackend>(service);
