using HpcJobs.Grains.Storage;
using Orleans.Storage;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RetentionGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task RunOnce_DeletesOnlySamplesOlderThanRetention()
    {
        var id = "r-" + Guid.NewGuid().ToString("N");
        var job = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>(id);
        var now = DateTimeOffset.UtcNow;
        await job.CreateAsync(new CreateJob("alice", ["n1"], JobState.Running, now.AddDays(-31), null));

        // Written to the log directly: the API refuses samples already beyond retention.
        var log = fixture.SiloService<ISampleLog>();
        var old = new[] { 30, 8, 7.01, 6.9, 1, 0 }.Select(daysAgo => new UsageSample(MicrosecondTime.Truncate(now.AddDays(-daysAgo)), daysAgo, 1, null)).ToList();
        await log.AppendAsync(id, old, new JobUsage(id, TimeSpan.FromMinutes(1)) { JobKey = await StoredKeyAsync(id) });

        var deleted = await fixture.Cluster.GrainFactory.GetGrain<IRetentionGrain>(0).RunOnceAsync();

        var left = await log.ReadRecentAsync(job.GetPrimaryKeyString(), 100);
        Assert.True(deleted >= 3);
        Assert.Equal([6.9, 1, 0], left.Select(s => s.CpuUsage));
    }

    /// <summary>The job row's key, read as the grain's activation reads it (the grain hands it to the log).</summary>
    private async Task<long> StoredKeyAsync(string id)
    {
        var storage = fixture.SiloServiceKeyed<IGrainStorage>(StorageNames.JobState);
        var state = new GrainState<JobRecord>();
        await storage.ReadStateAsync(StorageNames.JobState, GrainId.Create("job", JobKey.ToGrainKey(id)), state);
        return state.State!.Key;
    }
}
