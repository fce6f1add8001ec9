using System.Globalization;
using HpcJobs.Api.Contracts;
using HpcJobs.Grains;

namespace HpcJobs.Api.Pages;

/// <summary><c>GET /jobs/{id}</c>: one job's summary, flags, plots over time and audit log.</summary>
internal static class JobPage
{
    public const string WholeJob = "whole job";

    public static string Render(
        JobResponse job, IReadOnlyList<UsageSample> samples, IReadOnlyList<AuditEntryResponse> audit, long auditTotal, DateTimeOffset now)
    {
        var report = JobReportResponse.From(job);
        return PageLayout.Render("Job " + job.Id, html =>
        {
            using (html.Open("header"))
            {
                html.Leaf("h1", "Job " + job.Id);
                using (html.Open("p"))
                {
                    html.Text(Invariant($"{job.User} · {job.State} · attempt {job.Attempt} · "));
                    html.Leaf("a", "all jobs", ("href", "/jobs"));
                    html.Text(" · ");
                    html.Leaf("a", "text report", ("href", "/jobs/" + Uri.EscapeDataString(job.Id) + "/report"));
                }
            }

            using (html.Open("main"))
            {
                Summary(html, job, report);
                Flags(html, report);
                Plots(html, job, samples, now);
                Attempts(html, job);
                Audit(html, audit, auditTotal);
            }
        }, 64 * 1024 + (samples.Count * 64));
    }

    private static void Summary(HtmlWriter html, JobResponse job, JobReportResponse report)
    {
        using var section = html.Open("section", ("id", "summary"));
        html.Leaf("h2", "Summary");
        using var scroll = html.Open("div", ("class", "scroll"));
        using var table = html.Open("table", ("class", "summary"));
        using var body = html.Open("tbody");
        Row(html, "Start", Stamp(job.StartTime));
        Row(html, "End", job.EndTime is { } end ? Stamp(end) : "-");
        foreach (var (label, value) in report.Lines())
        {
            Row(html, label, value);
        }

        if (job.FirstSampleAt is { } first && job.LastSampleAt is { } last)
        {
            Row(html, "Samples", Invariant($"{job.SampleCount} from {Stamp(first)} to {Stamp(last)}"));
        }
    }

    private static void Flags(HtmlWriter html, JobReportResponse report)
    {
        using var section = html.Open("section", ("id", "flags"));
        html.Leaf("h2", "Flags");
        if (report.Flags.Count == 0)
        {
            html.Leaf("p", "No flags: nothing to improve was found.", ("class", "muted"));
            return;
        }

        using var list = html.Open("ul", ("class", "flags"));
        foreach (var flag in report.Flags)
        {
            using (html.Open("li", ("data-flag", flag.Flag)))
            {
                html.Leaf("span", flag.Flag, ("class", "flag"));
                html.Text(": " + flag.Advice);
            }
        }
    }

    private static void Plots(HtmlWriter html, JobResponse job, IReadOnlyList<UsageSample> samples, DateTimeOffset now)
    {
        using var section = html.Open("section", ("id", "plots"));
        html.Leaf("h2", "Usage over time");
        if (samples.Count == 0)
        {
            html.Leaf("p", "No samples yet.", ("class", "muted"));
            return;
        }

        if (job.SampleCount > samples.Count)
        {
            html.Leaf("p", Invariant($"The newest {samples.Count} of {job.SampleCount} samples."), ("class", "muted"));
        }

        var from = samples[0].Timestamp < job.StartTime ? samples[0].Timestamp : job.StartTime;
        var end = job.EndTime ?? (job.State is "running" ? now : samples[^1].Timestamp);
        var to = samples[^1].Timestamp > end ? samples[^1].Timestamp : end;

        var attempts = AttemptStarts(job);
        var cpu = Series(samples, attempts, s => s.CpuUsage);
        var memory = Series(samples, attempts, s => s.MemoryUsageMb);
        var gpu = Series(samples, attempts, s => s.GpuUsage);
        var memoryMax = memory.SelectMany(s => s.Points).Max(p => p.Value) * 1.05;
        (double, string)? allocation = job.AllocatedMemoryMb is { } mb
            ? (mb, Invariant($"allocated to the job: {mb} MB"))
            : null;

        // A requeued job's attempts share the time axis: each later attempt's start is marked, and no line joins two attempts.
        var markers = attempts.Skip(1).Select(a => (a.Start, Invariant($"attempt {a.Attempt}"))).ToList();

        using var grid = html.Open("div", ("class", "plots"));
        Plot.Write(html, "plot-cpu", "CPU usage (%)", "%", cpu, from, to, 100, markers: markers);
        Plot.Write(html, "plot-memory", "Memory (MB)", "MB", memory, from, to, memoryMax, allocation, markers);
        if (gpu.Any(s => s.Points.Count > 0))
        {
            Plot.Write(html, "plot-gpu", "GPU usage (%)", "%", gpu, from, to, 100, markers: markers);
        }
    }

