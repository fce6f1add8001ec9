namespace HpcJobs.Grains.Tests;

/// <summary>The summary's arithmetic on known sample sets (Footprint.Summarize), exactly.</summary>
public sealed class FootprintTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(90);   // 3 × the 30 s interval
    private const double Idle = 5;

    private static UsageSample At(double seconds, double cpu, long memory = 1000, double? gpu = null, string? node = null, long? peak = null, long? oom = null) =>
        new(T0.AddSeconds(seconds), cpu, memory, gpu, node, null, peak, oom);

    private static Footprint Add(IEnumerable<UsageSample> samples)
    {
        var footprint = Footprint.Empty(1);
        foreach (var sample in samples)
        {
            footprint = footprint.With(sample, Cap, Idle);
        }

        return footprint;
    }

    private static JobSummary Summarize(Footprint footprint, double untilSeconds, JobAllocation? allocation = null, int nodes = 1) =>
        footprint.Summarize(allocation ?? new JobAllocation(4, 8000, 2), nodes, T0, T0.AddSeconds(untilSeconds), Cap, Idle);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void WithAll_FoldsACommitsSamples_ExactlyAsOneWithPerSample(int seed)
    {
        // Random commits over three nodes and whole-job samples: in order, late, duplicated times,
        // gaps over the cap; each commit folded at once must equal the samples added one by one.
        var random = new Random(seed);
        var nodes = new[] { null, "n1", "n2", "n3" };
        var one = Footprint.Empty(1);
        var all = Footprint.Empty(1);
        var clock = 0.0;
        for (var commit = 0; commit < 300; commit++)
        {
            var samples = new List<UsageSample>();
            for (var i = random.Next(0, 9); i > 0; i--)
            {
                clock += random.Next(0, 4) == 0 ? random.Next(0, 300) : 30;
                var at = random.Next(0, 6) == 0 ? clock - random.Next(1, 200) : clock;
                samples.Add(At(at, cpu: random.Next(0, 101), memory: random.Next(1, 9000), gpu: random.Next(0, 3) == 0 ? null : random.Next(0, 101),
                    node: nodes[random.Next(nodes.Length)], peak: random.Next(0, 2) == 0 ? null : random.Next(1, 9000), oom: random.Next(0, 10) == 0 ? random.Next(0, 3) : null));
            }

            foreach (var sample in samples)
            {
                one = one.With(sample, Cap, Idle);
            }

            all = all.WithAll(samples, Cap, Idle);
            Assert.Equal(Storage.StorageJson.FootprintJson(one), Storage.StorageJson.FootprintJson(all));
        }

        Assert.Equal(Summarize(one, clock + 60), Summarize(all, clock + 60));
    }

    [Fact]
    public void RegularIntervals_AverageIsTheMean_AndHoursFollowTheAllocation()
    {
        var footprint = Add(Enumerable.Range(0, 10).Select(i => At(i * 30, cpu: i % 2 == 0 ? 20 : 60, gpu: 50)));

        var summary = Summarize(footprint, untilSeconds: 300);

        Assert.Equal(10, summary.SampleCount);
        Assert.Equal(40, summary.AvgCpuUsage!.Value, 9);
        Assert.Equal(60, summary.MaxCpuUsage);
        Assert.Equal(50, summary.AvgGpuUsage!.Value, 9);
        Assert.Equal(1.0, summary.Coverage, 9);
        Assert.Equal(4 * 300 / 3600.0, summary.CpuHoursAllocated!.Value, 9);
        Assert.Equal(0.40 * 4 * 300 / 3600.0, summary.CpuHoursUsed!.Value, 9);
        Assert.Equal(0.50 * 2 * 300 / 3600.0, summary.GpuHoursUsed!.Value, 9);
        Assert.Equal(0, summary.GpuIdleFraction!.Value, 9);
        Assert.Equal((T0, T0.AddSeconds(270)), (summary.FirstSampleAt!.Value, summary.LastSampleAt!.Value));
    }

    [Fact]
    public void IrregularIntervals_AreTimeWeighted()
    {
        // 10 % for 60 s, 100 % for 20 s, 40 % for the last 30 s (until the end).
        var footprint = Add([At(0, 10), At(60, 100), At(80, 40)]);

        var summary = Summarize(footprint, untilSeconds: 110);

        Assert.Equal((10 * 60 + 100 * 20 + 40 * 30) / 110.0, summary.AvgCpuUsage!.Value, 9);
        Assert.Equal(1.0, summary.Coverage, 9);
    }

    [Fact]
    public void GapLongerThanThreeIntervals_CountsOnlyThreeIntervals_AndLowersCoverage()
    {
        var footprint = Add([At(0, 80), At(600, 20)]);

        var summary = Summarize(footprint, untilSeconds: 630);

        // 80 % stands for 90 s (the cap), 20 % for the last 30 s; 120 of 630 s are covered.
        Assert.Equal((80 * 90 + 20 * 30) / 120.0, summary.AvgCpuUsage!.Value, 9);
        Assert.Equal(120 / 630.0, summary.Coverage, 9);
    }

    [Fact]
    public void MultiNode_IsPerNodeThenCombined_WithTheAllocationSplitOverNodes()
    {
        var samples = Enumerable.Range(0, 4).SelectMany(i => new[]
        {
            At(i * 30, cpu: 100, memory: 3000, gpu: 0, node: "a"),
            At(i * 30, cpu: 0, memory: 1000, gpu: 80, node: "b"),
        });
        var footprint = Add(samples).WithMemory(4000);

        var summary = Summarize(footprint, untilSeconds: 120, new JobAllocation(8, 16_000, 4), nodes: 2);

        Assert.Equal(50, summary.AvgCpuUsage!.Value, 9);
        Assert.Equal(40, summary.AvgGpuUsage!.Value, 9);
        Assert.Equal(0.5 * 8 * 120 / 3600.0, summary.CpuHoursUsed!.Value, 9);
        Assert.Equal(0.4 * 4 * 120 / 3600.0, summary.GpuHoursUsed!.Value, 9);
        Assert.Equal(0.5, summary.GpuIdleFraction!.Value, 9);
        Assert.Equal(1.0, summary.Coverage, 9);
        Assert.Equal(4000, summary.MaxMemoryUsageMb);
        Assert.Equal(25, summary.MemoryPeakPercentOfAllocation!.Value, 9);
    }

    [Fact]
    public void MultiNode_ANodeThatNeverReported_LowersCoverage()
    {
        var footprint = Add(Enumerable.Range(0, 4).Select(i => At(i * 30, 50, node: "a")));

        Assert.Equal(0.5, Summarize(footprint, untilSeconds: 120, nodes: 2).Coverage, 9);
    }

    [Fact]
    public void OutOfOrderSamples_AmongTheOpenOnes_GiveTheSameSummaryAsInOrder()
    {
        var inOrder = new[] { At(0, 10), At(30, 20), At(60, 90), At(90, 40), At(120, 70), At(150, 30) };
        var shuffled = new[] { inOrder[0], inOrder[1], inOrder[3], inOrder[2], inOrder[5], inOrder[4] };

        var expected = Summarize(Add(inOrder), untilSeconds: 180);
        var actual = Summarize(Add(shuffled), untilSeconds: 180);

        Assert.Equal(expected.AvgCpuUsage!.Value, actual.AvgCpuUsage!.Value, 9);
        Assert.Equal(expected.Coverage, actual.Coverage, 9);
        Assert.Equal((10 + 20 + 90 + 40 + 70 + 30) / 6.0, actual.AvgCpuUsage!.Value, 9);
    }

    [Fact]
    public void OomKills_AreCumulativePerNode_AndSummedOverNodes_AndPeaksRaiseTheMaximum()
    {
        var footprint = Add([
            At(0, 10, node: "a", oom: 1, peak: 5000), At(30, 10, node: "a", oom: 2, peak: 7000), At(60, 10, node: "a", oom: 2),
            At(0, 10, node: "b", oom: 1, peak: 2000),
        ]);

        var summary = Summarize(footprint, untilSeconds: 90, nodes: 2);

        Assert.Equal(3, summary.OomKills);
        Assert.Equal(9000, summary.MaxMemoryUsageMb);
    }

    [Fact]
    public void NoAllocation_LeavesHoursUnknown_AndNoGpuSamples_LeaveGpuFiguresUnknown()
    {
        var summary = Add([At(0, 10), At(30, 10)]).Summarize(JobAllocation.None, 1, T0, T0.AddSeconds(60), Cap, Idle);

        Assert.Null(summary.CpuHoursAllocated);
        Assert.Null(summary.CpuHoursUsed);
        Assert.Null(summary.AvgGpuUsage);
        Assert.Null(summary.GpuHoursUsed);
        Assert.Null(summary.GpuIdleFraction);
        Assert.Null(summary.MemoryPeakPercentOfAllocation);
    }

    [Fact]
    public void Empty_HasNoSamplesAndNoCoverage()
    {
        var summary = Summarize(Footprint.Empty(1), untilSeconds: 600);

        Assert.Equal((0L, 0.0, (double?)null, (long?)null), (summary.SampleCount, summary.Coverage, summary.AvgCpuUsage, summary.MaxMemoryUsageMb));
    }
}

