using Microsoft.Extensions.Logging.Abstractions;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

/// <summary>
/// The silo's one stale-job sweep (StaleJobSweeper) that replaced a grain timer per active job: which
/// jobs it watches and finds due. The deactivation itself, on a fake clock through the service, is
/// StaleJobTests in Api.Tests.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class StaleJobSweeperTests(ClusterFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private TestCluster Cluster => fixture.Cluster;

    private StaleJobSweeper Sweeper => fixture.SiloService<StaleJobSweeper>();

    private static StaleWatch Watch(string id, DateTimeOffset last, TimeSpan limit) => new(id) { LastActivity = last, Limit = limit };

    [Fact]
    public void Due_ListsTheWatchesAtOrPastTheirLimit_NotTheOthers_NorForgottenOnes()
    {
        var sweeper = new StaleJobSweeper(null!, TimeProvider.System, NullLogger<StaleJobSweeper>.Instance);
        var atLimit = Watch("at-limit", T0, TimeSpan.FromHours(2));
        var justBefore = Watch("just-before", T0.AddTicks(1), TimeSpan.FromHours(2));
        var forgotten = Watch("forgotten", T0, TimeSpan.FromHours(1));
        sweeper.Watch(atLimit);
        sweeper.Watch(justBefore);
        sweeper.Watch(forgotten);
        sweeper.Watch(atLimit);
        sweeper.Forget(forgotten);

        Assert.Equal(2, sweeper.Count);
        Assert.Equal(["at-limit"], sweeper.Due(T0.AddHours(2)).Select(w => w.JobId));
        Assert.Equal(["at-limit", "just-before"], sweeper.Due(T0.AddHours(3)).Select(w => w.JobId).Order());
    }

    [Fact]
    public void Watch_ActivityMovesTheLimit()
    {
        var watch = Watch("j", T0, TimeSpan.FromHours(2));

        watch.LastActivity = T0.AddHours(1);

        Assert.False(watch.IsStale(T0.AddHours(2)));
        Assert.True(watch.IsStale(T0.AddHours(3)));
        Assert.Equal(T0.AddHours(1), watch.LastActivity);
    }

    [Fact]
    public async Task ActiveJob_IsWatchedWithItsLimit_FromActivityOn_UntilItEnds()
    {
        var id = "sweep-" + Guid.NewGuid().ToString("N");
        var job = Cluster.GrainFactory.GetGrain<IJobGrain>(id);
        var before = DateTimeOffset.UtcNow;
        await job.CreateAsync(new CreateJob("alice", ["n1"], JobState.Running, null, """{"time_limit_minutes":60}"""));

        // Twice the time limit after the create, and not before.
        Assert.DoesNotContain(id, Sweeper.Due(before.AddHours(2).AddMinutes(-1)).Select(w => w.JobId));
        var watch = Assert.Single(Sweeper.Due(DateTimeOffset.UtcNow.AddHours(2)), w => w.JobId == id);
        Assert.Equal(TimeSpan.FromHours(2), watch.Limit);

        // Asked while it is not stale by the real clock, it stays.
        await job.DeactivateIfStaleAsync();
        Assert.Contains(id, Sweeper.Due(DateTimeOffset.UtcNow.AddHours(2)).Select(w => w.JobId));

        await job.UpdateAsync(new UpdateJob(JobState.Completed, null, null, null));
        Assert.DoesNotContain(id, Sweeper.Due(DateTimeOffset.UtcNow.AddDays(30)).Select(w => w.JobId));
    }
}
