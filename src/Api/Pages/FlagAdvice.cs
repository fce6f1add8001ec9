using System.Globalization;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains;

namespace HpcJobs.Api.Pages;

/// <summary>
/// One sentence of advice per flag, from the job's own figures: the report and the job page both
/// show these, so a user reads the same words in the job's output and in the browser.
/// </summary>
public static class FlagAdvice
{
    public static string For(string flag, JobResponse job)
    {
        var summary = job.Summary;
        return flag switch
        {
            JobFlags.IdleGpu =>
                $"the job used {Percent(job.AvgGpuUsage)} of its {Count(job.AllocatedGpus, "GPU")}; request fewer or none (--gres=gpu:0).",
            JobFlags.LowCpu =>
                $"the job used {Percent(job.AvgCpuUsage)} of its {Count(job.AllocatedCpus, "CPU core")} on average; request fewer cores (--cpus-per-task, --ntasks) or check that the program runs in parallel.",
            JobFlags.MemoryOverallocated =>
                $"memory peaked at {Megabytes(job.MaxMemoryUsageMb)}, {Percent(summary.MemoryPeakPercentOfAllocation)} of the {Megabytes(job.AllocatedMemoryMb)} requested; request less (--mem={SuggestedMemory(job.MaxMemoryUsageMb)}) so that other jobs fit beside it.",
            JobFlags.NearMemoryLimit =>
                $"memory peaked at {Megabytes(job.MaxMemoryUsageMb)}, {Percent(summary.MemoryPeakPercentOfAllocation)} of the {Megabytes(job.AllocatedMemoryMb)} requested; request more (--mem) before the job is killed for running out of it.",
            JobFlags.OomKilled => summary.OomKills > 0
                ? $"the job ran out of memory ({Count(summary.OomKills, "OOM kill")}); request more memory (--mem) or reduce what the program holds at once."
                : "the job ran out of memory; request more memory (--mem) or reduce what the program holds at once.",
            JobFlags.NoData =>
                "no usage sample arrived in the last 10 minutes; check that the node agent runs on the job's nodes.",
            JobFlags.Lost =>
                "the end of the job was never reported, so the service ended it once its nodes stopped listing it; check the job's output and the epilog on its nodes.",
            _ => "see the service's documentation for this flag.",
        };
    }

    internal static string Percent(double? value) =>
        value is { } v ? Invariant($"{v:0.#} %") : "an unknown share";

    internal static string Megabytes(long? value) => value is { } v ? Invariant($"{v} MB") : "an unknown amount";

    private static string Count(long? value, string unit) =>
        value switch
        {
            null => unit + "s",
            1 => "1 " + unit,
            { } n => Invariant($"{n} {unit}s"),
        };

    /// <summary>The peak with a fifth more room, rounded up to whole GiB: what to ask for next time.</summary>
    private static string SuggestedMemory(long? peakMb) =>
        peakMb is { } peak ? Invariant($"{Math.Max(1, (long)Math.Ceiling(peak * 1.2 / 1024))}G") : "<less>";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
