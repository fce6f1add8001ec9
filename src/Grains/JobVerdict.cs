namespace HpcJobs.Grains;

/// <summary>
/// A job's summary and flags from its footprint and lifecycle, as of now or its end: the one
/// computation the grain (as samples commit), the sample writer (the stored flags) and the list
/// (rows read back) share.
/// </summary>
public static class JobVerdict
{
    public static (JobSummary Summary, IReadOnlyList<string> Flags) Of(
        Footprint? footprint, JobFacts facts, TimeSpan cap, DateTimeOffset now, EfficiencyOptions options)
    {
        var until = facts.End ?? now;
        var summary = (footprint ?? Footprint.Empty(1)).Summarize(facts.Allocation, facts.NodeCount, facts.Start, until, cap, options.IdleGpuPercent);
        return (summary, Flagging.Evaluate(summary, facts.Allocation, facts.State, Runtime(facts, until), facts.RawState, now, options));
    }

    /// <summary>The flags alone of <see cref="Of"/>, judged on the same figures without building the summary (the sample writer's per-commit judgement).</summary>
    public static IReadOnlyList<string> FlagsOf(Footprint? footprint, JobFacts facts, TimeSpan cap, DateTimeOffset now, EfficiencyOptions options)
    {
        var until = facts.End ?? now;
        var figures = (footprint ?? Footprint.Empty(1)).FlagFigures(facts.Allocation, facts.NodeCount, until, cap, options.IdleGpuPercent);
        return Flagging.Evaluate(figures, facts.Allocation, facts.State, Runtime(facts, until), facts.RawState, now, options);
    }

    /// <summary>The runtime the flags are judged on: none while pending.</summary>
    private static TimeSpan Runtime(JobFacts facts, DateTimeOffset until) =>
        facts.State == JobState.Pending ? TimeSpan.Zero : until - facts.Start;
}
