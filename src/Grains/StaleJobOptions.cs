namespace HpcJobs.Grains;

/// <summary>
/// When a pending or running job that nothing has touched is let go: its activation is deactivated
/// and its series leave the exporter, while its stored state stays as it is (the reconciler, not
/// silence, ends a job). The next request for the job activates it again.
/// </summary>
public sealed class StaleJobOptions
{
    /// <summary>Without a time limit, a job is stale after a week without a sample, an event or a request.</summary>
    public static readonly TimeSpan DefaultWithoutTimeLimit = TimeSpan.FromDays(7);

    /// <summary>
    /// Hours without a sample, an event or a request after which any active job is stale
    /// (<c>STALE_JOB_HOURS</c>); 0 (the default) means per job: twice its <c>time_limit_minutes</c>,
    /// or <see cref="DefaultWithoutTimeLimit"/> for a job without one.
    /// </summary>
    public int Hours { get; set; }

    /// <summary>The stale limit of a job whose scheduler object is <paramref name="schedulerJson"/>.</summary>
    public TimeSpan LimitFor(string? schedulerJson) => LimitFor(SchedulerJson.Integer(schedulerJson, "time_limit_minutes"));

    public TimeSpan LimitFor(long? timeLimitMinutes) =>
        Hours > 0 ? TimeSpan.FromHours(Hours)
        : timeLimitMinutes is { } minutes && minutes > 0 ? TimeSpan.FromMinutes(2 * minutes)
        : DefaultWithoutTimeLimit;

    /// <summary>Whether a job last active at <paramref name="lastActivity"/> is stale at <paramref name="now"/>.</summary>
    public bool IsStale(DateTimeOffset lastActivity, long? timeLimitMinutes, DateTimeOffset now) =>
        now - lastActivity >= LimitFor(timeLimitMinutes);
}
