using HpcJobs.Grains.Storage;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class RetentionGrainTests(ClusterFixture fixture)
{
    [Fact]
    public async Task RunOnce_DeletesOnlySamplesOlderThanRetention()
    {
        var job = fixture.Cluster.GrainFactory.GetGrain<IJobGrain>("r-" + Guid.NewGuid().ToString("N"));
        await job.CreateAsync(new CreateJob("alice", ["n1"], JobState.Running, null, null));
        var now = DateTimeOffset.UtcNow;
        foreach (var daysAgo in new[] { 30, 8, 7.01, 6.9, 1, 0 })
        {
            await job.RecordSampleAsync(new UsageSample(MicrosecondTime.Truncate(now.AddDays(-daysAgo)), daysAgo, 1, null));
        }

        var deleted = await fixture.Cluster.GrainFactory.GetGrain<IRetentionGrain>(0).RunOnceAsync();

        var log = fixture.SiloService<ISampleLog>();
        var left = await log.ReadRecentAsync(job.GetPrimaryKeyString(), 100);
        Assert.True(deleted >= 3);
        Assert.Equal([6.9, 1, 0], left.Select(s => s.CpuUsage));
    }
}
