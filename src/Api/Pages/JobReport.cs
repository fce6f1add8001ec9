using System.Globalization;
using System.Text;
using System.Text.Json;
using HpcJobs.Api.Contracts;

namespace HpcJobs.Api.Pages;

/// <summary>
/// <c>GET /v1/jobs/{id}/report</c> as data (<c>Accept: application/json</c>): what the job was given
/// against what it used. The plain-text report and the job page's summary table are written from
/// <see cref="Lines"/> of this record, so the three always say the same.
/// </summary>
public sealed record JobReportResponse(
    string JobId,
    int Attempt,
    string User,
    string? Account,
    string? Partition,
    string? Cluster,
    string State,
    int? ExitCode,
    IReadOnlyList<string> Nodes,
    DateTimeOffset StartTime,
    DateTimeOffset? EndTime,
    double RuntimeSeconds,
    long? TimeLimitMinutes,
    double? TimeLimitUsedPercent,
    ReportCpu Cpu,
    ReportMemory Memory,
    ReportGpu? Gpu,
    long SampleCount,
    double Coverage,
    IReadOnlyList<ReportFlag> Flags)
{
    public static JobReportResponse From(JobResponse job)
    {
        var scheduler = job.Scheduler is { ValueKind: JsonValueKind.Object } s ? s : default;
        var limit = Long(scheduler, "time_limit_minutes");
        var summary = job.Summary;
        var hasGpu = job.AllocatedGpus is > 0 || job.MaxGpuUsage is not null;
        return new JobReportResponse(
            job.Id,
            job.Attempt,
            job.User,
            Text(scheduler, "account"),
            Text(scheduler, "partition"),
            job.Cluster,
            job.State,
            (int?)Long(scheduler, "exit_code"),
            job.Nodes,
            job.StartTime,
            job.EndTime,
            job.RuntimeSeconds,
            limit,
            limit is > 0 ? Math.Round(job.RuntimeSeconds / (limit.Value * 60.0) * 100, 1) : null,
            new ReportCpu(job.AllocatedCpus, job.AvgCpuUsage, job.MaxCpuUsage, summary.CpuHoursUsed, summary.CpuHoursAllocated),
            new ReportMemory(job.AllocatedMemoryMb, job.MaxMemoryUsageMb, summary.MemoryPeakPercentOfAllocation, summary.OomKills),
            hasGpu
                ? new ReportGpu(job.AllocatedGpus, job.AvgGpuUsage, job.MaxGpuUsage, summary.GpuHoursUsed, summary.GpuHoursAllocated, summary.GpuIdleFraction)
                : null,
            job.SampleCount,
            summary.Coverage,
            [.. job.Flags.Select(flag => new ReportFlag(flag, FlagAdvice.For(flag, job)))]);
    }

    /// <summary>The report's figures as label and text, in reading order.</summary>
    public IReadOnlyList<(string Label, string Value)> Lines()
    {
        var lines = new List<(string, string)>
        {
            ("User", User),
            ("Account", Account ?? "-"),
            ("Partition", Partition ?? "-"),
        };
        if (Cluster is not null)
        {
            lines.Add(("Cluster", Cluster));
        }

        lines.Add(("State", ExitCode is { } code ? Invariant($"{State} (exit code {code})") : State));
        lines.Add(("Nodes", string.Join(", ", Nodes)));
        lines.Add(("Runtime", TimeLimitMinutes is { } limit
            ? Invariant($"{Duration(RuntimeSeconds)} of a {Duration(limit * 60.0)} time limit ({TimeLimitUsedPercent:0.#} %)")
            : Duration(RuntimeSeconds) + " (no time limit known)"));
        lines.Add(("CPU", Cpu.AvgUsagePercent is { } cpu
            ? Invariant($"{cpu:0.0} % average of {Count(Cpu.AllocatedCpus, "core")}; {Hours(Cpu.CoreHoursUsed)} of {Hours(Cpu.CoreHoursAllocated)} core-hours used")
            : Invariant($"no sample yet ({Count(Cpu.AllocatedCpus, "core")} allocated)")));
        lines.Add(("Memory", Memory.PeakMb is { } peak
            ? Invariant($"peak {peak} MB of {Allocated(Memory.AllocatedMb)}{(Memory.PeakPercentOfAllocation is { } p ? Invariant($" ({p:0.#} %)") : string.Empty)}")
            : "no sample yet"));
        if (Memory.OomKills > 0)
        {
            lines.Add(("OOM kills", Memory.OomKills.ToString(CultureInfo.InvariantCulture)));
        }

        if (Gpu is { } gpu)
        {
            lines.Add(("GPU", gpu.AvgUsagePercent is { } average
                ? Invariant($"{average:0.0} % average of {Count(gpu.AllocatedGpus, "GPU")}; {Hours(gpu.GpuHoursUsed)} of {Hours(gpu.GpuHoursAllocated)} GPU-hours used")
                : Invariant($"no sample yet ({Count(gpu.AllocatedGpus, "GPU")} allocated)")));
        }

        lines.Add(("Coverage", Invariant($"{Coverage * 100:0} % of the runtime has samples ({SampleCount} samples)")));
        return lines;
    }

    /// <summary>The plain-text report: aligned lines, then each flag with its advice.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        text.Append(Invariant($"Efficiency report for job {JobId} (attempt {Attempt})\n"));
        foreach (var (label, value) in Lines())
        {
            text.Append("  ").Append((label + ":").PadRight(12)).Append(value).Append('\n');
        }

        if (Flags.Count == 0)
        {
            text.Append("  Flags:      none\n");
        }
        else
        {
            text.Append("  Flags:\n");
            foreach (var flag in Flags)
            {
                text.Append("    ").Append(flag.Flag).Append(": ").Append(flag.Advice).Append('\n');
            }
        }

        return text.ToString();
    }

    internal static string Duration(double seconds)
    {
        var total = (long)Math.Round(seconds);
        return total < 3600
            ? Invariant($"{total / 60} min {total % 60:00} s")
            : Invariant($"{total / 3600} h {total % 3600 / 60:00} min");
    }

    private static string Hours(double? hours) => hours is { } h ? Invariant($"{h:0.00}") : "?";

    private static string Allocated(long? mb) => mb is { } m ? Invariant($"{m} MB allocated") : "an unknown allocation";

    private static string Count(int? value, string unit) =>
        value switch
        {
            null => "unknown " + unit + "s",
            1 => "1 " + unit,
            { } n => Invariant($"{n} {unit}s"),
        };

    private static string? Text(JsonElement scheduler, string name) =>
        scheduler.ValueKind == JsonValueKind.Object && scheduler.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static long? Long(JsonElement scheduler, string name) =>
        scheduler.ValueKind == JsonValueKind.Object && scheduler.TryGetProperty(name, out var value)
            && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            ? number
            : null;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

public sealed record ReportCpu(int? AllocatedCpus, double? AvgUsagePercent, double? MaxUsagePercent, double? CoreHoursUsed, double? CoreHoursAllocated);

public sealed record ReportMemory(long? AllocatedMb, long? PeakMb, double? PeakPercentOfAllocation, long OomKills);

public sealed record ReportGpu(
    int? AllocatedGpus, double? AvgUsagePercent, double? MaxUsagePercent, double? GpuHoursUsed, double? GpuHoursAllocated, double? IdleFraction);

/// <summary>A flag and its one sentence of advice (<see cref="FlagAdvice"/>).</summary>
public sealed record ReportFlag(string Flag, string Advice);
