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