    /// <summary>Each attempt's number and start, oldest first; the current attempt starts at the job's start time.</summary>
    private static List<(int Attempt, DateTimeOffset Start)> AttemptStarts(JobResponse job) =>
        [.. (job.Attempts ?? []).Select(a => (a.Attempt, a.StartTime)).Append((job.Attempt, job.StartTime)).OrderBy(a => a.Item1)];

    /// <summary>
    /// One series per node and attempt, in the order they first reported; samples stay in time order.
    /// A sample belongs to the latest attempt that had started by its time (the history does not
    /// store the attempt; a sample from before the first start goes with the first attempt).
    /// </summary>
    private static List<PlotSeries> Series(
        IReadOnlyList<UsageSample> samples, IReadOnlyList<(int Attempt, DateTimeOffset Start)> attempts, Func<UsageSample, double?> value)
    {
        var series = new List<PlotSeries>();
        var byLine = new Dictionary<(int, string), PlotSeries>();
        var several = attempts.Count > 1;
        foreach (var sample in samples)
        {
            var node = sample.Node ?? WholeJob;
            var attempt = AttemptAt(attempts, sample.Timestamp);
            if (!byLine.TryGetValue((attempt, node), out var line))
            {
                line = several ? new PlotSeries(node, [], attempt) : new PlotSeries(node, []);
                byLine[(attempt, node)] = line;
                series.Add(line);
            }

            if (value(sample) is { } v)
            {
                line.Points.Add((sample.Timestamp, v));
            }
        }

        return [.. series.Where(s => s.Points.Count > 0)];
    }

    private static int AttemptAt(IReadOnlyList<(int Attempt, DateTimeOffset Start)> attempts, DateTimeOffset at)
    {
        var found = attempts[0].Attempt;
        foreach (var (attempt, start) in attempts)
        {
            if (start <= at)
            {
                found = attempt;
            }
        }

        return found;
    }

    private static void Attempts(HtmlWriter html, JobResponse job)
    {
        if (job.Attempts is not { Count: > 0 } attempts)
        {
            return;
        }

        using var section = html.Open("section", ("id", "attempts"));
        html.Leaf("h2", "Earlier attempts");
        using var scroll = html.Open("div", ("class", "scroll"));
        using var table = html.Open("table");
        Head(html, "Attempt", "Start", "End", "State", "Exit code", "Runtime", "CPU-hours used", "Flags");
        using var body = html.Open("tbody");
        foreach (var attempt in attempts)
        {
            using var row = html.Open("tr");
            html.Leaf("td", attempt.Attempt.ToString(CultureInfo.InvariantCulture));
            html.Leaf("td", Stamp(attempt.StartTime));
            html.Leaf("td", attempt.EndTime is { } end ? Stamp(end) : "-");
            html.Leaf("td", attempt.State);
            html.Leaf("td", attempt.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-");
            html.Leaf("td", JobReportResponse.Duration(attempt.RuntimeSeconds));
            html.Leaf("td", attempt.Summary.CpuHoursUsed is { } used ? Invariant($"{used:0.00}") : "-");
            html.Leaf("td", attempt.Flags.Count == 0 ? "-" : string.Join(", ", attempt.Flags));
        }
    }

    private static void Audit(HtmlWriter html, IReadOnlyList<AuditEntryResponse> audit, long total)
    {
        using var section = html.Open("section", ("id", "audit"));
        html.Leaf("h2", "Audit log");
        if (audit.Count == 0)
        {
            html.Leaf("p", "No entries.", ("class", "muted"));
            return;
        }

        if (total > audit.Count)
        {
            html.Leaf("p", Invariant($"The first {audit.Count} of {total} entries."), ("class", "muted"));
        }

        using var scroll = html.Open("div", ("class", "scroll"));
        using var table = html.Open("table", ("class", "audit"));
        Head(html, "At", "Change", "State", "Changed by", "Source", "Correlation id", "Details");
        using var body = html.Open("tbody");
        foreach (var entry in audit)
        {
            using var row = html.Open("tr");
            html.Leaf("td", Stamp(entry.At));
            html.Leaf("td", entry.Change);
            html.Leaf("td", (entry.FromState, entry.ToState) switch
            {
                (null, null) => "-",
                (null, { } to) => to,
                ({ } from, null) => from,
                ({ } from, { } to) => from + " → " + to,
            });
            html.Leaf("td", entry.ChangedBy);
            html.Leaf("td", entry.Source);
            html.Leaf("td", entry.CorrelationId ?? "-");
            html.Leaf("td", entry.Details?.GetRawText() ?? "-", ("class", "id"));
        }
    }

    internal static void Head(HtmlWriter html, params ReadOnlySpan<string> columns)
    {
        using var head = html.Open("thead");
        using var row = html.Open("tr");
        foreach (var column in columns)
        {
            html.Leaf("th", column, ("scope", "col"));
        }
    }

    private static void Row(HtmlWriter html, string label, string value)
    {
        using var row = html.Open("tr");
        html.Leaf("th", label, ("scope", "row"));
        html.Leaf("td", value);
    }

    internal static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
