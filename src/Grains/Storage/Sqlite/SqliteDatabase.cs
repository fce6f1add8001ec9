using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HpcJobs.Grains.Storage.Sqlite;

/// <summary>
/// The SQLite database file: its schema, a pool of reader connections and the one writer.
/// SQLite admits one writer at a time, so every write of the silo (grain state, job rows, samples,
/// retention) goes through a single thread that commits whatever has queued as one transaction
/// (group commit): one fsync serves many requests, and no scheduler thread ever waits on a lock.
/// </summary>
public sealed class SqliteDatabase : IDatabaseProbe, IDisposable
{
    private readonly SqliteOptions _options;
    private readonly string _connectionString;
    private readonly GroupCommit<ISqliteWrite> _writer;
    private readonly WriterMetrics _metrics;

    public SqliteDatabase(IOptions<SqliteOptions> options, ILogger<SqliteDatabase> logger, WriterMetrics metrics)
    {
        _options = options.Value;
        _metrics = metrics;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_options.Path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();

        var writerConnection = Open();
        Execute(writerConnection, "PRAGMA journal_mode = WAL;");
        Execute(writerConnection, _options.Synchronous == SqliteSynchronous.Full
            ? "PRAGMA synchronous = FULL;"
            : "PRAGMA synchronous = NORMAL;");
        // The writer's page cache holds the hot index pages (16 MiB instead of SQLite's 2 MiB default),
        // so inserts into the samples B-tree do not re-read pages from the OS on every commit.
        // Measured on batch ingest (docs/benchmarks.md): 2 MiB 98-121k, 8 MiB 135k, 16 MiB 149-152k,
        // 64 MiB 104-109k samples/s; and it is resident memory (64 MiB cost 0.6 KB per job at 100,000 jobs).
        Execute(writerConnection, "PRAGMA cache_size = -16384;");
        Execute(writerConnection, "PRAGMA wal_autocheckpoint = 8192;");
        // A multi-row insert keeps a statement journal (the pages it changed, to undo the statement
        // alone); in a temporary file that was 38 MB of writes per 5,000-sample transaction, 3.5 times
        // the WAL's own (bench/limits.sh). In memory it lives for one statement.
        Execute(writerConnection, "PRAGMA temp_store = MEMORY;");
        ApplySchema(writerConnection);
        _writer = new GroupCommit<ISqliteWrite>(
            "SQLite", _options.MaxBatchSize, new SqliteWriteContext(writerConnection, PipelineSync(writerConnection, logger)), metrics, logger, writerThread: "sqlite-writer");
    }

    public string Path => _options.Path;

    /// <summary>A pooled connection for reads; WAL lets readers proceed while the writer commits.</summary>
    public SqliteConnection OpenReader()
    {
        _metrics.CountOperation();
        return Open();
    }

    internal async Task<TResult> WriteAsync<TResult>(ISqliteWrite<TResult> write)
    {
        _metrics.CountOperation();
        await _writer.EnqueueAsync(write).ConfigureAwait(false);
        return await write.Completion.ConfigureAwait(false);
    }

    public async Task<StorageHealth> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = OpenReader();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException)
        {
            return StorageHealth.Unreachable;
        }

        return _writer.IsStopped ? StorageHealth.Unreachable
            : _metrics.WriteFailedWithin(TimeSpan.FromSeconds(30), DateTimeOffset.UtcNow) ? StorageHealth.Degraded
            : StorageHealth.Healthy;
    }

    /// <summary>Stops taking writes, commits what is queued, and closes the file.</summary>
    public void Dispose()
    {
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        SqliteConnection.ClearAllPools();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// With <c>SQLITE_SYNCHRONOUS=full</c> the commit is pipelined: the writer commits without the
    /// WAL sync (<c>synchronous = NORMAL</c>, which in WAL mode still syncs around checkpoints and
    /// keeps the file consistent), and writes are acknowledged after the pipeline's own fdatasync of
    /// the WAL — the same sync FULL does at each commit, while the writer applies the next group.
    /// With <c>normal</c> nothing is synced per commit, so there is nothing to pipeline.
    /// </summary>
    private SqliteSyncPipeline? PipelineSync(SqliteConnection writerConnection, ILogger logger)
    {
        // (No -wal file after the schema's writes: the file is not in WAL mode, and FULL stays.)
        if (_options.Synchronous != SqliteSynchronous.Full || !SqliteWalFile.IsSupported || !File.Exists(_options.Path + "-wal"))
        {
            return null;
        }

        var wal = new SqliteWalFile(_options.Path);
        Execute(writerConnection, "PRAGMA synchronous = NORMAL;");
        return new SqliteSyncPipeline(wal, new SyncPipeline("SQLite", _ =>
        {
            wal.Sync();
            return ValueTask.CompletedTask;
        }, _metrics, logger));
    }

    private static void ApplySchema(SqliteConnection connection)
    {
        SqliteMigrations.BeforeScripts(connection);
        foreach (var (_, text) in SqlScripts.For("sqlite"))
        {
            Execute(connection, text);
        }

        SqliteMigrations.Apply(connection);
    }
}
