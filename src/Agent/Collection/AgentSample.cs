namespace HpcJobs.Agent.Collection;

/// <summary>One job's sample in <c>POST /v1/metrics</c>; null fields are left out of the JSON.</summary>
public sealed record AgentSample(
    string JobId,
    string Node,
    string Timestamp,
    double CpuUsage,
    long MemoryUsageMb,
    double? GpuUsage = null,
    long? GpuMemoryMb = null,
    long? MemoryPeakMb = null,
    long? OomKills = null);

/// <summary>What one collection saw: the samples of the jobs past their priming read, and every job seen.</summary>
public sealed record IntervalReading(DateTimeOffset At, IReadOnlyList<AgentSample> Samples, IReadOnlyList<string> Jobs);
