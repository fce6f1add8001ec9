using HpcJobs.Grains.Storage;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

[Collection(ClusterCollection.Name)]
public sealed class JobGrainTests(ClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static CreateJob Running(params string[] nodes) =>
        new("alice", nodes.Length == 0 ? ["n1"] : nodes, JobState.Running, null, null);

    private IJobGrain NewJob() => Cluster.GrainFactory.GetGrain<IJobGrain>("g-" + Guid.NewGuid().ToString("N"));

    private static UsageSample Sample(double cpu, long memory = 1024, double? gpu = null, DateTimeOffset? at = null) =>
        new(MicrosecondTime.Truncate(at ?? DateTimeOffset.UtcNow), cpu, memory, gpu);

    private async Task DeactivateAllAsync()
    {
        var management = Cluster.GrainFactory.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(JobState.Pending, JobState.Running)]
    [InlineData(JobState.Pending, JobState.Failed)]
    [InlineData(JobState.Pending, JobState.Cancelled)]
    [InlineData(JobState.Running, JobState.Completed)]
    [InlineData(JobState.Running, JobState.Failed)]
    [InlineData(JobState.Running, JobState.Cancelled)]
    public async Task Update_MovesState_WhenTransitionIsLegal(JobState from, JobState to)
    {
        var job = NewJob();
        await job.CreateAsync(Running() with { State = from });

        var outcome = await job.UpdateAsync(new UpdateJob(to, null, null, null));

        Assert.Equal(OutcomeKind.Ok, outcome.Kind);
        Assert.Equal(to, outcome.Job!.State);
        Assert.Equal(to.IsTerminal(), outcome.Job.EndTime is not null);
    }

    [Theory]
    [InlineData(JobState.Pending, JobState.Completed)]
    [InlineData(JobState.Running, JobState.Pending)]
    [InlineData(JobState.Completed, JobState.Running)]
    [InlineData(JobState.Failed, JobState.Cancelled)]
    [InlineData(JobState.Cancelled, JobState.Completed)]
    public async Task Update_Conflicts_WhenTransitionIsIllegal(JobState from, JobState to)
    {
        var job = NewJob();
        await job.CreateAsync(Running() with { State = from == JobState.Pending ? JobState.Pending : JobState.Running });
        if (from.IsTerminal())
        {
            await job.UpdateAsync(new UpdateJob(from, null, null, null));
        }

        var outcome = await job.UpdateAsync(new UpdateJob(to, null, null, null));

        Assert.Equal(OutcomeKind.Conflict, outcome.Kind);
        Assert.Equal(from, (await job.GetAsync()).Job!.State);
    }

    [Fact]
    public async Task Update_IsNoOp_WhenStateIsUnchanged()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        await job.UpdateAsync(new UpdateJob(JobState.Completed, null, null, null));
        var before = (await job.GetAsync()).Job!;

        var outcome = await job.UpdateAsync(new UpdateJob(JobState.Completed, null, null, null));

        Assert.Equal(OutcomeKind.Ok, outcome.Kind);
        Assert.Equal(before.EndTime, outcome.Job!.EndTime);
    }

    [Fact]
    public async Task Create_Conflicts_WhenJobExists()
    {
        var job = NewJob();
        await job.CreateAsync(Running());

        var outcome = await job.CreateAsync(Running("other"));

        Assert.Equal(OutcomeKind.Conflict, outcome.Kind);
        Assert.Equal(["n1"], (await job.GetAsync()).Job!.Nodes);
    }

    [Fact]
    public async Task RecordSample_Conflicts_WhenJobIsTerminal()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        await job.UpdateAsync(new UpdateJob(JobState.Failed, null, null, null));

        var outcome = await job.RecordSampleAsync(Sample(10));

        Assert.Equal(OutcomeKind.Conflict, outcome.Kind);
    }

    [Fact]
    public async Task Calls_ReturnNotFound_WhenJobWasNeverCreated()
    {
        var job = NewJob();

        Assert.Equal(OutcomeKind.NotFound, (await job.GetAsync()).Kind);
        Assert.Equal(OutcomeKind.NotFound, (await job.UpdateAsync(new UpdateJob(JobState.Failed, null, null, null))).Kind);
        Assert.Equal(OutcomeKind.NotFound, (await job.RecordSampleAsync(Sample(1))).Kind);
        Assert.Equal(OutcomeKind.NotFound, await job.DeleteAsync());
    }

    [Fact]
    public async Task State_Survives_Deactivation()
    {
        var job = NewJob();
        await job.CreateAsync(Running("a", "b") with { SchedulerJson = """{"type":"slurm"}""" });
        await job.RecordSampleAsync(Sample(42, 2048, 7));
        await job.UpdateAsync(new UpdateJob(JobState.Completed, null, null, null));
        var before = (await job.GetAsync()).Job!;

        await DeactivateAllAsync();
        var after = (await job.GetAsync()).Job!;

        Assert.Equal(before.State, after.State);
        Assert.Equal(before.StartTime, after.StartTime);
        Assert.Equal(before.EndTime, after.EndTime);
        Assert.Equal(["a", "b"], after.Nodes);
        Assert.Equal("""{"type":"slurm"}""", after.SchedulerJson);
        Assert.Equal(before.Latest, after.Latest);
    }

    [Fact]
    public async Task RecentSamples_KeepsNewestSixteen_AndRebuildsFromLogOnActivation()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        var start = DateTimeOffset.UtcNow.AddSeconds(-100);
        for (var i = 0; i < 20; i++)
        {
            await job.RecordSampleAsync(Sample(i, at: start.AddSeconds(i)));
        }

        var recent = await job.GetRecentSamplesAsync();
        await DeactivateAllAsync();
        var rebuilt = await job.GetRecentSamplesAsync();

        Assert.Equal(Enumerable.Range(4, 16).Select(i => (double)i), recent.Select(s => s.CpuUsage));
        Assert.Equal(recent, rebuilt);
    }

    [Fact]
    public async Task Latest_FollowsNewestTimestamp_AndKeepsLastGpu()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        var now = DateTimeOffset.UtcNow;
        await job.RecordSampleAsync(Sample(10, gpu: 55, at: now));
        await job.RecordSampleAsync(Sample(99, at: now.AddSeconds(-30)));
        await job.RecordSampleAsync(Sample(20, at: now.AddSeconds(1)));

        var latest = (await job.GetAsync()).Job!.Latest!;
        await DeactivateAllAsync();
        var reloaded = (await job.GetAsync()).Job!.Latest!;

        Assert.Equal(20, latest.CpuUsage);
        Assert.Equal(55, latest.GpuUsage);
        Assert.Equal(latest, reloaded);
    }

    [Fact]
    public async Task Delete_RemovesJobAndSamples_AndIdCanBeReused()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        await job.RecordSampleAsync(Sample(5));
        var id = job.GetPrimaryKeyString();

        Assert.Equal(OutcomeKind.Ok, await job.DeleteAsync());
        await DeactivateAllAsync();

        Assert.Equal(OutcomeKind.NotFound, (await job.GetAsync()).Kind);
        var log = fixture.SiloService<ISampleLog>();
        Assert.Empty(await log.ReadRecentAsync(id, 10));
        Assert.Equal(OutcomeKind.Created, (await job.CreateAsync(Running())).Kind);
        Assert.Null((await job.GetAsync()).Job!.Latest);
    }

    [Fact]
    public async Task ConcurrentSamples_AreEachStoredOnce()
    {
        var job = NewJob();
        await job.CreateAsync(Running());
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            job.RecordSampleAsync(Sample(i % 100, i, at: start.AddMilliseconds(i)))));

        Assert.All(outcomes, o => Assert.Equal(OutcomeKind.Created, o.Kind));
        var log = fixture.SiloService<ISampleLog>();
        var stored = await log.ReadRecentAsync(job.GetPrimaryKeyString(), 1000);
        Assert.Equal(200, stored.Count);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), stored.Select(s => s.MemoryUsageMb));
        Assert.Equal(199, (await job.GetAsync()).Job!.Latest!.MemoryUsageMb);
    }
}
