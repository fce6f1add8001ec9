using System.Text.Json;
using HpcJobs.Grains;

namespace HpcJobs.Api.Contracts;

public sealed record JobResponse(
    string Id,
    string User,
    IReadOnlyList<string> Nodes,
    string State,
    DateTimeOffset StartTime,
    DateTimeOffset? EndTime,
    double RuntimeSeconds,
    double CpuUsage,
    long MemoryUsageMb,
    double? GpuUsage,
    JsonElement? Scheduler,
    int Attempt,
    int? AllocatedCpus,
    long? AllocatedMemoryMb,
    int? AllocatedGpus,
    string? GpuVendor,
    IReadOnlyList<string>? GpuDevices,
    string? CgroupPath,
    string? Cluster,
    IReadOnlyList<AttemptResponse>? Attempts,
    long SampleCount,
    DateTimeOffset? FirstSampleAt,
    DateTimeOffset? LastSampleAt,
    double? AvgCpuUsage,
    double? MaxCpuUsage,
    double? AvgGpuUsage,
    double? MaxGpuUsage,
    long? MaxMemoryUsageMb,
    SummaryResponse Summary,
    IReadOnlyList<string> Flags)
{
    /// <summary>The job as the API shows it; <paramref name="withAttempts"/> only for <c>GET /v1/jobs/{id}</c>.</summary>
    public static JobResponse From(JobView job, DateTimeOffset now, bool withAttempts = false)
    {
        var allocation = job.Allocation ?? JobAllocation.None;
        var summary = job.Summary ?? JobSummary.Empty;
        return new JobResponse(
            job.Id,
            job.User,
            job.Nodes,
            job.State.ToWire(),
            job.StartTime,
            job.EndTime,
            Runtime(job.StartTime, job.EndTime ?? (job.State == JobState.Running ? now : job.StartTime)),
            job.Latest?.CpuUsage ?? 0,
            job.Latest?.MemoryUsageMb ?? 0,
            job.Latest?.GpuUsage,
            job.SchedulerJson is null ? null : JsonDocument.Parse(job.SchedulerJson).RootElement.Clone(),
            job.Attempt,
            allocation.Cpus,
            allocation.MemoryMb,
            allocation.Gpus,
            allocation.GpuVendor,
            allocation.GpuDevices,
            allocation.CgroupPath,
            job.Cluster,
            withAttempts ? [.. (job.Attempts ?? []).Select(AttemptResponse.From)] : null,
            summary.SampleCount,
            summary.FirstSampleAt,
            summary.LastSampleAt,
            Round(summary.AvgCpuUsage),
            summary.MaxCpuUsage,
            Round(summary.AvgGpuUsage),
            summary.MaxGpuUsage,
            summary.MaxMemoryUsageMb,
            SummaryResponse.From(summary),
            job.Flags ?? []);
    }

    internal static double? Round(double? value, int digits = 3) => value is { } v ? Math.Round(v, digits) : null;

    internal static double Runtime(DateTimeOffset start, DateTimeOffset end) =>
        Math.Round(Math.Max(0, (end - start).Ticks / (double)TimeSpan.TicksPerSecond), 6);
}

/// <summary>An earlier attempt of a requeued job, with its frozen summary and flags.</summary>
public sealed record AttemptResponse(
    int Attempt, DateTimeOffset StartTime, DateTimeOffset? EndTime, string State, int? ExitCode, double RuntimeSeconds,
    SummaryResponse Summary, IReadOnlyList<string> Flags)
{
    public static AttemptResponse From(JobAttempt attempt) => new(
        attempt.Attempt, attempt.StartTime, attempt.EndTime, attempt.State.ToWire(), attempt.ExitCode,
        JobResponse.Runtime(attempt.StartTime, attempt.EndTime ?? attempt.StartTime),
        SummaryResponse.From(attempt.Summary ?? JobSummary.Empty), attempt.Flags ?? []);
}

