namespace HpcJobs.Grains.Storage;

/// <summary>Filters and paging of <c>GET /v1/jobs</c>; already validated.</summary>
public sealed record JobQuery(
    JobState? State, string? User, string? Node, int Limit, long Offset,
    string? Account = null, string? Partition = null, string? Cluster = null, string? Flag = null)
{
    /// <summary>No filter but (perhaps) the state: the per-state counts answer the total.</summary>
    public bool FiltersStateOnly => Node is null && User is null && Account is null && Partition is null && Cluster is null && Flag is null;
}

public sealed record JobPage(IReadOnlyList<JobView> Jobs, long Total);

/// <summary>A page of a job's audit log, oldest first, and how many entries it has in all.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long Total);

/// <summary>
/// The reads of the jobs table that the routes make: the list, whether a job exists, its audit log.
/// Every change to a row goes through its job grain; nothing here writes.
/// </summary>
public interface IJobQueries
{
    Task<bool> ExistsAsync(string jobId, CancellationToken cancellationToken);

    Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken);

    /// <summary>The job's audit entries, oldest first (the audit log is written with each change by JobRowStorage).</summary>
    Task<AuditPage> ReadAuditAsync(string jobId, int limit, long offset, CancellationToken cancellationToken);
}
