using HpcJobs.Grains.Nodes;
using Orleans.TestingHost;

namespace HpcJobs.Grains.Tests;

/// <summary>The reconciler's way into a job: only the running attempt it judged is ended, and as failed/LOST.</summary>
[Collection(ClusterCollection.Name)]
public sealed class JobGrainEndLostTests(ClusterFixture fixture)
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 10, 0, 0, TimeSpan.Zero);

    private TestCluster Cluster => fixture.Cluster;

    private async Task<IJobGrain> RunningJobAsync(JobState state = JobState.Running, string? scheduler = null)
    {
        var job = Cluster.GrainFactory.GetGrain<IJobGrain>("lost-" + Guid.NewGuid().ToString("N"));
        await job.CreateAsync(new CreateJob("alice", ["n1"], state, Start, scheduler));
        return job;
    }

    [Fact]
    public async Task EndLost_EndsARunningJobFailed_WithRawStateLost_KeepingTheOtherSchedulerFields()
    {
        var job = await RunningJobAsync(scheduler: """{"type":"slurm","raw_state":"RUNNING","partition":"gpu"}""");

        var outcome = await job.EndLostAsync(Start, ReconcilerGrain.Source);

        Assert.Equal(OutcomeKind.Ok, outcome.Kind);
        Assert.Equal(JobState.Failed, outcome.Job!.State);
        Assert.NotNull(outcome.Job.EndTime);
        Assert.Equal("""{"type":"slurm","raw_state":"LOST","partition":"gpu"}""", outcome.Job.SchedulerJson);
        Assert.Equal(JobState.Failed, (await job.GetAsync()).Job!.State);
    }

    [Fact]
    public async Task EndLost_AddsASchedulerObject_WhenTheJobHadNone()
    {
        var job = await RunningJobAsync();

        var outcome = await job.EndLostAsync(Start, ReconcilerGrain.Source);

        Assert.Equal("""{"raw_state":"LOST"}""", outcome.Job!.SchedulerJson);
    }

    [Fact]
    public async Task EndLost_ChangesNothing_WhenTheJobIsNotTheRunningAttemptThatWasJudged()
    {
        var pending = await RunningJobAsync(JobState.Pending);
        var completed = await RunningJobAsync();
        await completed.UpdateAsync(new UpdateJob(JobState.Completed, null, null, null));
        var restarted = await RunningJobAsync();

        Assert.Equal(OutcomeKind.Conflict, (await pending.EndLostAsync(Start, ReconcilerGrain.Source)).Kind);
        Assert.Equal(OutcomeKind.Conflict, (await completed.EndLostAsync(Start, ReconcilerGrain.Source)).Kind);
        Assert.Equal(OutcomeKind.Conflict, (await restarted.EndLostAsync(Start.AddMinutes(-5), ReconcilerGrain.Source)).Kind);
        Assert.Equal(JobState.Pending, (await pending.GetAsync()).Job!.State);
        Assert.Equal(JobState.Completed, (await completed.GetAsync()).Job!.State);
        Assert.Equal(JobState.Running, (await restarted.GetAsync()).Job!.State);
        Assert.Equal(OutcomeKind.NotFound, (await Cluster.GrainFactory.GetGrain<IJobGrain>("lost-none").EndLostAsync(Start, ReconcilerGrain.Source)).Kind);
    }
}