/// <summary>The contract's <c>summary</c> object: allocation against use.</summary>
public sealed record SummaryResponse(
    double? CpuHoursAllocated,
    double? CpuHoursUsed,
    double? GpuHoursAllocated,
    double? GpuHoursUsed,
    double? MemoryPeakPercentOfAllocation,
    double? GpuIdleFraction,
    double Coverage,
    long OomKills)
{
    public static SummaryResponse From(JobSummary summary) => new(
        JobResponse.Round(summary.CpuHoursAllocated, 4),
        JobResponse.Round(summary.CpuHoursUsed, 4),
        JobResponse.Round(summary.GpuHoursAllocated, 4),
        JobResponse.Round(summary.GpuHoursUsed, 4),
        JobResponse.Round(summary.MemoryPeakPercentOfAllocation, 2),
        JobResponse.Round(summary.GpuIdleFraction, 4),
        Math.Round(summary.Coverage, 4),
        summary.OomKills);
}

public sealed record JobListResponse(IReadOnlyList<JobResponse> Jobs, long Total, int Limit, long Offset);

public sealed record SampleResponse(
    string JobId,
    DateTimeOffset Timestamp,
    double CpuUsage,
    long MemoryUsageMb,
    double? GpuUsage,
    string? Node,
    long? GpuMemoryMb,
    long? MemoryPeakMb,
    long? OomKills)
{
    public static SampleResponse From(string jobId, UsageSample sample) =>
        new(jobId, sample.Timestamp, sample.CpuUsage, sample.MemoryUsageMb, sample.GpuUsage,
            sample.Node, sample.GpuMemoryMb, sample.MemoryPeakMb, sample.OomKills);
}

public sealed record SampleHistoryResponse(string JobId, IReadOnlyList<SampleResponse> Samples, int Total);

/// <summary><c>POST /v1/events/job-started</c> and <c>job-finished</c>.</summary>
public sealed record EventResponse(string Status, string JobId, string? Message);

public sealed record AuditEntryResponse(
    DateTimeOffset At,
    string Change,
    string? FromState,
    string? ToState,
    string ChangedBy,
    string Source,
    string? CorrelationId,
    JsonElement? Details)
{
    public static AuditEntryResponse From(AuditEntry entry) => new(
        entry.At, entry.Change, entry.FromState?.ToWire(), entry.ToState?.ToWire(), entry.ChangedBy, entry.Source,
        entry.CorrelationId, entry.DetailsJson is null ? null : JsonDocument.Parse(entry.DetailsJson).RootElement.Clone());
}

public sealed record AuditResponse(string JobId, IReadOnlyList<AuditEntryResponse> Entries, long Total, int Limit, long Offset);

public sealed record HealthResponse(string Status, DateTimeOffset Timestamp, string Version);

public sealed record ErrorResponse(string Error, string Message, IReadOnlyDictionary<string, string>? Details);

public sealed record BatchRejection(int Index, string Error, string Message, IReadOnlyDictionary<string, string>? Details = null);

/// <summary>
/// <c>POST /v1/metrics</c>: samples stored now, samples found already stored (a replay: same job,
/// node and timestamp; not stored again), and the refused ones by index.
/// </summary>
public sealed record BatchIngestResponse(long Accepted, long Duplicates, IReadOnlyList<BatchRejection> Rejected);

/// <summary><c>POST /v1/nodes/{node}/heartbeat</c>: the node, when the service received the heartbeat, and the jobs it listed.</summary>
public sealed record HeartbeatResponse(string Node, DateTimeOffset ReceivedAt, int JobCount);

/// <summary>One node of <c>GET /v1/nodes</c>: its last heartbeat, the start of its current run of heartbeats, and the jobs that heartbeat listed.</summary>
public sealed record NodeResponse(string Node, DateTimeOffset LastHeartbeat, DateTimeOffset HeartbeatingSince, int JobCount, IReadOnlyList<string> Jobs);

public sealed record NodeListResponse(IReadOnlyList<NodeResponse> Nodes, int Total);
