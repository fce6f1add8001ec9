namespace HpcJobs.Grains.Storage;

/// <summary>What the sample writer keeps in a jobs row: the latest usage and the footprint of the current attempt.</summary>
public sealed record StoredUsage(UsageSample? Latest, Footprint? Footprint);

/// <summary>
/// An active job as a re-activation pass sees it: the latest of its start, its newest sample and its
/// last lifecycle write (what the row knows of its activity), and its scheduler time limit.
/// </summary>
public sealed record ActiveJobRow(string Id, DateTimeOffset LastActivity, long? TimeLimitMinutes);

/// <summary>
/// The indexed jobs table: the routes' reads (<see cref="IJobQueries"/>) and those of the grains.
/// A job's lifecycle columns are its grain's storage (see JobRowStorage); the sample log keeps the
/// latest-usage columns current in the same transaction as each sample. Nothing else writes a row.
/// </summary>
public interface IJobIndex : IJobQueries
{
    /// <summary>Jobs ever created (a monotonic counter that survives restarts and deletes).</summary>
    Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken);

    /// <summary>The latest usage recorded in the row (null when the job never reported) and the footprint stored with it.</summary>
    Task<StoredUsage> ReadUsageAsync(string jobId);

    /// <summary>
    /// Pending and running jobs with ids greater than <paramref name="afterId"/> in byte order, at most
    /// <paramref name="limit"/>, ascending: keyset pages whose cost does not grow with how far they are.
    /// </summary>
    Task<IReadOnlyList<ActiveJobRow>> ListActiveJobsAsync(string afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Jobs stored, by state: what the metrics grain rebuilds its counts from.</summary>
    Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Which samples of an append were already stored (same job, node and timestamp): those are not
/// stored again, and the stored sample is reported instead. <see cref="AllStored"/> is the common answer.
/// </summary>
public sealed class AppendResult
{
    private UsageSample?[]? _stored;

    public static AppendResult AllStored { get; } = new();

    public int Duplicates { get; private set; }

    public bool IsDuplicate(int index) => _stored?[index] is not null;

    /// <summary>The stored sample a duplicate matched, or null when <paramref name="index"/> was stored by this append.</summary>
    public UsageSample? StoredDuplicate(int index) => _stored?[index];

    internal static AppendResult WithDuplicates(int count) => new() { _stored = new UsageSample?[count] };

    internal void MarkDuplicate(int index, UsageSample stored)
    {
        if (_stored![index] is null)
        {
            Duplicates++;
        }

        _stored[index] = stored;
    }
}

/// <summary>The append-only log of usage samples: the grains' appends and reads, and the history route's (<see cref="ISampleHistory"/>).</summary>
public interface ISampleLog : ISampleHistory
{
    /// <summary>
    /// Appends samples of one job, in order, skipping those already stored (same node and timestamp);
    /// completes after the transaction holding them has committed. Each inserted sample is staged in
    /// <paramref name="usage"/>, and the jobs row's latest usage is written from it in the same transaction,
    /// with the footprint the grain prepared if one is due. An append of no sample writes only the row
    /// (the grain's way to store changed flags at once, <see cref="JobUsage.PrepareRow"/>).
    /// </summary>
    Task<AppendResult> AppendAsync(string jobId, IReadOnlyList<UsageSample> samples, JobUsage usage);

    /// <summary>The newest <paramref name="count"/> samples of a job, oldest first.</summary>
    Task<IReadOnlyList<UsageSample>> ReadRecentAsync(string jobId, int count);

    /// <summary>Deletes at most <paramref name="batchSize"/> samples older than <paramref name="cutoff"/>.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken);

    /// <summary>
    /// The retention pass's work on a log stored in time partitions (PostgreSQL: one per UTC day), before
    /// <see cref="DeleteOlderThanAsync"/> trims what is left: drops each partition whose whole range is older
    /// than <paramref name="cutoff"/>, and makes those that samples from <paramref name="readyFrom"/> to
    /// <paramref name="readyUntil"/> will be stored in (none that is itself expired). A log without partitions (SQLite) does nothing.
    /// </summary>
    Task<PartitionUpkeep> MaintainPartitionsAsync(
        DateTimeOffset cutoff, DateTimeOffset readyFrom, DateTimeOffset readyUntil, CancellationToken cancellationToken);
}

/// <summary>What <see cref="ISampleLog.MaintainPartitionsAsync"/> did: partitions made and dropped, and the samples the dropped ones held.</summary>
public sealed record PartitionUpkeep(int Created, int Dropped, long DroppedSamples)
{
    public static PartitionUpkeep None { get; } = new(0, 0, 0);
}

/// <summary>The one name under which job state is stored, whichever backend provides it.</summary>
public static class StorageNames
{
    public const string JobState = "jobs";
}
