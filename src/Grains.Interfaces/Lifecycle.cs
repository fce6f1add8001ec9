namespace HpcJobs.Grains;

/// <summary>What the scheduler allocated to a job; every field is optional (unknown).</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobAllocation")]
public sealed record JobAllocation(
    [property: Id(0)] int? Cpus = null,
    [property: Id(1)] long? MemoryMb = null,
    [property: Id(2)] int? Gpus = null,
    [property: Id(3)] string? GpuVendor = null,
    [property: Id(4)] IReadOnlyList<string>? GpuDevices = null,
    [property: Id(5)] string? CgroupPath = null)
{
    public static JobAllocation None { get; } = new();

    public bool IsEmpty => Cpus is null && MemoryMb is null && Gpus is null && GpuVendor is null && GpuDevices is null && CgroupPath is null;

    /// <summary>This allocation, or the shared <see cref="None"/> when it knows nothing (no object of its own per job).</summary>
    public JobAllocation OrNone() => IsEmpty ? None : this;

    /// <summary>These values where given, the current ones elsewhere.</summary>
    public JobAllocation Over(JobAllocation current) => new(
        Cpus ?? current.Cpus,
        MemoryMb ?? current.MemoryMb,
        Gpus ?? current.Gpus,
        GpuVendor ?? current.GpuVendor,
        GpuDevices ?? current.GpuDevices,
        CgroupPath ?? current.CgroupPath);

    public bool SameAs(JobAllocation other) =>
        Cpus == other.Cpus && MemoryMb == other.MemoryMb && Gpus == other.Gpus && GpuVendor == other.GpuVendor
        && CgroupPath == other.CgroupPath
        && (GpuDevices ?? []).SequenceEqual(other.GpuDevices ?? []);
}

/// <summary>An earlier attempt of a requeued job, kept readable after the job starts again.</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobAttempt")]
public sealed record JobAttempt(
    [property: Id(0)] int Attempt,
    [property: Id(1)] DateTimeOffset StartTime,
    [property: Id(2)] DateTimeOffset? EndTime,
    [property: Id(3)] JobState State,
    [property: Id(4)] int? ExitCode,
    [property: Id(5)] JobSummary? Summary = null,
    [property: Id(6)] IReadOnlyList<string>? Flags = null);

/// <summary>
/// One entry of a job's audit log: a change to the job and who asked for it. Written in the same
/// transaction as the change it describes.
/// </summary>
[GenerateSerializer, Immutable, Alias("hpc.AuditEntry")]
public sealed record AuditEntry(
    [property: Id(0)] DateTimeOffset At,
    [property: Id(1)] string Change,
    [property: Id(2)] JobState? FromState,
    [property: Id(3)] JobState? ToState,
    [property: Id(4)] string ChangedBy,
    [property: Id(5)] string Source,
    [property: Id(6)] string? CorrelationId,
    [property: Id(7)] string? DetailsJson);

/// <summary>The names of <see cref="AuditEntry.Change"/>.</summary>
public static class AuditChanges
{
    public const string Created = "created";
    public const string Transition = "transition";
    public const string Requeue = "requeue";
    public const string Updated = "updated";
}

/// <summary><c>POST /v1/events/job-started</c> (a Slurm prolog): the job runs, on these nodes, with this allocation.</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobStarted")]
public sealed record JobStarted(
    [property: Id(0)] string User,
    [property: Id(1)] IReadOnlyList<string> Nodes,
    [property: Id(2)] DateTimeOffset Timestamp,
    [property: Id(3)] JobAllocation Allocation,
    [property: Id(4)] string? Cluster,
    [property: Id(5)] string? Partition,
    [property: Id(6)] string? Account,
    [property: Id(7)] string? Qos,
    [property: Id(8)] long? TimeLimitMinutes,
    [property: Id(9)] int RestartCount);

