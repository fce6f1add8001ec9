namespace HpcJobs.Grains;

public sealed class RetentionOptions
{
    /// <summary>Samples older than this many days are deleted (<c>METRICS_RETENTION_DAYS</c>).</summary>
    public int Days { get; set; } = 7;

    /// <summary>How often the pass runs. Orleans reminders fire at most once a minute.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Delay from a silo's start to the first pass.</summary>
    public TimeSpan FirstRunDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most samples deleted per transaction, so that ingest is never blocked for long.</summary>
    public int BatchSize { get; set; } = 5_000;

    /// <summary>
    /// PostgreSQL: each pass makes the day partitions of today and of this many days after, so that
    /// samples rarely find their day without one (the writer then makes it, briefly holding up its batch).
    /// </summary>
    public int PartitionDaysAhead { get; set; } = 3;

    /// <summary>The time one delete batch should take; batches are resized towards it (see <see cref="RetentionPace"/>).</summary>
    public TimeSpan BatchTime { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The largest share of time a pass spends deleting; it rests between batches for the rest.</summary>
    public double WriterShare { get; set; } = 0.25;
}
