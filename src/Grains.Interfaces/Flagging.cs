namespace HpcJobs.Grains;

/// <summary>
/// The contract's flags, from a job's summary, allocation and lifecycle — one rule each, in one
/// place. Live while the job runs (judged at <c>now</c>), final once it ends (judged at its end).
/// </summary>
public static class Flagging
{
    /// <summary>The scheduler state word the reconciler gives a job no node reports any more.</summary>
    public const string LostRawState = "LOST";

    public static IReadOnlyList<string> Evaluate(
        JobSummary summary, JobAllocation allocation, JobState state, TimeSpan runtime, string? rawState, DateTimeOffset now, EfficiencyOptions options) =>
        Evaluate(FlagFigures.Of(summary), allocation, state, runtime, rawState, now, options);

    public static IReadOnlyList<string> Evaluate(
        FlagFigures summary, JobAllocation allocation, JobState state, TimeSpan runtime, string? rawState, DateTimeOffset now, EfficiencyOptions options)
    {
        List<string>? flags = null;
        void Raise(string flag) => (flags ??= []).Add(flag);

        var judged = runtime >= options.MinRuntime;
        if (allocation.Gpus > 0 && judged && summary.AvgGpuUsage < options.IdleGpuPercent)
        {
            Raise(JobFlags.IdleGpu);
        }

        if (judged && summary.AvgCpuUsage < options.LowCpuPercent)
        {
            Raise(JobFlags.LowCpu);
        }

        var peak = summary.MemoryPeakPercentOfAllocation;
        if (judged && peak < options.MemoryOverallocatedPercent)
        {
            Raise(JobFlags.MemoryOverallocated);
        }

        if (peak >= options.NearMemoryLimitPercent)
        {
            Raise(JobFlags.NearMemoryLimit);
        }

        if (summary.OomKills > 0 || string.Equals(rawState, "OUT_OF_MEMORY", StringComparison.OrdinalIgnoreCase))
        {
            Raise(JobFlags.OomKilled);
        }

        if (NoDataSince(summary.LastSampleAt, state, runtime, now, options))
        {
            Raise(JobFlags.NoData);
        }

        if (string.Equals(rawState, LostRawState, StringComparison.Ordinal))
        {
            Raise(JobFlags.Lost);
        }

        return flags ?? (IReadOnlyList<string>)[];
    }

    /// <summary><c>no_data</c>: running for a while with no recent sample — the one flag the clock alone can raise.</summary>
    private static bool NoDataSince(DateTimeOffset? lastSampleAt, JobState state, TimeSpan runtime, DateTimeOffset now, EfficiencyOptions options) =>
        state == JobState.Running && runtime >= options.NoDataAfter
        && (lastSampleAt is not { } last || now - last >= options.NoDataAfter);

    /// <summary>
    /// A job's flags as of <paramref name="now"/>: the flags judged at its last change (its view's, or
    /// its last sample's), with <c>no_data</c> judged again (nothing else moves without a change
    /// that renews them) from the summary's <see cref="JobSummary.LastSampleAt"/>, all of the
    /// summary that it needs.
    /// </summary>
    public static IReadOnlyList<string> AsOf(
        IReadOnlyList<string>? flags, DateTimeOffset? lastSampleAt, JobState state, DateTimeOffset start, DateTimeOffset now, EfficiencyOptions options)
    {
        var judged = Stored(flags ?? []);
        return NoDataSince(lastSampleAt, state, now - start, now, options)
            ? [.. judged, JobFlags.NoData]
            : judged;
    }

    /// <summary>The flags a stored row keeps: all but <c>no_data</c>, which depends on the clock and is judged when read.</summary>
    public static IReadOnlyList<string> Stored(IReadOnlyList<string> flags) =>
        flags.Contains(JobFlags.NoData) ? [.. flags.Where(f => f != JobFlags.NoData)] : flags;
}

/// <summary>
/// The figures of a job's summary that its flags are judged on (<see cref="Flagging.Evaluate(FlagFigures, JobAllocation, JobState, TimeSpan, string?, DateTimeOffset, EfficiencyOptions)"/>):
/// the sample writer judges every touched job's flags at every commit, and a value of these five is
/// what that needs, where a <see cref="JobSummary"/> was 264 bytes per job and commit.
/// </summary>
public readonly record struct FlagFigures(
    double? AvgCpuUsage, double? AvgGpuUsage, double? MemoryPeakPercentOfAllocation, long OomKills, DateTimeOffset? LastSampleAt)
{
    public static FlagFigures Of(JobSummary summary) =>
        new(summary.AvgCpuUsage, summary.AvgGpuUsage, summary.MemoryPeakPercentOfAllocation, summary.OomKills, summary.LastSampleAt);
}
