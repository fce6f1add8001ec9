using HpcJobs.Grains.Storage;
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
        await log.AppendAsync(id, old, new JobUsage(id, TimeSpan.FromMinutes(1)));

        var deleted = await fixture.Cluster.GrainFactory.GetGrain<IRetentionGrain>(0).RunOnceAsync();

        var left = await log.ReadRecentAsync(job.GetPrimaryKeyString(), 100);
        Assert.True(deleted >= 3);
        Assert.Equal([6.9, 1, 0], left.Select(s => s.CpuUsage));
    }
}
