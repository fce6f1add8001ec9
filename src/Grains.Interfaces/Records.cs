namespace HpcJobs.Grains;

/// <summary>
/// One usage sample. Times are UTC, truncated to the microsecond. <see cref="Node"/> is the node
/// that measured it, or null when the sample stands for the whole job; (job, node, timestamp) is
/// the sample's identity, so a replay of the same sample is stored once.
/// </summary>
[GenerateSerializer, Immutable, Alias("hpc.UsageSample")]
public sealed record UsageSample(
    [property: Id(0)] DateTimeOffset Timestamp,
    [property: Id(1)] double CpuUsage,
    [property: Id(2)] long MemoryUsageMb,
    [property: Id(3)] double? GpuUsage,
    [property: Id(4)] string? Node = null,
    [property: Id(5)] long? GpuMemoryMb = null,
    [property: Id(6)] long? MemoryPeakMb = null,
    [property: Id(7)] long? OomKills = null);

/// <summary>Who asked for a write, from the write headers (<c>X-Changed-By</c>, <c>X-Source</c>, <c>X-Correlation-Id</c>) and the caller's token.</summary>
[GenerateSerializer, Immutable, Alias("hpc.WriteContext")]
public sealed record WriteContext(
    [property: Id(0)] string ChangedBy,
    [property: Id(1)] string Source,
    [property: Id(2)] string? CorrelationId,
    [property: Id(3)] string? ScopedNode)
{
    /// <summary>A write by the service itself (demo data, tests).</summary>
    public static WriteContext Internal { get; } = new("service", "api", null, null);
}

/// <summary>A job as clients see it (without the runtime, which depends on when it is read).</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobView")]
public sealed record JobView(
    [property: Id(0)] string Id,
    [property: Id(1)] string User,
    [property: Id(2)] IReadOnlyList<string> Nodes,
    [property: Id(3)] JobState State,
    [property: Id(4)] DateTimeOffset StartTime,
    [property: Id(5)] DateTimeOffset? EndTime,
    [property: Id(6)] string? SchedulerJson,
    [property: Id(7)] UsageSample? Latest,
    [property: Id(8)] JobAllocation? Allocation = null,
    [property: Id(9)] string? Cluster = null,
    [property: Id(10)] int Attempt = 1,
    [property: Id(11)] IReadOnlyList<JobAttempt>? Attempts = null,
    [property: Id(12)] JobSummary? Summary = null,
    [property: Id(13)] IReadOnlyList<string>? Flags = null);

[GenerateSerializer, Immutable, Alias("hpc.CreateJob")]
public sealed record CreateJob(
    [property: Id(0)] string User,
    [property: Id(1)] IReadOnlyList<string> Nodes,
    [property: Id(2)] JobState State,
    [property: Id(3)] DateTimeOffset? StartTime,
    [property: Id(4)] string? SchedulerJson,
    [property: Id(5)] JobAllocation? Allocation = null,
    [property: Id(6)] string? Cluster = null);

/// <summary>A PATCH: any of a new state and usage values; usage becomes a sample taken now, missing values carried over.</summary>
[GenerateSerializer, Immutable, Alias("hpc.UpdateJob")]
public sealed record UpdateJob(
    [property: Id(0)] JobState? State,
    [property: Id(1)] double? CpuUsage,
    [property: Id(2)] long? MemoryUsageMb,
    [property: Id(3)] double? GpuUsage)
{
    public bool HasUsage => CpuUsage is not null || MemoryUsageMb is not null || GpuUsage is not null;
}

public enum OutcomeKind
{
    Ok = 0,
    Created = 1,
    NotFound = 2,
    Conflict = 3,

    /// <summary>Storage refused the write; nothing was stored.</summary>
    Unavailable = 4,

    /// <summary>The caller's token does not cover this job (a node token for a job that does not list its node).</summary>
    Forbidden = 5,
}

/// <summary>Why one sample of a group was refused.</summary>
public enum SampleProblem
{
    /// <summary>The timestamp is outside the accepted window (clock skew, before the job, beyond retention).</summary>
    Timestamp = 0,

    /// <summary><c>node</c> is not one of the job's nodes.</summary>
    Node = 1,

    /// <summary>A node token posted a sample naming another node.</summary>
    Forbidden = 2,
}

/// <summary>One refused sample: its position in the group the grain was given.</summary>
[GenerateSerializer, Immutable, Alias("hpc.SampleRejection")]
public sealed record SampleRejection(
    [property: Id(0)] int Index,
    [property: Id(1)] SampleProblem Problem,
    [property: Id(2)] string Message);

/// <summary>The expected outcomes of a job call; failures that are not expected are exceptions.</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobOutcome")]
public sealed record JobOutcome(
    [property: Id(0)] OutcomeKind Kind,
    [property: Id(1)] JobView? Job,
    [property: Id(2)] string? Message)
{
    public static JobOutcome NotFound(string id) => new(OutcomeKind.NotFound, null, $"job '{id}' not found");
    public static JobOutcome Conflict(string message) => new(OutcomeKind.Conflict, null, message);
}

/// <summary>
/// What became of a group of samples for one job. When <see cref="Kind"/> is
/// <see cref="OutcomeKind.Created"/>, each sample was stored, was a duplicate of a stored one, or is
/// in <see cref="Rejected"/>; otherwise none was stored and <see cref="Message"/> says why.
/// </summary>
[GenerateSerializer, Immutable, Alias("hpc.SampleOutcome")]
public sealed record SampleOutcome(
    [property: Id(0)] OutcomeKind Kind,
    [property: Id(1)] UsageSample? Sample,
    [property: Id(2)] string? Message,
    [property: Id(3)] int Accepted = 0,
    [property: Id(4)] int Duplicates = 0,
    [property: Id(5)] IReadOnlyList<SampleRejection>? Rejected = null);