/// <summary><c>POST /v1/events/job-finished</c> (a Slurm epilog, or the reconciler).</summary>
[GenerateSerializer, Immutable, Alias("hpc.JobFinished")]
public sealed record JobFinished(
    [property: Id(0)] DateTimeOffset Timestamp,
    [property: Id(1)] JobState? FinalState,
    [property: Id(2)] int? ExitCode,
    [property: Id(3)] int? Signal,
    [property: Id(4)] string? RawState,
    [property: Id(5)] int? RestartCount)
{
    /// <summary>
    /// The state the job ends in: <see cref="FinalState"/> when given; otherwise cancelled for
    /// signal 9 or 15 or Slurm's <c>CANCELLED</c>, completed for exit code 0, else failed.
    /// </summary>
    public JobState EndState()
    {
        if (FinalState is { } given)
        {
            return given;
        }

        if (Signal is 9 or 15 || string.Equals(RawState, "CANCELLED", StringComparison.OrdinalIgnoreCase)
            || (RawState?.StartsWith("CANCELLED ", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            return JobState.Cancelled;
        }

        return ExitCode == 0 && (RawState is null || string.Equals(RawState, "COMPLETED", StringComparison.OrdinalIgnoreCase))
            ? JobState.Completed
            : JobState.Failed;
    }
}

public enum EventStatus
{
    Created = 0,
    Updated = 1,
    Skipped = 2,
    NotFound = 3,

    /// <summary>The event does not fit the job (e.g. the end of an attempt that has not started).</summary>
    Conflict = 4,

    /// <summary>A node token's event for a job that does not run on its node.</summary>
    Forbidden = 5,
}

[GenerateSerializer, Immutable, Alias("hpc.EventOutcome")]
public sealed record EventOutcome(
    [property: Id(0)] EventStatus Status,
    [property: Id(1)] JobView? Job,
    [property: Id(2)] string? Message);

/// <summary>
/// A job's footprint over its current attempt (contract, "Efficiency summary and flags"), kept by
/// its grain as samples commit. Averages are time-weighted; hours are core- or GPU-hours.
/// Null fields are unknown (no sample of that kind, or no allocation to compare with).
/// </summary>
[GenerateSerializer, Immutable, Alias("hpc.JobSummary")]
public sealed record JobSummary(
    [property: Id(0)] long SampleCount,
    [property: Id(1)] DateTimeOffset? FirstSampleAt,
    [property: Id(2)] DateTimeOffset? LastSampleAt,
    [property: Id(3)] double? AvgCpuUsage,
    [property: Id(4)] double? MaxCpuUsage,
    [property: Id(5)] double? AvgGpuUsage,
    [property: Id(6)] double? MaxGpuUsage,
    [property: Id(7)] long? MaxMemoryUsageMb,
    [property: Id(8)] double? CpuHoursAllocated,
    [property: Id(9)] double? CpuHoursUsed,
    [property: Id(10)] double? GpuHoursAllocated,
    [property: Id(11)] double? GpuHoursUsed,
    [property: Id(12)] double? MemoryPeakPercentOfAllocation,
    [property: Id(13)] double? GpuIdleFraction,
    [property: Id(14)] double Coverage,
    [property: Id(15)] long OomKills)
{
    public static JobSummary Empty { get; } = new(0, null, null, null, null, null, null, null, null, null, null, null, null, null, 0, 0);
}

/// <summary>The contract's flag names.</summary>
public static class JobFlags
{
    public const string IdleGpu = "idle_gpu";
    public const string LowCpu = "low_cpu";
    public const string MemoryOverallocated = "memory_overallocated";
    public const string NearMemoryLimit = "near_memory_limit";
    public const string OomKilled = "oom_killed";
    public const string NoData = "no_data";
    public const string Lost = "lost";

    public static IReadOnlyList<string> All { get; } = [IdleGpu, LowCpu, MemoryOverallocated, NearMemoryLimit, OomKilled, NoData, Lost];
}
