namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>What <c>PRAGMA synchronous</c> the writer uses; see docs/operations.md for the trade-off.</summary>
public enum SqliteSynchronous
{
    /// <summary>fsync at every commit: an acknowledged write survives a process crash and a power loss.</summary>
    Full,

    /// <summary>fsync at checkpoints only: survives a process crash; a power loss may lose the last commits.</summary>
    Normal,
}

public sealed class SqliteOptions
{
    public string Path { get; set; } = "./hpc-jobs.db";

    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Full;

    /// <summary>Most writes one transaction commits; larger batches amortise the fsync further.</summary>
    public int MaxBatchSize { get; set; } = 4096;
}
