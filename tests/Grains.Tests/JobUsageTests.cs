namespace HpcJobs.Grains.Tests;

/// <summary>The committed verdict, and the flags the grain tells its observers after each commit (JobUsage.CommittedFlags).</summary>
public sealed class JobUsageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static JobUsage Running() =>
        new("j", TimeSpan.FromSeconds(90), new EfficiencyOptions(), new FixedTime(T0.AddHours(1)))
        {
            Facts = new JobFacts(T0, null, JobState.Running, new JobAllocation(4, 8000, 2), 1, null),
        };

    private static void Commit(JobUsage usage, double minutes, double cpu, double gpu)
    {
        usage.Stage(new UsageSample(T0.AddMinutes(minutes), cpu, 1000, gpu));
        _ = usage.StagedRowFootprint();
        usage.Commit();
    }

    [Fact]
    public void CommittedVerdict_AfterACommit_IsTheWritersJudgement_OfTheCommittedFootprint()
    {
        var usage = Running();
        Commit(usage, 10, cpu: 2, gpu: 1);
        Commit(usage, 11, cpu: 2, gpu: 1);

        var (summary, flags) = usage.CommittedVerdict();
        var (expectedSummary, expectedFlags) = usage.Verdict(usage.Footprint);

        Assert.Equal(expectedSummary, summary);
        Assert.Equal(expectedFlags, flags);
        Assert.Contains(JobFlags.IdleGpu, flags);
        Assert.Same(usage.CommittedFlags(), usage.CommittedFlags());
    }

    [Fact]
    public void CommittedVerdict_AfterTheLifecycleChanged_IsJudgedAgainst_TheNewFacts()
    {
        var usage = Running();
        Commit(usage, 10, cpu: 2, gpu: 1);
        Commit(usage, 11, cpu: 2, gpu: 1);

        usage.Facts = usage.Facts with { Allocation = new JobAllocation(4, 8000, 0) };

        Assert.DoesNotContain(JobFlags.IdleGpu, usage.CommittedVerdict().Flags);
    }

    [Fact]
    public void CommittedVerdict_AfterADiscardedStage_IsTheCommittedFootprints()
    {
        var usage = Running();
        Commit(usage, 10, cpu: 50, gpu: 50);
        usage.Stage(new UsageSample(T0.AddMinutes(11), 2, 1000, 1));
        _ = usage.StagedRowFootprint();
        usage.Discard();

        Assert.Equal(usage.Verdict(usage.Footprint).Summary, usage.CommittedVerdict().Summary);
        Assert.Equal(1, usage.CommittedVerdict().Summary.SampleCount);
    }

    [Fact]
    public void TakeCommittedFlags_IsTheWritersJudgement_ThenLetsItGo()
    {
        var usage = Running();
        Commit(usage, 10, cpu: 2, gpu: 1);
        var judged = usage.CommittedFlags();

        var flags = usage.TakeCommittedFlags();

        Assert.Same(judged, flags);
        Assert.Contains(JobFlags.IdleGpu, flags);
        var again = usage.CommittedFlags();
        Assert.NotSame(judged, again);
        Assert.Equal(judged, again);
        Assert.Equal(usage.CommittedVerdict().Flags, again);
    }

    [Fact]
    public void WritersFlags_AreTheSummarysFlags()
    {
        // The writer judges the flags on FlagFigures, without a summary: the same flags as the summary's.
        var usage = Running();
        for (var i = 0; i < 30; i++)
        {
            Commit(usage, 10 + i, cpu: i % 3, gpu: i % 2 == 0 ? 1 : 3);
        }

        Assert.Equal(usage.CommittedVerdict().Flags, usage.TakeCommittedFlags());
        Assert.NotEmpty(usage.CommittedVerdict().Flags);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
