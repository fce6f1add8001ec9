namespace HpcJobs.Grains;

/// <summary>One usage sample. Times are UTC, truncated to the microsecond.</summary>
[GenerateSerializer, Immutable, Alias("hpc.UsageSample")]
public sealed record UsageSample(
    [property: Id(0)] DateTimeOffset Timestamp,
    [property: Id(1)] double CpuUsage,
    [property: Id(2)] long MemoryUsageMb,
    [property: Id(3)] double? GpuUsage);

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
    [property: Id(7)] UsageSample? Latest);

[GenerateSerializer, Immutable, Alias("hpc.CreateJob")]
public sealed record CreateJob(
    [property: Id(0)] string User,
    [property: Id(1)] IReadOnlyList<string> Nodes,
    [property: Id(2)] JobState State,
    [property: Id(3)] DateTimeOffset? StartTime,
    [property: Id(4)] string? SchedulerJson);

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
}

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

[GenerateSerializer, Immutable, Alias("hpc.SampleOutcome")]
public sealed record SampleOutcome(
    [property: Id(0)] OutcomeKind Kind,
    [property: Id(1)] UsageSample? Sample,
    [property: Id(2)] string? Message);
