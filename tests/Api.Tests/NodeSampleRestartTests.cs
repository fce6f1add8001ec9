using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// A multi-node job's latest usage is rebuilt from the stored samples when its grain activates on
/// a new service (same database), so samples from before and after a restart aggregate as if there
/// had been none, and a replay after the restart leaves it alone; on each backend.
/// </summary>
public abstract class NodeSampleRestartTests<TBackend>
    where TBackend : IBackend, new()
{
    [SkippableFact]
    public async Task LatestUsage_AggregatesNodeSamplesFromBeforeARestart_WithThoseAfterIt()
    {
        await using var backend = new TBackend();
        var database = await backend.CreateDatabaseAsync();
        var at = Now().AddMinutes(-2);
        string id;
        await using (var first = InProcessService.Start(database, "test"))
        {
            id = await CreateJobAsync(first.Client, ["a", "b", "c"]);
            await PostSampleAsync(first.Client, id, Sample(at, 20, 100, node: "a", gpu: 50));
            await PostSampleAsync(first.Client, id, Sample(at.AddSeconds(5), 40, 300, node: "b", gpu: 70));
        }

        await using var second = InProcessService.Start(database, "test");
        var replay = await PostSampleAsync(second.Client, id, Sample(at.AddSeconds(5), 90, 900, node: "b", gpu: 99));
        await PostSampleAsync(second.Client, id, Sample(at.AddSeconds(10), 60, 500, node: "c"));

        Assert.Equal(40, replay.GetProperty("cpu_usage").GetDouble());
        var job = await GetJobAsync(second.Client, id);
        Assert.Equal(40, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(900, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(60, job.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(3, (await HistoryAsync(second.Client, id)).Length);
    }
}

public sealed class SqliteNodeSampleRestartTests : NodeSampleRestartTests<SqliteBackend>;

public sealed class PostgresNodeSampleRestartTests : NodeSampleRestartTests<PostgresBackend>;
