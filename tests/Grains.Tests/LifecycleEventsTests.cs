using System.Text.Json;

namespace HpcJobs.Grains.Tests;

/// <summary>The contract's event rules (LifecycleEvents and JobFinished.EndState), without a silo.</summary>
public sealed class LifecycleEventsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly WriteContext Prolog = new("slurm-prolog", "prolog", "c1-42-0", null);

    private static JobStarted Started(int restarts = 0, DateTimeOffset? at = null, string user = "alice", string[]? nodes = null,
        JobAllocation? allocation = null, string? partition = "gpu", string? account = "phys") =>
        new(user, nodes ?? ["gpu01", "gpu02"], at ?? T0, allocation ?? new JobAllocation(8, 16_000, 2, "nvidia", ["0", "1"], "/slurm/job_42"),
            "c1", partition, account, "normal", 120, restarts);

    private static JobRecord Create(JobStarted started) =>
        LifecycleEvents.Started("42", null, started, Prolog, T0).Next!;

    private static JobRecord Stored(LifecycleEvents.Decision decision)
    {
        var next = decision.Next!;
        next.PendingAudit = null;
        return next;
    }

    [Theory]
    [InlineData(null, null, null, null, JobState.Failed)]
    [InlineData(null, 0, null, null, JobState.Completed)]
    [InlineData(null, 0, null, "COMPLETED", JobState.Completed)]
    [InlineData(null, 1, null, "FAILED", JobState.Failed)]
    [InlineData(null, 0, null, "TIMEOUT", JobState.Failed)]
    [InlineData(null, 0, null, "OUT_OF_MEMORY", JobState.Failed)]
    [InlineData(null, 137, 9, null, JobState.Cancelled)]
    [InlineData(null, 143, 15, null, JobState.Cancelled)]
    [InlineData(null, 0, null, "CANCELLED", JobState.Cancelled)]
    [InlineData(null, 0, null, "CANCELLED by 1000", JobState.Cancelled)]
    [InlineData(null, 1, 6, "FAILED", JobState.Failed)]
    [InlineData(JobState.Completed, 1, 9, "CANCELLED", JobState.Completed)]
    [InlineData(JobState.Cancelled, 0, null, null, JobState.Cancelled)]
    public void EndState_FollowsFinalStateThenSignalThenExitCode(JobState? final, int? exitCode, int? signal, string? rawState, JobState expected) =>
        Assert.Equal(expected, new JobFinished(T0, final, exitCode, signal, rawState, null).EndState());

    [Fact]
    public void Started_UnknownJob_IsCreatedRunningAtTheEventTime_WithAllocationAndAudit()
    {
        var decision = LifecycleEvents.Started("42", null, Started(), Prolog, T0.AddSeconds(3));

        Assert.Equal(EventStatus.Created, decision.Status);
        var job = decision.Next!;
        Assert.Equal(JobState.Running, job.State);
        Assert.Equal(T0, job.StartTime);
        Assert.Equal(1, job.Attempt);
        Assert.Equal(["gpu01", "gpu02"], job.Nodes);
        Assert.Equal(8, job.Allocation.Cpus);
        Assert.Equal(["0", "1"], job.Allocation.GpuDevices);
        Assert.Equal("c1", job.Cluster);
        using var scheduler = JsonDocument.Parse(job.SchedulerJson!);
        Assert.Equal("gpu", scheduler.RootElement.GetProperty("partition").GetString());
        Assert.Equal("phys", scheduler.RootElement.GetProperty("account").GetString());
        Assert.Equal(120, scheduler.RootElement.GetProperty("time_limit_minutes").GetInt32());
        var audit = job.PendingAudit!;
        Assert.Equal((AuditChanges.Created, (JobState?)null, (JobState?)JobState.Running), (audit.Change, audit.FromState, audit.ToState));
        Assert.Equal(("slurm-prolog", "prolog", "c1-42-0"), (audit.ChangedBy, audit.Source, audit.CorrelationId));
        Assert.Equal(T0.AddSeconds(3), audit.At);
    }

    [Fact]
    public void Started_Replay_IsSkipped_EvenWhenTheStoredSchedulerTextIsFormattedDifferently()
    {
        var job = Stored(LifecycleEvents.Started("42", null, Started(), Prolog, T0));

        // PostgreSQL's jsonb gives the object back with its own spacing and key order.
        job.SchedulerJson = """{"qos": "normal", "account": "phys", "partition": "gpu", "time_limit_minutes": 120}""";
        var replay = LifecycleEvents.Started("42", job, Started(at: T0.AddSeconds(5)), Prolog, T0);

        Assert.Equal(EventStatus.Skipped, replay.Status);
        Assert.Null(replay.Next);
    }

    [Fact]
    public void Started_KnownRunningJob_WithDifferentFields_IsUpdated_NamingThem_AndKeepsOmittedOnes()
    {
        var job = Stored(LifecycleEvents.Started("42", null, Started(), Prolog, T0));
        var moreMemory = Started(nodes: ["gpu01", "gpu02", "gpu03"], allocation: new JobAllocation(MemoryMb: 32_000), partition: null, account: null);

        var decision = LifecycleEvents.Started("42", job, moreMemory, Prolog, T0);

        Assert.Equal(EventStatus.Updated, decision.Status);
        var next = decision.Next!;
        Assert.Equal(32_000, next.Allocation.MemoryMb);
        Assert.Equal(8, next.Allocation.Cpus);
        Assert.Equal(3, next.Nodes.Count);
        Assert.Equal("phys", SchedulerJson.Text(next.SchedulerJson, "account"));
        Assert.Equal(T0, next.StartTime);
        using var details = JsonDocument.Parse(next.PendingAudit!.DetailsJson!);
        Assert.Equal(["nodes", "allocation"], details.RootElement.GetProperty("fields").EnumerateArray().Select(f => f.GetString()));
        Assert.Equal(AuditChanges.Updated, next.PendingAudit.Change);
    }

    [Fact]
    public void Started_PendingJob_StartsRunningAtTheEventTime()
    {
        var pending = new JobRecord { User = "alice", Nodes = ["gpu01", "gpu02"], State = JobState.Pending, StartTime = T0.AddHours(-1) };

        var decision = LifecycleEvents.Started("42", pending, Started(), Prolog, T0);

        Assert.Equal(EventStatus.Updated, decision.Status);
        Assert.Equal((JobState.Running, T0), (decision.Next!.State, decision.Next.StartTime));
        Assert.Equal((JobState?)JobState.Pending, decision.Next.PendingAudit!.FromState);
    }

    [Fact]
    public void Started_TerminalJob_SameAttempt_IsSkipped()
    {
        var job = Stored(LifecycleEvents.Finished("42", Create(Started()), new JobFinished(T0.AddMinutes(10), null, 0, null, null, 0), Prolog, T0));

        Assert.Equal(EventStatus.Skipped, LifecycleEvents.Started("42", job, Started(), Prolog, T0).Status);
    }

    [Fact]
    public void Started_TerminalJob_LaterRestartCount_StartsTheNextAttempt_KeepingTheFinishedOne()
    {
        var first = Create(Started());
        first.PendingAudit = null;
        var ended = Stored(LifecycleEvents.Finished("42", first, new JobFinished(T0.AddMinutes(10), null, 1, null, "NODE_FAIL", 0), Prolog, T0));

        var decision = LifecycleEvents.Started("42", ended, Started(restarts: 1, at: T0.AddMinutes(12)), Prolog, T0);

        Assert.Equal(EventStatus.Updated, decision.Status);
        var next = decision.Next!;
        Assert.Equal((2, JobState.Running, T0.AddMinutes(12), (DateTimeOffset?)null), (next.Attempt, next.State, next.StartTime, next.EndTime));
        Assert.Equal([new JobAttempt(1, T0, T0.AddMinutes(10), JobState.Failed, 1)], next.Attempts);
        Assert.Null(SchedulerJson.Text(next.SchedulerJson, "raw_state"));
        Assert.Null(SchedulerJson.Integer(next.SchedulerJson, "exit_code"));
        Assert.Equal(AuditChanges.Requeue, next.PendingAudit!.Change);
        Assert.Equal((JobState?)JobState.Failed, next.PendingAudit.FromState);

        // The requeue's replay, and the first attempt's late prolog, change nothing.
        var requeued = Stored(decision);
        Assert.Equal(EventStatus.Skipped, LifecycleEvents.Started("42", requeued, Started(restarts: 1, at: T0.AddMinutes(12)), Prolog, T0).Status);
        Assert.Equal(EventStatus.Skipped, LifecycleEvents.Started("42", requeued, Started(restarts: 0), Prolog, T0).Status);
    }

    [Fact]
    public void Started_RunningJob_LaterRestartCount_KeepsTheUnfinishedAttemptAsFailed()
    {
        var running = Create(Started());
        running.PendingAudit = null;

        var decision = LifecycleEvents.Started("42", running, Started(restarts: 2, at: T0.AddMinutes(5)), Prolog, T0);

        Assert.Equal(3, decision.Next!.Attempt);
        Assert.Equal([new JobAttempt(1, T0, T0.AddMinutes(5), JobState.Failed, null)], decision.Next.Attempts);
    }

    [Fact]
    public void Finished_RunningJob_EndsIt_NeverBeforeItsStart_AndKeepsTheSchedulerWords()
    {
        var job = Create(Started());
        job.PendingAudit = null;

        var decision = LifecycleEvents.Finished("42", job, new JobFinished(T0.AddMinutes(-5), null, 0, 9, "CANCELLED", null), Prolog, T0);

        Assert.Equal(EventStatus.Updated, decision.Status);
        var next = decision.Next!;
        Assert.Equal((JobState.Cancelled, (DateTimeOffset?)T0), (next.State, next.EndTime));
        Assert.Equal("CANCELLED", SchedulerJson.Text(next.SchedulerJson, "raw_state"));
        Assert.Equal(9, SchedulerJson.Integer(next.SchedulerJson, "signal"));
        Assert.Equal("phys", SchedulerJson.Text(next.SchedulerJson, "account"));
        Assert.Equal((AuditChanges.Transition, (JobState?)JobState.Running, (JobState?)JobState.Cancelled),
            (next.PendingAudit!.Change, next.PendingAudit.FromState, next.PendingAudit.ToState));
    }

    [Theory]
    [InlineData(0, EventStatus.Skipped)]
    [InlineData(2, EventStatus.Conflict)]
    public void Finished_ForAnotherAttempt_IsSkippedWhenOld_AndAConflictWhenNotStarted(int restarts, EventStatus expected)
    {
        var job = Create(Started(restarts: 1));
        job.PendingAudit = null;

        var decision = LifecycleEvents.Finished("42", job, new JobFinished(T0.AddMinutes(1), null, 0, null, null, restarts), Prolog, T0);

        Assert.Equal(expected, decision.Status);
        Assert.Null(decision.Next);
    }

    [Fact]
    public void Finished_TerminalJob_IsSkipped()
    {
        var job = Stored(LifecycleEvents.Finished("42", Create(Started()), new JobFinished(T0.AddMinutes(1), null, 0, null, null, null), Prolog, T0));

        var replay = LifecycleEvents.Finished("42", job, new JobFinished(T0.AddMinutes(2), null, 1, null, null, null), Prolog, T0);

        Assert.Equal(EventStatus.Skipped, replay.Status);
    }
}
