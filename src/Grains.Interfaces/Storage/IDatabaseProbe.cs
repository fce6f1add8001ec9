namespace HpcJobs.Grains.Storage;

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
