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
    JsonElement? Scheduler)
{
    public static JobResponse From(JobView job, DateTimeOffset now)
    {
        var end = job.EndTime ?? (job.State == JobState.Running ? now : job.StartTime);
        var runtime = Math.Max(0, (end - job.StartTime).Ticks / (double)TimeSpan.TicksPerSecond);
        return new JobResponse(
            job.Id,
            job.User,
            job.Nodes,
            job.State.ToWire(),
            job.StartTime,
            job.EndTime,
            Math.Round(runtime, 6),
            job.Latest?.CpuUsage ?? 0,
            job.Latest?.MemoryUsageMb ?? 0,
            job.Latest?.GpuUsage,
            job.SchedulerJson is null ? null : JsonDocument.Parse(job.SchedulerJson).RootElement.Clone());
    }
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
