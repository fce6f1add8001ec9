namespace HpcJobs.Grains;

/// <summary>How samples are judged: the clock skew tolerated and the agents' reporting interval.</summary>
public sealed class SampleOptions
{
    /// <summary>How far a sample's timestamp may be ahead of the server's clock, or before its job's start (<c>MAX_CLOCK_SKEW_SECONDS</c>).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>The node agents' reporting interval (<c>SAMPLE_INTERVAL_SECONDS</c>): a node's sample counts toward the job's latest usage for 3 of them.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a node's newest sample still counts toward its job's latest usage.</summary>
    public TimeSpan NodeWindow => Interval * 3;
}

/// <summary>The time window a sample's timestamp must fall in, in one place.</summary>
public static class SampleWindow
{
    /// <summary>Why <paramref name="timestamp"/> is refused, or null when it is accepted.</summary>
    public static string? Problem(DateTimeOffset timestamp, DateTimeOffset now, DateTimeOffset jobStart, TimeSpan skew, TimeSpan retention)
    {
        if (timestamp > now + skew)
        {
            return $"is more than {skew.TotalSeconds:F0} s ahead of the server's clock (MAX_CLOCK_SKEW_SECONDS); check the node's time synchronisation";
        }

        if (timestamp < jobStart - skew)
        {
            return $"is more than {skew.TotalSeconds:F0} s before the job's start_time";
        }

        if (timestamp < now - retention)
        {
            return $"is older than the retention window of {retention.TotalDays:F0} days (METRICS_RETENTION_DAYS)";
        }

        return null;
    }
}
