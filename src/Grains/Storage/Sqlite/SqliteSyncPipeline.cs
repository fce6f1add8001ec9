namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>The SQLite writer's sync pipeline and the WAL handle it syncs, ended together after the writer's last commit.</summary>
internal sealed class SqliteSyncPipeline(SqliteWalFile wal, SyncPipeline pipeline) : IDisposable
{
    public SyncPipeline Pipeline => pipeline;

    public void Dispose()
    {
        pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
        wal.Dispose();
    }
}
