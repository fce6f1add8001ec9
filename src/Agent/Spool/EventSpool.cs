using System.Globalization;
using System.Text.RegularExpressions;

namespace HpcJobs.Agent.Spool;

/// <summary>One lifecycle event the Slurm prolog or epilog could not deliver.</summary>
public sealed record SpooledEvent(string File, ulong Nanoseconds, int Pid, bool Started)
{
    public string Route => Started ? "v1/events/job-started" : "v1/events/job-finished";

    public string Source => Started ? "prolog" : "epilog";
}

/// <summary>
/// EVENT_SPOOL_DIR (the Slurm kit's <c>HPC_JOBS_SPOOL_DIR</c>, default <c>/var/spool/hpc-jobs</c>): files
/// named <c>EPOCH_NANOSECONDS-PID.started.json</c> or <c>.finished.json</c>, each the body of
/// <c>POST /v1/events/job-started</c> or <c>/job-finished</c>. Only names of exactly that form are read,
/// so a script's temporary file is never sent half-written. Oldest first: a job's start before its end.
/// </summary>
public static partial class EventSpool
{
    public static List<SpooledEvent> Pending(string directory)
    {
        var events = new List<SpooledEvent>();
        if (!Directory.Exists(directory))
        {
            return events;
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*.json"))
        {
            var match = EventName().Match(Path.GetFileName(file));
            if (match.Success
                && ulong.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var nanos)
                && int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                events.Add(new SpooledEvent(file, nanos, pid, match.Groups[3].ValueSpan.SequenceEqual("started")));
            }
        }

        events.Sort(static (a, b) => (a.Nanoseconds, a.Pid, b.Started).CompareTo((b.Nanoseconds, b.Pid, a.Started)));
        return events;
    }

    [GeneratedRegex(@"^(\d{1,20})-(\d{1,10})\.(started|finished)\.json$")]
    private static partial Regex EventName();
}
