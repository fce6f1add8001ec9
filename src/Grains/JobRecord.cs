namespace HpcJobs.Grains;

/// <summary>
/// A job's lifecycle as persisted through grain storage: the columns of its jobs row (JobRowStorage).
/// Usage is not here: it lives in the sample log.
/// </summary>
[GenerateSerializer, Alias("hpc.JobRecord")]
public sealed class JobRecord
{
    [Id(0)]
    public string User { get; set; } = string.Empty;

    /// <summary>Replaced whole, never changed in place (an array once pooled: <see cref="NamePool.Intern(JobRecord)"/>).</summary>
    [Id(1)]
    public IReadOnlyList<string> Nodes { get; set; } = [];

    [Id(2)]
    public JobState State { get; set; }

    // The times as UTC ticks (UtcTicks): the record of every active job stays in memory. Serialized
    // through their properties.
    [NonSerialized]
    private long _start = UtcTicks.Of(DateTimeOffset.MinValue);
    [NonSerialized]
    private long _end = UtcTicks.None;
    [NonSerialized]
    private long _updated = UtcTicks.None;

    [Id(3)]
    public DateTimeOffset StartTime { get => UtcTicks.At(_start); set => _start = UtcTicks.Of(value); }

    [Id(4)]
    public DateTimeOffset? EndTime { get => UtcTicks.AtOrNull(_end); set => _end = UtcTicks.Of(value); }

    [Id(5)]
    public string? SchedulerJson { get; set; }

    [Id(6)]
    public JobAllocation Allocation { get; set; } = JobAllocation.None;

    [Id(7)]
    public string? Cluster { get; set; }

    /// <summary>1-based; a requeue starts the next one.</summary>
    [Id(8)]
    public int Attempt { get; set; } = 1;

    /// <summary>
    /// The attempts before the current one, oldest first. Replaced whole, never changed in place; a
    /// job that was never requeued shares the one empty list (memory per active job).
    /// </summary>
    [Id(9)]
    public IReadOnlyList<JobAttempt> Attempts { get; set; } = [];

    /// <summary>
    /// The audit entry describing this write, stored by the storage provider in the same
    /// transaction as the row; not a column, and cleared once written.
    /// </summary>
    [Id(10)]
    public AuditEntry? PendingAudit { get; set; }

    /// <summary>
    /// The job's flags as judged for this write (final when the job ends), stored in the row's
    /// flags column by the storage provider; not read back (the grain judges them again).
    /// </summary>
    [Id(11)]
    public IReadOnlyList<string> Flags { get; set; } = [];

    /// <summary>
    /// When the grain last wrote the lifecycle, by its clock (the row's <c>updated_at</c>): with the start
    /// and the newest sample, what the row knows of the job's last activity. Null for rows written before it.
    /// </summary>
    [Id(12)]
    public DateTimeOffset? UpdatedAt { get => UtcTicks.AtOrNull(_updated); set => _updated = UtcTicks.Of(value); }

    /// <summary>
    /// The row's integer job key (<c>jobs.job_key</c>), which the sample log keys this job's samples by
    /// instead of the id text; given by the storage when it inserts the row, 0 before that.
    /// </summary>
    [Id(13)]
    public long Key { get; set; }

    /// <summary>
    /// The current attempt's footprint as JSON, written into the row's footprint column with this
    /// update when the job has samples (so a job's row holds its footprint as of every transition,
    /// its final one once it ended); null keeps the column. Not read back, and cleared once written.
    /// </summary>
    [Id(14)]
    public string? PendingFootprint { get; set; }

    /// <summary>A copy to change: what the grain builds the next write from.</summary>
    public JobRecord Copy() => new()
    {
        User = User,
        Nodes = Nodes,
        State = State,
        StartTime = StartTime,
        EndTime = EndTime,
        SchedulerJson = SchedulerJson,
        Allocation = Allocation,
        Cluster = Cluster,
        Attempt = Attempt,
        Attempts = Attempts,
        UpdatedAt = UpdatedAt,
        Key = Key,
    };
}
