namespace HpcJobs.Grains.Storage;

/// <summary>The lifecycle columns of a job row, as its grain owns them.</summary>
public sealed record JobRow(
    string Id,
    string User,
    IReadOnlyList<string> Nodes,
    JobState State,
    DateTimeOffset StartTime,
    DateTimeOffset? EndTime,
    string? SchedulerJson);

/// <summary>Filters and paging of <c>GET /v1/jobs</c>; already validated.</summary>
public sealed record JobQuery(JobState? State, string? User, string? Node, int Limit, long Offset);

public sealed record JobPage(IReadOnlyList<JobView> Jobs, long Total);

/// <summary>
/// The indexed jobs table that serves queries. Only a job's grain writes its row (lifecycle columns);
/// the sample log keeps the latest-usage columns current in the same transaction as each sample.
/// </summary>
public interface IJobIndex
{
    /// <summary>Writes the row's lifecycle columns; <paramref name="created"/> also counts the job in "jobs ever created".</summary>
    Task UpsertAsync(JobRow row, bool created = false);

    /// <summary>Jobs ever created (a monotonic counter that survives restarts and deletes).</summary>
    Task<long> ReadJobsCreatedAsync(CancellationToken cancellationToken);

    /// <summary>Rewrites the row only if it is missing or differs: repairs a crash between state and index writes.</summary>
    Task EnsureAsync(JobRow row);

    /// <summary>Removes the job's row, its node entries and all its samples.</summary>
    Task DeleteAsync(string jobId);

    /// <summary>The latest usage recorded in the row, or null when the job never reported.</summary>
    Task<UsageSample?> ReadLatestAsync(string jobId);

    Task<bool> ExistsAsync(string jobId, CancellationToken cancellationToken);

    Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Ids of pending and running jobs greater than <paramref name="afterId"/> in byte order, at most
    /// <paramref name="limit"/>, ascending: keyset pages whose cost does not grow with how far they are.
    /// </summary>
    Task<IReadOnlyList<string>> ListActiveIdsAsync(string afterId, int limit, CancellationToken cancellationToken);

    /// <summary>Jobs stored, by state: what the metrics grain rebuilds its counts from.</summary>
    Task<IReadOnlyDictionary<JobState, long>> CountByStateAsync(CancellationToken cancellationToken);
}

/// <summary>The append-only log of usage samples.</summary>
public interface ISampleLog
{
    /// <summary>Appends samples of one job, in order; completes after the transaction holding them has committed.</summary>
    Task AppendAsync(string jobId, IReadOnlyList<UsageSample> samples);

    /// <summary>The newest <paramref name="count"/> samples of a job, oldest first.</summary>
    Task<IReadOnlyList<UsageSample>> ReadRecentAsync(string jobId, int count);

    /// <summary>The newest <paramref name="limit"/> samples in [from, to], oldest first.</summary>
    Task<IReadOnlyList<UsageSample>> ReadRangeAsync(
        string jobId, DateTimeOffset? from, DateTimeOffset? to, int limit, CancellationToken cancellationToken);

    /// <summary>Deletes at most <paramref name="batchSize"/> samples older than <paramref name="cutoff"/>.</summary>
    Task<int> DeleteOlderThanAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken);
}

public enum StorageHealth
{
    Healthy,

    /// <summary>Reads work but a write failed recently (e.g. a full or read-only disk).</summary>
    Degraded,

    Unreachable,
}

/// <summary>Whether the database answers and takes writes; used by the health route.</summary>
public interface IDatabaseProbe
{
    Task<StorageHealth> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>The one name under which job state is stored, whichever backend provides it.</summary>
public static class StorageNames
{
    public const string JobState = "jobs";
}
