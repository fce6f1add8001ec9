namespace HpcJobs.Grains.Storage;

/// <summary>Reads of the append-only sample log that the history route makes.</summary>
public interface ISampleHistory
{
    /// <summary>The newest <paramref name="limit"/> samples in [from, to], oldest first.</summary>
    Task<IReadOnlyList<UsageSample>> ReadRangeAsync(
        string jobId, DateTimeOffset? from, DateTimeOffset? to, int limit, CancellationToken cancellationToken);
}