/// <summary>Each flag at and around its threshold (Flagging.Evaluate with the default thresholds).</summary>
public sealed class FlaggingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly EfficiencyOptions Defaults = new();

    private static JobSummary Summary(double? cpu = 50, double? gpu = 50, double? peakPercent = 50, long oom = 0, DateTimeOffset? last = null) =>
        JobSummary.Empty with
        {
            SampleCount = 10,
            AvgCpuUsage = cpu,
            AvgGpuUsage = gpu,
            MemoryPeakPercentOfAllocation = peakPercent,
            OomKills = oom,
            LastSampleAt = last ?? Now,
        };

    private static IReadOnlyList<string> Flags(JobSummary summary, double minutes = 60, int gpus = 2, JobState state = JobState.Running, string? raw = null) =>
        Flagging.Evaluate(summary, new JobAllocation(8, 1000, gpus), state, TimeSpan.FromMinutes(minutes), raw, Now, Defaults);

    [Theory]
    [InlineData(4.99, 30, 2, true)]
    [InlineData(5.0, 30, 2, false)]
    [InlineData(0, 29.99, 2, false)]
    [InlineData(0, 30, 0, false)]
    public void IdleGpu(double gpu, double minutes, int gpus, bool expected) =>
        Assert.Equal(expected, Flags(Summary(gpu: gpu), minutes, gpus).Contains(JobFlags.IdleGpu));

    [Theory]
    [InlineData(24.99, 30, true)]
    [InlineData(25.0, 30, false)]
    [InlineData(1, 29.99, false)]
    public void LowCpu(double cpu, double minutes, bool expected) =>
        Assert.Equal(expected, Flags(Summary(cpu: cpu), minutes).Contains(JobFlags.LowCpu));

    [Theory]
    [InlineData(24.99, 30, true)]
    [InlineData(25.0, 30, false)]
    [InlineData(1, 29.99, false)]
    public void MemoryOverallocated(double peak, double minutes, bool expected) =>
        Assert.Equal(expected, Flags(Summary(peakPercent: peak), minutes).Contains(JobFlags.MemoryOverallocated));

    [Theory]
    [InlineData(94.99, false)]
    [InlineData(95.0, true)]
    [InlineData(130, true)]
    public void NearMemoryLimit_NeedsNoMinimumRuntime(double peak, bool expected) =>
        Assert.Equal(expected, Flags(Summary(peakPercent: peak), minutes: 1).Contains(JobFlags.NearMemoryLimit));

    [Theory]
    [InlineData(0, null, false)]
    [InlineData(1, null, true)]
    [InlineData(0, "OUT_OF_MEMORY", true)]
    public void OomKilled(long kills, string? raw, bool expected) =>
        Assert.Equal(expected, Flags(Summary(oom: kills), raw: raw, state: raw is null ? JobState.Running : JobState.Failed).Contains(JobFlags.OomKilled));

    [Theory]
    [InlineData(9.99, 20, JobState.Running, false)]
    [InlineData(10, 20, JobState.Running, true)]
    [InlineData(9.99, 9.99, JobState.Running, false)]
    [InlineData(30, 20, JobState.Completed, false)]
    public void NoData(double minutesSinceSample, double runtime, JobState state, bool expected) =>
        Assert.Equal(expected, Flags(Summary(last: Now.AddMinutes(-minutesSinceSample)), runtime, state: state).Contains(JobFlags.NoData));

    [Fact]
    public void NoData_WithoutAnySample_AfterTenMinutes() =>
        Assert.Contains(JobFlags.NoData, Flagging.Evaluate(JobSummary.Empty, JobAllocation.None, JobState.Running, TimeSpan.FromMinutes(10), null, Now, Defaults));

    [Fact]
    public void Lost_IsTheReconcilersStateWord()
    {
        Assert.Contains(JobFlags.Lost, Flags(Summary(), state: JobState.Failed, raw: "LOST"));
        Assert.DoesNotContain(JobFlags.Lost, Flags(Summary(), state: JobState.Failed, raw: "FAILED"));
    }

    [Fact]
    public void ThresholdsAreSettings()
    {
        var strict = new EfficiencyOptions { LowCpuPercent = 60, MinRuntime = TimeSpan.FromMinutes(5) };
        Assert.Contains(JobFlags.LowCpu, Flagging.Evaluate(Summary(cpu: 50), JobAllocation.None, JobState.Running, TimeSpan.FromMinutes(5), null, Now, strict));
    }
}
