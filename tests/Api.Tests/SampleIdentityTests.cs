using System.Net;
using HpcJobs.Api.Tests.Infrastructure;
using static HpcJobs.Api.Tests.Infrastructure.SampleCalls;

namespace HpcJobs.Api.Tests;

/// <summary>
/// Sample identity (job, node, timestamp), on each backend: a replay is stored once and answered
/// with the stored sample (single route) or counted in <c>duplicates</c> (batch route).
/// </summary>
public abstract class SampleIdentityTests<TBackend>(ServiceFixture<TBackend> service) : IClassFixture<ServiceFixture<TBackend>>
    where TBackend : IBackend, new()
{
    private HttpClient Client => service.Client;

    [SkippableFact]
    public async Task RecordSample_StoresOnceAndAnswersTheStoredSample_WhenPostedThreeTimes()
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddMinutes(-1);

        var first = await PostSampleAsync(Client, id, Sample(at, 10, 100, gpu: 5));
        var second = await PostSampleAsync(Client, id, Sample(at, 99, 999, gpu: 50));
        var third = await PostSampleAsync(Client, id, Sample(at, 10, 100, gpu: 5));

        foreach (var answer in new[] { first, second, third })
        {
            Assert.Equal(at, ParseTime(answer.GetProperty("timestamp")));
            Assert.Equal(10, answer.GetProperty("cpu_usage").GetDouble());
            Assert.Equal(100, answer.GetProperty("memory_usage_mb").GetInt64());
            Assert.Equal(5, answer.GetProperty("gpu_usage").GetDouble());
        }

        var stored = Assert.Single(await HistoryAsync(Client, id));
        Assert.Equal(10, stored.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(100, stored.GetProperty("memory_usage_mb").GetInt64());
    }

    /// <summary>
    /// Samples of one time from several nodes come back in the order of the node names (bytes), on
    /// every backend, not in the order the nodes were first seen (which gave them their keys).
    /// </summary>
    [SkippableFact]
    public async Task History_OrdersSamplesOfOneTimeByNodeName_NotByTheOrderTheNodesWereFirstSeen()
    {
        var prefix = $"order-{Guid.NewGuid():N}-";
        string a = prefix + "A", b = prefix + "b", c = prefix + "c";
        var id = await CreateJobAsync(Client, [a, b, c]);
        var at = Now().AddMinutes(-1);

        // b is seen first, so its node key is the lowest of the three.
        await PostBatchAsync(Client, Batch(Sample(at, 1, 1, node: b, jobId: id)));
        await PostBatchAsync(Client, Batch(Sample(at, 2, 2, node: c, jobId: id), Sample(at, 3, 3, node: a, jobId: id), Sample(at, 4, 4, jobId: id)));

        var history = await HistoryAsync(Client, id);
        Assert.Equal([4.0, 3, 1, 2], history.Select(s => s.GetProperty("cpu_usage").GetDouble()));
    }

    [SkippableFact]
    public async Task Batch_CountsTheSecondCopyAsDuplicate_WhenTheSameSampleIsTwiceInOneBatch()
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddMinutes(-1);

        var (accepted, duplicates, rejected) = await PostBatchAsync(
            Client, Batch(Sample(at, 10, 100, jobId: id), Sample(at, 20, 200, jobId: id)));

        Assert.Equal(1, accepted);
        Assert.Equal(1, duplicates);
        Assert.Empty(rejected);
        var stored = Assert.Single(await HistoryAsync(Client, id));
        Assert.Equal(10, stored.GetProperty("cpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task Batch_AcceptsNothingAndCountsAllDuplicates_WhenReplayedWhole()
    {
        var a = await CreateJobAsync(Client);
        var b = await CreateJobAsync(Client, ["x", "y"]);
        var at = Now().AddMinutes(-2);
        var batch = Batch(
            Sample(at, 1, 1, jobId: a),
            Sample(at.AddSeconds(10), 2, 2, jobId: a),
            Sample(at, 3, 3, node: "x", jobId: b),
            Sample(at, 4, 4, node: "y", jobId: b),
            Sample(at, 5, 5, jobId: b));

        var original = await PostBatchAsync(Client, batch);
        var replay = await PostBatchAsync(Client, batch);

        Assert.Equal((5L, 0L), (original.Accepted, original.Duplicates));
        Assert.Equal((0L, 5L), (replay.Accepted, replay.Duplicates));
        Assert.Empty(replay.Rejected);
        Assert.Equal(2, (await HistoryAsync(Client, a)).Length);
        Assert.Equal(3, (await HistoryAsync(Client, b)).Length);
    }

    /// <summary>
    /// PostgreSQL copies a batch and, when the copy meets a stored sample, applies the batch again with
    /// the insert that skips it: the new samples of such a batch must still be stored, once, and the
    /// latest usage must be the newest new one.
    /// </summary>
    [SkippableFact]
    public async Task Batch_StoresTheNewSamplesAndCountsTheStoredOne_WhenAReplayIsMixedWithNewSamples()
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddMinutes(-3);
        await PostBatchAsync(Client, Batch(Sample(at, 1, 1, jobId: id)));

        var mixed = await PostBatchAsync(
            Client, Batch(Sample(at.AddSeconds(-10), 2, 2, jobId: id), Sample(at, 9, 9, jobId: id), Sample(at.AddSeconds(10), 3, 3, jobId: id)));

        Assert.Equal((2L, 1L), (mixed.Accepted, mixed.Duplicates));
        Assert.Empty(mixed.Rejected);
        var history = await HistoryAsync(Client, id);
        Assert.Equal([2.0, 1.0, 3.0], history.Select(s => s.GetProperty("cpu_usage").GetDouble()));
        var job = await GetJobAsync(Client, id);
        Assert.Equal(3, job.GetProperty("cpu_usage").GetDouble());
    }

    [SkippableFact]
    public async Task RecordSample_StoresBoth_WhenTwoNodesReportTheSameTimestamp()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-1);

        await PostSampleAsync(Client, id, Sample(at, 10, 100, node: "a"));
        var onB = await PostSampleAsync(Client, id, Sample(at, 20, 200, node: "b"));

        Assert.Equal(20, onB.GetProperty("cpu_usage").GetDouble());
        Assert.Equal("b", onB.GetProperty("node").GetString());
        var history = await HistoryAsync(Client, id);
        Assert.Equal(["a", "b"], history.Select(s => s.GetProperty("node").GetString()).Order());
    }

    [SkippableFact]
    public async Task RecordSample_StoresBoth_WhenANodeSampleAndAWholeJobSampleShareTheTimestamp()
    {
        var id = await CreateJobAsync(Client, ["a", "b"]);
        var at = Now().AddMinutes(-1);

        await PostSampleAsync(Client, id, Sample(at, 10, 100));
        var onA = await PostSampleAsync(Client, id, Sample(at, 20, 200, node: "a"));

        Assert.Equal(20, onA.GetProperty("cpu_usage").GetDouble());
        var history = await HistoryAsync(Client, id);
        Assert.Equal(2, history.Length);
        Assert.Equal([10.0, 20.0], history.Select(s => s.GetProperty("cpu_usage").GetDouble()).Order());
    }

    [SkippableFact]
    public async Task LatestUsage_IsNotChangedByDuplicates_OnEitherRoute()
    {
        var id = await CreateJobAsync(Client);
        var at = Now().AddMinutes(-1);
        await PostSampleAsync(Client, id, Sample(at.AddSeconds(-10), 5, 50));
        await PostSampleAsync(Client, id, Sample(at, 10, 100, gpu: 40));

        await PostSampleAsync(Client, id, Sample(at, 77, 777, gpu: 90));
        var (accepted, duplicates, _) = await PostBatchAsync(Client, Batch(Sample(at, 88, 888, gpu: 95, jobId: id)));

        Assert.Equal((0L, 1L), (accepted, duplicates));
        var job = await GetJobAsync(Client, id);
        Assert.Equal(10, job.GetProperty("cpu_usage").GetDouble());
        Assert.Equal(100, job.GetProperty("memory_usage_mb").GetInt64());
        Assert.Equal(40, job.GetProperty("gpu_usage").GetDouble());
        Assert.Equal(2, (await HistoryAsync(Client, id)).Length);
    }
}

public sealed class SqliteSampleIdentityTests(ServiceFixture<SqliteBackend> service) : SampleIdentityTests<SqliteBackend>(service);

public sealed class PostgresSampleIdentityTests(ServiceFixture<PostgresBackend> service) : SampleIdentityTests<PostgresBackend>(service);
