namespace HpcJobs.Api.Metrics;

public sealed class MetricsOptions
{
    /// <summary>How long an ended job's series stay after it ends (<c>METRICS_ENDED_JOB_GRACE_SECONDS</c>).</summary>
    public TimeSpan EndedJobGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long the per-state counts fetched from the job-count grain are reused between scrapes.</summary>
    public TimeSpan CountsCacheTime { get; set; } = TimeSpan.FromSeconds(2);
}
