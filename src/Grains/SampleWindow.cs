namespace HpcJobs.Grains;

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
