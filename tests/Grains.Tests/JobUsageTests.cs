namespace HpcJobs.Grains.Tests;

/// <summary>
/// The two sides of a job's usage: the writer stages and commits samples (no fold on its loop), the
/// grain folds what was committed, judges the flags and prepares the row's footprint, which the
/// writer takes with the job's next transaction.
/// </summary>
public sealed class JobUsageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static JobUsage Running(FixedTime? time = null) =>
        new("j", TimeSpan.FromSeconds(90), new EfficiencyOptions(), time ?? new FixedTime(T0.AddHours(1)))
        {
            Facts = new JobFacts(T0, null, JobState.Running, new JobAllocation(4, 8000, 2), 1, null),
        };

    private static UsageSample Sample(double minutes, double cpu, double gpu, string? node = null, long memory = 1000) =>
        new(T0.AddMinutes(minutes), cpu, memory, gpu) { Node = node };

    /// <summary>One transaction of the writer: stages, takes the row's footprint as the updater does, commits.</summary>
    private static (string Footprint, string? Flags, long RowVersion)? Commit(JobUsage usage, params UsageSample[] samples)
    {
        foreach (var sample in samples)
        {
            usage.Stage(sample);
        }

        var row = usage.TakeRowFootprint();
        usage.Commit();
        return row;
    }

    private static Footprint OneByOne(IEnumerable<UsageSample> samples)
    {
        var footprint = Footprint.Empty(1);
        foreach (var sample in samples)
        {
            footprint = footprint.With(sample, TimeSpan.FromSeconds(90), new EfficiencyOptions().IdleGpuPercent);
        }

        return footprint;
    }

    [Fact]
    public void CommittedSamples_AreFoldedWhenTheGrainReads_AsOneWithPerSample_OverSeveralCommits()
    {
        var usage = Running();
        var random = new Random(7);
        var all = new List<UsageSample>();
        for (var commit = 0; commit < 20; commit++)
        {
            var samples = Enumerable.Range(0, random.Next(1, 6))
                .Select(i => Sample(commit * 3 + (i * 0.5) - random.Next(0, 2), random.Next(0, 100), random.Next(0, 100), random.Next(2) == 0 ? "n1" : "n2"))
                .ToArray();
            Commit(usage, samples);
            all.AddRange(samples);
            if (commit % 3 == 0)
            {
                // The grain reads after some commits only: the others pile up for it, in commit order.
                _ = usage.Footprint;
            }
        }

        var expected = OneByOne(all).WithMemory(2000); // the peak of n1 and n2 at 1,000 MB each
        Assert.Equal(expected.SampleCount, usage.Footprint.SampleCount);
        Assert.Equal(
            expected.Summarize(usage.Facts.Allocation, 1, T0, T0.AddHours(1), TimeSpan.FromSeconds(90), 5),
            usage.Footprint.Summarize(usage.Facts.Allocation, 1, T0, T0.AddHours(1), TimeSpan.FromSeconds(90), 5));
    }

    [Fact]
    public void JudgeCommitted_JudgesEachFoldedFootprintOnce_AViewsFoldIncluded()
    {
        var usage = Running();
        Commit(usage, Sample(10, 2, 1));

        Assert.True(usage.JudgeCommitted(out var first, out var flags));
        Assert.Contains(JobFlags.IdleGpu, flags);
        Assert.False(usage.JudgeCommitted(out var again, out _)); // another append of the same commit
        Assert.Same(first, again);

        Commit(usage, Sample(10.5, 2, 1));
        _ = usage.CommittedVerdict(); // a view folds the commit first: still unjudged
        Assert.True(usage.JudgeCommitted(out var second, out _));
        Assert.Equal(2, second.SampleCount);

        usage.StartAttempt(2);
        Assert.True(usage.JudgeCommitted(out var empty, out _));
        Assert.Equal(0, empty.SampleCount);
    }

    [Fact]
    public void JudgeCommitted_CountsTheWritersCommits_NotNewFootprints()
    {
        // A commit that changes no footprint (here a row write of no sample) is still a commit the
        // observers hear of: the measurement build without a summary (bench/summary-off.patch) keeps
        // no footprint at all, and its exporter must be told every commit as the service's is.
        var usage = Running();
        Commit(usage, Sample(10, 2, 1));
        Assert.True(usage.JudgeCommitted(out var first, out _));

        Assert.True(usage.Touch());
        usage.Commit();

        Assert.True(usage.JudgeCommitted(out var second, out _));
        Assert.Same(first, second);
        Assert.False(usage.JudgeCommitted(out _, out _));
    }

    [Fact]
    public void PeakMemory_IsTheCombinedLatestOfTheNodes()
    {
        var usage = Running();
        Commit(usage, Sample(10, 5, 5, "n1", memory: 1000), Sample(10, 5, 5, "n2", memory: 1500));
        Commit(usage, Sample(10.5, 5, 5, "n1", memory: 200));

        Assert.Equal(2500, usage.Footprint.MaxMemoryMb);
    }

    [Fact]
    public void ADiscardedStage_LeavesTheLatestAndTheFootprint_AsCommitted()
    {
        var usage = Running();
        Commit(usage, Sample(10, 50, 50));
        usage.Stage(Sample(11, 2, 1));
        usage.Discard();

        Assert.Equal(1, usage.CommittedVerdict().Summary.SampleCount);
        Assert.Equal(50, usage.Latest!.CpuUsage);
        Assert.False(usage.IsStaged);
    }

    [Fact]
    public void TheRowFootprint_IsPreparedByTheGrain_AndTakenOnce_ByTheWriter()
    {
        var usage = Running();
        Assert.Null(Commit(usage, Sample(10, 2, 1)));

        var footprint = usage.Footprint;
        var flags = usage.FlagsOf(footprint);
        Assert.Contains(JobFlags.IdleGpu, flags);
        Assert.True(usage.PrepareRow(footprint, flags, 1)); // the first: the flags changed from none prepared

        var row = Commit(usage, Sample(11, 2, 1));
        Assert.NotNull(row);
        Assert.Equal(Storage.StorageJson.FootprintJson(footprint), row.Value.Footprint);
        Assert.Equal(Storage.StorageJson.Flags(flags), row.Value.Flags);
        Assert.Null(Commit(usage, Sample(12, 2, 1)));
    }

    [Fact]
    public void TheRowFootprint_IsDueAgain_WhenTheFlagsChange_OrAfterTheInterval()
    {
        var time = new FixedTime(T0.AddHours(1));
        var usage = Running(time);
        Commit(usage, Sample(10, 2, 1));
        Assert.True(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        Commit(usage, Sample(10.5, 2, 1));

        // Same flags, within the interval: nothing due.
        Assert.False(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        Assert.Null(usage.TakeRowFootprint());
        usage.Discard();

        // Same flags, the interval passed: due, but not urgent.
        time.Now += JobUsage.FootprintWriteInterval;
        Assert.False(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        Assert.NotNull(usage.TakeRowFootprint());
        usage.Commit();

        // The GPUs busy from here on: the flags change at once, urgent.
        Commit(usage, Enumerable.Range(0, 200).Select(i => Sample(11 + (i * 0.5), 90, 90)).ToArray());
        var flags = usage.FlagsOf(usage.Footprint);
        Assert.DoesNotContain(JobFlags.IdleGpu, flags);
        Assert.True(usage.PrepareRow(usage.Footprint, flags, 1));
        Assert.Equal(Storage.StorageJson.Flags(flags), usage.TakeRowFootprint()!.Value.Flags);
    }

    [Fact]
    public void ARowFootprint_TakenByADiscardedTransaction_IsPutBack_UnlessANewerOneWasPrepared()
    {
        var usage = Running();
        Commit(usage, Sample(10, 2, 1));
        usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1);

        usage.Stage(Sample(11, 2, 1));
        var taken = usage.TakeRowFootprint();
        usage.Discard();
        Assert.Equal(taken, usage.TakeRowFootprint());
        usage.Discard();


        // The grain prepares a newer one while the writer holds the old one: the newer one stays due.
        usage.Stage(Sample(11, 2, 1));
        var old = usage.TakeRowFootprint();
        usage.Facts = usage.Facts with { Allocation = new JobAllocation(4, 8000, 0) };
        Assert.True(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        usage.Discard();
        var newer = usage.TakeRowFootprint();
        Assert.NotEqual(old!.Value.Flags, newer!.Value.Flags);
    }

    [Fact]
    public void ALifecycleWrite_WithdrawsThePreparedFootprint_AndTheNextIsDue_AnIntervalLater()
    {
        var time = new FixedTime(T0.AddHours(1));
        var usage = Running(time);
        Commit(usage, Sample(10, 2, 1));
        var flags = usage.FlagsOf(usage.Footprint);
        usage.PrepareRow(usage.Footprint, flags, 1);

        usage.LifecycleWriting();
        usage.LifecycleWritten(flags);

        Assert.Null(usage.TakeRowFootprint());
        usage.Discard();
        Commit(usage, Sample(10.5, 2, 1));
        Assert.False(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1)); // the row holds these flags: not urgent
        Assert.Null(usage.TakeRowFootprint()); // and the row was written just now
        usage.Discard();

        time.Now += JobUsage.FootprintWriteInterval;
        Assert.False(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        Assert.NotNull(usage.TakeRowFootprint());
    }

    [Fact]
    public void AFootprintPreparedBeforeALifecycleWrite_IsNeitherTakenNorPutBack_AndOneFromDuringItStays()
    {
        var usage = Running();
        Commit(usage, Sample(10, 2, 1));
        usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1);

        // The writer holds it in an open transaction when the lifecycle write is queued.
        usage.Stage(Sample(10.5, 2, 1));
        Assert.NotNull(usage.TakeRowFootprint());
        usage.LifecycleWriting();
        usage.Discard();
        Assert.Null(usage.TakeRowFootprint()); // not put back: judged against the old lifecycle
        usage.Discard();

        // Prepared while the lifecycle write is under way: newer than what it stores, so it stays due.
        usage.LifecycleWriting();
        Commit(usage, Sample(11, 2, 1));
        usage.Facts = usage.Facts with { Allocation = new JobAllocation(4, 8000, 0) };
        Assert.True(usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1));
        usage.LifecycleWritten([]);
        Assert.NotNull(usage.TakeRowFootprint());
    }

    [Fact]
    public void ANewAttempt_LetsGoOfTheOldAttemptsUnfoldedSamples_AndItsPreparedFootprint()
    {
        var usage = Running();
        Commit(usage, Sample(10, 2, 1, memory: 7000));
        usage.PrepareRow(usage.Footprint, usage.FlagsOf(usage.Footprint), 1);
        Commit(usage, Sample(10.5, 2, 1, memory: 7000));

        usage.StartAttempt(2);

        Assert.Equal(Footprint.Empty(2), usage.Footprint);
        Assert.Null(usage.TakeRowFootprint());
        usage.Discard();
        Commit(usage, Sample(20, 2, 1, memory: 300));
        Assert.Equal(300, usage.Footprint.MaxMemoryMb);
        Assert.Equal(1, usage.Footprint.SampleCount);
    }

    [Fact]
    public void Touch_StagesTheRowWithoutASample_OnlyForAJobWithALatestUsage()
    {
        var usage = Running();
        Assert.False(usage.Touch());

        Commit(usage, Sample(10, 2, 1));
        Assert.True(usage.Touch());
        Assert.True(usage.IsStaged);
        Assert.Same(usage.Latest, usage.StagedLatest);
        Assert.False(usage.Touch()); // staged already: the stage lists it once
        usage.Commit();

        Assert.False(usage.IsStaged);
        Assert.Equal(1, usage.Footprint.SampleCount);
    }

    [Fact]
    public async Task TheWritersCommits_AndTheGrainsFolds_OnTwoThreads_LoseNoSample()
    {
        var usage = Running();
        const int commits = 20_000;
        using var done = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < commits; i++)
            {
                Commit(usage, Sample(i * 0.01, 10, 10, "n" + (i % 3)));
            }
        });
        long reads = 0;
        var grain = Task.Run(() =>
        {
            while (!writer.IsCompleted)
            {
                _ = usage.Footprint;
                reads++;
            }
        });

        await Task.WhenAll(writer, grain);

        Assert.Equal(commits, usage.Footprint.SampleCount);
        Assert.True(reads > 0);
    }

    [Fact]
    public void TheFlagsOfTheFigures_AreTheSummarysFlags()
    {
        // The grain judges the flags on FlagFigures, without a summary: the same flags as the summary's.
        var usage = Running();
        for (var i = 0; i < 30; i++)
        {
            Commit(usage, Sample(10 + i, i % 3, i % 2 == 0 ? 1 : 3));
        }

        Assert.Equal(usage.CommittedVerdict().Flags, usage.FlagsOf(usage.Footprint));
        Assert.NotEmpty(usage.CommittedVerdict().Flags);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
